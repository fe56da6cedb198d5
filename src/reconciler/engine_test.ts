/**
 * The sync engine through the manager, against the double: one write queue
 * (overlapping full and per-VIP syncs write once, one flush per transition),
 * the restart that adopts VPP's weights, the per-frontend sync error when VPP
 * refuses a write, and UNAVAILABLE when VPP goes silent.
 */
import { strict as assert } from "node:assert";
import { FAIL, makeConfig, PASS } from "../checker/checker_test_util.ts";
import { MaglevError } from "../errors.ts";
import { addLogListener, type LogRecord } from "../log/mod.ts";
import { VppClient } from "../../vpp/mod.ts";
import { SyncEngine } from "./engine.ts";
import { readLbState } from "./lb_state.ts";
import {
  asWeights,
  closeAll,
  harness,
  heldBy,
  labConfig,
  recording,
  SLOW_HC,
  startAndSettle,
  startPastWatchdog,
  until,
  withVpp,
  type Write,
} from "./harness_test_util.ts";

function weightCalls(writes: readonly Write[], address: string): string[] {
  return writes
    .filter((w) => w.name === "lb_as_set_weight" && w.fields.as_address === address)
    .map((w) => `${w.fields.weight}${w.fields.is_flush ? " flush" : ""}`);
}

Deno.test("overlapping full and per-VIP syncs send each write once, one flush per transition", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  h.writes.length = 0;
  const rounds = 25;
  for (let i = 0; i < rounds; i++) {
    // The operator's transition and a full sync asked for in the same tick:
    // the full sync is queued before the transition's own sync.
    h.checker.disable("sp");
    const full = h.manager.sync();
    await until("drained", () => asWeights(h.sim, "192.0.2.2/32")["10.0.1.2"] === 100);
    await full;
    h.checker.enable("sp");
    await h.clock.advance(100);
    const back = h.manager.sync();
    await until("back", () => asWeights(h.sim, "192.0.2.2/32")["10.0.1.1"] === 100);
    await back;
  }
  // Let the transitions' own syncs (queued behind the full syncs) run out.
  await h.manager.sync("failover");
  const calls = weightCalls(h.writes, "10.0.1.1");
  assert.deepEqual(calls, Array.from({ length: rounds }, () => ["0 flush", "100"]).flat());
  await closeAll(h);
});

Deno.test("a VIP written to VPP is logged with its encap by name", async () => {
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r));
  const h = await harness(labConfig());
  try {
    await startAndSettle(h);
  } finally {
    off();
  }
  const added = logs.filter((r) => r.msg === "vpp-lb-vip-add");
  assert.ok(added.length > 0, "VIPs were added");
  // The lab's VIPs take the default encap.
  assert.deepEqual([...new Set(added.map((r) => r.attrs.encap))], ["gre4"]);
  await closeAll(h);
});

Deno.test("restart with a 20 s interval and a 5 s max-delay keeps VPP's weights until first results", async () => {
  const first = await harness(labConfig());
  await startAndSettle(first);
  await first.stop();
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r));
  // a and b (primary) have no result for the whole warmup; c (standby) answers.
  const second = await harness(
    labConfig({ startupMinDelayMs: 1000, startupMaxDelayMs: 5000 }, {}, {
      ...SLOW_HC,
      intervalMs: 20_000,
    }),
    {
      sim: first.sim,
      dir: first.dir,
      prepare: (p) => {
        p.behaviour.set("a", "deaf");
        p.behaviour.set("b", "deaf");
      },
    },
  );
  await startPastWatchdog(second, 6000);
  off();
  const touched = second.writes.filter((w) =>
    ["10.0.0.10", "10.0.0.2", "10.0.0.3"].includes(String(w.fields.as_address))
  );
  assert.deepEqual(touched, [], "no write for web: VPP's weights stand, c stays standby");
  assert.deepEqual(asWeights(second.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  const adopt = logs.find((r) => r.msg === "vpp-lb-adopt" && r.attrs.frontend === "web");
  assert.equal(adopt?.attrs.kept, "a=100,b=50,c=0");
  // What the gRPC API and metrics show as held: the backends still unknown.
  assert.deepEqual(heldBy(second, "web"), {
    a: 100,
    b: 50,
    c: 0,
  });
  // b's first result says down: it goes to 0 at once; a keeps VPP's weight.
  await second.clock.advance(20_000);
  await until("b probed", () => second.prober.count("b") > 0);
  second.prober.release("b", FAIL);
  await until("b down", () => asWeights(second.sim, "192.0.2.1/32")["10.0.0.2"] === 0);
  assert.deepEqual(asWeights(second.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 0,
    "10.0.0.3": 0,
  });
  assert.equal(second.manager.adoptedWeights("web")?.has("b"), false, "b's result decided");
  assert.equal(heldBy(second, "web").a, 100);
  second.prober.release("a", PASS);
  await closeAll(second);
});

