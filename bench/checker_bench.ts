/**
 * Checker benchmark (issue 4): the daemon's probe path (`Checker` with the
 * real `createProber()`) probing N HTTP backends at a 1 s interval against
 * one nginx that listens on N loopback addresses (127.1.x.y:8080).
 *
 *   deno run -A bench/checker_bench.ts [--backends 5000,10000] [--seconds 60]
 *     [--warmup 3] [--nginx-workers 2] [--listen per-address|wildcard]
 *
 * Each size runs in a child process of its own (clean CPU and RSS figures).
 * As root the child runs in a fresh network namespace (`unshare --net`, only
 * `lo`), so its sockets, TIME_WAIT entries and nginx's listeners are not the
 * host's; otherwise in the current namespace (loopback addresses only).
 *
 * Figures per size, over the measured window (after `--warmup` seconds):
 * daemon CPU seconds per 1,000 probes (utime+stime of `/proc/self/stat`, so
 * every thread of the process counts), RSS and peak RSS, probe start
 * lateness p50/p99 (the instant the checker's timer was due, i.e. the end of
 * the previous probe plus the jittered interval, vs. the instant the probe
 * function was entered), the failed fraction with its codes, and nginx's CPU.
 *
 * File descriptors: nginx gets `worker_rlimit_nofile` (one fd per listening
 * address per process plus connections); this process needs only one fd per
 * probe in flight (tens at 10,000 probes/s), so the usual soft limit is
 * enough. Raise it with `prlimit --nofile=N:N deno ...` if a run reports
 * EMFILE.
 * @module
 */
import { parseArgs } from "node:util";
import type { Backend, Config, HealthCheck } from "../src/config/types.ts";
import type { ProbeFn } from "../src/checker/types.ts";
import { Checker } from "../src/checker/mod.ts";
import { makeConfig } from "../src/checker/checker_test_util.ts";
import { createProber } from "../src/prober/mod.ts";
import type { Clock } from "../src/clock.ts";
import { configureLog } from "../src/log/mod.ts";
import {
  cpuSeconds,
  type Figure,
  formatFigure,
  memoryMb,
  quantile,
  round,
  withTimeout,
} from "./util.ts";

const CHILD = "--checker-bench-child";
const PORT = 8080;
/** Backends per frontend; the checker only probes backends a pool references. */
const PER_FRONTEND = 16;

/** Options of {@linkcode runCheckerBench}. */
export interface CheckerBenchOptions {
  /** Backend counts, each measured in its own process; default [5000, 10000]. */
  backends?: number[];
  /** Measured seconds per size; default 60. */
  seconds?: number;
  /** Seconds before measuring (start stagger, first connections, JIT); default 3. */
  warmup?: number;
  /** nginx `worker_processes`; default 2. */
  nginxWorkers?: number;
  /**
   * `per-address` (default): one nginx listening socket per backend address;
   * `wildcard`: one socket on port 8080 for all of 127/8 (needs root: only
   * used inside the private network namespace).
   */
  listen?: "per-address" | "wildcard";
}

/** The address of backend `i` (0-based): 127.1.0.1 upwards, never .0 or .255. */
export function backendAddress(i: number): string {
  const z = (i % 250) + 1;
  const y = Math.floor(i / 250) % 250;
  const x = 1 + Math.floor(i / 62_500);
  return `127.${x}.${y}.${z}`;
}

/** An nginx config answering `200 ok` on `PORT` of each address, no logs, no keep-alive. */
export function nginxConfig(
  dir: string,
  addresses: readonly string[],
  options: { workers: number; wildcard: boolean; accessLog?: boolean },
): string {
  const workers = options.workers;
  // Wildcard: one socket answering on all of 127/8 (only safe in a private netns).
  const listens = options.wildcard
    ? `    listen ${PORT};`
    : addresses.map((a) => `    listen ${a}:${PORT};`).join("\n");
  return `worker_processes ${workers};
worker_rlimit_nofile 20000;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events {
  worker_connections 16384;
}
http {
  ${
    options.accessLog
      ? `log_format probe "."; access_log ${dir}/access.log probe;`
      : "access_log off;"
  }
  keepalive_timeout 0;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
${listens}
    location / {
      return 200 "ok\\n";
    }
  }
}
`;
}

