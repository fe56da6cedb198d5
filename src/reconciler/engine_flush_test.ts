/**
 * The flush ledger against the double: a flush at most once per transition
 * that asks for it, and never a flush with no transition beside it (an AS
 * added at weight 0 has no flows: its add is that transition's flush).
 */
import { strict as assert } from "node:assert";
import { FAIL, PASS } from "../checker/checker_test_util.ts";
import {
  assertQuietSyncs,
  asWeights,
  closeAll,
  type Harness,
  harness,
  labConfig,
  periodicSyncs,
  reconnected,
  restartedOnDeafPrimary,
  SLOW_HC,
  startAndSettle,
  startPastWatchdog,
  throughWarmup,
  until,
  WARMUP_5S,
  type Write,
} from "./harness_test_util.ts";

/** Every write for `address`, as `name weight[ flush]` (`del` for a delete). */
function callsFor(writes: readonly Write[], address: string): string[] {
  return writes.filter((w) => w.fields.as_address === address).map((w) => {
    const f = w.fields;
    const what = w.name === "lb_add_del_as_v2" ? (f.is_del ? "as-del" : "as-add") : "as-weight";
    return `${what} ${f.weight}${f.is_flush ? " flush" : ""}`;
  });
}

const WEB = "192.0.2.1/32";
const B = "10.0.0.2";

/** Lets b's probes answer `result` until VPP holds `weight` for it. */
async function probeB(h: Harness, result: typeof PASS, weight: number): Promise<void> {
  h.prober.behaviour.set("b", result);
  await h.clock.advance(10_000);
  await until(`b at ${weight}`, () => asWeights(h.sim, WEB)[B] === weight);
}

/** b's calls from the initial sync to its first down: added while unknown, up, then down. */
const UP_THEN_DOWN = ["as-add 0", "as-weight 50", "as-weight 0 flush"];

Deno.test("a backend down during warmup is added at 0 once warmup releases it; no full sync flushes it", async () => {
  const h = await harness(labConfig(WARMUP_5S), { prepare: (p) => p.behaviour.set("b", FAIL) });
  await throughWarmup(h, () => assert.equal(h.checker.backendState("b"), "down"));
  await assertQuietSyncs(h);
  assert.deepEqual(callsFor(h.writes, B), ["as-add 0"]);
  await closeAll(h);
});

Deno.test("a backend disabled during warmup is added at 0: no later flush, and its next disable flushes once", async () => {
  const h = await harness(labConfig(WARMUP_5S));
  await throughWarmup(h, () => h.checker.disable("b"));
  await assertQuietSyncs(h);
  assert.deepEqual(callsFor(h.writes, B), ["as-add 0"]);
  // Enabled, it serves again; the next disable is a new transition: one flush.
  h.checker.enable("b");
  await h.clock.advance(3000);
  await until("b serves", () => asWeights(h.sim, WEB)[B] === 50);
  await h.clock.advance(100);
  h.checker.disable("b");
  await until("b drained", () => asWeights(h.sim, WEB)[B] === 0);
  await periodicSyncs(h, 2);
  assert.deepEqual(callsFor(h.writes, B), UP_THEN_DOWN);
  await closeAll(h);
});

Deno.test("a backend that goes down after it was added at a weight is flushed exactly once per down", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  await probeB(h, FAIL, 0);
  await periodicSyncs(h, 2);
  assert.deepEqual(callsFor(h.writes, B), UP_THEN_DOWN);
  await probeB(h, PASS, 50);
  await probeB(h, FAIL, 0);
  await periodicSyncs(h, 1);
  assert.deepEqual(callsFor(h.writes, B), [...UP_THEN_DOWN, "as-weight 50", "as-weight 0 flush"]);
  await closeAll(h);
});

