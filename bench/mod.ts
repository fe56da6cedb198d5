/**
 * `deno task bench`: runs every benchmark in sequence and prints named
 * figures one per line, `name value unit`.
 *
 *   deno run -A bench/mod.ts [--only NAME[,NAME...]] [--list]
 *     [--checker-seconds 60] [--checker-backends 5000,10000]
 *     [--prober-backends 2000] [--prober-seconds 10] [--grpc-seconds 5]
 *
 * Benchmarks (each also runs alone as `deno run -A bench/<name>_bench.ts`):
 * - `vpp_client`: `bench/vpp_client_bench.ts` against the VPP test double in
 *   its own process (`lab/vppsim/main.ts`).
 * - `reconciler`: `bench/reconciler_bench.ts` (issue 5).
 * - `checker`: `bench/checker_bench.ts` (issue 4; nginx, root for a netns).
 * - `probe_engine`: `bench/probe_engine_bench.ts` (issue 15; socket and stream
 *   engines beside HAProxy on the same nginx backends).
 * - `ffi`: `bench/ffi_bench.ts` (issue 15; FFI call costs behind the socket
 *   engine's `send`/`recv` types).
 * - `prober`: `bench/prober_bench.ts` as a process (it has no entry point to
 *   call; its summary line is parsed into figures).
 * - `grpc`: `bench/grpc_bench.ts`'s `main` (skipped when absent).
 * - `dashboard`: `bench/dashboard_bench.ts` (issue 18; the daemon's CPU
 *   watched by a dashboard, with and without the probe heartbeat).
 *
 * Exit status 1 when a benchmark failed (the others still run).
 * @module
 */
import { parseArgs } from "node:util";
import { runVppClientBench } from "./vpp_client_bench.ts";
import { runFreshInitialSyncs, runReconcilerBench } from "./reconciler_bench.ts";
import { runCheckerBench } from "./checker_bench.ts";
import { runProbeEngineBench } from "./probe_engine_bench.ts";
import { runFfiBench } from "./ffi_bench.ts";
import { runDashboardBench } from "./dashboard_bench.ts";
import { type Figure, formatFigure, round, startVppSimProcess } from "./util.ts";

/** Settings every benchmark reads what it needs from. */
export interface BenchSettings {
  /** Measured seconds per size of the checker bench (default 60). */
  checkerSeconds: number;
  /** Backend counts of the checker bench (default 5000 and 10000). */
  checkerBackends: number[];
  /** Backends of the prober bench (default 2000). */
  proberBackends: number;
  /** Seconds of the prober bench (default 10). */
  proberSeconds: number;
  /** Seconds per phase of the gRPC bench (default 5). */
  grpcSeconds: number;
}

/** A runnable benchmark. */
export interface Bench {
  /** Name for `--only`. */
  name: string;
  /** Runs it; `emit` prints a figure as soon as it is known. */
  run(settings: BenchSettings, emit: (f: Figure) => void): Promise<void>;
}

async function vppClient(_s: BenchSettings, emit: (f: Figure) => void): Promise<void> {
  const sim = await startVppSimProcess();
  try {
    for (const f of await runVppClientBench({ socket: sim.socket })) emit(f);
  } finally {
    await sim.stop();
  }
}

/**
 * Turns the prober bench's summary line into figures; undefined when the
 * line does not have the expected shape.
 */
export function parseProberLine(line: string): Figure[] | undefined {
  const m =
    /^(\w+)(?: via netns agent)?: (\d+) backends, (\d+) probes in ([\d.]+) s = (\d+)\/s; daemon CPU ([\d.]+) s = ([\d.]+) core, ([\d.]+) s per 1,000 probes.*; RSS (\d+) MB; lateness p50 ([\d.]+) ms p99 ([\d.]+) ms; codes (\{.*\})$/
      .exec(line.trim());
  if (!m) return undefined;
  const p = `prober.${m[1]}.${m[2]}`;
  const codes = JSON.parse(m[12]) as Record<string, number>;
  const probes = Number(m[3]);
  const failed = Object.entries(codes).filter(([c]) => !c.endsWith("OK")).reduce(
    (sum, [, n]) => sum + n,
    0,
  );
  return [
    { name: `${p}.probes_per_s`, value: Number(m[5]), unit: "1/s" },
    { name: `${p}.cpu_cores`, value: Number(m[7]), unit: "cores" },
    { name: `${p}.cpu_s_per_1000_probes`, value: Number(m[8]), unit: "s" },
    { name: `${p}.rss_mb`, value: Number(m[9]), unit: "MB" },
    { name: `${p}.lateness_p50_ms`, value: Number(m[10]), unit: "ms" },
    { name: `${p}.lateness_p99_ms`, value: Number(m[11]), unit: "ms" },
    {
      name: `${p}.failed_fraction`,
      value: probes ? round(failed / probes, 5) : NaN,
      unit: "ratio",
    },
  ];
}

async function prober(s: BenchSettings, emit: (f: Figure) => void): Promise<void> {
  const script = new URL("./prober_bench.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      script,
      `--backends=${s.proberBackends}`,
      `--seconds=${s.proberSeconds}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`prober_bench exited ${out.code}: ${text}`);
  if (text === "") {
    console.log("# prober: skipped (printed nothing; it needs root)");
    return;
  }
  for (const line of text.split("\n")) {
    const figures = parseProberLine(line);
    if (figures) figures.forEach(emit);
    else console.log(`# prober: ${line}`);
  }
}