async function sh(cmd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code})`);
}

/** Pids whose parent is `ppid` (nginx's workers). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) === ppid) out.push(Number(e.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function nginxCpu(master: number): number {
  let total = 0;
  for (const pid of [master, ...childrenOf(master)]) {
    try {
      total += cpuSeconds(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

/**
 * TcpExt and Tcp counters of this network namespace (`/proc/net/netstat`,
 * `/proc/net/snmp`), to explain failed probes (listen overflows, SYN drops,
 * TIME_WAIT overflows, retransmits).
 */
export function tcpCounters(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const file of ["/proc/net/netstat", "/proc/net/snmp"]) {
    const lines = Deno.readTextFileSync(file).split("\n");
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const head = lines[i].split(" ");
      const vals = lines[i + 1].split(" ");
      const prefix = head[0].replace(":", "");
      if (prefix !== "TcpExt" && prefix !== "Tcp") continue;
      for (let k = 1; k < head.length; k++) out[`${prefix}.${head[k]}`] = Number(vals[k]);
    }
  }
  return out;
}

/** Counters worth reporting when they moved. */
const TCP_COUNTERS = [
  "TcpExt.ListenOverflows",
  "TcpExt.ListenDrops",
  "TcpExt.TCPTimeWaitOverflow",
  "TcpExt.TCPReqQFullDrop",
  "TcpExt.TCPReqQFullDoCookies",
  "TcpExt.SyncookiesSent",
  "TcpExt.TCPSynRetrans",
  "TcpExt.TCPAbortOnData",
  "TcpExt.TW",
  "Tcp.AttemptFails",
  "Tcp.EstabResets",
  "Tcp.OutRsts",
  "Tcp.RetransSegs",
];

/** nginx answering on `PORT` of `addresses` (or all of 127/8 with `wildcard`); ready on return. */
export async function startNginx(
  addresses: string[],
  options: { workers: number; wildcard: boolean; accessLog?: boolean },
): Promise<{ pid: number; dir: string; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-bench-nginx-" });
  const conf = `${dir}/nginx.conf`;
  await Deno.writeTextFile(conf, nginxConfig(dir, addresses, options));
  const child = new Deno.Command("nginx", {
    args: ["-p", dir, "-c", conf, "-g", "daemon off;"],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGQUIT");
    } catch {
      // Already gone.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  // Ready when the last address answers (nginx binds them in order).
  const last = addresses[addresses.length - 1];
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const c = await Deno.connect({ hostname: last, port: PORT });
      c.close();
      break;
    } catch (e) {
      if (performance.now() > deadline) {
        await stop();
        throw new Error(`nginx did not listen on ${last}:${PORT}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { pid: child.pid, dir, stop };
}

/** N http backends (interval, timeout 1 s, rise 2, fall 3) in frontends of 16. */
export function benchConfig(n: number, intervalMs = 1000): Config {
  const hc: Partial<HealthCheck> = {
    type: "http",
    port: PORT,
    intervalMs,
    fastIntervalMs: intervalMs,
    downIntervalMs: intervalMs,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
  };
  const backends: Record<string, string> = {};
  const frontends: Parameters<typeof makeConfig>[0]["frontends"] = {};
  for (let i = 0; i < n; i++) backends[`b${String(i).padStart(5, "0")}`] = backendAddress(i);
  const names = Object.keys(backends);
  for (let f = 0; f * PER_FRONTEND < n; f++) {
    const pool: Record<string, number> = {};
    for (const b of names.slice(f * PER_FRONTEND, (f + 1) * PER_FRONTEND)) pool[b] = 100;
    frontends[`fe${String(f).padStart(4, "0")}`] = {
      address: `198.18.${Math.floor(f / 250)}.${(f % 250) + 1}`,
      pools: [["primary", pool]],
    };
  }
  return makeConfig({ healthchecks: { hc }, backends, frontends });
}

/**
 * The real clock, with `lateness()`: how late (ms) the timer callback that is
 * running right now started, or undefined outside of one. The probe start
 * (entered synchronously from the checker's timer) reads it.
 */
export function latenessClock(): { clock: Clock; lateness: () => number | undefined } {
  let firingDue: number | undefined;
  const clock: Clock = {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    setTimeout: (fn, ms) => {
      const due = performance.now() + ms;
      return setTimeout(() => {
        firingDue = due;
        try {
          fn();
        } finally {
          firingDue = undefined;
        }
      }, ms) as unknown as number;
    },
    clearTimeout: (id) => clearTimeout(id),
  };
  return {
    clock,
    lateness: () => firingDue === undefined ? undefined : performance.now() - firingDue,
  };
}

