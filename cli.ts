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
import {
  cachedNames,
  type ExecContext,
  execute,
  type Interrupt,
  usage,
} from "./src/cli/execute.ts";
import { formatError } from "./src/cli/format.ts";
import { buildTree } from "./src/cli/tree.ts";
import { CLIENT_FLAGS_USAGE } from "./src/cli/usage.ts";
import { type ClientFlags, DEFAULT_SERVER, parseClientFlags } from "./src/flags.ts";
import { errorMessage } from "./src/errors.ts";

export { DEFAULT_SERVER };

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

/**
 * Stops a one-shot `watch events` on a keypress (cbreak mode), Ctrl-C, or
 * when `closed` aborts (the reader of stdout went away).
 */
function terminalInterrupt(closed: AbortSignal): Interrupt {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  closed.addEventListener("abort", onSignal, { once: true });
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
      closed.removeEventListener("abort", onSignal);
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

/**
 * Writes to `stream` until its reader goes away (`watch events | head`):
 * then output is dropped quietly and `closed` aborts, instead of a
 * `Broken pipe` error.
 */
function writer(
  stream: { writeSync(p: Uint8Array): number },
  closed: AbortController,
): (text: string) => void {
  const enc = new TextEncoder();
  return (text) => {
    if (closed.signal.aborted) return;
    const data = enc.encode(text);
    let off = 0;
    try {
      while (off < data.length) off += stream.writeSync(data.subarray(off));
    } catch (e) {
      if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
      closed.abort();
    }
  };
}

/** The top-level usage line block for a flag error. */
const SHORT_USAGE = 'usage: maglevd [flags] [command ...]; "maglevd help" lists the commands\n';

/**
 * The client entry point: `args` are the process arguments (client flags
 * and the command words, in any order). Returns the exit code: 0 done, 1
 * the command failed (the daemon said no, or did not answer), 2 a usage
 * error (bad flag, unknown command).
 */
export async function runClient(args: string[], options: RunClientOptions = {}): Promise<number> {
  const stdoutClosed = new AbortController();
  const stdout = options.stdout ?? writer(Deno.stdout, stdoutClosed);
  const stderr = options.stderr ?? writer(Deno.stderr, new AbortController());
  const isTerminal = options.isTerminal ?? Deno.stdout.isTerminal();
  let flags: ClientFlags;
  try {
    flags = parseClientFlags(args, { env: options.env ?? ((n) => Deno.env.get(n)), isTerminal });
  } catch (e) {
    stderr(formatError(errorMessage(e), { color: false }));
    stderr(SHORT_USAGE + CLIENT_FLAGS_USAGE);
    return 2;
  }
  const tree = buildTree();
  const clock = options.clock ?? realClock;
  const words = flags.command;
  const base = { tree, color: flags.color, clock, json: flags.json, terminal: isTerminal };
  if (flags.help || words[0]?.toLowerCase() === "help") {
    const helpWords = words[0]?.toLowerCase() === "help" ? words.slice(1) : words;
    // `shell --help`: the shell takes no words, so its usage is the client's.
    const status = usage(helpWords[0] === "shell" ? [] : helpWords, {
      ...base,
      out: stdout,
      err: stderr,
    });
    return status === "ok" ? 0 : 2;
  }
  if (words[0] === "shell" && words.length > 1) {
    stderr(
      formatError(`unexpected ${JSON.stringify(words[1])}: "shell" takes nothing more`, flags),
    );
    return 2;
  }
  let backend = options.backend;
  if (backend === undefined) {
    const { createGrpcBackend } = await import("./src/cli/grpc_backend.ts");
    backend = createGrpcBackend(flags.server, { timeoutMs: flags.timeoutMs });
  }
  try {
    if (words.length === 0 || words[0] === "shell") {
      const { runShell } = await import("./src/cli/shell.ts");
      return await runShell({ ...base, backend }, { names: cachedNames(backend, clock) });
    }
    const ctx: ExecContext = {
      ...base,
      backend,
      out: stdout,
      err: stderr,
      interrupt: () => terminalInterrupt(stdoutClosed.signal),
    };
    const status = await execute(words.join(" "), ctx);
    return status === "usage" ? 2 : status === "error" ? 1 : 0;
  } finally {
    backend.close();
  }
}
