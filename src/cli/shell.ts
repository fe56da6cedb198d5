/**
 * The interactive shell: `node:readline` for line editing, history (up and
 * down arrows, in memory) and tab completion; every line goes through the
 * same `execute` as one-shot mode.
 *
 * `?` acts the moment it is typed, like birdc: readline inserts the `?` and
 * then emits a `keypress` event, which we also listen to (our listener runs
 * after readline's). We take the `?` back out with a backspace, print the
 * line with its `?`, the help list, and redraw the prompt with the line as
 * it was, so the operator keeps typing where they were.
 *
 * While `watch events` runs, any keypress or Ctrl-C ends it: readline keeps
 * the terminal in its own mode (echo off, output newline processing on), so
 * a keypress reaches us as a `keypress` event and Ctrl-C as readline's
 * `SIGINT` event; the key is then erased from the line being edited.
 * @module
 */
import * as readline from "node:readline";
import process from "node:process";
import { VERSION } from "../version.ts";
import { type ExecContext, execute, helpText, type Interrupt } from "./execute.ts";
import { formatError, rpcErrorText } from "./format.ts";
import { complete, type NameSource } from "./parser.ts";

/** The shell's prompt (spec 0.5). */
export const PROMPT = "maglev> ";

/** What the shell needs besides the executor's context. */
export interface ShellOptions {
  /** Live names for completion (cached). */
  readonly names?: NameSource;
  /** Lines kept in history. */
  readonly historySize?: number;
}

type Key = { name?: string; ctrl?: boolean; meta?: boolean; sequence?: string };

/**
 * Runs the shell on the process's stdin/stdout until `quit`, `exit` or
 * end of input. The banner says "connected" only once the daemon answered;
 * when it does not, the shell prints why and returns 1 (like birdc). Returns
 * 0 otherwise (a failed command does not end the shell), or 1 when piped
 * input had a failing line.
 */
export async function runShell(
  ctx: Omit<ExecContext, "out" | "err" | "interrupt">,
  options: ShellOptions = {},
): Promise<number> {
  const input = process.stdin;
  const output = process.stdout;
  const terminal = Boolean(input.isTTY && output.isTTY);
  const write = (text: string) => {
    output.write(text);
  };
  try {
    await ctx.backend.listFrontends();
  } catch (e) {
    process.stderr.write(formatError(rpcErrorText(e), ctx));
    return 1;
  }
  write(`maglevd ${VERSION} connected to ${ctx.backend.server}\n`);
  return await lineLoop({ ...ctx, terminal: ctx.terminal ?? terminal }, options, terminal);
}

/** What the key handlers and the line loop share. */
interface ShellState {
  /** Set while `watch events` runs: aborting it ends the watch. */
  watching: AbortController | undefined;
  /** A line is running. */
  busy: boolean;
  /** Input ended or `quit` ran. */
  closed: boolean;
}

function createReadline(
  ctx: Omit<ExecContext, "out" | "err" | "interrupt">,
  options: ShellOptions,
  terminal: boolean,
): readline.Interface {
  return readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    prompt: PROMPT,
    historySize: options.historySize ?? 500,
    removeHistoryDuplicates: true,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      complete(line, ctx.tree, { names: options.names }).then(
        (r) => cb(null, r),
        () => cb(null, [[], line]),
      );
    },
  });
}

/** Any key ends a watch; `?` prints help for the line so far and keeps it. */
function keypressHandler(
  rl: readline.Interface,
  state: ShellState,
  ctx: Pick<ExecContext, "tree" | "color">,
  write: (text: string) => void,
): (s: string | undefined, key: Key | undefined) => void {
  return (s, key) => {
    if (state.watching !== undefined) {
      // readline has already put the key into the line.
      if (key?.name !== "return" && key?.name !== "enter") {
        rl.write(null, { ctrl: true, name: "u" });
      }
      state.watching.abort();
      return;
    }
    if (s !== "?" || state.busy || state.closed) return;
    const withMark = rl.line.slice(0, rl.cursor);
    rl.write(null, { name: "backspace" });
    const h = helpText(withMark, ctx.tree, ctx);
    write(`\r\x1b[K${PROMPT}${withMark}\n${h.text}`);
    rl.prompt(true);
  };
}

/** What ends the running `watch events`: any key or Ctrl-C (see `keypressHandler`). */
function watchInterrupt(state: ShellState): Interrupt {
  const ac = new AbortController();
  state.watching = ac;
  return {
    signal: ac.signal,
    done() {
      if (state.watching === ac) state.watching = undefined;
    },
  };
}

function lineLoop(
  ctx: Omit<ExecContext, "out" | "err" | "interrupt">,
  options: ShellOptions,
  terminal: boolean,
): Promise<number> {
  const input = process.stdin;
  const rl = createReadline(ctx, options, terminal);
  const state: ShellState = { watching: undefined, busy: false, closed: false };
  const interrupt = () => watchInterrupt(state);
  // The reader of our output went away (`maglevd shell < cmds | head`):
  // stop quietly, as one-shot mode does, instead of an uncaught EPIPE.
  let broken = false;
  process.stdout.on("error", (e: Error & { code?: string }) => {
    if (e.code !== "EPIPE") throw e;
    broken = true;
    state.watching?.abort();
    rl.close();
  });
  const write = (text: string) => {
    if (!broken) process.stdout.write(text);
  };
  const full: ExecContext = { ...ctx, out: write, err: write, interrupt };
  const onKeypress = keypressHandler(rl, state, ctx, write);
  if (terminal) input.on("keypress", onKeypress);

  rl.on("SIGINT", () => {
    if (state.watching !== undefined) {
      state.watching.abort();
      return;
    }
    // Like a router shell: Ctrl-C drops the line being typed, not the session.
    write("^C\n");
    rl.write(null, { ctrl: true, name: "u" });
    rl.prompt();
  });

  return new Promise<number>((resolve) => {
    let chain = Promise.resolve();
    // `quit` drops whatever was typed after it; the end of piped input does
    // not: lines already read still run, in order.
    let quitting = false;
    let failed = false;
    rl.on("line", (line: string) => {
      // The Enter that stopped a watch is not a command.
      if (state.watching !== undefined && line.trim() === "") return;
      chain = chain.then(async () => {
        if (quitting) return;
        state.busy = true;
        const status = await execute(line, full);
        state.busy = false;
        if (status === "error" || status === "usage") failed = true;
        if (status === "quit") {
          quitting = true;
          rl.close();
          return;
        }
        if (!state.closed) rl.prompt();
      });
    });
    rl.on("close", () => {
      state.closed = true;
      // Ctrl-D at a terminal ends a running watch; piped input lets it finish.
      if (terminal) state.watching?.abort();
      chain.then(() => {
        if (terminal) input.off("keypress", onKeypress);
        // A script fed through the shell learns that a command failed.
        resolve(!terminal && failed ? 1 : 0);
      });
    });
    rl.prompt();
  });
}