/** The unit of a gRPC bench figure, from its name. */
export function grpcUnit(name: string): string {
  if (name.endsWith("_ms")) return "ms";
  if (name.endsWith("_per_s") || name.endsWith("_rps")) return "1/s";
  if (name.startsWith("grpc.daemon_alive")) return "bool";
  return "count";
}

async function grpc(s: BenchSettings, emit: (f: Figure) => void): Promise<void> {
  const url = new URL("./grpc_bench.ts", import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    console.log("# grpc: skipped (bench/grpc_bench.ts does not exist)");
    return;
  }
  const mod = await import(url.href) as Record<string, unknown>;
  if (typeof mod.main !== "function") {
    console.log("# grpc: skipped (bench/grpc_bench.ts exports no main)");
    return;
  }
  const main = mod.main as (o: {
    seconds?: number;
    print?: (line: string) => void;
  }) => Promise<Record<string, number>>;
  await main({
    seconds: s.grpcSeconds,
    print: (line) => {
      const m = /^(\S+) (\S+)$/.exec(line);
      if (m) emit({ name: m[1], value: Number(m[2]), unit: grpcUnit(m[1]) });
      else console.log(line.startsWith("#") ? line : `# grpc: ${line}`);
    },
  });
}

async function reconciler(_s: BenchSettings, emit: (f: Figure) => void): Promise<void> {
  for (const f of await runReconcilerBench()) emit(f);
  for (const f of await runFreshInitialSyncs()) emit(f);
}

async function checker(s: BenchSettings, emit: (f: Figure) => void): Promise<void> {
  for (
    const f of await runCheckerBench({ backends: s.checkerBackends, seconds: s.checkerSeconds })
  ) {
    emit(f);
  }
}

async function probeEngine(_s: BenchSettings, emit: (f: Figure) => void): Promise<void> {
  await runProbeEngineBench({ emit });
}

function ffi(_s: BenchSettings, emit: (f: Figure) => void): Promise<void> {
  for (const f of runFfiBench()) emit(f);
  return Promise.resolve();
}

async function dashboard(_s: BenchSettings, emit: (f: Figure) => void): Promise<void> {
  for (const f of await runDashboardBench()) emit(f);
}

/** Every benchmark, in the order `deno task bench` runs them. */
export const BENCHES: readonly Bench[] = [
  { name: "vpp_client", run: vppClient },
  { name: "reconciler", run: reconciler },
  { name: "prober", run: prober },
  { name: "grpc", run: grpc },
  { name: "checker", run: checker },
  { name: "ffi", run: ffi },
  { name: "probe_engine", run: probeEngine },
  { name: "dashboard", run: dashboard },
];

/** The benchmarks `--only` selects; throws naming an unknown one. */
export function selectBenches(only: readonly string[]): Bench[] {
  const wanted = only.flatMap((o) => o.split(",")).map((o) => o.trim()).filter((o) => o);
  if (wanted.length === 0) return [...BENCHES];
  const known = BENCHES.map((b) => b.name);
  for (const w of wanted) {
    if (!known.includes(w)) {
      throw new Error(`--only ${JSON.stringify(w)}: no such benchmark (have ${known.join(", ")})`);
    }
  }
  return BENCHES.filter((b) => wanted.includes(b.name));
}

function positiveNumbers(flag: string, text: string): number[] {
  return text.split(",").map((t) => {
    const n = Number(t);
    if (!Number.isFinite(n) || n <= 0) {
      throw new Error(`--${flag} ${JSON.stringify(text)}: ${JSON.stringify(t)} is not positive`);
    }
    return n;
  });
}

/** Parses the command line and runs the selected benchmarks; returns the exit code. */
export async function runBenches(args: string[]): Promise<number> {
  let benches: Bench[];
  let settings: BenchSettings;
  try {
    const { values } = parseArgs({
      args,
      options: {
        only: { type: "string", multiple: true, default: [] },
        list: { type: "boolean", default: false },
        "checker-seconds": { type: "string", default: "60" },
        "checker-backends": { type: "string", default: "5000,10000" },
        "prober-backends": { type: "string", default: "2000" },
        "prober-seconds": { type: "string", default: "10" },
        "grpc-seconds": { type: "string", default: "5" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.list) {
      for (const b of BENCHES) console.log(b.name);
      return 0;
    }
    benches = selectBenches(values.only ?? []);
    settings = {
      checkerSeconds: positiveNumbers("checker-seconds", values["checker-seconds"]!)[0],
      checkerBackends: positiveNumbers("checker-backends", values["checker-backends"]!),
      proberBackends: positiveNumbers("prober-backends", values["prober-backends"]!)[0],
      proberSeconds: positiveNumbers("prober-seconds", values["prober-seconds"]!)[0],
      grpcSeconds: positiveNumbers("grpc-seconds", values["grpc-seconds"]!)[0],
    };
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    return 2;
  }
  let failed = 0;
  for (const b of benches) {
    console.log(`# ${b.name}`);
    const t0 = performance.now();
    try {
      await b.run(settings, (f) => console.log(formatFigure(f)));
    } catch (e) {
      failed++;
      console.error(`# ${b.name} FAILED: ${(e as Error).stack ?? e}`);
    }
    console.log(`# ${b.name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return failed ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await runBenches(Deno.args));
}
