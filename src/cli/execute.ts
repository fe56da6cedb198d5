/**
 * Runs one command line against a daemon: the single code path shared by
 * one-shot mode and the interactive shell (spec 8.2). Output and errors go
 * through the context's writers; the status tells the caller what to do
 * next (exit code, leave the shell).
 * @module
 */
import type { Clock } from "../clock.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../version.ts";
import type { BackendAction, CliBackend, ReloadConfigView } from "./backend.ts";
import {
  formatBackend,
  formatBackendList,
  formatCheckConfig,
  formatCounters,
  formatError,
  formatEventLine,
  formatFrontend,
  formatFrontendList,
  formatHealthCheck,
  formatHealthCheckList,
  formatLbState,
  type FormatOptions,
  formatReload,
  formatSync,
  formatVppInfo,
  formatWarning,
  rpcErrorText,
} from "./format.ts";
import {
  formatPlan,
  formatPreview,
  formatStatus,
  formatVersions,
  planErrors,
} from "./format_ops.ts";
import { formatHelp, help, type NameSource, tokenize, walk, wantsHelp } from "./parser.ts";
import { COMMANDS, type TreeNode } from "./tree.ts";
import { usageText } from "./usage.ts";

/**
 * How a line ended: `usage` is a line that does not resolve to a command
 * (exit 2 in one-shot mode), `error` a command the daemon refused or did
 * not answer (exit 1).
 */
export type ExecStatus = "ok" | "error" | "usage" | "quit";

/** A way to stop `watch events` early (a keypress, Ctrl-C, a closed pipe). */
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
  /** `--json`: one JSON document per command, one object per event line. */
  readonly json?: boolean;
  /** Output goes to a terminal: `watch events` prints human lines there. */
  readonly terminal?: boolean;
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
      return "usage";
    }
    ctx.out(h.text);
    return "ok";
  }
  const tokens = tokenize(line);
  if (tokens.length === 0) return "ok";
  // `help` takes any words after it: the commands it should describe.
  if (tokens[0].toLowerCase() === COMMANDS.help) return usage(tokens.slice(1), ctx);
  const w = walk(tokens, ctx.tree);
  if (!w.ok) {
    ctx.err(formatError(w.error, ctx));
    return "usage";
  }
  try {
    return await run(w.command, w.args, ctx);
  } catch (e) {
    ctx.err(formatError(rpcErrorText(e), ctx));
    return "error";
  }
}

/** Prints the synopses of the commands under `words` (all when empty). */
export function usage(
  words: readonly string[],
  ctx: Pick<ExecContext, "tree" | "color" | "out" | "err">,
): ExecStatus {
  const u = usageText(words, ctx.tree);
  if (!u.ok) {
    ctx.err(formatError(u.error, ctx));
    return "usage";
  }
  ctx.out(u.text);
  return "ok";
}

type Args = Readonly<Record<string, string | number | boolean>>;

/** What a query command shows: the data (for `--json`) and how to print it as text. */
interface Shown {
  readonly data: unknown;
  readonly text: (o: FormatOptions) => string;
}

function shown<T>(data: T, text: (d: T, o: FormatOptions) => string): Shown {
  return { data, text: (o) => text(data, o) };
}

/** Prints `s` as text, or as one JSON document under `--json`. */
function emit(s: Shown, ctx: ExecContext): void {
  if (ctx.json) ctx.out(JSON.stringify(s.data, null, 2) + "\n");
  else ctx.out(s.text({ color: ctx.color, now: ctx.clock.now() }));
}

/** The commands that ask the daemon something and print the answer. */
async function query(command: string, args: Args, b: CliBackend): Promise<Shown | undefined> {
  const str = (k: string) => (typeof args[k] === "string" ? args[k] as string : "");
  const name = str("frontend") || str("backend") || str("healthcheck");
  switch (command) {
    case COMMANDS.showStatus:
      return shown(await b.status(), formatStatus);
    case COMMANDS.showConfig:
      return shown(await b.runningConfig(), (c) => c.yaml.endsWith("\n") ? c.yaml : c.yaml + "\n");
    case COMMANDS.preview:
      return shown(
        await b.preview({
          frontend: str("frontend"),
          backend: str("backend"),
          pool: "",
          weight: typeof args.weight === "number" ? args.weight : 0,
          disable: args.disable === true,
        }),
        formatPreview,
      );
    case COMMANDS.showFrontends:
      return name
        ? shown(await b.getFrontend(name), formatFrontend)
        : shown(await b.listFrontends(), formatFrontendList);
    case COMMANDS.showBackends:
      return name
        ? shown(await b.getBackend(name), formatBackend)
        : shown(await b.listBackends(), formatBackendList);
    case COMMANDS.showHealthchecks:
      return name
        ? shown(await b.getHealthCheck(name), formatHealthCheck)
        : shown(await b.listHealthChecks(), formatHealthCheckList);
    case COMMANDS.showVppInfo:
      return shown(await b.vppInfo(), formatVppInfo);
    case COMMANDS.showVppLbState:
      return shown(await b.vppLbState(), formatLbState);
    case COMMANDS.showVppLbCounters:
      return shown(await b.vppLbCounters(), formatCounters);
    case COMMANDS.syncVppLbState: {
      const stats = await b.syncVppLbState(str("frontend"));
      return shown({ frontend: str("frontend"), ...stats }, (s, o) => formatSync(s.frontend, s, o));
    }
    case COMMANDS.setBackend:
      return shown(await b.backendAction(name, str("action") as BackendAction), formatBackend);
  }
  return undefined;
}

