/**
 * The VPP manager against the VPP test double over a real socket: initial
 * sync, idempotence, failover with flush, drift repair, VPP restart, warmup
 * (restart neutrality), recreate, determinism and VPP errors.
 */
import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import { Checker } from "../checker/mod.ts";
import { FAIL, FakeProber, makeConfig, PASS } from "../checker/checker_test_util.ts";
import { VppClient, VppIncompatibleError } from "../../vpp/mod.ts";
import { VppManager } from "./mod.ts";
import { addLogListener, type LogRecord } from "../log/mod.ts";
import {
  assertRecreates,
  assertSteadySync,
  asWeights,
  closeAll,
  fullSyncs,
  harness,
  labConfig,
  SLOW_HC,
  startAndSettle,
  startPastWatchdog,
  until,
  withVpp,
  zeroWritesFor,
} from "./harness_test_util.ts";

Deno.test("initial sync builds VIPs and ASes in numeric order; a second sync writes nothing", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  assert.deepEqual(asWeights(h.sim, "192.0.2.2/32"), { "10.0.1.1": 100, "10.0.1.2": 0 });
  const webAdds = h.writes.filter((w) =>
    w.name === "lb_add_del_as_v2" && w.fields.pfx === "192.0.2.1/32" && !w.fields.is_del
  ).map((w) => w.fields.as_address);
  assert.deepEqual(
    webAdds,
    ["10.0.0.2", "10.0.0.3", "10.0.0.10"],
    "numeric, not lexicographic order",
  );
  assert.equal(h.writes[0].name, "lb_conf", "lb_conf is pushed first");
  await assertSteadySync(h);
  await closeAll(h);
});

Deno.test("a transition while the connect still reads VPP writes nothing before lb_conf", async () => {
  // The connect's first read (lb_conf_get) is held; meanwhile every backend turns up.
  const held = Promise.withResolvers<void>();
  let holding = true;
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r));
  const h = await harness(labConfig(), {
    wrap: (s, n) =>
      n !== 1 ? s : {
        ...s,
        request: (name, fields) => {
          if (name !== "lb_conf_get" || !holding) return s.request(name, fields);
          holding = false;
          return held.promise.then(() => s.request(name, fields));
        },
      },
  });
  try {
    h.checker.start();
    h.manager.start();
    await until("connect", () => h.manager.connected());
    await h.clock.advance(3000);
    const suppressed = () =>
      logs.some((r) => r.msg === "vpp-lb-sync-suppressed" && r.attrs.reason === "connecting");
    await until("a suppressed sync (or a write)", () => suppressed() || h.writes.length > 0);
    // An operator's sync in that instant waits for the connect's own sync as well.
    assert.deepEqual(await h.manager.sync(), {
      vipAdded: 0,
      vipRemoved: 0,
      asAdded: 0,
      asRemoved: 0,
      asWeightUpdated: 0,
    });
    await h.manager.sync("web");
    assert.equal(h.writes.length, 0, "no write before the connect has read VPP");
    held.resolve();
    await until("initial sync", () => fullSyncs(h) > 0);
    assert.equal(h.writes[0].name, "lb_conf", "lb_conf is pushed first");
    assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
      "10.0.0.10": 100,
      "10.0.0.2": 50,
      "10.0.0.3": 0,
    });
  } finally {
    off();
    held.resolve();
    await closeAll(h);
  }
});

Deno.test("failover: primary down flushes once, fallback takes over, and back", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  h.writes.length = 0;
  h.prober.behaviour.set("a", FAIL);
  h.prober.behaviour.set("b", FAIL);
  await h.clock.advance(10_000);
  await until("failover", () => asWeights(h.sim, "192.0.2.1/32")["10.0.0.3"] === 100);
  assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
    "10.0.0.10": 0,
    "10.0.0.2": 0,
    "10.0.0.3": 100,
  });
  const flushes = h.writes.filter((w) => w.name === "lb_as_set_weight" && w.fields.is_flush);
  assert.deepEqual(flushes.map((w) => w.fields.as_address).sort(), ["10.0.0.10", "10.0.0.2"]);
  // Periodic syncs never flush again.
  h.writes.length = 0;
  await h.clock.advance(31_000);
  await until("periodic sync", () => fullSyncs(h) >= 2);
  assert.equal(h.writes.filter((w) => w.fields.is_flush).length, 0);
  h.prober.behaviour.set("a", PASS);
  h.prober.behaviour.set("b", PASS);
  await h.clock.advance(10_000);
  await until("failback", () => asWeights(h.sim, "192.0.2.1/32")["10.0.0.10"] === 100);
  assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  await closeAll(h);
});

