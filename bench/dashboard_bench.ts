/**
 * What a watching dashboard costs the router: the daemon's CPU unwatched,
 * watched by `maglevd dashboard` with a browser open (the probe heartbeat
 * on: its stream asks for debug records, one per probe start and end), with
 * no browser (the heartbeat off until one connects), and with
 * `--heartbeat=false` and a browser, one phase after the other in one run,
 * plus the dashboard's own CPU and what one browser's event stream carries.
 *
 *   deno run -A bench/dashboard_bench.ts [--backends 100] [--seconds 10]
 *
 * Backends are loopback HTTP servers in this process; VPP is off so only the
 * checker and the API work.
 * @module
 */
import { parseArgs } from "node:util";
import { startBackends } from "../lab/backends.ts";
import { DaemonProcess, freePort, startDashboardProcess, waitFor } from "../tests/helpers/mod.ts";
import { createClient } from "../src/grpc/client.ts";
import { cpuSeconds, type Figure, formatFigure, round } from "./util.ts";

/** Options of {@link runDashboardBench}. */
export interface DashboardBenchOptions {
  /** HTTP backends, probed every 100 ms (default 100). */
  backends?: number;
  /** Measured seconds per phase (default 10). */
  seconds?: number;
}

function config(n: number, port: number): string {
  const backends = Array.from(
    { length: n },
    (_, i) => `    b${i}: { address: 127.0.71.${i + 1}, healthcheck: hc }`,
  ).join("\n");
  const frontends = Array.from({ length: Math.ceil(n / 10) }, (_, f) => {
    const names = Array.from({ length: Math.min(10, n - f * 10) }, (_, j) => `b${f * 10 + j}: {}`);
    return `    vip${f}:\n      address: 192.0.2.${f + 1}\n      protocol: tcp\n      port: 80\n` +
      `      pools:\n        - { name: primary, backends: { ${names.join(", ")} } }`;
  }).join("\n");
  return `maglev:
  healthchecks:
    hc:
      type: http
      port: ${port}
      params: { path: /healthz, response-code: 200 }
      interval: 100ms
      fast-interval: 100ms
      timeout: 80ms
      rise: 2
      fall: 2
  backends:
${backends}
  frontends:
${frontends}
`;
}

/** CPU cores `pid` used over `seconds`. */
async function cores(pid: number, seconds: number): Promise<number> {
  const before = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return (cpuSeconds(pid) - before) / seconds;
}

/** What one watched phase measured. */
interface Watched {
  daemonCores: number;
  dashboardCores: number;
  sseBytes: number;
  sseMessages: number;
}

/** Runs a dashboard on `grpcAddr` with one reading browser; measures `seconds`. */
async function watched(
  daemonPid: number,
  grpcAddr: string,
  options: { heartbeat: boolean; browser: boolean; seconds: number },
): Promise<Watched> {
  const dash = await startDashboardProcess([grpcAddr], {
    args: [`--heartbeat=${options.heartbeat}`],
  });
  const listen = new URL(dash.url).host;
  const stream = new AbortController();
  try {
    await waitFor("the dashboard connected", async () => {
      const st = await (await fetch(`http://${listen}/api/state`)).json();
      return st.daemons[0].connection.connected;
    }, { timeoutMs: 30_000 });
    let bytes = 0;
    let messages = 0;
    let reading: Promise<void> = Promise.resolve();
    if (options.browser) {
      const res = await fetch(`http://${listen}/api/events`, { signal: stream.signal });
      reading = (async () => {
        for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
          bytes += chunk.length;
          messages += chunk.split("\n\n").length - 1;
        }
      })().catch(() => {});
    }
    const dashBefore = cpuSeconds(dash.pid);
    const [b0, m0] = [bytes, messages];
    const daemonCores = await cores(daemonPid, options.seconds);
    const dashboardCores = (cpuSeconds(dash.pid) - dashBefore) / options.seconds;
    const result = {
      daemonCores,
      dashboardCores,
      sseBytes: (bytes - b0) / options.seconds,
      sseMessages: (messages - m0) / options.seconds,
    };
    stream.abort();
    await reading;
    return result;
  } finally {
    stream.abort();
    await dash.stop();
  }
}

/** Runs the three phases; resolves with the figures. */
export async function runDashboardBench(options: DashboardBenchOptions = {}): Promise<Figure[]> {
  const n = options.backends ?? 100;
  const seconds = options.seconds ?? 10;
  if (n > 250) throw new Error(`--backends ${n}: at most 250 (one /24 of loopback addresses)`);
  const dir = await Deno.makeTempDir({ prefix: "maglev-dashboard-bench-" });
  const port = freePort();
  const backends = startBackends(
    Array.from({ length: n }, (_, i) => ({ name: `b${i}`, address: `127.0.71.${i + 1}`, port })),
  );
  await Deno.writeTextFile(`${dir}/maglev.yaml`, config(n, port));
  const daemon = await DaemonProcess.start(`${dir}/maglev.yaml`, { vppSocket: "" });
  try {
    const client = createClient(daemon.grpcAddr);
    await waitFor("every backend up", async () => {
      const r = await client.listBackends();
      return r.backends.length === n && r.backends.every((b) => b.state === "up");
    }, { timeoutMs: 60_000 });
    client.close();
    const pid = daemon.child.pid;
    const unwatched = await cores(pid, seconds);
    const beat = await watched(pid, daemon.grpcAddr, { heartbeat: true, browser: true, seconds });
    const alone = await watched(pid, daemon.grpcAddr, {
      heartbeat: true,
      browser: false,
      seconds,
    });
    const quiet = await watched(pid, daemon.grpcAddr, {
      heartbeat: false,
      browser: true,
      seconds,
    });
    const p = `dashboard.${n}_backends`;
    const figures: Figure[] = [
      { name: `${p}.daemon_cpu_cores.unwatched`, value: round(unwatched), unit: "cores" },
    ];
    const phases = [["heartbeat", beat], ["no_browser", alone], ["no_heartbeat", quiet]] as const;
    for (const [name, w] of phases) {
      figures.push(
        { name: `${p}.${name}.daemon_cpu_cores`, value: round(w.daemonCores), unit: "cores" },
        {
          name: `${p}.${name}.daemon_cpu_ratio`,
          value: round(w.daemonCores / unwatched, 2),
          unit: "ratio",
        },
        { name: `${p}.${name}.dashboard_cpu_cores`, value: round(w.dashboardCores), unit: "cores" },
        { name: `${p}.${name}.sse_kbytes_per_s`, value: round(w.sseBytes / 1024, 1), unit: "kB/s" },
        { name: `${p}.${name}.sse_messages_per_s`, value: round(w.sseMessages, 1), unit: "1/s" },
      );
    }
    return figures;
  } finally {
    await daemon.stop();
    await backends.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backends: { type: "string", default: "100" },
      seconds: { type: "string", default: "10" },
    },
    strict: true,
  });
  const figures = await runDashboardBench({
    backends: Number(values.backends),
    seconds: Number(values.seconds),
  });
  for (const f of figures) console.log(formatFigure(f));
}
