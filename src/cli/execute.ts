/**
 * Runs one command line against a daemon: the single code path shared by
 * one-shot mode and the interactive shell (spec 8.2). Output and errors go
 * through the context's writers; the status tells the caller what to do
 * next (exit code, leave the shell).
 * @module
 */
import type { Clock } from "../clock.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../version.ts";
import type { BackendAction, CliBackend } from "./backend.ts";
import {
  formatBackend,
  formatBackendList,
  formatCheckConfig,
  formatCounters,
  formatError,
  formatEvent,
  formatFrontend,
  formatFrontendList,
  formatHealthCheck,
  formatHealthCheckList,
  formatLbState,
  type FormatOptions,
  formatReload,
  formatSync,
  formatVersion,
  formatVppInfo,
  rpcErrorText,
} from "./format.ts";
import { formatHelp, help, type NameSource, tokenize, walk, wantsHelp } from "./parser.ts";
import { COMMANDS, type TreeNode } from "./tree.ts";

/** How a line ended. */
export type ExecStatus = "ok" | "error" | "quit";

/** A way to stop `watch events` early (a keypress, Ctrl-C). */
export interface Interrupt {
  readonly signal: AbortSignal;
  /** Stops listening; called when the watch ends either way. */
  done(): void;
}

/** What `execute` needs. */
export interface ExecContext {
  readonly backend: CliBackend;
  readonly tree: TreeNode;
  readonly color: boolean;
  readonly clock: Clock;
  /** Normal output. */
  out(text: string): void;
  /** Error output (already formatted, red when colour is on). */
  err(text: string): void;
  /** Starts listening for "stop watching"; absent means only `num` ends a watch. */
  interrupt?: () => Interrupt;
}

/**
 * The `?` help for a line as printed after the echoed line: the possible
 * next words, or the red error when the words before `?` do not resolve.
 */
export function helpText(line: string, tree: TreeNode, options: { color: boolean }): {
  ok: boolean;
  text: string;
} {
  const h = help(line, tree);
  if (!h.ok) return { ok: false, text: formatError(h.error, options) };
  return { ok: true, text: formatHelp(h.entries) };
}

/** Runs one line; never throws for server or parse errors (they are printed). */
export async function execute(line: string, ctx: ExecContext): Promise<ExecStatus> {
  if (wantsHelp(line)) {
    // birdc style: echo the line with its `?`, then the help list.
    ctx.out(line.trim() + "\n");
    const h = helpText(line, ctx.tree, ctx);
    if (!h.ok) {
      ctx.err(h.text);
      return "error";
    }
    ctx.out(h.text);
    return "ok";
  }
  const tokens = tokenize(line);
  if (tokens.length === 0) return "ok";
  const w = walk(tokens, ctx.tree);
  if (!w.ok) {
    ctx.err(formatError(w.error, ctx));
    return "error";
  }
  try {
    return await run(w.command, w.args, ctx);
  } catch (e) {
    ctx.err(formatError(connectionHint(rpcErrorText(e), ctx.backend.server), ctx));
    return "error";
  }
}

/**
 * grpc-js words an unreachable daemon as "No connection established. Last
 * error: Error: connect ECONNREFUSED ..."; say which server instead.
 */
export function connectionHint(message: string, server: string): string {
  const m =
    /^No connection established\. Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/s
      .exec(message);
  if (m === null) return message;
  return `cannot connect to maglevd at ${server}: ${m[1].trim()}`;
}

