/**
 * gRPC benchmark (issue 6): the real daemon as a subprocess with 50
 * frontends and 200 static backends (VPP disabled, so only the API is
 * measured), and clients in separate processes.
 *
 *   deno run -A bench/grpc_bench.ts [--rate 1000] [--seconds 5]
 *     [--subscribers 100] [--watch-procs 4] [--event-rate 1000]
 *
 * 1. `GetFrontend` at a fixed rate (open loop) from one spawned client:
 *    latency p50/p99 measured from send to reply.
 * 2. `WatchEvents` with N subscribers (spread over spawned processes, one
 *    channel each) while this process drives backend events at a fixed rate
 *    with Pause/ResumeBackend: events lost (sequence gaps, resyncs, events
 *    never delivered; must be 0) and delivery lag p99 (event time, in ms as
 *    the daemon stamps it, to arrival at the subscriber).
 *
 * Figures are printed one per line, `name value`. Clients end by exiting
 * their process rather than cancelling streams and closing the channel,
 * which trips a Deno 2.9.6 nghttp2 abort in the server (denoland/deno#36788).
 * @module
 */
import { parseArgs } from "node:util";
import { createClient, type MaglevClient } from "../src/grpc/client.ts";
import type { Event } from "../proto/maglev_pb.ts";
import { DaemonProcess } from "../tests/helpers/mod.ts";

const SELF = new URL(import.meta.url).pathname;
const FRONTENDS = 50;
const BACKENDS = 200;

/** The benchmark's figures, by name. */
export type Figures = Record<string, number>;

/** Options of `main`. */
export interface GrpcBenchOptions {
  /** GetFrontend requests per second (default 1000). */
  rate?: number;
  /** Seconds each phase runs (default 5). */
  seconds?: number;
  /** WatchEvents subscribers (default 100). */
  subscribers?: number;
  /** Processes the subscribers are spread over (default 4). */
  watchProcs?: number;
  /** Backend events per second driven during the watch phase (default 1000). */
  eventRate?: number;
  /** Where figure lines go (default console.log). */
  print?: (line: string) => void;
}

/** 50 frontends of 4 static backends each (3 primary, 1 fallback). */
export function benchConfig(): string {
  const lines = ["maglev:", "  backends:"];
  for (let i = 0; i < BACKENDS; i++) {
    lines.push(`    be${pad(i)}: { address: 10.${1 + (i >> 8)}.${i & 255}.1 }`);
  }
  lines.push("  frontends:");
  for (let f = 0; f < FRONTENDS; f++) {
    const b = (k: number) => `be${pad(f * 4 + k)}`;
    lines.push(
      `    fe${pad(f)}:`,
      `      address: 198.18.0.${f + 1}`,
      `      protocol: tcp`,
      `      port: 80`,
      `      pools:`,
      `        - { name: primary, backends: { ${b(0)}: {}, ${b(1)}: {}, ${b(2)}: {} } }`,
      `        - { name: fallback, backends: { ${b(3)}: {} } }`,
    );
  }
  return lines.join("\n") + "\n";
}

function pad(n: number): string {
  return String(n).padStart(3, "0");
}

/** The `q` quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Calls `fire(i)` for i = 0..rate*seconds-1 at `rate` per second, catching
 * up in bursts when a timer fires late (open loop: replies are not awaited).
 */
async function paced(rate: number, seconds: number, fire: (i: number) => void): Promise<number> {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    while (sent < due) fire(sent++);
    if (sent < total) await new Promise((r) => setTimeout(r, 1));
  }
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------- client roles

/** Child role: GetFrontend at `rate`/s for `seconds`; prints one JSON line. */
async function roleGetFrontend(server: string, rate: number, seconds: number): Promise<void> {
  const client = createClient(server);
  const name = (i: number) => `fe${pad(i % FRONTENDS)}`;
  // Warm-up: connection, code paths, JIT.
  for (let i = 0; i < 200; i++) await client.getFrontend({ name: name(i) });
  const latencies: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const elapsed = await paced(rate, seconds, (i) => {
    const t0 = performance.now();
    pending.push(
      client.getFrontend({ name: name(i) }, { timeoutMs: 10_000 }).then(
        () => void latencies.push(performance.now() - t0),
        () => void errors++,
      ),
    );
  });
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    requests: pending.length,
    errors,
    achieved_rps: pending.length / elapsed,
    p50_ms: quantile(latencies, 0.5),
    p99_ms: quantile(latencies, 0.99),
    max_ms: latencies[latencies.length - 1],
  }));
  // Exit instead of closing the channel (denoland/deno#36788).
  Deno.exit(0);
}

