import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import { WarmupGate } from "./warmup.ts";

Deno.test("min-delay keeps every gate shut, then frontends release one by one", async () => {
  const clock = new FakeClock();
  const gate = new WarmupGate(clock, { minDelayMs: 5000, maxDelayMs: 30000 });
  assert.equal(gate.phase(), "min-delay");
  assert.equal(gate.tryRelease("web"), false);
  assert.equal(gate.isOpen("web"), false);
  await clock.advance(5000);
  assert.equal(gate.phase(), "release");
  assert.equal(gate.tryRelease("web"), true);
  assert.equal(gate.isOpen("web"), true);
  assert.equal(gate.isOpen("api"), false);
  assert.equal(gate.tryRelease("web"), true, "releasing twice is fine");
  gate.finish();
  gate.finish();
  assert.equal(gate.phase(), "done");
  assert.equal(gate.isOpen("api"), true);
});

Deno.test("zero max delay means skipped", () => {
  const gate = new WarmupGate(new FakeClock(), { minDelayMs: 5000, maxDelayMs: 0 });
  assert.equal(gate.skipped, true);
});

Deno.test("elapsed counts from process start, not from construction", async () => {
  const clock = new FakeClock();
  await clock.advance(4000);
  const gate = new WarmupGate(clock, { minDelayMs: 5000, maxDelayMs: 30000, startMs: 0 });
  assert.equal(gate.elapsedMs(), 4000);
  await clock.advance(1000);
  assert.equal(gate.phase(), "release");
});
