import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import { WarmupGate } from "../reconciler/warmup.ts";
import { notReadyReason, warmupPhase } from "./readiness.ts";

function gate(clock: FakeClock): WarmupGate {
  return new WarmupGate(clock, { minDelayMs: 5000, maxDelayMs: 30000, startMs: 0 });
}

Deno.test("warmup: the gate's phase with VPP, done without it", async () => {
  const clock = new FakeClock();
  const g = gate(clock);
  const on = { enabled: () => true };
  const off = { enabled: () => false };
  assert.equal(warmupPhase(on, g), "min-delay");
  assert.equal(warmupPhase(off, g), "done");
  await clock.advance(5000);
  assert.equal(warmupPhase(on, g), "release");
  g.finish();
  assert.equal(warmupPhase(on, g), "done");
});

Deno.test("readiness: ready at once without VPP; during warmup the phase and times are named", async () => {
  const clock = new FakeClock();
  const g = gate(clock);
  const vpp = {
    enabled: () => true,
    connected: () => true,
    incompatible: () => [],
    info: () => {
      throw new Error("not in this test");
    },
    lbState: () => Promise.reject(new Error("not in this test")),
    sync: () => Promise.reject(new Error("not in this test")),
    counters: () => [],
  };
  assert.equal(notReadyReason({ ...vpp, enabled: () => false }, g), "");
  await clock.advance(2000);
  assert.equal(notReadyReason(vpp, g), "warmup in progress (min-delay, 2s of at most 30s)");
  g.finish();
  assert.equal(notReadyReason(vpp, g), "");
});