Deno.test("disable after drain still flushes once; static failover", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  h.writes.length = 0;
  h.checker.disable("sp");
  await until(
    "failover to static fallback",
    () => asWeights(h.sim, "192.0.2.2/32")["10.0.1.2"] === 100,
  );
  assert.deepEqual(asWeights(h.sim, "192.0.2.2/32"), { "10.0.1.1": 0, "10.0.1.2": 100 });
  const flush = h.writes.filter((w) => w.fields.as_address === "10.0.1.1" && w.fields.is_flush);
  assert.equal(flush.length, 1);
  // c is standby (weight 0, drained); disabling it must still flush its sticky entries, once.
  h.writes.length = 0;
  h.checker.disable("c");
  await until("flush for c", () => h.writes.some((w) => w.fields.as_address === "10.0.0.3"));
  await h.clock.advance(31_000);
  await until("periodic", () => fullSyncs(h) >= 2);
  const cWrites = h.writes.filter((w) => w.fields.as_address === "10.0.0.3");
  assert.deepEqual(cWrites.map((w) => [w.name, w.fields.weight, w.fields.is_flush]), [[
    "lb_as_set_weight",
    0,
    true,
  ]]);
  h.checker.enable("sp");
  await h.clock.advance(100);
  await until(
    "failback to static primary",
    () => asWeights(h.sim, "192.0.2.2/32")["10.0.1.1"] === 100,
  );
  assert.deepEqual(asWeights(h.sim, "192.0.2.2/32"), { "10.0.1.1": 100, "10.0.1.2": 0 });
  await closeAll(h);
});

Deno.test("drift behind our back is repaired by the next periodic sync", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  const m = h.sim.model;
  m.apply("lb_add_del_as_v2", {
    pfx: "192.0.2.1/32",
    protocol: 6,
    port: 80,
    as_address: "10.0.0.2",
    is_del: true,
    is_flush: true,
  });
  m.apply("lb_as_set_weight", {
    pfx: "192.0.2.1/32",
    protocol: 6,
    port: 80,
    as_address: "10.0.0.10",
    weight: 7,
  });
  m.apply("lb_add_del_vip_v2", {
    pfx: "198.51.100.9/32",
    protocol: 17,
    port: 53,
    encap: 0,
    new_flows_table_length: 1024,
  });
  m.apply("lb_add_del_as_v2", {
    pfx: "198.51.100.9/32",
    protocol: 17,
    port: 53,
    as_address: "10.9.9.9",
    weight: 5,
  });
  const n = fullSyncs(h);
  await h.clock.advance(30_000);
  await until("periodic", () => fullSyncs(h) > n);
  assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  assert.deepEqual(asWeights(h.sim, "198.51.100.9/32"), {}, "stray VIP removed");
  const last = h.syncs.filter((s) => s.scope === "all").at(-1)!.stats;
  assert.deepEqual(last, {
    vipAdded: 0,
    vipRemoved: 1,
    asAdded: 1,
    asRemoved: 1,
    asWeightUpdated: 1,
  });
  await closeAll(h);
});

Deno.test("transitions in the instant after connect wait for lb_conf: no VIP ahead of it", async () => {
  // The connect's read of VPP is held while every backend comes up, as a
  // loaded machine holds it: their syncs must not reach VPP before lb_conf.
  let release = () => {};
  const held = new Promise<void>((r) => release = r);
  const h = await harness(labConfig(), {
    wrap: (session) => ({
      ...session,
      dump: async (name, fields) => {
        await held;
        return session.dump(name, fields);
      },
    }),
  });
  try {
    h.checker.start();
    h.manager.start();
    await until("connect", () => h.manager.connected());
    await h.clock.advance(3000);
    assert.equal(h.checker.backendState("a"), "up");
    assert.equal(h.writes.length, 0, "nothing written while the connect reads VPP");
    release();
    await until("initial sync", () => h.syncs.some((s) => s.scope === "all"));
    assert.equal(h.writes[0].name, "lb_conf", "lb_conf is pushed first");
    assert.deepEqual(asWeights(h.sim, "192.0.2.2/32"), { "10.0.1.1": 100, "10.0.1.2": 0 });
  } finally {
    await closeAll(h);
  }
});

Deno.test("VPP restart: reconnect, lb_conf pushed again, state rebuilt", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  h.writes.length = 0;
  await h.sim.restart();
  await until("disconnect noticed", () => !h.manager.connected());
  await h.clock.advance(5000);
  await until("reconnect", () => h.manager.connected());
  await until("rebuilt", () => asWeights(h.sim, "192.0.2.1/32")["10.0.0.10"] === 100);
  assert.equal(h.writes[0].name, "lb_conf");
  assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  assert.deepEqual(asWeights(h.sim, "192.0.2.2/32"), { "10.0.1.1": 100, "10.0.1.2": 0 });
  await closeAll(h);
});