interface SubStats {
  startSeq: number;
  lastSeq: number;
  live: number;
  gaps: number;
  resyncs: number;
  snapshot: number;
}

/**
 * Child role: `n` WatchEvents subscribers, each on its own channel. Prints
 * `ready` once every snapshot arrived; on `end <seq>` on stdin waits until
 * each subscriber saw `seq` (or 10 s passed) and prints one JSON line.
 */
async function roleWatch(server: string, n: number, snapshotSize: number): Promise<void> {
  const stats: SubStats[] = [];
  const lags: number[] = [];
  const clients: MaglevClient[] = [];
  for (let s = 0; s < n; s++) {
    const client = createClient(server);
    clients.push(client);
    const st: SubStats = { startSeq: -1, lastSeq: -1, live: 0, gaps: 0, resyncs: 0, snapshot: 0 };
    stats.push(st);
    const stream = client.watchEvents({ backend: true, frontend: true });
    (async () => {
      for await (const ev of stream) onEvent(st, ev);
    })().catch((e) => {
      console.error(`subscriber ${s}: ${(e as Error).message}`);
      st.gaps = Infinity;
    });
  }
  function onEvent(st: SubStats, ev: Event): void {
    const at = nowMs();
    const seq = Number(ev.seq);
    if (ev.event === "resync") {
      // The buffered events up to `seq` were dropped; a snapshot follows.
      st.resyncs++;
      if (st.startSeq >= 0) st.gaps += Math.max(0, seq - st.lastSeq);
      st.lastSeq = Math.max(st.lastSeq, seq);
      return;
    }
    if (st.startSeq < 0) {
      st.startSeq = seq;
      st.lastSeq = seq;
    }
    if (seq <= st.lastSeq) {
      // Snapshot events carry the number of the newest event published.
      st.snapshot++;
      return;
    }
    st.gaps += seq - st.lastSeq - 1;
    st.lastSeq = seq;
    st.live++;
    lags.push(at - Number(ev.at_ns) / 1e6);
  }
  const waitUntil = async (cond: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return cond();
  };
  const allSnap = await waitUntil(() => stats.every((s) => s.snapshot >= snapshotSize), 30_000);
  if (!allSnap) console.error("watch: not every subscriber received its snapshot");
  console.log("ready");
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let endSeq = -1;
  let buf = "";
  for await (const chunk of lines) {
    buf += chunk;
    const m = /^end (\d+)$/m.exec(buf);
    if (m) {
      endSeq = Number(m[1]);
      break;
    }
  }
  await waitUntil(() => stats.every((s) => s.lastSeq >= endSeq), 10_000);
  lags.sort((a, b) => a - b);
  const lost = stats.reduce(
    (sum, s) => sum + s.gaps + Math.max(0, endSeq - s.lastSeq),
    0,
  );
  console.log(JSON.stringify({
    subscribers: n,
    delivered: lags.length,
    lost,
    resyncs: stats.reduce((sum, s) => sum + s.resyncs, 0),
    lags: downsample(lags, 2000),
    lag_p50_ms: quantile(lags, 0.5),
    lag_p99_ms: quantile(lags, 0.99),
    lag_max_ms: lags[lags.length - 1],
  }));
  Deno.exit(0);
}

/** Keeps at most `max` evenly spaced values of a sorted array (quantiles survive). */
function downsample(sorted: number[], max: number): number[] {
  if (sorted.length <= max) return sorted;
  const out: number[] = [];
  for (let i = 0; i < max; i++) out.push(sorted[Math.floor((i * sorted.length) / max)]);
  return out;
}

// ---------------------------------------------------------------- driver

