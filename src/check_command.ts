/**
 * `maglevd check --config F`: validates a config file offline and exits
 * 0 (valid), 1 (YAML or structural error) or 2 (semantic error), like
 * upstream's `maglevd --check` (spec 0.1, 2.1).
 * @module
 */

import { errorMessage } from "./errors.ts";
import { formatIssue, loadConfigFile } from "./config/mod.ts";
import { parseFlagArgs } from "./flags.ts";

/** Where the config lives when neither `--config` nor `MAGLEV_CONFIG` says. */
export const DEFAULT_CONFIG_PATH = "/etc/vpp-maglev/maglev.yaml";

/** Output and environment of `runCheck`, replaceable for tests. */
export interface CheckOptions {
  /** Writes one line of output (default: stdout). */
  readonly writeLine?: (line: string) => void;
  /** Whether to color errors red (default: stdout is a TTY and NO_COLOR is unset). */
  readonly color?: boolean;
  /** Reads an environment variable (default: `Deno.env.get`, permission errors read as unset). */
  readonly env?: (name: string) => string | undefined;
}

const USAGE = "usage: maglevd check [--config FILE] [--vpp-api-addr ADDR]\n" +
  `  --config        config file (env MAGLEV_CONFIG, default ${DEFAULT_CONFIG_PATH})\n` +
  '  --vpp-api-addr  VPP API socket; "" means VPP disabled, so vpp.lb source addresses are optional\n' +
  "                  (env MAGLEV_VPP_API_ADDR)";

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function stdoutIsTerminal(): boolean {
  try {
    return Deno.stdout.isTerminal() && readEnv("NO_COLOR") === undefined;
  } catch {
    return false;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Runs `maglevd check` with the arguments after `check`; returns the exit
 * code: 0 valid, 1 parse error (or bad usage / unreadable file), 2 semantic error.
 */
export async function runCheck(args: string[], options: CheckOptions = {}): Promise<number> {
  const write = options.writeLine ?? ((line: string) => console.log(line));
  const env = options.env ?? readEnv;
  const color = options.color ?? stdoutIsTerminal();
  const red = (s: string) => color ? `\x1b[31m${s}\x1b[0m` : s;
  const yellow = (s: string) => color ? `\x1b[33m${s}\x1b[0m` : s;

  let values: { config?: string; "vpp-api-addr"?: string; help?: boolean };
  try {
    values = parseFlagArgs(args, { config: "string", "vpp-api-addr": "string" }) as typeof values;
  } catch (e) {
    write(red(`maglevd check: ${errorMessage(e)}`));
    write(USAGE);
    return 1;
  }
  if (values.help) {
    write(USAGE);
    return 0;
  }
  const path = values.config ?? env("MAGLEV_CONFIG") ?? DEFAULT_CONFIG_PATH;
  const vppAddr = values["vpp-api-addr"] ?? env("MAGLEV_VPP_API_ADDR") ?? "/run/vpp/api.sock";
  const result = await loadConfigFile(path, { vppEnabled: vppAddr !== "" });
  if (!result.ok) {
    for (const issue of result.issues) write(red(formatIssue(issue, path)));
    write(red(`config invalid (${result.kind} error): ${plural(result.issues.length, "problem")}`));
    return result.kind === "parse" ? 1 : 2;
  }
  const c = result.config;
  write(
    // Fixed wording (no singular forms) so scripts can match it.
    `config OK: ${Object.keys(c.frontends).length} frontends, ${
      Object.keys(c.backends).length
    } backends, ${Object.keys(c.healthchecks).length} healthchecks`,
  );
  for (const w of c.warnings) write(yellow(`warning: ${w}`));
  return 0;
}
