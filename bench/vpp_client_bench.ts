/**
 * VPP client throughput: 20,000 `lb_as_set_weight` pipelined vs one at a
 * time, and the time to dump 1,000 VIPs with 16 ASes each.
 *
 * `deno run -A bench/vpp_client_bench.ts [--socket PATH]`: with a socket it
 * runs against that server (the VPP test double, or a real VPP: it creates
 * 1,000 VIPs under 198.18.0.0/15 there); without, against the client's own
 * scripted fake in this process (so both ends share one thread).
 * @module
 */

import { parseArgs } from "node:util";
import { VppClient } from "../vpp/mod.ts";
import { FakeVppServer } from "../vpp/testing.ts";

/** One named figure. */
export interface BenchFigure {
  /** Figure name, e.g. `vpp.set_weight.pipelined.msgs_per_s`. */
  name: string;
  /** The value. */
  value: number;
  /** Unit text. */
  unit: string;
}

const REQUESTS = 20_000;
const VIPS = 1_000;
const ASES_PER_VIP = 16;

function vipPrefix(i: number): string {
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}/32`;
}

function asAddress(j: number): string {
  return `10.255.0.${j + 1}`;
}

function fakeDetails(name: string): Record<string, unknown>[] | undefined {
  if (name === "lb_vip_dump") {
    return Array.from({ length: VIPS }, (_, i) => ({
      vip: { pfx: vipPrefix(i), protocol: 6, port: 80 },
      encap: 0,
      flow_table_length: 1024,
    }));
  }
  if (name === "lb_as_v2_dump") {
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < VIPS; i++) {
      for (let j = 0; j < ASES_PER_VIP; j++) {
        out.push({
          vip: { pfx: vipPrefix(i), protocol: 6, port: 80 },
          app_srv: asAddress(j),
          flags: 1,
          weight: 100,
          num_buckets: 64,
        });
      }
    }
    return out;
  }
  return undefined;
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

/** Runs the benchmark against `socket` (or a fake) and returns the figures. */
export async function runVppClientBench(options: { socket?: string } = {}): Promise<BenchFigure[]> {
  const fake = options.socket ? null : await FakeVppServer.start({
    handle: (req) => {
      const details = fakeDetails(req.name);
      return details ? { details } : undefined;
    },
  });
  const client = await VppClient.connect(options.socket ?? fake!.path, { timeoutMs: 60_000 });
  const figures: BenchFigure[] = [];
  try {
    if (options.socket) await populate(client);
    const fields = (k: number) => ({
      pfx: vipPrefix(0),
      protocol: 6,
      port: 80,
      as_address: asAddress(k % ASES_PER_VIP),
      weight: k % 101,
    });

    let t0 = performance.now();
    const all: Promise<unknown>[] = [];
    for (let k = 0; k < REQUESTS; k++) all.push(client.requestRaw("lb_as_set_weight", fields(k)));
    await Promise.all(all);
    const pipelinedMs = performance.now() - t0;

    t0 = performance.now();
    for (let k = 0; k < REQUESTS; k++) await client.requestRaw("lb_as_set_weight", fields(k));
    const serialMs = performance.now() - t0;

    t0 = performance.now();
    const [vips, ases] = await Promise.all([client.lbVipDump(), client.lbAsV2Dump()]);
    const dumpMs = performance.now() - t0;

    const pipelined = REQUESTS / (pipelinedMs / 1000);
    const serial = REQUESTS / (serialMs / 1000);
    figures.push(
      { name: "vpp.set_weight.pipelined", value: Math.round(pipelined), unit: "msgs/s" },
      { name: "vpp.set_weight.one_at_a_time", value: Math.round(serial), unit: "msgs/s" },
      {
        name: "vpp.set_weight.pipelined_speedup",
        value: Math.round((pipelined / serial) * 100) / 100,
        unit: "x",
      },
      { name: "vpp.dump.1000_vips_x16_ases", value: Math.round(dumpMs * 10) / 10, unit: "ms" },
      { name: "vpp.dump.vip_rows", value: vips.length, unit: "rows" },
      { name: "vpp.dump.as_rows", value: ases.length, unit: "rows" },
    );
  } finally {
    await client.close();
    await fake?.close();
  }
  return figures;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { socket: { type: "string" } } });
  const figures = await runVppClientBench({ socket: values.socket });
  console.log(
    `vpp client bench (${values.socket ? `against ${values.socket}` : "in-process fake"})`,
  );
  for (const f of figures) {
    console.log(`${f.name.padEnd(36)} ${String(f.value).padStart(10)} ${f.unit}`);
  }
}