function spawnRole(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SELF, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Reads a child's stdout line by line. */
function lineReader(child: Deno.ChildProcess): () => Promise<string | undefined> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return async () => {
    while (true) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return buf === "" ? undefined : buf;
      buf += value;
    }
  };
}

/** Runs the benchmark; prints figures one per line and returns them. */
export async function main(options: GrpcBenchOptions = {}): Promise<Figures> {
  const rate = options.rate ?? 1000;
  const seconds = options.seconds ?? 5;
  const subscribers = options.subscribers ?? 100;
  const procs = Math.max(1, Math.min(options.watchProcs ?? 4, subscribers));
  const eventRate = options.eventRate ?? 1000;
  const print = options.print ?? ((l: string) => console.log(l));
  const figures: Figures = {};
  const put = (name: string, value: number) => {
    figures[name] = round(value);
    print(`${name} ${round(value)}`);
  };

  const dir = await Deno.makeTempDir({ prefix: "maglev-grpc-bench-" });
  const config = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(config, benchConfig());
  const daemon = await DaemonProcess.start(config, { vppSocket: "" });
  let exited = false;
  daemon.exited.then(() => exited = true, () => exited = true);
  const driver = createClient(daemon.grpcAddr);
  try {
    // Phase 1: GetFrontend latency from a separate process.
    const gf = spawnRole([
      "--role=get-frontend",
      `--server=${daemon.grpcAddr}`,
      `--rate=${rate}`,
      `--seconds=${seconds}`,
    ]);
    gf.stdin.close();
    const gfLine = await lineReader(gf)();
    await gf.status;
    if (!gfLine) throw new Error("get-frontend client printed nothing");
    const g = JSON.parse(gfLine);
    put("grpc.get_frontend.rate_rps", g.achieved_rps);
    put("grpc.get_frontend.requests", g.requests);
    put("grpc.get_frontend.errors", g.errors);
    put("grpc.get_frontend.p50_ms", g.p50_ms);
    put("grpc.get_frontend.p99_ms", g.p99_ms);
    put("grpc.get_frontend.max_ms", g.max_ms);
    put("grpc.daemon_alive_after_get_frontend", exited ? 0 : 1);
    if (exited) throw new Error(`maglevd died during GetFrontend:\n${daemon.tail()}`);

    // Phase 2: WatchEvents fan-out while this process drives backend events.
    // Snapshot: one event per frontend/backend pair plus one per frontend.
    const snapshotSize = BACKENDS + FRONTENDS;
    const children: Deno.ChildProcess[] = [];
    const readers: (() => Promise<string | undefined>)[] = [];
    for (let p = 0; p < procs; p++) {
      const n = Math.floor(subscribers / procs) + (p < subscribers % procs ? 1 : 0);
      const c = spawnRole([
        "--role=watch",
        `--server=${daemon.grpcAddr}`,
        `--subscribers=${n}`,
        `--snapshot=${snapshotSize}`,
      ]);
      children.push(c);
      readers.push(lineReader(c));
    }
    for (const r of readers) {
      const line = await r();
      if (line !== "ready") throw new Error(`watch client said ${JSON.stringify(line)}`);
    }
    // Toggle the third primary and the fallback backend of every frontend
    // round-robin: each RPC is one transition and exactly one backend event
    // (each backend is in one frontend, and the two untouched primaries keep
    // every frontend up, so no frontend event). 100 backends at 1000/s means
    // a backend is toggled every 100 ms, long after its previous RPC ended.
    const toggled = Array.from({ length: FRONTENDS * 2 }, (_, k) => (k >> 1) * 4 + 2 + (k & 1));
    const paused = new Array(BACKENDS).fill(false);
    const seqBefore = await newestSeq(daemon.grpcAddr);
    let rpcErrors = 0;
    let lastSeq = 0;
    const pending: Promise<void>[] = [];
    // A pause is one transition; a resume of a static backend is two
    // (paused -> unknown -> up), so three events per pause/resume pair.
    const rpcRate = (eventRate * 2) / 3;
    const elapsed = await paced(rpcRate, seconds, (i) => {
      const b = toggled[i % toggled.length];
      const name = `be${pad(b)}`;
      const call = paused[b] ? driver.resumeBackend({ name }) : driver.pauseBackend({ name });
      paused[b] = !paused[b];
      pending.push(call.then(() => {}, () => void rpcErrors++));
    });
    await Promise.all(pending);
    // The newest sequence number: a fresh subscriber's snapshot carries it.
    lastSeq = await newestSeq(daemon.grpcAddr);
    for (const c of children) {
      const w = c.stdin.getWriter();
      await w.write(new TextEncoder().encode(`end ${lastSeq}\n`));
      await w.close();
    }
    let lost = 0, delivered = 0, resyncs = 0;
    const lags: number[] = [];
    for (const r of readers) {
      const line = await r();
      if (!line) throw new Error("a watch client printed no result");
      const s = JSON.parse(line);
      lost += s.lost;
      delivered += s.delivered;
      resyncs += s.resyncs;
      lags.push(...s.lags);
    }
    await Promise.all(children.map((c) => c.status));
    lags.sort((a, b) => a - b);
    put("grpc.watch_events.subscribers", subscribers);
    put("grpc.watch_events.driver_rpcs_per_s", (rpcRate * seconds) / elapsed);
    put("grpc.watch_events.published", lastSeq - seqBefore);
    put("grpc.watch_events.published_per_s", (lastSeq - seqBefore) / elapsed);
    put("grpc.watch_events.driver_errors", rpcErrors);
    put("grpc.watch_events.delivered", delivered);
    put("grpc.watch_events.lost", lost);
    put("grpc.watch_events.resyncs", resyncs);
    put("grpc.watch_events.lag_p50_ms", quantile(lags, 0.5));
    put("grpc.watch_events.lag_p99_ms", quantile(lags, 0.99));
    put("grpc.daemon_alive_after_watch_events", exited ? 0 : 1);
    if (exited) throw new Error(`maglevd died during WatchEvents:\n${daemon.tail()}`);
  } finally {
    driver.close();
    if (!exited) {
      const code = await daemon.stop();
      if (code !== 0) print(`# maglevd exited ${code} on SIGTERM`);
    } else {
      await daemon.kill();
    }
    await Deno.remove(dir, { recursive: true });
  }
  return figures;
}

