/**
 * maglevd: one binary. With only flags it runs the daemon; with a client
 * command as its first positional argument it is the client of a running
 * daemon (spec 0.1); `check --config F` validates a file offline.
 * @module
 */

/** Client flags that may come before the command (`--server X show ...`). */
const CLIENT_VALUE_FLAGS = new Set(["--server", "-server"]);
const CLIENT_BOOL_FLAG = /^--?color(=.*)?$/;

/** Which role the arguments ask for. */
export type Role = "daemon" | "client" | "check";

/**
 * Decides the role from argv and the name the binary was invoked by. The
 * daemon is started with flags only; a word where a flag would be (after any
 * client flags) is a client command, abbreviated or not (`sh fr`), which the
 * client parses and, if it is not one, rejects with a clear error.
 */
export function chooseRole(args: readonly string[], invokedAs = ""): Role {
  if (args[0] === "check") return "check";
  let i = 0;
  while (i < args.length) {
    const a = args[i];
    if (CLIENT_VALUE_FLAGS.has(a)) i += 2;
    else if (/^--?server=/.test(a) || CLIENT_BOOL_FLAG.test(a)) i += 1;
    else break;
  }
  const word = args[i];
  if (word !== undefined && !word.startsWith("-")) return "client";
  // Only client flags (or nothing) through a `maglevc` link: the shell.
  if (/(^|\/)maglevc$/.test(invokedAs) && (i === args.length || i > 0)) return "client";
  if (i > 0 && i === args.length) return "client";
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
