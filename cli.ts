/**
 * The client of a running maglevd (what upstream calls `maglevc`, spec 0.1
 * and 8): one command given on the command line runs once, `shell` or no
 * command opens the interactive shell. Both run lines through the same
 * `execute`.
 * @module
 */
import { realClock } from "./src/clock.ts";
import type { Clock } from "./src/clock.ts";
import type { CliBackend } from "./src/cli/backend.ts";
import { cachedNames, type ExecContext, execute, type Interrupt } from "./src/cli/execute.ts";
import { formatError } from "./src/cli/format.ts";
import { buildTree } from "./src/cli/tree.ts";

/** The default daemon address (spec 0.1). */
export const DEFAULT_SERVER = "localhost:9090";

/** Parsed client flags. */
export interface ClientFlags {
  readonly server: string;
  readonly color: boolean;
  /** The command words; empty means the shell. */
  readonly command: string[];
  readonly help: boolean;
}

/** Hooks for tests and embedding. */
export interface RunClientOptions {
  /** Use this instead of dialling `--server` (tests use a fake). */
  backend?: CliBackend;
  /** Environment lookup (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Whether stdout is a terminal (default: ask Deno). */
  isTerminal?: boolean;
  /** Where normal output goes (default stdout). */
  stdout?: (text: string) => void;
  /** Where errors go (default stderr). */
  stderr?: (text: string) => void;
  clock?: Clock;
}

const USAGE = `usage: maglevd [--server host:port|/path.sock] [--color[=bool]] [command ...]
  no command or "shell" opens the interactive shell; "?" lists commands
  --server   maglevd gRPC address (env MAGLEV_SERVER, default ${DEFAULT_SERVER});
             a path starting with / or unix: is a unix socket
  --color    colour labels and errors (default: when stdout is a terminal)
`;

function parseBool(flag: string, value: string): boolean {
  if (["true", "1", "t", "yes"].includes(value.toLowerCase())) return true;
  if (["false", "0", "f", "no"].includes(value.toLowerCase())) return false;
  throw new Error(`invalid value ${JSON.stringify(value)} for flag ${flag}: want true or false`);
}

/**
 * Parses client flags (`--x`, `-x`, `--x=v`, `-x v`) up to the first word
 * that is not a flag; everything from there is the command. Throws with a
 * message naming the bad flag.
 */
export function parseClientFlags(
  args: readonly string[],
  options: { env?: (name: string) => string | undefined; isTerminal?: boolean } = {},
): ClientFlags {
  let server = options.env?.("MAGLEV_SERVER") || DEFAULT_SERVER;
  let color = options.isTerminal ?? false;
  let help = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("-") || a === "-" || a === "--") {
      if (a === "--") i++;
      break;
    }
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === "server") {
      const value = inline ?? args[++i];
      if (value === undefined || value === "") throw new Error(`flag ${a} needs a value`);
      server = value;
    } else if (name === "color") {
      color = inline === undefined ? true : parseBool(a, inline);
    } else if (name === "help" || name === "h") {
      help = true;
    } else {
      throw new Error(`unknown flag ${JSON.stringify(a)}`);
    }
  }
  return { server, color, command: args.slice(i), help };
}

/** Stops a one-shot `watch events` on a keypress (cbreak mode) or Ctrl-C. */
function terminalInterrupt(): Interrupt {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  let raw = false;
  if (Deno.stdin.isTerminal()) {
    try {
      // cbreak, not raw: Ctrl-C still raises SIGINT and output keeps its
      // newline processing.
      Deno.stdin.setRaw(true, { cbreak: true });
      raw = true;
      const buf = new Uint8Array(16);
      Deno.stdin.read(buf).then(() => ac.abort(), () => {});
    } catch {
      // Not a controllable terminal: Ctrl-C and `num` still end the watch.
    }
  }
  return {
    signal: ac.signal,
    done() {
      Deno.removeSignalListener("SIGINT", onSignal);
      if (raw) {
        try {
          Deno.stdin.setRaw(false);
        } catch {
          // The terminal went away; nothing to restore.
        }
      }
    },
  };
}

function writer(stream: { writeSync(p: Uint8Array): number }): (text: string) => void {
  const enc = new TextEncoder();
  return (text) => {
    const data = enc.encode(text);
    let off = 0;
    while (off < data.length) off += stream.writeSync(data.subarray(off));
  };
}

/**
 * The client entry point: `args` are the process arguments (client flags,
 * then the command). Returns the exit code: 0 on success, 1 when the
 * command failed, 2 for bad flags.
 */
export async function runClient(args: string[], options: RunClientOptions = {}): Promise<number> {
  const stdout = options.stdout ?? writer(Deno.stdout);
  const stderr = options.stderr ?? writer(Deno.stderr);
  let flags: ClientFlags;
  try {
    flags = parseClientFlags(args, {
      env: options.env ?? ((n) => Deno.env.get(n)),
      isTerminal: options.isTerminal ?? Deno.stdout.isTerminal(),
    });
  } catch (e) {
    stderr(formatError((e as Error).message, { color: false }));
    stderr(USAGE);
    return 2;
  }
  if (flags.help) {
    stdout(USAGE);
    return 0;
  }
  const tree = buildTree();
  const clock = options.clock ?? realClock;
  let backend = options.backend;
  if (backend === undefined) {
    const { createGrpcBackend } = await import("./src/cli/grpc_backend.ts");
    backend = createGrpcBackend(flags.server);
  }
  try {
    const words = flags.command;
    if (words.length === 0 || (words.length === 1 && words[0] === "shell")) {
      const { runShell } = await import("./src/cli/shell.ts");
      return await runShell({ backend, tree, color: flags.color, clock }, {
        names: cachedNames(backend, clock),
      });
    }
    if (words[0] === "shell") {
      stderr(
        formatError(`unexpected ${JSON.stringify(words[1])}: "shell" takes nothing more`, flags),
      );
      return 2;
    }
    const ctx: ExecContext = {
      backend,
      tree,
      color: flags.color,
      clock,
      out: stdout,
      err: stderr,
      interrupt: terminalInterrupt,
    };
    const status = await execute(words.join(" "), ctx);
    return status === "error" ? 1 : 0;
  } finally {
    backend.close();
  }
}
