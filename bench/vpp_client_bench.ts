/**
 * VPP client throughput and CPU cost.
 *
 * `deno run -A bench/vpp_client_bench.ts [--socket PATH] [--requests N]`:
 * - always: N (default 40,000) `lb_as_set_weight` against the scripted
 *   server (`bench/vpp_scripted_server.ts`) in its own process, all sent
 *   before the first reply is read, so the client is the bound; figures:
 *   msgs/s, client CPU per request (this process, all its threads: the
 *   server's CPU is not in it), and the CPU to enqueue one; measured after a
 *   warm-up run of the same size;
 * - with `--socket` (the VPP test double or a real VPP: it creates 1,000
 *   VIPs under 198.18.0.0/15 there): the same pipelined run, one request at
 *   a time, and the time to dump 1,000 VIPs with 16 ASes each.
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { VppClient } from "../vpp/mod.ts";
import { type Figure, parseProcStatCpu, round, startScriptedVpp } from "./util.ts";

/** One named figure. */
export type BenchFigure = Figure;

const VIPS = 1_000;
const ASES_PER_VIP = 16;

function vipPrefix(i: number): string {
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}/32`;
}

function asAddress(j: number): string {
  return `10.255.0.${j + 1}`;
}

async function populate(client: VppClient): Promise<void> {
  const ops: Promise<unknown>[] = [];
  for (let i = 0; i < VIPS; i++) {
    ops.push(client.requestRaw("lb_add_del_vip_v2", {
      pfx: vipPrefix(i),
      protocol: 6,
      port: 80,
      encap: "LB_API_ENCAP_TYPE_GRE4",
      new_flows_table_length: 1024,
    }));
  }
  await Promise.all(ops);
  ops.length = 0;
  for (let i = 0; i < VIPS; i++) {
    for (let j = 0; j < ASES_PER_VIP; j++) {
      ops.push(client.requestRaw("lb_add_del_as_v2", {
        pfx: vipPrefix(i),
        protocol: 6,
        port: 80,
        as_address: asAddress(j),
        weight: 100,
      }));
    }
  }
  await Promise.all(ops);
}

/** CPU microseconds (user + system) of this process, all threads. */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU microseconds of the main (JavaScript) thread alone: no GC helper threads. */
function mainThreadMicros(): number {
  return parseProcStatCpu(Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/stat`)) * 1e6;
}

/** `requests` weight calls, all enqueued before the first reply is read. */
async function pipelined(client: VppClient, requests: number, prefix: string) {
  const all: Promise<unknown>[] = new Array(requests);
  const main0 = mainThreadMicros();
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  for (let k = 0; k < requests; k++) {
    all[k] = client.requestRaw("lb_as_set_weight", {
      pfx: vipPrefix(0),
      protocol: 6,
      port: 80,
      as_address: asAddress(k % ASES_PER_VIP),
      weight: k % 101,
    });
  }
  const enqueueCpu = cpuMicros() - cpu0;
  await Promise.all(all);
  const ms = performance.now() - t0;
  const cpu = cpuMicros() - cpu0;
  const main = mainThreadMicros() - main0;
  return [
    {
      name: `${prefix}.set_weight.pipelined`,
      value: Math.round(requests / (ms / 1000)),
      unit: "msgs/s",
    },
    { name: `${prefix}.set_weight.cpu_per_request`, value: round(cpu / requests, 2), unit: "us" },
    {
      name: `${prefix}.set_weight.main_thread_cpu_per_request`,
      value: round(main / requests, 2),
      unit: "us",
    },
    {
      name: `${prefix}.set_weight.enqueue_cpu_per_request`,
      value: round(enqueueCpu / requests, 2),
      unit: "us",
    },
  ];
}

/** Runs the benchmark (see the module doc) and returns the figures. */
export async function runVppClientBench(
  options: { socket?: string; requests?: number } = {},
): Promise<BenchFigure[]> {
  const requests = options.requests ?? 40_000;
  const figures: BenchFigure[] = [];
  const scripted = await startScriptedVpp();
  try {
    const client = await VppClient.connect(scripted.socket, { timeoutMs: 60_000 });
    try {
      // A warm-up run of the same depth: the JIT has optimised the paths and
      // the table of requests in flight has grown to it once, as on a
      // daemon's long-lived connection; the figures are the steady state.
      await pipelined(client, requests, "warmup");
      figures.push(...await pipelined(client, requests, "vpp.scripted"));
    } finally {
      await client.close();
    }
  } finally {
    await scripted.stop();
  }
  if (!options.socket) return figures;
  const client = await VppClient.connect(options.socket, { timeoutMs: 60_000 });
  try {
    await populate(client);
    figures.push(...await pipelined(client, requests, "vpp.server"));
    const serialN = Math.min(requests, 5000);
    let t0 = performance.now();
    for (let k = 0; k < serialN; k++) {
      await client.requestRaw("lb_as_set_weight", {
        pfx: vipPrefix(0),
        protocol: 6,
        port: 80,
        as_address: asAddress(k % ASES_PER_VIP),
        weight: k % 101,
      });
    }
    const serial = serialN / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    const [vips, ases] = await Promise.all([
      client.dump("lb_vip_dump", {}),
      client.dump("lb_as_v2_dump", {}),
    ]);
    const dumpMs = performance.now() - t0;
    figures.push(
      { name: "vpp.server.set_weight.one_at_a_time", value: Math.round(serial), unit: "msgs/s" },
      { name: "vpp.server.dump.1000_vips_x16_ases", value: round(dumpMs, 1), unit: "ms" },
      { name: "vpp.server.dump.vip_rows", value: vips.length, unit: "rows" },
      { name: "vpp.server.dump.as_rows", value: ases.length, unit: "rows" },
    );
  } finally {
    await client.close();
  }
  return figures;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { socket: { type: "string" }, requests: { type: "string" } },
  });
  const figures = await runVppClientBench({
    socket: values.socket,
    requests: values.requests ? Number(values.requests) : undefined,
  });
  for (const f of figures) {
    console.log(`${f.name.padEnd(44)} ${String(f.value).padStart(10)} ${f.unit}`);
  }
}