async function run(
  command: string,
  args: Readonly<Record<string, string | number | boolean>>,
  ctx: ExecContext,
): Promise<ExecStatus> {
  const b = ctx.backend;
  const o = (): FormatOptions => ({ color: ctx.color, now: ctx.clock.now() });
  const str = (k: string) => (typeof args[k] === "string" ? args[k] as string : "");
  switch (command) {
    case COMMANDS.quit:
      return "quit";
    case COMMANDS.showVersion:
      ctx.out(formatVersion({ version: VERSION, commit: COMMIT, date: BUILD_DATE }, o()));
      return "ok";
    case COMMANDS.showFrontends: {
      if (str("frontend")) {
        ctx.out(formatFrontend(await b.getFrontend(str("frontend")), o()));
      } else {
        ctx.out(formatFrontendList(await b.listFrontends(), o()));
      }
      return "ok";
    }
    case COMMANDS.showBackends: {
      if (str("backend")) {
        ctx.out(formatBackend(await b.getBackend(str("backend")), o()));
      } else {
        ctx.out(formatBackendList(await b.listBackends(), o()));
      }
      return "ok";
    }
    case COMMANDS.showHealthchecks: {
      if (str("healthcheck")) {
        ctx.out(formatHealthCheck(await b.getHealthCheck(str("healthcheck")), o()));
      } else {
        ctx.out(formatHealthCheckList(await b.listHealthChecks(), o()));
      }
      return "ok";
    }
    case COMMANDS.showVppInfo:
      ctx.out(formatVppInfo(await b.vppInfo(), o()));
      return "ok";
    case COMMANDS.showVppLbState:
      ctx.out(formatLbState(await b.vppLbState(), o()));
      return "ok";
    case COMMANDS.showVppLbCounters:
      ctx.out(formatCounters(await b.vppLbCounters(), o()));
      return "ok";
    case COMMANDS.syncVppLbState:
      ctx.out(formatSync(str("frontend"), await b.syncVppLbState(str("frontend")), o()));
      return "ok";
    case COMMANDS.setBackend:
      ctx.out(
        formatBackend(await b.backendAction(str("backend"), str("action") as BackendAction), o()),
      );
      return "ok";
    case COMMANDS.setWeight: {
      const f = await b.setWeight({
        frontend: str("frontend"),
        pool: str("pool"),
        backend: str("backend"),
        weight: Number(args.weight),
        flush: args.flush === true,
      });
      ctx.out(formatFrontend(f, o()));
      return "ok";
    }
    case COMMANDS.configCheck: {
      const c = await b.checkConfig();
      if (c.ok) {
        ctx.out(formatCheckConfig(c, o()));
        return "ok";
      }
      ctx.err(
        formatError(stripTrailingNewline(formatCheckConfig(c, { ...o(), color: false })), ctx),
      );
      return "error";
    }
    case COMMANDS.configReload: {
      const r = await b.reloadConfig();
      if (r.ok) {
        ctx.out(formatReload(r, o()));
        return "ok";
      }
      ctx.err(formatError(r.error || "config not reloaded", ctx));
      return "error";
    }
    case COMMANDS.watchEvents:
      return await watch(args, ctx);
  }
  ctx.err(formatError(`command "${command}" is not implemented`, ctx));
  return "error";
}

function stripTrailingNewline(s: string): string {
  return s.replace(/\n$/, "");
}

async function watch(
  args: Readonly<Record<string, string | number | boolean>>,
  ctx: ExecContext,
): Promise<ExecStatus> {
  const anyKind = args.log === true || args.backend === true || args.frontend === true;
  // No kind keyword means every kind (spec 8.3); `log` alone means only logs.
  const request = {
    log: anyKind ? args.log === true : true,
    logLevel: typeof args.level === "string" ? args.level : "info",
    backend: anyKind ? args.backend === true : true,
    frontend: anyKind ? args.frontend === true : true,
  };
  const limit = typeof args.n === "number" ? args.n : Infinity;
  const stop = new AbortController();
  const interrupt = ctx.interrupt?.();
  const onInterrupt = () => stop.abort();
  interrupt?.signal.addEventListener("abort", onInterrupt, { once: true });
  if (interrupt?.signal.aborted) stop.abort();
  let count = 0;
  try {
    if (count >= limit || stop.signal.aborted) return "ok";
    for await (const ev of ctx.backend.watchEvents(request, stop.signal)) {
      ctx.out(formatEvent(ev));
      count++;
      if (count >= limit || stop.signal.aborted) break;
    }
    return "ok";
  } catch (e) {
    if (stop.signal.aborted) return "ok";
    throw e;
  } finally {
    interrupt?.signal.removeEventListener("abort", onInterrupt);
    interrupt?.done();
    stop.abort();
  }
}

/**
 * Live names for completion, fetched through `backend` and kept for
 * `ttlMs` so that a burst of Tab presses costs one RPC.
 */
export function cachedNames(
  backend: CliBackend,
  clock: Clock,
  options: { ttlMs?: number } = {},
): NameSource {
  const ttl = options.ttlMs ?? 5000;
  const cache = new Map<string, { at: number; names: Promise<readonly string[]> }>();
  return (kind, args) => {
    const frontend = typeof args.frontend === "string" ? args.frontend : "";
    const pool = typeof args.pool === "string" ? args.pool : "";
    const key = `${kind}\0${frontend}\0${pool}`;
    const hit = cache.get(key);
    const now = clock.monotonic();
    if (hit !== undefined && now - hit.at < ttl) return hit.names;
    let names: Promise<readonly string[]>;
    const nameList = (xs: readonly { name: string }[]) => xs.map((x) => x.name);
    if (kind === "frontend") names = backend.listFrontends().then(nameList);
    else if (kind === "healthcheck") names = backend.listHealthChecks().then(nameList);
    else if (kind === "pool") {
      names = backend.getFrontend(frontend).then((f) => f.pools.map((p) => p.name));
    } else if (kind === "backend" && frontend !== "" && pool !== "") {
      names = backend.getFrontend(frontend).then((f) =>
        f.pools.find((p) => p.name === pool)?.backends.map((x) => x.name) ?? []
      );
    } else if (kind === "backend") names = backend.listBackends().then(nameList);
    else names = Promise.resolve([]);
    // A failed lookup is not cached: the next Tab asks again.
    names = names.catch((e) => {
      cache.delete(key);
      throw e;
    });
    cache.set(key, { at: now, names });
    return names;
  };
}