Deno.test("a reload that restarts probes keeps VPP's weights until each backend's first result", async () => {
  const h = await harness(labConfig({}, {}, SLOW_HC));
  await startAndSettle(h);
  assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
    "10.0.0.10": 100,
    "10.0.0.2": 50,
    "10.0.0.3": 0,
  });
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r));
  // A changed health check restarts every probe of web; the new probes do not answer yet.
  h.prober.behaviour.set("a", "deaf");
  h.prober.behaviour.set("b", "deaf");
  h.prober.behaviour.set("c", "deaf");
  h.writes.length = 0;
  h.checker.applyConfig(labConfig({}, {}, { ...SLOW_HC, intervalMs: 3000 }));
  await h.manager.configApplied();
  await h.manager.sync("web");
  off();
  assert.equal(h.checker.backendState("a"), "unknown");
  const touched = h.writes.filter((w) =>
    ["10.0.0.10", "10.0.0.2", "10.0.0.3"].includes(String(w.fields.as_address))
  );
  assert.deepEqual(touched, [], "no write for web while its probes have not spoken");
  const adopt = logs.find((r) => r.msg === "vpp-lb-adopt" && r.attrs.frontend === "web");
  assert.equal(adopt?.attrs.reason, "reload");
  assert.equal(adopt?.attrs.kept, "a=100,b=50,c=0");
  // b's first result after the reload says down: 0 at once; a keeps its weight.
  await h.clock.advance(3000);
  await until("b probed", () => h.prober.count("b") > 0);
  h.prober.release("b", FAIL);
  await until("b down", () => asWeights(h.sim, "192.0.2.1/32")["10.0.0.2"] === 0);
  assert.equal(asWeights(h.sim, "192.0.2.1/32")["10.0.0.10"], 100);
  h.prober.release("a", PASS);
  h.prober.release("c", PASS);
  await closeAll(h);
});

Deno.test("a pool weight set on an adopted backend applies at once where VPP serves it", async () => {
  const h = await harness(labConfig({}, {}, SLOW_HC));
  await startAndSettle(h);
  for (const name of ["a", "b", "c"]) h.prober.behaviour.set(name, "deaf");
  h.checker.applyConfig(labConfig({}, {}, { ...SLOW_HC, intervalMs: 3000 }));
  await h.manager.configApplied();
  await h.manager.sync("web");
  assert.deepEqual(heldBy(h, "web"), {
    a: 100,
    b: 50,
    c: 0,
  });
  h.writes.length = 0;
  // The operator's actions decide before the first results: a and b served,
  // so they take their new weights (b's 0 drains it); c was held at 0 and
  // stays there, as the standby pool it is in.
  h.checker.setWeight("web", "primary", "a", 40);
  h.checker.setWeight("web", "primary", "b", 0);
  h.checker.setWeight("web", "fallback", "c", 30);
  await h.manager.sync("web");
  assert.deepEqual(asWeights(h.sim, "192.0.2.1/32"), {
    "10.0.0.10": 40,
    "10.0.0.2": 0,
    "10.0.0.3": 0,
  });
  assert.deepEqual(weightCalls(h.writes, "10.0.0.3"), [], "c is not written");
  assert.deepEqual(heldBy(h, "web"), { a: 100, b: 50, c: 0 }, "still adopted: no result yet");
  // A second sync writes nothing: the adopted weights are stable.
  h.writes.length = 0;
  await h.manager.sync("web");
  assert.deepEqual(h.writes, []);
  // a's first result decides as usual.
  await h.clock.advance(3000);
  await until("a probed", () => h.prober.count("a") > 0);
  h.prober.release("a", FAIL);
  await until("a down", () => asWeights(h.sim, "192.0.2.1/32")["10.0.0.10"] === 0);
  assert.equal(h.manager.adoptedWeights("web")?.has("a"), false);
  h.prober.release("b", PASS);
  h.prober.release("c", PASS);
  await closeAll(h);
});

