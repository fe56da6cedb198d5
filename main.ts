/**
 * maglevd: one binary. With only flags it runs the daemon; with a client
 * command as its first positional argument it is the client of a running
 * daemon (spec 0.1); `check --config F` validates a file offline.
 * @module
 */

/** Commands that make the binary act as a client (spec 0.1). */
export const CLIENT_COMMANDS: readonly string[] = [
  "show",
  "set",
  "sync",
  "watch",
  "config",
  "shell",
  "version",
  "quit",
  "exit",
];

/** Which role the arguments ask for. */
export type Role = "daemon" | "client" | "check";

/** Decides the role from argv and the name the binary was invoked by. */
export function chooseRole(args: readonly string[], invokedAs = ""): Role {
  const first = args.find((a) => !a.startsWith("-"));
  // A value of a flag (e.g. `--config x.yaml`) is not a command; commands come first.
  const firstArg = args[0] ?? "";
  if (firstArg === "check") return "check";
  if (first !== undefined && first === firstArg && CLIENT_COMMANDS.includes(first)) return "client";
  if (/(^|\/)maglevc$/.test(invokedAs)) return "client";
  // Client flags followed by a command: `--server x show frontends`.
  const idx = args.findIndex((a) => CLIENT_COMMANDS.includes(a));
  if (
    idx > 0 && args.slice(0, idx).every((a, i) => a.startsWith("-") || isClientFlagValue(args, i))
  ) {
    return "client";
  }
  return "daemon";
}

function isClientFlagValue(args: readonly string[], i: number): boolean {
  const prev = args[i - 1] ?? "";
  return prev === "--server" || prev === "-server";
}

if (import.meta.main) {
  // The hidden role of a probe agent started inside healthchecker.netns.
  if (Deno.args[0] === "__maglevd-probe-agent") {
    const { runProbeAgent } = await import("./src/prober/mod.ts");
    Deno.exit(await runProbeAgent());
  }
  const role = chooseRole(Deno.args, Deno.execPath());
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
