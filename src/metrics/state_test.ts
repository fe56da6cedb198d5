import { strict as assert } from "node:assert";
import type { BackendSummary, CheckerApi } from "../checker/types.ts";
import { FakeClock } from "../clock.ts";
import type { VipCounters, VppInfo } from "../reconciler/types.ts";
import { renderFamilies } from "./exposition.ts";
import { familySet } from "./families.ts";
import { addBackendGauges, addVppGauges, type MetricsVpp } from "./state.ts";

/** A checker that only lists `backends`. */
function listing(backends: Partial<BackendSummary>[]): CheckerApi {
  return {
    listBackends: () => backends.map((b) => b.name!),
    backendSummary: (name: string) => backends.find((b) => b.name === name)!,
  } as unknown as CheckerApi;
}

async function render(set: ReturnType<typeof familySet>, prefix: string): Promise<string[]> {
  set.collectAll();
  return (await renderFamilies(set.families)).split("\n").filter((l) => l.startsWith(prefix));
}

Deno.test("state: backend labels are escaped; one state series a state", async () => {
  const set = familySet(listing([
    {
      name: 'odd"name',
      address: "2001:db8::1",
      healthcheck: "back\\slash",
      state: "paused",
      health: 0,
      enabled: false,
    },
  ]));
  addBackendGauges(set);
  const head = 'maglev_backend_state{address="2001:db8::1",backend="odd\\"name",' +
    'healthcheck="back\\\\slash",state=';
  assert.deepEqual(await render(set, "maglev_backend_state"), [
    `${head}"unknown"} 0`,
    `${head}"up"} 0`,
    `${head}"down"} 0`,
    `${head}"paused"} 1`,
    `${head}"disabled"} 0`,
    `${head}"removed"} 0`,
  ]);
  assert.deepEqual(await render(set, "maglev_backend_enabled"), [
    'maglev_backend_enabled{backend="odd\\"name"} 0',
  ]);
});

/** A VPP view of fixed facts, connected `connectedAtMs` and booted `bootTimeMs`. */
function vpp(info: Partial<VppInfo>, counters: VipCounters[] = []): MetricsVpp {
  const full: VppInfo = {
    version: "v",
    buildDate: "d",
    buildDirectory: "/b",
    pid: 1,
    bootTimeMs: 0,
    connectedAtMs: 0,
    ...info,
  };
  return {
    enabled: () => true,
    connected: () => true,
    info: () => full,
    counters: () => counters,
  } as unknown as MetricsVpp;
}

Deno.test("state: VPP ages never go below 0; an unknown boot time has no uptime", async () => {
  const clock = new FakeClock(1_000_000);
  const ahead = familySet(listing([]));
  addVppGauges(ahead, {
    checker: listing([]),
    clock,
    vpp: vpp({ bootTimeMs: 2_000_000, connectedAtMs: 3_000_000 }),
  });
  assert.deepEqual(await render(ahead, "maglev_vpp_"), [
    "maglev_vpp_connected 1",
    "maglev_vpp_uptime_seconds 0",
    "maglev_vpp_connected_seconds 0",
    'maglev_vpp_info{build_date="d",pid="1",version="v"} 1',
  ]);
  const noBoot = familySet(listing([]));
  addVppGauges(noBoot, { checker: listing([]), clock, vpp: vpp({ connectedAtMs: 400_000 }) });
  assert.deepEqual(await render(noBoot, "maglev_vpp_uptime_seconds"), []);
  assert.deepEqual(await render(noBoot, "maglev_vpp_connected_seconds"), [
    "maglev_vpp_connected_seconds 600",
  ]);
});

Deno.test("state: VIP packet labels take the prefix's address and the protocol's name", async () => {
  const set = familySet(listing([]));
  const vip = (frontend: string, prefix: string, protocol: number, port: number) => ({
    frontend,
    prefix,
    protocol,
    port,
    next: 0,
    first: 0,
    untracked: 0,
    noServer: 0,
  });
  const counters: VipCounters[] = [
    { ...vip("v6", "2001:db8::80/128", 17, 53), next: 1, noServer: 4 },
    { ...vip("all", "192.0.2.1/32", 255, 0), next: 5 },
  ];
  addVppGauges(set, { checker: listing([]), clock: new FakeClock(), vpp: vpp({}, counters) });
  const lines = await render(set, "maglev_vip_packets_total");
  assert.deepEqual(lines.filter((l) => l.includes('kind="next"')), [
    'maglev_vip_packets_total{address="2001:db8::80",frontend="v6",kind="next",port="53",protocol="udp"} 1',
    'maglev_vip_packets_total{address="192.0.2.1",frontend="all",kind="next",port="0",protocol="any"} 5',
  ]);
  assert.ok(lines.includes(
    'maglev_vip_packets_total{address="2001:db8::80",frontend="v6",kind="no-server",port="53",protocol="udp"} 4',
  ));
});