/** What one child measured. */
interface ChildResult {
  backends: number;
  seconds: number;
  probes: number;
  failed: number;
  codes: Record<string, number>;
  cpuS: number;
  nginxCpuS: number;
  rssMb: number;
  peakRssMb: number;
  latenessP50: number;
  latenessP99: number;
  latenessMax: number;
  up: number;
  tcp: Record<string, number>;
  nginxErrors: string;
  failedBySecond: number[];
}

/** One size, in this process: nginx, checker, measure, tear down. */
interface ChildOptions {
  seconds: number;
  warmup: number;
  workers: number;
  wildcard: boolean;
}

async function measure(n: number, options: ChildOptions) {
  const { seconds, warmup } = options;
  configureLog({ level: "info", format: "json", write: () => {} });
  const addresses = Array.from({ length: n }, (_, i) => backendAddress(i));
  const nginx = await startNginx(addresses, options);
  const prober = createProber();
  const { clock, lateness: lateNow } = latenessClock();
  let measuring = false;
  let probes = 0;
  let failed = 0;
  const codes: Record<string, number> = {};
  const lateness: number[] = [];
  /** Failed probes per second of the measured window, to see bursts. */
  const failedBySecond: number[] = [];
  let tMeasure = 0;
  const probe: ProbeFn = (hc, backend: Backend, signal) => {
    const late = lateNow();
    const p = prober.probe(hc, backend, signal);
    if (!measuring) return p;
    if (late !== undefined) lateness.push(late);
    return p.then((r) => {
      if (measuring) {
        probes++;
        if (!r.ok) {
          failed++;
          const sec = Math.floor((performance.now() - tMeasure) / 1000);
          failedBySecond[sec] = (failedBySecond[sec] ?? 0) + 1;
        }
        codes[r.code] = (codes[r.code] ?? 0) + 1;
      }
      return r;
    });
  };
  const checker = new Checker(benchConfig(n), { probe, clock });
  try {
    checker.start();
    await new Promise((r) => setTimeout(r, warmup * 1000));
    const tcp0 = tcpCounters();
    const cpu0 = cpuSeconds();
    const ng0 = nginxCpu(nginx.pid);
    const t0 = performance.now();
    tMeasure = t0;
    measuring = true;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    const cpuS = cpuSeconds() - cpu0;
    const nginxCpuS = nginxCpu(nginx.pid) - ng0;
    const mem = memoryMb();
    const tcp1 = tcpCounters();
    const tcp: Record<string, number> = {};
    for (const k of TCP_COUNTERS) {
      const d = (tcp1[k] ?? 0) - (tcp0[k] ?? 0);
      if (d !== 0) tcp[k] = d;
    }
    const errLog = await Deno.readTextFile(`${nginx.dir}/error.log`).catch(() => "");
    lateness.sort((a, b) => a - b);
    const up = checker.listBackends().filter((b) => checker.backendState(b) === "up").length;
    const result: ChildResult = {
      backends: n,
      seconds: elapsed,
      probes,
      failed,
      codes,
      cpuS,
      nginxCpuS,
      rssMb: mem.rss,
      peakRssMb: mem.peak,
      latenessP50: quantile(lateness, 0.5),
      latenessP99: quantile(lateness, 0.99),
      latenessMax: lateness[lateness.length - 1] ?? NaN,
      up,
      tcp,
      failedBySecond: Array.from(failedBySecond, (v) => v ?? 0),
      nginxErrors: errLog.split("\n").filter((l) => l.trim()).slice(-5).join("\n"),
    };
    return result;
  } finally {
    await withTimeout(checker.stop(), { ms: 10_000, what: "the checker to stop" });
    await prober.close();
    await nginx.stop();
  }
}

