/**
 * `deno task vppsim --socket PATH [--plugin-id-base N] [--verbose]`: runs the
 * VPP test double as its own process until Ctrl-C (or SIGTERM), logging what
 * it serves.
 * @module
 */

import { parseArgs } from "node:util";
import { configureLog, log } from "../../src/log/mod.ts";
import { startVppSim, type VppSim } from "./server.ts";
import { errorMessage } from "../../src/errors.ts";

const USAGE = "usage: deno task vppsim --socket PATH [--plugin-id-base N] [--verbose]";

/** Parsed command line of the double. */
export interface VppSimArgs {
  /** Socket path to listen on. */
  socketPath: string;
  /** Fixed lb message id base, or undefined for a random one. */
  pluginIdBase?: number;
  /** Log every request, not only connections and crashes. */
  verbose: boolean;
}

/** Parses the command line; throws an Error naming the bad argument. */
export function parseVppSimArgs(args: string[]): VppSimArgs {
  const { values } = parseArgs({
    args,
    options: {
      socket: { type: "string" },
      "plugin-id-base": { type: "string" },
      verbose: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!values.socket) throw new Error(`--socket PATH is required\n${USAGE}`);
  let pluginIdBase: number | undefined;
  if (values["plugin-id-base"] !== undefined) {
    const text = values["plugin-id-base"];
    pluginIdBase = Number(text);
    if (!/^[0-9]+$/.test(text)) {
      throw new Error(`--plugin-id-base ${JSON.stringify(text)} is not a whole number\n${USAGE}`);
    }
  }
  return { socketPath: values.socket, pluginIdBase, verbose: values.verbose ?? false };
}

/** Runs the double until SIGINT/SIGTERM; returns the exit code. */
export async function runVppSim(args: string[]): Promise<number> {
  let parsed: VppSimArgs;
  try {
    parsed = parseVppSimArgs(args);
  } catch (e) {
    console.error(errorMessage(e));
    return 2;
  }
  configureLog({ level: parsed.verbose ? "debug" : "info", format: "text" });
  let sim: VppSim;
  try {
    sim = await startVppSim({
      socketPath: parsed.socketPath,
      pluginIdBase: parsed.pluginIdBase,
      onEvent: (ev) => {
        const quiet = ev.kind === "request" || ev.kind === "ignored";
        (quiet ? log.debug : log.info)(`vppsim-${ev.kind}`, ev.attrs);
      },
    });
  } catch (e) {
    console.error(`vppsim: ${errorMessage(e)}`);
    return 1;
  }
  // Listen for signals before announcing readiness: whoever waits for the
  // announcement may signal right away.
  const stopped = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => stopped.resolve(name);
  const onInt = onSignal("SIGINT");
  const onTerm = onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  log.info("vppsim-listening", {
    socket: sim.socketPath,
    plugin_id_base: sim.pluginIdBase,
    messages: sim.messageTable.size,
    version: "vppsim (lb plugin double)",
  });
  const signal = await stopped.promise;
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  await sim.close();
  log.info("vppsim-stopped", { signal });
  return 0;
}

if (import.meta.main) {
  Deno.exit(await runVppSim(Deno.args));
}