Deno.test("restart neutrality: warmup never writes weight 0 for an up backend", async () => {
  const lb = { startupMinDelayMs: 5000, startupMaxDelayMs: 30000 };
  // A first daemon programs VPP.
  const first = await harness(labConfig());
  await startAndSettle(first);
  await first.stop();
  // The second daemon starts with every backend unknown; b's probe hangs.
  const second = await harness(labConfig(lb, {}, SLOW_HC), {
    sim: first.sim,
    dir: first.dir,
    prepare: (p) => p.behaviour.set("b", "deaf"),
  });
  second.checker.start();
  second.manager.start();
  await until("connect", () => second.manager.connected());
  await second.clock.advance(4900);
  assert.deepEqual(second.writes.map((w) => w.name), ["lb_conf"], "hands off during min-delay");
  // Past min-delay: failover (all static, known) is released; web waits for b.
  await second.clock.advance(600);
  await until("failover released", () => second.manager.gate.isOpen("failover"));
  assert.equal(second.manager.gate.isOpen("web"), false);
  const zeroForUp = () => zeroWritesFor(second.writes, ["10.0.0.10", "10.0.0.2", "10.0.1.1"]);
  assert.deepEqual(zeroForUp(), []);
  assert.deepEqual(asWeights(second.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  // b answers: web is released through the event path.
  second.prober.behaviour.set("b", PASS);
  second.prober.release("b", PASS);
  await second.clock.advance(300);
  await until("web released", () => second.manager.gate.isOpen("web"));
  await second.clock.advance(30_000);
  await until("warmup done", () => second.manager.gate.done);
  assert.deepEqual(zeroForUp(), []);
  assert.deepEqual(asWeights(second.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  await closeAll(second);
});

Deno.test("restart neutrality: the watchdog syncs stragglers at max-delay", async () => {
  const first = await harness(labConfig());
  await startAndSettle(first);
  await first.stop();
  const second = await harness(
    labConfig({ startupMinDelayMs: 1000, startupMaxDelayMs: 5000 }, {}, SLOW_HC),
    {
      sim: first.sim,
      dir: first.dir,
      prepare: (p) => p.behaviour.set("c", "deaf"),
    },
  );
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r));
  await startPastWatchdog(second, 6000);
  off();
  assert.ok(logs.some((r) => r.msg === "vpp-lb-warmup-max-delay-elapsed"));
  // c (standby, unknown) stays 0; the up backends keep their weights.
  assert.deepEqual(asWeights(second.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  second.prober.behaviour.set("c", PASS);
  second.prober.release("c", PASS);
  await closeAll(second);
});

Deno.test("src-ip-sticky and flow-table-length changes recreate the VIP", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  await assertRecreates(h, () => {
    assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
      "10.0.0.10": 100,
      "10.0.0.2": 50,
      "10.0.0.3": 0,
    });
  });
  assert.match(
    h.sim.model.showVipsVerbose(),
    /\[\d+\] 192\.0\.2\.1\/32 src_ip_sticky\n\s+new_size:4096/,
  );
  await closeAll(h);
});

Deno.test("two daemons with the same config build byte-identical tables", async () => {
  const texts: string[] = [];
  for (let i = 0; i < 2; i++) {
    const h = await harness(labConfig());
    await startAndSettle(h);
    texts.push(h.sim.model.showVipsVerbose().replace(/dpo:\d+/g, "dpo:_"));
    await closeAll(h);
  }
  assert.equal(texts[0], texts[1]);
  assert.match(texts[0], /buckets:\d+/);
});

Deno.test("a VPP error is logged with its VNET name and the sync goes on", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  // Make an AS add fail: a v6 AS cannot join a GRE4 VIP (-97), then the next VIP still syncs.
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r));
  h.checker.applyConfig(withVpp(makeConfig({
    healthchecks: { hc: {} },
    backends: {
      a: "10.0.0.10",
      v6: { address: "2001:db8::10", healthcheck: "" },
      sp: { address: "10.0.1.1", healthcheck: "" },
    },
    frontends: {
      // Occupies the prefix with a per-port GRE4 VIP, so a GRE6 VIP on port 443 fails (-73).
      web: { address: "192.0.2.1", pools: [["primary", { a: 100 }]] },
      web6: { address: "192.0.2.1", port: 443, pools: [["primary", { v6: 100 }]] },
      zz: { address: "192.0.2.3", pools: [["primary", { sp: 100 }]] },
    },
  })));
  await h.clock.advance(100);
  await h.manager.sync();
  off();
  const err = logs.find((r) => r.msg === "vpp-lbsync-error");
  assert.ok(err, "error logged");
  assert.match(String(err.attrs.err), /INVALID_ARGUMENT|-73/);
  assert.deepEqual(asWeights(h.sim, "192.0.2.3/32"), { "10.0.1.1": 100 }, "later VIP still synced");
  await closeAll(h);
});