/** The figures of one measured size. */
function figuresOf(r: ChildResult): Figure[] {
  const p = `checker.${r.backends}`;
  const f = (name: string, value: number, unit: string) => ({
    name: `${p}.${name}`,
    value: round(value),
    unit,
  });
  return [
    f("probes", r.probes, "count"),
    f("probes_per_s", r.probes / r.seconds, "1/s"),
    f("cpu_s_per_1000_probes", (r.cpuS / r.probes) * 1000, "s"),
    f("cpu_cores", r.cpuS / r.seconds, "cores"),
    f("rss_mb", r.rssMb, "MB"),
    f("peak_rss_mb", r.peakRssMb, "MB"),
    f("lateness_p50_ms", r.latenessP50, "ms"),
    f("lateness_p99_ms", r.latenessP99, "ms"),
    f("lateness_max_ms", r.latenessMax, "ms"),
    f("failed_fraction", r.probes ? r.failed / r.probes : NaN, "ratio"),
    f("backends_up_at_end", r.up, "count"),
    f("nginx_cpu_cores", r.nginxCpuS / r.seconds, "cores"),
    ...Object.entries(r.codes).sort().map(([code, n]) => f(`code.${code}`, n, "count")),
    ...Object.entries(r.tcp).sort().map(([k, n]) => f(`tcp.${k}`, n, "count")),
  ];
}

/**
 * Runs every size in a child process (in a fresh network namespace when
 * root) and returns the figures.
 */
export async function runCheckerBench(options: CheckerBenchOptions = {}): Promise<Figure[]> {
  const sizes = options.backends ?? [5000, 10000];
  const seconds = options.seconds ?? 60;
  const warmup = options.warmup ?? 3;
  const workers = options.nginxWorkers ?? 2;
  const listen = options.listen ?? "per-address";
  if (listen === "wildcard" && Deno.uid() !== 0) {
    throw new Error("--listen wildcard needs root (it only runs in a private network namespace)");
  }
  const self = new URL(import.meta.url).pathname;
  const figures: Figure[] = [];
  for (const n of sizes) {
    const denoArgs = [
      "run",
      "-A",
      self,
      CHILD,
      `--backends=${n}`,
      `--seconds=${seconds}`,
      `--warmup=${warmup}`,
      `--nginx-workers=${workers}`,
      `--listen=${listen}`,
    ];
    const root = Deno.uid() === 0;
    const cmd = root
      ? new Deno.Command("unshare", {
        args: ["--net", "--", Deno.execPath(), ...denoArgs],
        stdout: "piped",
        stderr: "inherit",
      })
      : new Deno.Command(Deno.execPath(), { args: denoArgs, stdout: "piped", stderr: "inherit" });
    const out = await cmd.output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!out.success) throw new Error(`checker bench child (${n} backends) failed:\n${text}`);
    const line = text.split("\n").at(-1) ?? "";
    const r = JSON.parse(line) as ChildResult;
    if (r.failed) {
      console.error(`# failed probes per second (${n} backends): ${r.failedBySecond.join(" ")}`);
    }
    if (r.nginxErrors) console.error(`# nginx error.log (${n} backends):\n${r.nginxErrors}`);
    figures.push(...figuresOf(r));
  }
  return figures;
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`--${flag} ${JSON.stringify(text)} is not a positive number`);
  }
  return n;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args.filter((a) => a !== CHILD),
    options: {
      backends: { type: "string", default: "5000,10000" },
      seconds: { type: "string", default: "60" },
      warmup: { type: "string", default: "3" },
      "nginx-workers": { type: "string", default: "2" },
      listen: { type: "string", default: "per-address" },
    },
    strict: true,
  });
  const sizes = values.backends!.split(",").map((s) => positive("backends", s));
  const seconds = positive("seconds", values.seconds!);
  const warmup = positive("warmup", values.warmup!);
  const workers = positive("nginx-workers", values["nginx-workers"]!);
  const listen = values.listen!;
  if (listen !== "per-address" && listen !== "wildcard") {
    throw new Error(`--listen ${JSON.stringify(listen)}: use per-address or wildcard`);
  }
  if (Deno.args.includes(CHILD)) {
    if (Deno.uid() === 0) await sh("ip", "link", "set", "lo", "up");
    const r = await measure(sizes[0], {
      seconds,
      warmup,
      workers,
      wildcard: listen === "wildcard",
    });
    console.log(JSON.stringify(r));
    Deno.exit(0);
  }
  const figures = await runCheckerBench({
    backends: sizes,
    seconds,
    warmup,
    nginxWorkers: workers,
    listen,
  });
  for (const f of figures) {
    console.log(formatFigure(f));
  }
}
