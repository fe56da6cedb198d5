/**
 * Probe engine benchmark (issue 15): the daemon's probe path (`Checker`
 * driving the prober) on the socket engine and on the stream engine, side by
 * side with HAProxy's health checks, against the same nginx backends
 * (`GET /healthz` on 127.x.y.z:8080, rise 2, fall 3, timeout 1 s).
 *
 *   deno run -A bench/probe_engine_bench.ts [--sizes 1000@1,10000@1,50000@5]
 *     [--seconds 15] [--warmup 4] [--engines socket,stream,haproxy]
 *     [--v8-flags FLAGS]   (default: the daemon's, from deno.json)
 *     [--rounds 3]
 *
 * A size is `backends@interval-seconds`. Each (size, engine) runs in a child
 * process of its own, as root in a fresh network namespace (`unshare --net`,
 * nginx listening on all of 127/8 there), so runs share no sockets and no
 * TIME_WAIT. HAProxy is skipped with a message when `haproxy` is absent.
 *
 * The maglev side is the daemon's probe path: the checker, the prober and
 * the probe metrics; no VPP, gRPC or log output. The bench's own per-probe
 * bookkeeping, charged to that process's CPU, is kept to a store into a
 * preallocated array: results are counted on the checker's own result hooks
 * (no wrapper sink, no lookup), lateness and durations go to typed arrays
 * sized for twice the window's probes.
 *
 * Figures per (size, engine), over the measured window: CPU cores (user,
 * sys) of the prober process (all threads), its RSS, probes/s, failed probes,
 * backends up at the end, probe start lateness p50/p99 (the instant the
 * checker's timer was due vs. the instant the probe started; not measured
 * for HAProxy), and each engine's CPU (cores, user, sys, per probe) as a
 * ratio to HAProxy's.
 *
 * Rounds: one 15 s run's ratio moves by several percent from run to run, so
 * at each size HAProxy runs at, HAProxy and the socket engine run `--rounds`
 * times, interleaved (HAProxy first in the first, third... round, last in the others), and
 * each round's ratios divide by that round's HAProxy. A figure's usual name
 * is its median over the rounds (the worst round for failed, backends up,
 * RSS and lateness p99, which goals bound); each ratio also has `_min` and
 * `_max`, and `<contender>.round<N>.<figure>` gives each round's CPU figures.
 * @module
 */
import { parseArgs } from "node:util";
import type { Backend, HealthCheck } from "../src/config/types.ts";
import type { ProbeResult, ProbeSink } from "../src/health/types.ts";
import type { ProbeDriver } from "../src/checker/types.ts";
import { Checker, SCHEDULE_SLACK_MS } from "../src/checker/mod.ts";
import { createLocalProber, type EngineName } from "../src/prober/local.ts";
import { configureLog } from "../src/log/mod.ts";
import { createMetrics, type Metrics } from "../src/metrics/mod.ts";
import { backendAddress, benchConfig, latenessClock, startNginx } from "./checker_bench.ts";
import {
  daemonV8Flags,
  type Figure,
  type Fold,
  foldRounds,
  formatFigure,
  quantile,
  round,
  until,
  USER_HZ,
  withTimeout,
} from "./util.ts";

const CHILD = "--probe-engine-child";
const PORT = 8080;

/** Who probes. */
export type Contender = EngineName | "haproxy";

/** One size: `backends` probed every `intervalS` seconds. */
export interface Size {
  readonly backends: number;
  readonly intervalS: number;
}

/** Options of {@linkcode runProbeEngineBench}. */
export interface ProbeEngineBenchOptions {
  /** Default 1,000 and 10,000 every 1 s, 50,000 every 5 s. */
  sizes?: Size[];
  /** Measured seconds per run; default 15. */
  seconds?: number;
  /** Seconds before measuring; default 4. */
  warmup?: number;
  /** Default socket, stream and haproxy. */
  contenders?: Contender[];
  /** V8 flags of the maglev children; default the daemon's ({@linkcode daemonV8Flags}). */
  v8Flags?: string;
  /** Rounds at each size HAProxy runs at; default {@linkcode DEFAULT_ROUNDS}. */
  rounds?: number;
  /** Gets each size's figures as soon as its rounds are done (they are returned all the same). */
  emit?: (f: Figure) => void;
}

