import { strict as assert } from "node:assert";
import { boundedTimers, FakeClock, MAX_TIMER_MS, type NativeTimers } from "./clock.ts";

/** Runtime timers that only record; `fire` runs one by hand. */
class RecordingTimers implements NativeTimers {
  readonly armed = new Map<number, { fn: () => void; ms: number }>();
  readonly delays: number[] = [];
  #next = 1;
  setTimeout(fn: () => void, ms: number): number {
    this.armed.set(this.#next, { fn, ms });
    this.delays.push(ms);
    return this.#next++;
  }
  clearTimeout(id: number): void {
    this.armed.delete(id);
  }
  fireOnly(): void {
    assert.equal(this.armed.size, 1);
    const [id, t] = [...this.armed][0];
    this.armed.delete(id);
    t.fn();
  }
}

Deno.test("boundedTimers passes delays within 2^31-1 ms straight through", () => {
  const native = new RecordingTimers();
  const timers = boundedTimers(native);
  let fired = 0;
  timers.setTimeout(() => fired++, 1500);
  assert.deepEqual(native.delays, [1500]);
  native.fireOnly();
  assert.equal(fired, 1);
});

Deno.test("boundedTimers chains a delay above 2^31-1 ms instead of firing after 1 ms", () => {
  const native = new RecordingTimers();
  const timers = boundedTimers(native);
  let fired = 0;
  const ms = 720 * 3_600_000; // 720h, which a runtime timer would run after 1 ms
  timers.setTimeout(() => fired++, ms);
  native.fireOnly();
  assert.equal(fired, 0, "fired at the first link of the chain");
  native.fireOnly();
  assert.equal(fired, 1);
  assert.deepEqual(native.delays, [MAX_TIMER_MS, ms - MAX_TIMER_MS]);
  assert.ok(native.delays.every((d) => d <= MAX_TIMER_MS));
});

Deno.test("boundedTimers cancels a chained timer whichever link is armed", () => {
  const native = new RecordingTimers();
  const timers = boundedTimers(native);
  let fired = 0;
  const id = timers.setTimeout(() => fired++, 3 * MAX_TIMER_MS);
  native.fireOnly();
  timers.clearTimeout(id);
  assert.equal(native.armed.size, 0);
  assert.equal(fired, 0);
});

Deno.test("FakeClock fires due timers in order when advanced", async () => {
  const clock = new FakeClock(0);
  const seen: string[] = [];
  clock.setTimeout(() => seen.push("b"), 20);
  clock.setTimeout(() => seen.push("a"), 10);
  await clock.advance(15);
  assert.deepEqual(seen, ["a"]);
  await clock.advance(5);
  assert.deepEqual(seen, ["a", "b"]);
  assert.equal(clock.now(), 20);
});