Deno.test("a reload replays transitions without flushing again", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  h.checker.disable("sp");
  await until(
    "flush for sp",
    () => h.writes.some((w) => w.fields.as_address === "10.0.1.1" && w.fields.is_flush),
  );
  h.writes.length = 0;
  h.checker.applyConfig(labConfig());
  await h.clock.advance(100);
  await h.manager.configApplied();
  await h.clock.advance(100);
  assert.deepEqual(h.writes.filter((w) => w.fields.is_flush), []);
  await closeAll(h);
});

Deno.test("an incompatible VPP is reported once and retried slowly, never in a hot loop", async () => {
  const clock = new FakeClock();
  const checker = new Checker(labConfig(), { probe: new FakeProber().probe, clock });
  let attempts = 0;
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r));
  const manager = new VppManager({
    apiAddr: "/nonexistent/api.sock",
    checker,
    clock,
    connect: () => {
      attempts++;
      return Promise.reject(new VppIncompatibleError(["lb_as_set_weight_2d89bdbd"]));
    },
  });
  manager.start();
  await clock.advance(0);
  assert.equal(attempts, 1);
  assert.deepEqual(manager.incompatible(), ["lb_as_set_weight_2d89bdbd"]);
  assert.throws(() => manager.info(), /incompatible: missing lb_as_set_weight_2d89bdbd/);
  await clock.advance(30_000);
  assert.equal(attempts, 1, "no retry within a minute");
  await clock.advance(30_000);
  assert.equal(attempts, 2);
  off();
  assert.equal(logs.filter((r) => r.msg === "vpp-incompatible").length, 1, "logged once");
  await manager.stop();
});

Deno.test("VPP disabled: every VPP call answers UNAVAILABLE", async () => {
  const checker = new Checker(labConfig(), {
    probe: new FakeProber().probe,
    clock: new FakeClock(),
  });
  const manager = new VppManager({ apiAddr: "", checker });
  manager.start();
  assert.equal(manager.enabled(), false);
  assert.throws(() => manager.info(), (e: Error & { kind?: string }) => e.kind === "UNAVAILABLE");
  await assert.rejects(() => manager.sync(), /disabled/);
  await manager.stop();
});

Deno.test("against the double running as its own process: initial sync, then a failover", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-rec-proc-" });
  const socket = `${dir}/api.sock`;
  const sim = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../lab/vppsim/main.ts", import.meta.url).pathname,
      "--socket",
      socket,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = sim.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("vppsim-listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`vppsim exited early: ${out}`);
    out += value;
  }
  const drain = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe flowing */ }
  })();
  const clock = new FakeClock();
  const prober = new FakeProber();
  const checker = new Checker(labConfig(), { probe: prober.probe, clock, random: () => 0.5 });
  const manager = new VppManager({ apiAddr: socket, checker, clock, startMs: clock.monotonic() });
  const reader2 = await VppClient.connect(socket);
  const weights = async (prefix: string) => {
    const rows = await reader2.dump("lb_as_v2_dump", {});
    const w: Record<string, number> = {};
    for (const r of rows) {
      if (r.vip.pfx === prefix && (r.flags & 1) === 1) w[r.app_srv] = r.weight;
    }
    return w;
  };
  try {
    checker.start();
    manager.start();
    await until("connect", () => manager.connected());
    await clock.advance(3000);
    let w: Record<string, number> = {};
    const deadline = Date.now() + 5000;
    while (w["10.0.0.10"] !== 100 && Date.now() < deadline) {
      w = await weights("192.0.2.1/32");
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(w, { "10.0.0.10": 100, "10.0.0.2": 50, "10.0.0.3": 0 });
    checker.disable("sp");
    const end = Date.now() + 5000;
    while ((await weights("192.0.2.2/32"))["10.0.1.2"] !== 100 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(await weights("192.0.2.2/32"), { "10.0.1.1": 0, "10.0.1.2": 100 });
  } finally {
    await reader2.close();
    await manager.stop();
    await checker.stop();
    sim.kill("SIGTERM");
    await sim.status;
    await drain;
    await Deno.remove(dir, { recursive: true });
  }
});
