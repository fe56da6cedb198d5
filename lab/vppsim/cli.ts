/**
 * The double's debug CLI (`cli_inband`): the few commands a client of the
 * lb plugin sends, answered with VPP's text and retval.
 * @module
 */

import type { LbModel } from "./lb_model.ts";

/** The VPP build the double imitates (the one the transcripts come from). */
export const SIM_VPP_VERSION = "26.10-rc0~374-gb575ec2c56d";

/**
 * What VPP's debug CLI answers `cmd` with, for the few commands a client of
 * the lb plugin sends: its text and the `cli_inband` retval (-1 when VPP's
 * parser stopped at input it did not know, which it names as VPP does).
 */
export function cliText(model: LbModel, cmd: string): { retval: number; reply: string } {
  const t = cmd.trim().split(/\s+/).filter((x) => x !== "");
  const isPrefix = (word: string | undefined, full: string, min: number) =>
    word !== undefined && word.length >= min && full.startsWith(word);
  const answer = (reply: string, rest: string[]) =>
    rest.length === 0
      ? { retval: 0, reply }
      : { retval: -1, reply: `${reply}unknown input \`${rest.join(" ")}'\n` };
  if (isPrefix(t[0], "show", 2) && t[1] === "lb" && isPrefix(t[2], "vips", 1)) {
    // VPP's handler reads what it knows and ignores the rest of the line.
    return { retval: 0, reply: t[3] === "verbose" ? model.showVipsVerbose() : model.showVips() };
  }
  if (isPrefix(t[0], "show", 2) && t[1] === "lb") return answer(model.showLb(), t.slice(2));
  if (isPrefix(t[0], "show", 2) && isPrefix(t[1], "version", 3)) {
    return answer(
      `vpp v${SIM_VPP_VERSION} built by vppsim (the maglev VPP test double)\n`,
      t.slice(2),
    );
  }
  if (isPrefix(t[0], "show", 2) && t.length > 1) {
    return { retval: -1, reply: `show: unknown input \`${t.slice(1).join(" ")}'\n` };
  }
  return { retval: -1, reply: `unknown input \`${t.join(" ")}'\n` };
}
