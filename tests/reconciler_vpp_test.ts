/**
 * The real `VppManager` (reconciler) against the VPP under test over its API
 * socket: the double as its own process, or a fresh real VPP with
 * `MAGLEV_TEST_VPP=real`. Initial sync, idempotence, failover with one flush,
 * drift repair, a VPP restart, warmup neutrality, no late flush for a
 * backend down during warmup and a VIP recreate, judged
 * by what VPP holds when read back through its API, and by the writes the
 * manager sent. Health comes from a fake prober on a fake clock; VPP is real
 * I/O, so its answers are awaited with a bounded deadline.
 */
import { strict as assert } from "node:assert";
import type { Config } from "../src/config/types.ts";
import { FAIL, FakeProber, PASS } from "../src/checker/checker_test_util.ts";
import {
  assertQuietSyncs,
  assertRecreates,
  assertSteadySync,
  fullSyncs,
  labConfig as config,
  SLOW_HC,
  startAndSettle,
  throughWarmup,
  WARMUP_5S,
  wire,
  type Wired,
  zeroWritesFor,
} from "../src/reconciler/harness_test_util.ts";
import { addLogListener, configureLog, type LogRecord } from "../src/log/mod.ts";
import { VppClient } from "../vpp/mod.ts";
import { waitFor } from "./helpers/mod.ts";
import {
  announceVppSkip,
  readLbView,
  vppSkipReason,
  vppTest,
  type VppUnderTest,
} from "./helpers/vpp_under_test.ts";

configureLog({ level: "error", format: "json", write: () => {} });

announceVppSkip("tests/reconciler_vpp_test.ts", vppSkipReason());

const WEB_STEADY = { "10.0.0.10": 100, "10.0.0.2": 50, "10.0.0.3": 0 };
const FAILOVER_STEADY = { "10.0.1.1": 100, "10.0.1.2": 0 };

/** One manager (a daemon's reconciler) on a fake clock, talking to `vpp`. */
function daemon(vpp: VppUnderTest, cfg: Config, prepare?: (p: FakeProber) => void): Wired {
  return wire(cfg, vpp.socket, { prepare });
}

/** Live ASes of a VIP in VPP (read through its API): address -> weight. */
async function weights(vpp: VppUnderTest, prefix: string): Promise<Record<string, number>> {
  const view = await readLbView(vpp.socket);
  const out: Record<string, number> = {};
  for (const a of view.ases.values()) if (a.vip === prefix) out[a.address] = a.weight;
  return out;
}

/** Waits until VPP holds exactly `want` for `prefix`. */
async function vppHolds(
  vpp: VppUnderTest,
  prefix: string,
  want: Record<string, number>,
): Promise<void> {
  const text = JSON.stringify(want);
  let last = {};
  await waitFor(`${vpp.kind} VPP to hold ${prefix} ${text}`, async () => {
    last = await weights(vpp, prefix);
    return JSON.stringify(Object.entries(last).sort()) ===
      JSON.stringify(Object.entries(want).sort());
  }, { describe: () => JSON.stringify(last) });
}

/** A test with its own VPP under test, stopped after. */
function reconcilerTest(name: string, fn: (vpp: VppUnderTest) => Promise<void>): void {
  vppTest(`reconciler: ${name}`, fn, { prefix: "maglev-rec-vpp-" });
}

/**
 * A test on a settled daemon: the lab config synced to its own VPP under
 * test and `web` steady; the daemon is stopped after.
 */
function settledTest(name: string, fn: (vpp: VppUnderTest, d: Wired) => Promise<void>): void {
  reconcilerTest(name, async (vpp) => {
    const d = daemon(vpp, config());
    try {
      await startAndSettle(d);
      await vppHolds(vpp, "192.0.2.1/32", WEB_STEADY);
      await fn(vpp, d);
    } finally {
      await d.stop();
    }
  });
}

settledTest("initial sync builds VIPs and ASes; a second sync writes nothing", async (vpp, d) => {
  await vppHolds(vpp, "192.0.2.2/32", FAILOVER_STEADY);
  assert.equal(d.writes[0].name, "lb_conf", "lb_conf is pushed first");
  const c = await VppClient.connect(vpp.socket);
  try {
    const conf = await c.request("lb_conf_get", {});
    assert.equal(String(conf.ip4_src_address), "192.0.2.254");
    assert.equal(String(conf.ip6_src_address), "2001:db8::254");
  } finally {
    await c.close();
  }
  await assertSteadySync(d);
});