Deno.test("a VPP restart re-adds every AS; those at 0 are not flushed after, even one disabled while VPP was away", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  await probeB(h, FAIL, 0);
  h.checker.disable("c");
  await until("c flushed", () => callsFor(h.writes, "10.0.0.3").length === 2);
  h.writes.length = 0;
  // A transition that asks for a flush while VPP is away: nothing to send it to.
  await reconnected(h, { restart: true, meanwhile: () => h.checker.disable("sp") });
  await periodicSyncs(h, 2);
  assert.deepEqual(asWeights(h.sim, WEB), {
    "10.0.0.10": 100,
    [B]: 0,
    "10.0.0.3": 0,
  });
  assert.deepEqual(asWeights(h.sim, "192.0.2.2/32"), { "10.0.1.1": 0, "10.0.1.2": 100 });
  for (const address of [B, "10.0.0.3", "10.0.1.1"]) {
    assert.deepEqual(callsFor(h.writes, address), ["as-add 0"], address);
  }
  await closeAll(h);
});

Deno.test("a reconnect to the same VPP flushes, once, a backend that went down while VPP was away", async () => {
  const h = await harness(labConfig());
  await startAndSettle(h);
  h.writes.length = 0;
  await reconnected(h, { meanwhile: () => h.checker.disable("sp") });
  await periodicSyncs(h, 2);
  assert.deepEqual(callsFor(h.writes, "10.0.1.1"), ["as-weight 0 flush"]);
  assert.deepEqual(asWeights(h.sim, "192.0.2.2/32"), { "10.0.1.1": 0, "10.0.1.2": 100 });
  await closeAll(h);
});

Deno.test("a daemon restart adopts VPP's weights: each first result that asks for a flush sends one, later syncs none", async () => {
  // The second daemon: b is still down, a goes down too; c answers as standby.
  const second = await restartedOnDeafPrimary((first) => probeB(first, FAIL, 0));
  assert.deepEqual(callsFor(second.writes, B), [], "b adopted at 0: no write");
  second.prober.release("b", FAIL);
  second.prober.release("a", FAIL);
  await until("a drained", () => asWeights(second.sim, WEB)["10.0.0.10"] === 0);
  await until("b flushed", () => callsFor(second.writes, B).length > 0);
  second.prober.behaviour.set("a", FAIL);
  second.prober.behaviour.set("b", FAIL);
  await periodicSyncs(second, 2);
  // b's first result is its own transition to down: the new daemon cannot
  // know that VPP's 0 was flushed (a drained standby keeps its flows).
  assert.deepEqual(callsFor(second.writes, B), ["as-weight 0 flush"]);
  assert.deepEqual(callsFor(second.writes, "10.0.0.10"), ["as-weight 0 flush"]);
  await closeAll(second);
});

Deno.test("a backend disabled in the config: a daemon restart flushes its AS once, at start, and later syncs none", async () => {
  const base = labConfig();
  const cfg = {
    ...base,
    backends: { ...base.backends, c: { ...base.backends.c, enabled: false } },
  };
  const first = await harness(cfg);
  await startAndSettle(first);
  await periodicSyncs(first, 1);
  // Added at 0 for its disabled state: nothing to flush.
  assert.deepEqual(callsFor(first.writes, "10.0.0.3"), ["as-add 0"]);
  await first.stop();
  const second = await harness(cfg, { sim: first.sim, dir: first.dir });
  await startAndSettle(second);
  await periodicSyncs(second, 2);
  // VPP's 0 may be a drained standby's with flows: the new daemon flushes for
  // the disable it starts with, once.
  assert.deepEqual(callsFor(second.writes, "10.0.0.3"), ["as-weight 0 flush"]);
  await closeAll(second);
});

Deno.test("a backend added at 0 while unknown (the watchdog) whose first result is down gets one flush, beside that transition", async () => {
  const h = await harness(
    labConfig({ startupMinDelayMs: 1000, startupMaxDelayMs: 5000 }, {}, SLOW_HC),
    { prepare: (p) => p.behaviour.set("b", "deaf") },
  );
  await startPastWatchdog(h, 6000);
  assert.deepEqual(callsFor(h.writes, B), ["as-add 0"]);
  h.prober.behaviour.set("b", FAIL);
  h.prober.release("b", FAIL);
  await until("b down", () => h.checker.backendState("b") === "down");
  await until("b flushed", () => callsFor(h.writes, B).length === 2);
  await periodicSyncs(h, 2);
  // The down is a transition after the add: it gets its one flush.
  assert.deepEqual(callsFor(h.writes, B), ["as-add 0", "as-weight 0 flush"]);
  await closeAll(h);
});
