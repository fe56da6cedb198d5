/**
 * Shared pieces of the benchmarks: named figures, quantiles, process CPU and
 * memory from `/proc`, and the VPP test double started as its own process
 * (so the client and the server never share a thread).
 * @module
 */
import { waitFor } from "../tests/helpers/mod.ts";
import { startScript, startVppUnderTest } from "../tests/helpers/vpp_under_test.ts";

/** One named figure, printed as `name value unit`. */
export interface Figure {
  /** Dotted name, e.g. `reconciler.initial_sync.wall_ms`. */
  name: string;
  /** The value. */
  value: number;
  /** Unit text (`ms`, `msgs/s`, `count`, ...). */
  unit: string;
}

/** `name value unit`, the line format of `deno task bench`. */
export function formatFigure(f: Figure): string {
  return `${f.name} ${f.value} ${f.unit}`;
}

/** The figure a `name value unit` line carries, or undefined for any other line. */
export function parseFigure(line: string): Figure | undefined {
  const m = /^([\w.-]+) (\S+) (\S+)$/.exec(line.trim());
  if (!m || Number.isNaN(Number(m[2]))) return undefined;
  return { name: m[1], value: Number(m[2]), unit: m[3] };
}

/**
 * The V8 flags maglevd runs with: their one owner is deno.json's `maglevd`
 * task, and `compile` must carry the same (an error naming both otherwise),
 * so the bench measures what ships.
 */
export async function daemonV8Flags(): Promise<string> {
  const path = new URL("../deno.json", import.meta.url);
  const tasks = JSON.parse(await Deno.readTextFile(path)).tasks ?? {};
  const flagsOf = (task: string) => /--v8-flags=(\S+)/.exec(tasks[task] ?? "")?.[1];
  const run = flagsOf("maglevd");
  const compile = flagsOf("compile");
  if (run === undefined || run !== compile) {
    throw new Error(
      `deno.json: tasks "maglevd" and "compile" must carry the same --v8-flags ` +
        `(maglevd: ${run ?? "none"}, compile: ${compile ?? "none"})`,
    );
  }
  return run;
}

/** Rounds to `digits` decimals (figures are for humans). */
export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The `q` quantile (0..1) of ascending `sorted` values, nearest rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** The median of `values` (the mean of the middle two when even); NaN when empty. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** How rounds of one figure fold into one: the median, or the worst round (its max or min). */
export type Fold = "median" | "max" | "min";

/**
 * Folds rounds of the same figures (the same names, in any order, a name
 * missing from a round is skipped there) into one figure per name, by the
 * {@linkcode Fold} `foldOf` gives its name (default the median). NaN values
 * are left out, and a name that has only NaN folds to NaN.
 */
export function foldRounds(
  rounds: readonly (readonly Figure[])[],
  foldOf: (name: string) => Fold = () => "median",
): Figure[] {
  const byName = new Map<string, { unit: string; values: number[] }>();
  for (const round of rounds) {
    for (const f of round) {
      const have = byName.get(f.name) ?? { unit: f.unit, values: [] };
      have.values.push(f.value);
      byName.set(f.name, have);
    }
  }
  return [...byName].map(([name, { unit, values }]) => {
    const fold = foldOf(name);
    const v = values.filter((x) => !Number.isNaN(x));
    const value = v.length === 0
      ? NaN
      : fold === "max"
      ? Math.max(...v)
      : fold === "min"
      ? Math.min(...v)
      : median(v);
    return { name, value, unit };
  });
}

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ; 100 on Linux). */
export const USER_HZ = 100;

/**
 * User plus system CPU seconds of a process from the text of its
 * `/proc/<pid>/stat`; the command name may hold spaces and parentheses, so
 * fields are counted after the last `)`.
 */
export function parseProcStatCpu(stat: string): number {
  const close = stat.lastIndexOf(")");
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(stat)}`);
  const f = stat.slice(close + 2).split(" ");
  // After the name: state(0) ... utime is field 14 overall, index 11 here.
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`no utime/stime in /proc stat line: ${JSON.stringify(stat)}`);
  }
  return (utime + stime) / USER_HZ;
}

/** CPU seconds (user + system, all threads) of `pid`, or of this process. */
export function cpuSeconds(pid: number | "self" = "self"): number {
  return parseProcStatCpu(Deno.readTextFileSync(`/proc/${pid}/stat`));
}

/** Resident and peak resident memory of this process, in MB (from `/proc/self/status`). */
export function memoryMb(): { rss: number; peak: number } {
  const text = Deno.readTextFileSync("/proc/self/status");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** A VPP test double running as a separate `deno` process. */
export interface VppSimProcess {
  /** Its API socket. */
  readonly socket: string;
  /** Its process id (for its CPU time). */
  readonly pid: number;
  /** Stops it (SIGTERM) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts `lab/vppsim/main.ts --socket PATH` in its own process and waits
 * until it listens. Its log output is drained and dropped.
 */
export async function startVppSimProcess(): Promise<VppSimProcess> {
  const vpp = await startVppUnderTest({ kind: "double", prefix: "maglev-bench-vppsim-" });
  return { socket: vpp.socket, pid: vpp.pid, stop: () => vpp.stop() };
}

/** Waits (polling real time, this is a benchmark) until `cond()`; throws after `timeoutMs`. */
export async function until(
  what: string,
  cond: () => boolean,
  { timeoutMs = 60_000 } = {},
): Promise<void> {
  await waitFor(what, cond, { timeoutMs, stepMs: 2 });
}

/** How long {@linkcode withTimeout} waits, and for what (named in its rejection). */
export interface TimeoutOptions {
  readonly ms: number;
  readonly what: string;
}

/** `p`, or a rejection naming `what` after `ms`; the timer never outlives the race. */
export async function withTimeout<T>(p: Promise<T>, { ms, what }: TimeoutOptions): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(id);
  }
}

/**
 * Starts `bench/vpp_scripted_server.ts` (instant replies, empty dumps) in its
 * own process; resolves once it listens.
 */
export async function startScriptedVpp(): Promise<{ socket: string; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-bench-scripted-" });
  const socket = `${dir}/api.sock`;
  const main = new URL("./vpp_scripted_server.ts", import.meta.url).pathname;
  const proc = await startScript(main, ["--socket", socket], {
    ready: "listening",
    what: "the scripted server",
  }).catch(async (e) => {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  });
  return {
    socket,
    stop: async () => {
      await proc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