settledTest(
  "failover flushes the primary once, the fallback takes over, and back",
  async (vpp, d) => {
    d.writes.length = 0;
    d.prober.behaviour.set("a", FAIL);
    d.prober.behaviour.set("b", FAIL);
    await d.clock.advance(10_000);
    await vppHolds(vpp, "192.0.2.1/32", { "10.0.0.10": 0, "10.0.0.2": 0, "10.0.0.3": 100 });
    const flushes = d.writes.filter((w) => w.name === "lb_as_set_weight" && w.fields.is_flush);
    assert.deepEqual(flushes.map((w) => w.fields.as_address).sort(), ["10.0.0.10", "10.0.0.2"]);
    d.writes.length = 0;
    const n = fullSyncs(d);
    await d.clock.advance(31_000);
    await waitFor("a periodic sync", () => fullSyncs(d) > n);
    assert.deepEqual(d.writes.filter((w) => w.fields.is_flush), [], "periodic syncs never flush");
    d.prober.behaviour.set("a", PASS);
    d.prober.behaviour.set("b", PASS);
    await d.clock.advance(10_000);
    await vppHolds(vpp, "192.0.2.1/32", WEB_STEADY);
  },
);

settledTest(
  "drift behind the daemon's back is repaired by the next periodic sync",
  async (vpp, d) => {
    const web = { pfx: "192.0.2.1/32", protocol: 6, port: 80 };
    const stray = { pfx: "198.51.100.9/32", protocol: 17, port: 53 };
    const c = await VppClient.connect(vpp.socket);
    try {
      await c.request("lb_add_del_as_v2", {
        ...web,
        as_address: "10.0.0.2",
        is_del: true,
        is_flush: true,
      });
      await c.request("lb_as_set_weight", { ...web, as_address: "10.0.0.10", weight: 7 });
      await c.request("lb_add_del_vip_v2", { ...stray, encap: 0, new_flows_table_length: 1024 });
      await c.request("lb_add_del_as_v2", { ...stray, as_address: "10.9.9.9", weight: 5 });
    } finally {
      await c.close();
    }
    const n = fullSyncs(d);
    await d.clock.advance(30_000);
    await waitFor("a periodic sync", () => fullSyncs(d) > n);
    await vppHolds(vpp, "192.0.2.1/32", WEB_STEADY);
    assert.deepEqual((await readLbView(vpp.socket)).vips.sort(), [
      "192.0.2.1/32",
      "192.0.2.2/32",
    ]);
    assert.deepEqual(d.syncs.filter((s) => s.scope === "all").at(-1)!.stats, {
      vipAdded: 0,
      vipRemoved: 1,
      asAdded: 1,
      asRemoved: 1,
      asWeightUpdated: 1,
    });
  },
);

settledTest(
  "a VPP restart (a new, empty VPP): reconnect, lb_conf again, state rebuilt",
  async (vpp, d) => {
    d.writes.length = 0;
    await vpp.restart();
    await waitFor("the disconnect noticed", () => !d.manager.connected());
    assert.deepEqual((await readLbView(vpp.socket)).vips, [], "a restarted VPP is empty");
    // Reconnect attempts run on the fake clock: step it until the manager is back.
    await waitFor("reconnect", async () => {
      await d.clock.advance(1000);
      return d.manager.connected();
    });
    await vppHolds(vpp, "192.0.2.1/32", WEB_STEADY);
    await vppHolds(vpp, "192.0.2.2/32", FAILOVER_STEADY);
    assert.equal(d.writes[0].name, "lb_conf", "lb_conf is pushed again first");
  },
);