async function run(command: string, args: Args, ctx: ExecContext): Promise<ExecStatus> {
  switch (command) {
    case COMMANDS.quit:
      return "quit";
    case COMMANDS.help:
      return usage([], ctx);
    case COMMANDS.watchEvents:
      return await watch(args, ctx);
    case COMMANDS.configCheck:
      return await configCheck(ctx);
    case COMMANDS.configReload:
      return await configReload(ctx);
    case COMMANDS.configDiff:
      return await configDiff(typeof args.file === "string" ? args.file : undefined, ctx);
    case COMMANDS.showVersion:
      return await versions(ctx);
    case COMMANDS.setWeight:
      return await setWeight(args, ctx);
  }
  const s = await query(command, args, ctx.backend);
  if (s === undefined) {
    ctx.err(formatError(`command "${command}" is not implemented`, ctx));
    return "error";
  }
  emit(s, ctx);
  return "ok";
}

async function configCheck(ctx: ExecContext): Promise<ExecStatus> {
  const c = await ctx.backend.checkConfig();
  const o = { color: ctx.color, now: ctx.clock.now() };
  if (ctx.json) emit(shown(c, formatCheckConfig), ctx);
  else if (c.ok) ctx.out(formatCheckConfig(c, o));
  else ctx.err(formatError(formatCheckConfig(c, { ...o, color: false }).replace(/\n$/, ""), ctx));
  return c.ok ? "ok" : "error";
}

async function configReload(ctx: ExecContext): Promise<ExecStatus> {
  const r = await ctx.backend.reloadConfig();
  const text = (v: ReloadConfigView, o: FormatOptions) =>
    formatReload(v, o) + (v.plan ? formatPlan(v.plan, o) : "");
  if (ctx.json || r.ok) emit(shown(r, text), ctx);
  else ctx.err(formatError(r.error || "config not reloaded", ctx));
  return r.ok ? "ok" : "error";
}

/** A weight change; the daemon's warning (not yet programmed) goes to stderr. */
async function setWeight(args: Args, ctx: ExecContext): Promise<ExecStatus> {
  const f = await ctx.backend.setWeight({
    frontend: String(args.frontend),
    pool: String(args.pool),
    backend: String(args.backend),
    weight: Number(args.weight),
    flush: args.flush === true,
  });
  emit(shown(f, formatFrontend), ctx);
  if (f.warning !== "" && !ctx.json) ctx.err(formatWarning(f.warning, ctx));
  return "ok";
}

/** `config diff [FILE]`: FILE is read here, so it works against a remote daemon too. */
async function configDiff(file: string | undefined, ctx: ExecContext): Promise<ExecStatus> {
  let yaml: string | undefined;
  if (file !== undefined) {
    try {
      yaml = await Deno.readTextFile(file);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "no such file" : rpcErrorText(e);
      ctx.err(formatError(`cannot read ${file}: ${why}`, ctx));
      return "error";
    }
  }
  const plan = await ctx.backend.diffConfig(yaml);
  if (ctx.json) emit(shown(plan, formatPlan), ctx);
  else if (plan.ok) emit(shown(plan, formatPlan), ctx);
  // The daemon names text it was sent `<yaml>`; here it has a file name.
  else ctx.err(formatError(planErrors(plan).replace(/^<yaml>(?=:)/gm, file ?? "<yaml>"), ctx));
  return plan.ok ? "ok" : "error";
}

/** `show version`: the client's build always; the daemon's when it answers. */
async function versions(ctx: ExecContext): Promise<ExecStatus> {
  const client = { version: VERSION, commit: COMMIT, buildDate: BUILD_DATE };
  try {
    const s = await ctx.backend.status();
    const daemon = { version: s.version, commit: s.commit, buildDate: s.buildDate };
    emit(shown({ client, daemon }, formatVersions), ctx);
    return "ok";
  } catch (e) {
    emit(shown({ client }, formatVersions), ctx);
    ctx.err(formatError(`daemon: ${rpcErrorText(e)}`, ctx));
    return "error";
  }
}

async function watch(args: Args, ctx: ExecContext): Promise<ExecStatus> {
  const anyKind = args.log === true || args.backend === true || args.frontend === true;
  // No kind keyword means every kind (spec 8.3); `log` alone means only logs.
  const request = {
    log: anyKind ? args.log === true : true,
    logLevel: typeof args.level === "string" ? args.level : "info",
    backend: anyKind ? args.backend === true : true,
    frontend: anyKind ? args.frontend === true : true,
  };
  const limit = typeof args.n === "number" ? args.n : Infinity;
  const human = ctx.terminal === true && !ctx.json;
  const stop = new AbortController();
  const interrupt = ctx.interrupt?.();
  const onInterrupt = () => stop.abort();
  interrupt?.signal.addEventListener("abort", onInterrupt, { once: true });
  if (interrupt?.signal.aborted) stop.abort();
  let count = 0;
  try {
    if (count >= limit || stop.signal.aborted) return "ok";
    for await (const ev of ctx.backend.watchEvents(request, stop.signal)) {
      ctx.out(human ? formatEventLine(ev) : JSON.stringify(ev) + "\n");
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

/** Entries of the directory `partial` names, as paths; directories end in `/`. */
async function fileNames(partial: string): Promise<string[]> {
  const cut = partial.lastIndexOf("/");
  const prefix = cut < 0 ? "" : partial.slice(0, cut + 1);
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(prefix === "" ? "." : prefix)) {
      out.push(prefix + e.name + (e.isDirectory ? "/" : ""));
    }
  } catch {
    // An unreadable directory completes nothing.
  }
  return out;
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
  return (kind, args, partial) => {
    // Files are listed afresh: the directory is local and cheap to read.
    if (kind === "file") return fileNames(partial);
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