/**
 * Rounds by default: one 15 s run's ratio to HAProxy moves by several
 * percent from run to run, so the ratio is a median over rounds.
 */
export const DEFAULT_ROUNDS = 3;

/** What one child measured. */
export interface RunResult {
  contender: Contender;
  backends: number;
  intervalS: number;
  seconds: number;
  userS: number;
  sysS: number;
  rssMb: number;
  /** V8 heap in use at the end (NaN for HAProxy). */
  heapMb: number;
  /** One /metrics render after the window: its time, its size, and the peak RSS after it. */
  scrapeMs: number;
  scrapeMb: number;
  rssPeakMb: number;
  probes: number;
  /** Requests nginx answered in the window (every contender's probes/s, HAProxy's too). */
  served: number;
  failed: number;
  /** Failed probes by result code (code: detail of the first one), for a line that says why. */
  failedBy?: Record<string, { n: number; first: string }>;
  up: number;
  latenessP50: number;
  latenessP99: number;
  durationP50: number;
  durationP99: number;
}

/** `/proc/<pid>/stat` and `status`, opened once: a run out of fds can still be measured. */
function procReader(
  pid: number | "self",
): () => { user: number; sys: number; rssMb: number; peakMb: number } {
  const stat = Deno.openSync(`/proc/${pid}/stat`);
  const status = Deno.openSync(`/proc/${pid}/status`);
  const buf = new Uint8Array(8192);
  const read = (f: Deno.FsFile) => {
    f.seekSync(0, Deno.SeekMode.Start);
    const n = f.readSync(buf) ?? 0;
    return new TextDecoder().decode(buf.subarray(0, n));
  };
  return () => {
    const st = read(stat);
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    const text = read(status);
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
    return {
      user: Number(f[11]) / USER_HZ,
      sys: Number(f[12]) / USER_HZ,
      rssMb: kb("VmRSS") / 1024,
      peakMb: kb("VmHWM") / 1024,
    };
  };
}

/** Requests nginx answered so far: its access log has "." and a newline per request. */
function servedBy(dir: string): () => number {
  return () => {
    try {
      return Deno.statSync(`${dir}/access.log`).size / 2;
    } catch {
      return 0;
    }
  };
}

