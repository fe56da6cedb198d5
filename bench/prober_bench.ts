/**
 * Prober benchmark: probes/s and CPU per 1,000 probes against a local HTTP
 * server reachable on many loopback addresses.
 *
 *   deno run -A bench/prober_bench.ts [--backends 2000] [--seconds 10]
 *     [--type http|tcp|icmp] [--netns]
 *
 * Needs root: it re-executes itself inside a fresh network namespace
 * (`unshare --net`) that only has `lo`, so the server may bind 0.0.0.0 and
 * answer on every 127.x address without being reachable from outside. With
 * `--netns` that namespace is named (`ip netns attach`) and probes go
 * through the probe agent, to measure its cost.
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import type { Backend, HealthCheck } from "../src/config/types.ts";
import { createProber } from "../src/prober/mod.ts";
import { healthCheck, httpParams } from "../src/checker/checker_test_util.ts";

const INSIDE = "--inside-bench-netns";
const args = parseArgs({
  args: Deno.args.filter((a) => a !== INSIDE),
  options: {
    backends: { type: "string", default: "2000" },
    seconds: { type: "string", default: "10" },
    type: { type: "string", default: "http" },
    netns: { type: "boolean", default: false },
  },
});

async function sh(cmd: string, ...argv: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args: argv, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} ${argv.join(" ")} failed`);
}

if (!Deno.args.includes(INSIDE)) {
  if (Deno.uid() !== 0) {
    console.error("prober_bench: needs root (network namespace); skipped");
    Deno.exit(0);
  }
  const out = await new Deno.Command("unshare", {
    args: [
      "--net",
      "--",
      Deno.execPath(),
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      INSIDE,
      ...Deno.args,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exit(out.code);
}

await sh("ip", "link", "set", "lo", "up");
const nBackends = Number(args.values.backends);
const seconds = Number(args.values.seconds);
const type = args.values.type as HealthCheck["type"];
let nsName = "";
if (args.values.netns) {
  nsName = `mgbench${Deno.pid}`;
  await sh("ip", "netns", "attach", nsName, String(Deno.pid));
}

// The server runs in its own process so its CPU is not counted as ours.
const serverSrc = `
  const body = new TextEncoder().encode("HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok");
  const l = Deno.listen({ hostname: "0.0.0.0", port: 8080 });
  console.log("ready");
  const buf = new Uint8Array(4096);
  for await (const c of l) {
    (async () => { try { await c.read(buf); await c.write(body); } catch {} finally { try { c.close(); } catch {} } })();
  }`;
const server = new Deno.Command(Deno.execPath(), {
  args: ["eval", "--quiet", serverSrc],
  stdout: "piped",
}).spawn();
const sreader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
await sreader.read();

const hc: HealthCheck = healthCheck("bench", {
  type,
  port: type === "icmp" ? 0 : 8080,
  timeoutMs: 1000,
  http: type === "http" ? httpParams() : undefined,
  tcp: type === "tcp" ? { ssl: false, serverName: "", insecureSkipVerify: false } : undefined,
});
const backends: Backend[] = Array.from({ length: nBackends }, (_, i) => ({
  name: `b${i}`,
  address: `127.1.${(i >> 8) & 255}.${(i & 255) || 1}`,
  family: 4,
  healthcheck: "bench",
  enabled: true,
  description: "",
}));

const prober = createProber({ netns: nsName });
const codes = new Map<string, number>();
const lateness: number[] = [];
let probes = 0;
const stop = AbortSignal.timeout(seconds * 1000 + 1500);
const warm = performance.now() + 1000;
let cpu0 = process.cpuUsage();
let counting = false;
let countFrom = 0;
const never = new AbortController().signal;

async function loop(b: Backend, offset: number): Promise<void> {
  let next = performance.now() + offset;
  while (!stop.aborted) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (stop.aborted) return;
    const now = performance.now();
    if (!counting && now >= warm) {
      counting = true;
      countFrom = now;
      cpu0 = process.cpuUsage();
    }
    const r = await prober.probe(hc, b, never);
    if (counting) {
      lateness.push(now - next);
      probes++;
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    }
    next += 1000;
  }
}

await Promise.all(backends.map((b, i) => loop(b, (i * 1000) / nBackends)));
const elapsed = (performance.now() - countFrom) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
let agentCpu = "";
if (nsName) {
  // The agent's own CPU, from /proc, before it exits.
  const pids = [...Deno.readDirSync("/proc")].map((e) => e.name).filter((n) => /^\d+$/.test(n));
  for (const pid of pids) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
      if (cmd.includes("agent.ts") || cmd.includes("__maglevd-probe-agent")) {
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const ticks = Number(f[11]) + Number(f[12]);
        agentCpu = `, agent CPU ${(ticks / 100).toFixed(2)} s total (incl. warm-up)`;
      }
    } catch {
      // Gone.
    }
  }
}
await prober.close();
server.kill();
await sreader.cancel();
await server.status;
if (nsName) await sh("ip", "netns", "del", nsName);
lateness.sort((a, b) => a - b);
const pct = (p: number) =>
  lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * p))] ?? 0;
const rss = Deno.memoryUsage().rss / 1e6;
console.log(
  `${type}${nsName ? " via netns agent" : ""}: ${nBackends} backends, ${probes} probes in ` +
    `${elapsed.toFixed(1)} s = ${(probes / elapsed).toFixed(0)}/s; daemon CPU ${
      cpuS.toFixed(2)
    } s ` +
    `= ${(cpuS / elapsed).toFixed(2)} core, ${
      ((cpuS / probes) * 1000).toFixed(3)
    } s per 1,000 probes` +
    `${agentCpu}; RSS ${rss.toFixed(0)} MB; lateness p50 ${pct(0.5).toFixed(1)} ms ` +
    `p99 ${pct(0.99).toFixed(1)} ms; codes ${JSON.stringify(Object.fromEntries(codes))}`,
);
