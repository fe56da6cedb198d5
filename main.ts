/**
 * maglevd: one binary. With only flags it runs the daemon; with a client
 * command as its first positional argument it is the client of a running
 * daemon (spec 0.1); `check --config F` validates a file offline.
 * @module
 */

import { flagTakesValue, isClientFlag } from "./src/flags.ts";

/** Which role the arguments ask for. */
export type Role = "daemon" | "client" | "check";

/**
 * Decides the role from argv and the name the binary was invoked by. The
 * daemon is started with flags only. A word that is not a flag's value, or
 * a flag only the client has (`--server`, `--json`, ...), anywhere in the
 * arguments makes a client, which parses the rest and rejects what it does
 * not know (`maglevd --bogus show frontends` is the client's usage error).
 */
export function chooseRole(args: readonly string[], invokedAs = ""): Role {
  if (args[0] === "check") return "check";
  let clientFlag = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return i + 1 < args.length ? "client" : "daemon";
    if (!a.startsWith("-") || a === "-") return "client";
    if (isClientFlag(a)) clientFlag = true;
    if (flagTakesValue(a)) i++;
  }
  // Through a `maglevc` link, nothing (or only flags) opens the shell.
  if (clientFlag || /(^|\/)maglevc$/.test(invokedAs)) return "client";
  return "daemon";
}

if (import.meta.main) {
  // The hidden role of a probe agent started inside healthchecker.netns.
  if (Deno.args[0] === "__maglevd-probe-agent") {
    const { runProbeAgent } = await import("./src/prober/mod.ts");
    Deno.exit(await runProbeAgent());
  }
  if (Deno.args[0] === "dashboard") {
    const { runDashboard } = await import("./src/dashboard/mod.ts");
    Deno.exit(await runDashboard(Deno.args.slice(1)));
  }
  // argv0 keeps the name the binary was started by (a `maglevc` symlink);
  // Deno.execPath() resolves links.
  const { default: process } = await import("node:process");
  const role = chooseRole(Deno.args, process.argv0);
  let code = 0;
  if (role === "check") {
    const { runCheck } = await import("./src/check_command.ts");
    code = await runCheck(Deno.args.slice(1));
  } else if (role === "client") {
    const { runClient } = await import("./cli.ts");
    code = await runClient(Deno.args);
  } else {
    const { runDaemon } = await import("./src/daemon.ts");
    code = await runDaemon(Deno.args);
  }
  Deno.exit(code);
}