reconcilerTest(
  "warmup neutrality: a new daemon never writes weight 0 for an up backend",
  async (vpp) => {
    const first = daemon(vpp, config());
    await startAndSettle(first).finally(() => first.stop());
    await vppHolds(vpp, "192.0.2.1/32", WEB_STEADY);
    // The second daemon starts with every backend unknown; c's (the standby's) probe hangs, so
    // only the watchdog at max-delay releases web.
    const second = daemon(
      vpp,
      config({ startupMinDelayMs: 1000, startupMaxDelayMs: 5000 }, {}, SLOW_HC),
      (p) => p.behaviour.set("c", "deaf"),
    );
    const logs: LogRecord[] = [];
    const off = addLogListener((r) => logs.push(r));
    try {
      second.checker.start();
      second.manager.start();
      await waitFor("connect", () => second.manager.connected());
      await second.clock.advance(900);
      assert.deepEqual(second.writes.map((w) => w.name), ["lb_conf"], "hands off in min-delay");
      await second.clock.advance(5500);
      await waitFor("the watchdog", () => second.manager.gate.done);
      await waitFor("the watchdog's sync", () => fullSyncs(second) > 0);
      assert.ok(logs.some((r) => r.msg === "vpp-lb-warmup-max-delay-elapsed"));
      assert.deepEqual(
        zeroWritesFor(second.writes, ["10.0.0.10", "10.0.0.2", "10.0.1.1"]),
        [],
        "weight-0 writes for serving ASes",
      );
      await vppHolds(vpp, "192.0.2.1/32", WEB_STEADY);
      await vppHolds(vpp, "192.0.2.2/32", FAILOVER_STEADY);
    } finally {
      off();
      second.prober.release("c", PASS);
      await second.stop();
    }
  },
);

reconcilerTest(
  "a backend down during warmup is added at 0; no later full sync flushes it",
  async (vpp) => {
    const d = daemon(vpp, config(WARMUP_5S), (p) => p.behaviour.set("b", FAIL));
    try {
      await throughWarmup(d);
      await vppHolds(vpp, "192.0.2.1/32", { "10.0.0.10": 100, "10.0.0.2": 0, "10.0.0.3": 0 });
      // The lab's late flush: an AS added at 0 has no flows, so its add was the down's flush.
      await assertQuietSyncs(d);
      const forB = d.writes.filter((w) => w.fields.as_address === "10.0.0.2");
      assert.deepEqual(forB.map((w) => [w.name, w.fields.weight, w.fields.is_flush]), [
        ["lb_add_del_as_v2", 0, false],
      ]);
    } finally {
      await d.stop();
    }
  },
);

settledTest("src-ip-sticky and flow-table-length changes recreate the VIP", async (vpp, d) => {
  await assertRecreates(d, () => vppHolds(vpp, "192.0.2.1/32", WEB_STEADY));
  assert.match(
    await vpp.cli("show lb vips verbose"),
    /\[\d+\] 192\.0\.2\.1\/32 src_ip_sticky\n\s+new_size:4096/,
  );
});

vppTest("an auto table is kept when the weights shrink it and grows with a WARN", async (vpp) => {
  // makeConfig's frontends are `auto`; the lengths stand for what the weights resolve to.
  const d = daemon(vpp, config({}, { flowTableLength: 4096 }));
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r), { level: "warn" });
  try {
    await startAndSettle(d);
    d.writes.length = 0;
    d.checker.applyConfig(config({}, { flowTableLength: 2048 }));
    await d.manager.sync();
    assert.deepEqual(d.writes.filter((w) => w.name === "lb_add_del_vip_v2"), []);
    assert.match(await vpp.cli("show lb vips verbose"), /192\.0\.2\.1\/32[^\n]*\n\s+new_size:4096/);
    assert.equal(logs.length, 0, JSON.stringify(logs));

    d.checker.applyConfig(config({}, { flowTableLength: 8192 }));
    await d.manager.sync();
    const vipWrites = d.writes.map((w) => `${w.name}${w.fields.is_del ? " del" : ""}`)
      .filter((n) => n.startsWith("lb_add_del_vip_v2"));
    assert.deepEqual(vipWrites, ["lb_add_del_vip_v2 del", "lb_add_del_vip_v2"]);
    assert.match(await vpp.cli("show lb vips verbose"), /192\.0\.2\.1\/32[^\n]*\n\s+new_size:8192/);
    await vppHolds(vpp, "192.0.2.1/32", WEB_STEADY);
    const warn = logs.find((r) => r.msg === "vpp-lb-vip-recreate");
    assert.equal(warn?.level, "warn");
    assert.match(String(warn?.attrs.reason), /^flow-table-length 4096 -> 8192 \(auto: /);
  } finally {
    off();
    await d.stop();
  }
});