/**
 * Child role: prints the daemon's newest event sequence number, which the
 * first snapshot event of a new subscription carries, and exits without
 * cancelling the stream (that path is the nghttp2 abort).
 */
async function roleSeq(server: string): Promise<void> {
  const it = createClient(server).watchEvents({ backend: true, frontend: true })[
    Symbol.asyncIterator
  ]();
  const first = await it.next();
  console.log(first.done ? "none" : String(first.value.seq));
  Deno.exit(0);
}

/** The daemon's newest event sequence number, asked from a separate process. */
async function newestSeq(server: string): Promise<number> {
  const c = spawnRole(["--role=seq", `--server=${server}`]);
  c.stdin.close();
  const line = await lineReader(c)();
  await c.status;
  const n = Number(line);
  if (!Number.isInteger(n)) throw new Error(`seq client said ${JSON.stringify(line)}`);
  return n;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      role: { type: "string", default: "" },
      server: { type: "string", default: "" },
      rate: { type: "string", default: "1000" },
      seconds: { type: "string", default: "5" },
      subscribers: { type: "string", default: "100" },
      "watch-procs": { type: "string", default: "4" },
      "event-rate": { type: "string", default: "1000" },
      snapshot: { type: "string", default: "0" },
    },
  });
  if (values.role === "get-frontend") {
    await roleGetFrontend(values.server!, Number(values.rate), Number(values.seconds));
  } else if (values.role === "seq") {
    await roleSeq(values.server!);
  } else if (values.role === "watch") {
    await roleWatch(values.server!, Number(values.subscribers), Number(values.snapshot));
  } else {
    await main({
      rate: Number(values.rate),
      seconds: Number(values.seconds),
      subscribers: Number(values.subscribers),
      watchProcs: Number(values["watch-procs"]),
      eventRate: Number(values["event-rate"]),
    });
    Deno.exit(0);
  }
}