/** One IPv6 frontend `web6` whose single static backend is at `address`. */
function web6With(address: string) {
  return withVpp(makeConfig({
    healthchecks: { hc: {} },
    backends: { v6: { address, healthcheck: "" } },
    frontends: { web6: { address: "2001:db8::1", family: 6, pools: [["primary", { v6: 100 }]] } },
  }));
}

Deno.test("a write VPP refuses at run time is the frontend's sync error until it is fixed", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  assert.equal(h.manager.lastSyncError("web"), "");
  // An IPv6 AS inside ::/96 reads as IPv4 to VPP: INVALID_ADDRESS_FAMILY (-97).
  const bad = web6With("::1");
  h.checker.applyConfig(bad);
  await h.manager.sync();
  assert.match(h.manager.lastSyncError("web6"), /as-add ::1: .*INVALID_ADDRESS_FAMILY/);
  const good = web6With("2001:db8::10");
  h.checker.applyConfig(good);
  await h.manager.sync();
  assert.equal(h.manager.lastSyncError("web6"), "");
  await closeAll(h);
});

Deno.test("a sync whose VPP drops the connection is UNAVAILABLE, not INTERNAL", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  // Nothing of the start-up may still be in flight when VPP goes silent.
  await h.clock.advance(100);
  await h.manager.sync();
  h.sim.stall(true);
  h.writes.length = 0;
  h.checker.disable("sp");
  const sync = h.manager.sync("failover").then(() => undefined, (e) => e);
  await until("write sent", () => h.writes.length > 0);
  h.sim.dropConnections();
  const err = await sync;
  assert.ok(err instanceof MaglevError, String(err));
  assert.equal(err.kind, "UNAVAILABLE");
  assert.match(err.message, /VPP did not answer: .*(closed|failed)/);
  h.sim.stall(false);
  await closeAll(h);
});

Deno.test("a full sync's read does not hold the queue: a transition is written meanwhile, once", async () => {
  let hold: Promise<void> | undefined;
  const h = await harness(labConfig(), {
    // The sync session's AS dump waits while `hold` is set: a slow read of many VIPs.
    wrap: (s, n) =>
      n !== 1 ? s : {
        ...s,
        dump: (name, fields) => {
          const gate = hold;
          const p = s.dump(name, fields);
          return name === "lb_as_v2_dump" && gate ? gate.then(() => p) : p;
        },
      },
  });
  await startAndSettle(h);
  let release!: () => void;
  hold = new Promise((r) => release = r);
  h.writes.length = 0;
  const full = h.manager.sync();
  h.checker.disable("sp");
  await until("written during the read", () => weightCalls(h.writes, "10.0.1.1").length > 0);
  hold = undefined;
  release();
  await full;
  await h.manager.sync("failover");
  assert.deepEqual(weightCalls(h.writes, "10.0.1.1"), ["0 flush"]);
  assert.deepEqual(asWeights(h.sim, "192.0.2.2/32"), { "10.0.1.1": 0, "10.0.1.2": 100 });
  await closeAll(h);
});

/** A sync engine that counts the jobs queued on it, so a test can await a queue position. */
class CountingEngine extends SyncEngine {
  queued = 0;
  override enqueue<T>(job: () => Promise<T>): Promise<T> {
    this.queued++;
    return super.enqueue(job);
  }
}

Deno.test("a VIP written after a full sync's read, ahead of it in the queue, is not written again", async () => {
  const h = await harness(labConfig());
  const client = await VppClient.connect(h.socket);
  const writes: Write[] = [];
  const session = recording(client, writes);
  const engine = new CountingEngine({ checker: h.checker, session: () => session });
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r), { level: "warn" });
  try {
    h.checker.start();
    // As at connect: the mirror is VPP's (empty) state, read outside the queue.
    engine.connected(await readLbState(session));
    let unblock!: () => void;
    const blocker = engine.enqueue(() => new Promise<void>((r) => unblock = r));
    const full = engine.syncAll();
    // A release's sync, queued while the full sync reads VPP.
    const release = engine.syncVip("failover");
    // The read has returned once the full sync queued its job behind the release's.
    await until("the full sync is queued", () => engine.queued === 3);
    unblock();
    await Promise.all([blocker, release, full]);
    const vipAdds = writes.filter((w) =>
      w.name === "lb_add_del_vip_v2" && !w.fields.is_del && w.fields.pfx === "192.0.2.2/32"
    );
    assert.equal(vipAdds.length, 1, JSON.stringify(writes));
    assert.deepEqual(logs.filter((r) => r.msg === "vpp-lbsync-error"), []);
  } finally {
    off();
    await client.close();
    await closeAll(h);
  }
});