/** Numbers kept in a preallocated array: no allocation per sample. */
class Samples {
  readonly #values: Float64Array;
  #n = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  /** Keeps `v`, or drops it once full. */
  add(v: number): void {
    if (this.#n < this.#values.length) this.#values[this.#n++] = v;
  }

  /** The `q` quantile of the samples kept (NaN when none). */
  quantile(q: number): number {
    return quantile(Array.from(this.#values.subarray(0, this.#n).sort()), q);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The daemon's path: a Checker driving a local prober on `engine`. */
async function runMaglev(
  engine: EngineName,
  size: Size,
  timing: { seconds: number; warmup: number; served: () => number },
) {
  const { seconds, warmup } = timing;
  const usage = procReader("self");
  configureLog({ level: "error", format: "json", write: () => {} });
  const prober = createLocalProber({ engine });
  const { clock, lateness: lateNow } = latenessClock();
  let measuring = false;
  let served = 0;
  let probes = 0;
  let failed = 0;
  const failedBy: Record<string, { n: number; first: string }> = {};
  // Preallocated for twice the probes the window should see, and results
  // counted on the checker's own per-result hooks (onProbe, onLocalError):
  // the bench's bookkeeping adds no allocation or lookup per probe to the
  // CPU it measures. Past the capacity, samples are dropped (counted in
  // probes and failed all the same).
  const capacity = Math.ceil((2 * size.backends * seconds) / size.intervalS) + 1024;
  const lateness = new Samples(capacity);
  const durations = new Samples(capacity);
  const driver: ProbeDriver = {
    start(hc: HealthCheck, backend: Backend, sink: ProbeSink) {
      if (measuring) {
        const late = lateNow();
        if (late !== undefined) lateness.add(late);
      }
      return prober.start(hc, backend, sink);
    },
    cancel: (t) => prober.cancel(t),
  };
  const count = (r: ProbeResult) => {
    if (!measuring) return;
    probes++;
    durations.add(r.durationMs);
    if (r.ok) return;
    failed++;
    const by = failedBy[r.code] ??= { n: 0, first: r.detail };
    by.n++;
  };
  // The daemon's per-probe path includes the probe metrics (maglev_probe_total, the histogram).
  const late: { metrics?: Metrics } = {};
  const checker = new Checker(benchConfig(size.backends, size.intervalS * 1000), {
    driver,
    clock,
    scheduleSlackMs: SCHEDULE_SLACK_MS,
    onProbe: (b, hc, r) => {
      count(r);
      late.metrics?.observeProbe(b, hc, r);
    },
    onLocalError: (_b, _hc, r) => count(r),
  });
  late.metrics = createMetrics({ checker, version: "bench" });
  try {
    checker.start();
    await sleep(warmup * 1000);
    const u0 = usage();
    const n0 = timing.served();
    const t0 = performance.now();
    measuring = true;
    await sleep(seconds * 1000);
    measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    const u1 = usage();
    served = timing.served() - n0;
    const heapMb = Deno.memoryUsage().heapUsed / 2 ** 20;
    const s0 = performance.now();
    const scrape = await late.metrics.render();
    const scrapeMs = performance.now() - s0;
    const result: RunResult = {
      contender: engine,
      backends: size.backends,
      intervalS: size.intervalS,
      seconds: elapsed,
      userS: u1.user - u0.user,
      sysS: u1.sys - u0.sys,
      rssMb: u1.rssMb,
      heapMb,
      scrapeMs,
      scrapeMb: scrape.length / 2 ** 20,
      rssPeakMb: usage().peakMb,
      probes,
      served,
      failed,
      failedBy,
      up: checker.listBackends().filter((b) => checker.backendState(b) === "up").length,
      latenessP50: lateness.quantile(0.5),
      latenessP99: lateness.quantile(0.99),
      durationP50: durations.quantile(0.5),
      durationP99: durations.quantile(0.99),
    };
    return result;
  } finally {
    await withTimeout(checker.stop(), { ms: 10_000, what: "the checker to stop" });
    await prober.close();
  }
}

/** HAProxy's config: one backend of `n` servers checked like the maglev checks. */
export function haproxyConfig(dir: string, size: Size, { maxconn = 4000 } = {}): string {
  const inter = `${size.intervalS}s`;
  const servers = Array.from(
    { length: size.backends },
    (_, i) => `  server b${i} ${backendAddress(i)}:${PORT}`,
  ).join("\n");
  return `global
  maxconn ${maxconn}
  stats socket ${dir}/stats.sock mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout check 1s
  timeout client 5s
  timeout server 5s
backend checks
  option httpchk GET /healthz
  default-server check inter ${inter} fastinter ${inter} downinter ${inter} rise 2 fall 3
${servers}
`;
}

/** `show stat` over the stats socket: servers UP and the sum of failed checks. */
async function haproxyStats(socket: string): Promise<{ up: number; chkfail: number }> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  await conn.write(new TextEncoder().encode("show stat\n"));
  let text = "";
  const buf = new Uint8Array(1 << 16);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  const lines = text.split("\n");
  const head = lines[0].replace(/^# /, "").split(",");
  const st = head.indexOf("status");
  const cf = head.indexOf("chkfail");
  const sv = head.indexOf("svname");
  let up = 0;
  let chkfail = 0;
  for (const l of lines.slice(1)) {
    const f = l.split(",");
    if (f.length < head.length || f[sv] === "BACKEND" || f[sv] === "FRONTEND") continue;
    if (f[st] === "UP") up++;
    chkfail += Number(f[cf]) || 0;
  }
  return { up, chkfail };
}

async function runHaproxy(
  size: Size,
  timing: { seconds: number; warmup: number; served: () => number },
): Promise<RunResult> {
  const { seconds, warmup } = timing;
  const dir = await Deno.makeTempDir({ prefix: "maglev-bench-haproxy-" });
  await Deno.writeTextFile(
    `${dir}/haproxy.cfg`,
    haproxyConfig(dir, size, { maxconn: haproxyMaxconn(size)! }),
  );
  const child = new Deno.Command("haproxy", {
    args: ["-W", "-db", "-f", `${dir}/haproxy.cfg`],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    // Loading 50,000 servers takes a while; the warm-up counts from the stats socket's birth.
    await until("haproxy's stats socket", () => exists(`${dir}/stats.sock`));
    await sleep(warmup * 1000);
    // -W: the master forks one worker, which does the checks.
    const usage = procReader(workerOf(child.pid));
    const s0 = await haproxyStats(`${dir}/stats.sock`);
    const u0 = usage();
    const n0 = timing.served();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const u1 = usage();
    const served = timing.served() - n0;
    const s1 = await haproxyStats(`${dir}/stats.sock`);
    return {
      contender: "haproxy",
      backends: size.backends,
      intervalS: size.intervalS,
      seconds: elapsed,
      userS: u1.user - u0.user,
      sysS: u1.sys - u0.sys,
      rssMb: u1.rssMb,
      heapMb: NaN,
      scrapeMs: NaN,
      scrapeMb: NaN,
      rssPeakMb: u1.peakMb,
      // HAProxy does not count its checks; nginx does.
      probes: served,
      served,
      failed: s1.chkfail - s0.chkfail,
      up: s1.up,
      latenessP50: NaN,
      latenessP99: NaN,
      durationP50: NaN,
      durationP99: NaN,
    };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function workerOf(master: number): number {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === master) {
        return Number(e.name);
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return master;
}

async function child(contender: Contender, size: Size, seconds: number, warmup: number) {
  if (Deno.uid() === 0) {
    await new Deno.Command("ip", { args: ["link", "set", "lo", "up"] }).output();
  }
  const nginx = await startNginx([backendAddress(size.backends - 1)], {
    workers: 2,
    wildcard: Deno.uid() === 0,
    accessLog: true,
  });
  const timing = { seconds, warmup, served: servedBy(nginx.dir) };
  try {
    return contender === "haproxy"
      ? await runHaproxy(size, timing)
      : await runMaglev(contender, size, timing);
  } finally {
    await nginx.stop();
  }
}

/** The hard limit on open files of this process. */
function hardNofile(): number {
  const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
    .find((l) => l.startsWith("Max open files"));
  return Number(line?.split(/\s+/)[4] ?? 1024);
}

/**
 * HAProxy reserves fds for 2 x maxconn plus one per checked server and will
 * not start when that exceeds the hard limit; undefined when no maxconn fits.
 */
export function haproxyMaxconn(size: Size, hard = hardNofile()): number | undefined {
  const maxconn = Math.min(4000, Math.floor((hard - size.backends - 1000) / 2));
  return maxconn >= 100 ? maxconn : undefined;
}

function haproxyMissing(): string | undefined {
  try {
    new Deno.Command("haproxy", { args: ["-v"], stdout: "null", stderr: "null" }).outputSync();
    return undefined;
  } catch {
    return "haproxy is not installed (Debian: apt install haproxy); its runs are skipped";
  }
}

/** CPU seconds per request nginx answered; NaN when none was (every probe failed). */
function perProbe(r: RunResult): number {
  return r.served > 0 ? (r.userS + r.sysS) / r.served : NaN;
}

/** HAProxy's CPU in one round, what the other contenders' ratios divide by. */
interface Reference {
  cores: number;
  user: number;
  sys: number;
  perProbe: number;
}

function referenceOf(r: RunResult): Reference {
  return {
    cores: (r.userS + r.sysS) / r.seconds,
    user: r.userS / r.seconds,
    sys: r.sysS / r.seconds,
    perProbe: perProbe(r),
  };
}

/** The ratio figures, each folded over the rounds as its median, min and max. */
const RATIOS = [
  "cpu_ratio_to_haproxy",
  "cpu_user_ratio_to_haproxy",
  "cpu_sys_ratio_to_haproxy",
  "cpu_per_probe_ratio_to_haproxy",
];
/** Figures also printed round by round (when there is more than one). */
const PER_ROUND = new Set([
  "cpu_cores",
  "cpu_user_cores",
  "cpu_sys_cores",
  "cpu_us_per_probe",
  // The worst round is the reported one: say which round it was.
  "failed",
  "lateness_p99_ms",
  ...RATIOS,
]);
/** Figures a goal bounds: the worst round is reported, not the median. */
const WORST: Readonly<Record<string, Fold>> = {
  failed: "max",
  backends_up_at_end: "min",
  rss_mb: "max",
  rss_peak_after_scrape_mb: "max",
  lateness_p99_ms: "max",
};

/** How the rounds of the figure `name` fold into one (see {@linkcode foldRounds}). */
function foldOfFigure(name: string): Fold {
  const last = name.slice(name.lastIndexOf(".") + 1);
  if (last.endsWith("_to_haproxy_min")) return "min";
  if (last.endsWith("_to_haproxy_max")) return "max";
  return Object.hasOwn(WORST, last) ? WORST[last] : "median";
}

/** One run's figures, unrounded, named `probe_engine.<size>.<contender>.<figure>`. */
function figuresOf(r: RunResult, haproxy: Reference | undefined): Figure[] {
  const p = `probe_engine.${r.backends}@${r.intervalS}s.${r.contender}`;
  const f = (name: string, value: number, unit: string) => ({ name: `${p}.${name}`, value, unit });
  const cores = (r.userS + r.sysS) / r.seconds;
  const out = [
    f("cpu_cores", cores, "cores"),
    f("cpu_user_cores", r.userS / r.seconds, "cores"),
    f("cpu_sys_cores", r.sysS / r.seconds, "cores"),
    f("rss_mb", r.rssMb, "MB"),
    f("probes_per_s", r.probes / r.seconds, "1/s"),
    f("nginx_requests_per_s", r.served / r.seconds, "1/s"),
    f("cpu_us_per_probe", perProbe(r) * 1e6, "us"),
    f("failed", r.failed, "count"),
    f("backends_up_at_end", r.up, "count"),
  ];
  if (r.contender === "haproxy") return out;
  out.push(
    f("heap_used_mb", r.heapMb, "MB"),
    f("metrics_scrape_ms", r.scrapeMs, "ms"),
    f("metrics_scrape_mb", r.scrapeMb, "MB"),
    f("rss_peak_after_scrape_mb", r.rssPeakMb, "MB"),
    f("lateness_p50_ms", r.latenessP50, "ms"),
    f("lateness_p99_ms", r.latenessP99, "ms"),
    f("probe_duration_p50_ms", r.durationP50, "ms"),
    f("probe_duration_p99_ms", r.durationP99, "ms"),
  );
  if (haproxy) {
    out.push(
      f("cpu_ratio_to_haproxy", cores / haproxy.cores, "ratio"),
      f("cpu_user_ratio_to_haproxy", r.userS / r.seconds / haproxy.user, "ratio"),
      f("cpu_sys_ratio_to_haproxy", r.sysS / r.seconds / haproxy.sys, "ratio"),
      // Per probe nginx answered: fair when a starved contender runs fewer probes.
      f("cpu_per_probe_ratio_to_haproxy", perProbe(r) / haproxy.perProbe, "ratio"),
    );
  }
  return out;
}

/**
 * The figures of a size's rounds (each round's results, in any order; its
 * ratios divide by that round's HAProxy run): every figure under its usual
 * name folded over the rounds (the median; the worst round for the figures
 * a goal bounds), each ratio's min and max besides (`..._min`, `..._max`),
 * and, with more than one round, the CPU figures of each round
 * (`<contender>.round<N>.<figure>`). Rounded for print.
 */
export function roundFigures(rounds: readonly RunResult[][]): Figure[] {
  const each = rounds.map((results) => {
    const h = results.find((r) => r.contender === "haproxy");
    const reference = h ? referenceOf(h) : undefined;
    return results.flatMap((r) => figuresOf(r, reference));
  });
  const withRange = each.map((figures) =>
    figures.flatMap((f) => {
      const last = f.name.slice(f.name.lastIndexOf(".") + 1);
      if (!RATIOS.includes(last)) return [f];
      return [f, { ...f, name: `${f.name}_min` }, { ...f, name: `${f.name}_max` }];
    })
  );
  const out = foldRounds(withRange, foldOfFigure);
  if (rounds.length > 1) {
    each.forEach((figures, i) => {
      for (const f of figures) {
        const at = f.name.lastIndexOf(".");
        if (!PER_ROUND.has(f.name.slice(at + 1))) continue;
        out.push({ ...f, name: `${f.name.slice(0, at)}.round${i + 1}${f.name.slice(at)}` });
      }
    });
  }
  return out.map((f) => ({ ...f, value: round(f.value) }));
}

/**
 * Who runs in round `i` (from 0), in order. HAProxy runs first in even
 * rounds and last in odd ones, so neither side always meets the machine
 * fresh. The stream engine (the fallback; its ratio has no goal) runs in
 * the first round only: its rounds would double the bench's time.
 */
export function roundOrder(contenders: readonly Contender[], i: number): Contender[] {
  const here = contenders.filter((c) => c !== "stream" || i === 0);
  const others = here.filter((c) => c !== "haproxy");
  if (others.length === here.length) return others;
  return i % 2 === 0 ? ["haproxy", ...others] : [...others, "haproxy"];
}

/** What a child needs besides its contender and size. */
interface ChildOptions {
  seconds: number;
  warmup: number;
  v8Flags: string;
}

/** Runs one (size, contender) in a child process; undefined (and a line saying so) when it fails. */
async function runChild(
  c: Contender,
  size: Size,
  options: ChildOptions,
): Promise<RunResult | undefined> {
  const self = new URL(import.meta.url).pathname;
  const args = [
    "run",
    "-A",
    `--v8-flags=${options.v8Flags}`,
    self,
    CHILD,
    `--engines=${c}`,
    `--sizes=${size.backends}@${size.intervalS}`,
    `--seconds=${options.seconds}`,
    `--warmup=${options.warmup}`,
  ];
  const cmd = Deno.uid() === 0
    ? new Deno.Command("unshare", {
      args: ["--net", "--", Deno.execPath(), ...args],
      stdout: "piped",
      stderr: "inherit",
    })
    : new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    // One contender failing (e.g. the stream engine out of fds at 50,000) loses only its row.
    console.log(`# probe_engine: ${c} at ${size.backends} backends failed (exit ${out.code})`);
    return undefined;
  }
  return JSON.parse(text.split("\n").at(-1) ?? "") as RunResult;
}

/** Runs every (size, contender) in its own child process, in rounds; returns the figures. */
export async function runProbeEngineBench(
  options: ProbeEngineBenchOptions = {},
): Promise<Figure[]> {
  const sizes = options.sizes ??
    [{ backends: 1000, intervalS: 1 }, { backends: 10_000, intervalS: 1 }, {
      backends: 50_000,
      intervalS: 5,
    }];
  const rounds = options.rounds ?? DEFAULT_ROUNDS;
  let contenders = options.contenders ?? ["haproxy", "socket", "stream"];
  const missing = contenders.includes("haproxy") ? haproxyMissing() : undefined;
  if (missing) {
    console.log(`# probe_engine: ${missing}`);
    contenders = contenders.filter((c) => c !== "haproxy");
  }
  const v8Flags = options.v8Flags ?? await daemonV8Flags();
  const child = { seconds: options.seconds ?? 15, warmup: options.warmup ?? 4, v8Flags };
  console.log(`# probe_engine: maglev children run with --v8-flags=${v8Flags}`);
  const figures: Figure[] = [];
  for (const size of sizes) {
    let here = contenders;
    if (here.includes("haproxy") && haproxyMaxconn(size) === undefined) {
      console.log(
        `# probe_engine: HAProxy skipped at ${size.backends} backends: it needs one fd per ` +
          `checked server and the hard fd limit here is ${hardNofile()}`,
      );
      here = here.filter((c) => c !== "haproxy");
    }
    // Rounds tame the noise of the ratio to HAProxy; without HAProxy one round says enough.
    const n = here.includes("haproxy") ? rounds : 1;
    const results: RunResult[][] = [];
    for (let i = 0; i < n; i++) {
      const round: RunResult[] = [];
      for (const c of roundOrder(here, i)) {
        const r = await runChild(c, size, child);
        if (r) round.push(r);
        if (r?.failedBy && r.failed > 0) {
          const why = Object.entries(r.failedBy).map(([code, b]) => `${code} ${b.n} (${b.first})`);
          console.log(`# probe_engine: ${c} at ${size.backends} round ${i + 1}: ${why.join(", ")}`);
        }
      }
      results.push(round);
    }
    const done = roundFigures(results);
    if (options.emit) done.forEach(options.emit);
    figures.push(...done);
  }
  return figures;
}

/** Parses `1000@1,50000@5`. */
export function parseSizes(text: string): Size[] {
  return text.split(",").map((part) => {
    const m = /^(\d+)@(\d+(?:\.\d+)?)$/.exec(part.trim());
    if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0) {
      throw new Error(`--sizes ${JSON.stringify(part)}: use backends@interval-seconds`);
    }
    return { backends: Number(m[1]), intervalS: Number(m[2]) };
  });
}

/** Parses `--rounds`: a whole number from 1. */
export function parseRounds(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--rounds ${JSON.stringify(text)}: use a whole number from 1`);
  }
  return n;
}

/** Parses `socket,stream,haproxy`. */
export function parseContenders(text: string): Contender[] {
  return text.split(",").map((c) => {
    const t = c.trim();
    if (t !== "socket" && t !== "stream" && t !== "haproxy") {
      throw new Error(`--engines ${JSON.stringify(t)}: use socket, stream or haproxy`);
    }
    return t;
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args.filter((a) => a !== CHILD),
    options: {
      sizes: { type: "string", default: "1000@1,10000@1,50000@5" },
      seconds: { type: "string", default: "15" },
      warmup: { type: "string", default: "4" },
      engines: { type: "string", default: "haproxy,socket,stream" },
      "v8-flags": { type: "string" },
      rounds: { type: "string", default: String(DEFAULT_ROUNDS) },
    },
    strict: true,
  });
  const sizes = parseSizes(values.sizes!);
  const contenders = parseContenders(values.engines!);
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  if (Deno.args.includes(CHILD)) {
    console.log(JSON.stringify(await child(contenders[0], sizes[0], seconds, warmup)));
    Deno.exit(0);
  }
  const v8Flags = values["v8-flags"];
  const rounds = parseRounds(values.rounds!);
  const options = { sizes, seconds, warmup, contenders, v8Flags, rounds };
  for (const f of await runProbeEngineBench(options)) {
    console.log(formatFigure(f));
  }
}
