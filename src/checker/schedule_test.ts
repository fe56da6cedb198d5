import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import { Schedule, tokenBefore } from "./schedule.ts";

Deno.test("schedule: callbacks run at their times in order, on one clock timer", async () => {
  const clock = new FakeClock();
  const s = new Schedule(clock);
  const ran: string[] = [];
  for (const [name, ms] of [["c", 30], ["a", 10], ["b", 20], ["a2", 10]] as const) {
    s.add({ run: () => ran.push(`${name}@${clock.monotonic()}`) }, ms);
  }
  assert.equal(clock.pending, 1, "one timer for all of them");
  assert.equal(s.size, 4);
  await clock.advance(9);
  assert.deepEqual(ran, []);
  await clock.advance(1);
  assert.deepEqual(ran, ["a@10", "a2@10"], "ties run in scheduling order");
  await clock.advance(20);
  assert.deepEqual(ran, ["a@10", "a2@10", "b@20", "c@30"]);
  assert.equal(clock.pending, 0, "idle: no timer left");
});

Deno.test("schedule: cancel skips a callback; the last cancel frees the timer", async () => {
  const clock = new FakeClock();
  const s = new Schedule(clock);
  const ran: number[] = [];
  const t1 = s.add({ run: () => ran.push(1) }, 10);
  const t2 = s.add({ run: () => ran.push(2) }, 20);
  s.cancel(t1);
  s.cancel(t1); // twice is harmless
  await clock.advance(30);
  assert.deepEqual(ran, [2]);
  s.cancel(t2); // spent: ignored
  const t3 = s.add({ run: () => ran.push(3) }, 10);
  s.cancel(t3);
  assert.equal(s.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("schedule: slack lets close due times share a wakeup, never early", async () => {
  const clock = new FakeClock();
  const s = new Schedule(clock, 5);
  const ran: string[] = [];
  s.add({ run: () => ran.push(`a@${clock.monotonic()}`) }, 10);
  s.add({ run: () => ran.push(`b@${clock.monotonic()}`) }, 11);
  s.add({ run: () => ran.push(`c@${clock.monotonic()}`) }, 13);
  s.add({ run: () => ran.push(`d@${clock.monotonic()}`) }, 40);
  await clock.advance(100);
  // a wakes the schedule at 10; b and c wait for the next wakeup, 5 ms later.
  assert.deepEqual(ran, ["a@10", "b@15", "c@15", "d@40"]);
});

Deno.test("schedule: a throwing callback does not stop the others", async () => {
  const clock = new FakeClock();
  const s = new Schedule(clock);
  const ran: number[] = [];
  s.add({
    run: () => {
      throw new Error("bug");
    },
  }, 1);
  s.add({ run: () => ran.push(2) }, 1);
  await clock.advance(1);
  assert.deepEqual(ran, [2]);
});

Deno.test("schedule: clear drops every callback and the timer", async () => {
  const clock = new FakeClock();
  const s = new Schedule(clock);
  const ran: number[] = [];
  const t1 = s.add({ run: () => ran.push(1) }, 10);
  s.add({ run: () => ran.push(2) }, 20);
  s.clear();
  assert.equal(s.size, 0);
  assert.equal(clock.pending, 0);
  s.cancel(t1); // after a clear: ignored
  s.add({ run: () => ran.push(3) }, 5);
  assert.equal(s.size, 1);
  await clock.advance(30);
  assert.deepEqual(ran, [3]);
});

Deno.test("schedule: cancelling one of many keeps the others and the count", async () => {
  const clock = new FakeClock();
  const s = new Schedule(clock);
  const ran: number[] = [];
  const tokens = [1, 2, 3, 4, 5].map((n) => s.add({ run: () => ran.push(n) }, n));
  s.cancel(tokens[2]);
  s.cancel(tokens[2]);
  assert.equal(s.size, 4);
  await clock.advance(10);
  assert.deepEqual(ran, [1, 2, 4, 5]);
  assert.equal(s.size, 0);
});

Deno.test("schedule: token order survives the wrap below 2^30", () => {
  assert.ok(tokenBefore(1, 2));
  assert.ok(!tokenBefore(2, 1));
  assert.ok(tokenBefore(2 ** 30 - 1, 1), "the last token before the wrap is older than 1");
  assert.ok(!tokenBefore(1, 2 ** 30 - 1));
});

Deno.test("schedule: a thousand tasks, many of them tied, run by due time then scheduling order", async () => {
  const clock = new FakeClock();
  const s = new Schedule(clock);
  const ran: number[] = [];
  // A fixed pseudo-random sequence: due times 0..99 ms, about ten tasks on each.
  let seed = 12345;
  const due: number[] = [];
  for (let i = 0; i < 1000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    due.push(seed % 100);
    s.add({ run: () => ran.push(i) }, due[i]);
  }
  // Some run, then more are added between them: the heap is popped and pushed at depth.
  await clock.advance(50);
  for (let i = 1000; i < 1500; i++) {
    due.push(50 + (i % 70));
    s.add({ run: () => ran.push(i) }, due[i] - 50);
  }
  await clock.advance(100);
  const expected = due.map((_, i) => i).sort((x, y) => due[x] - due[y] || x - y);
  assert.deepEqual(ran, expected);
  assert.equal(s.size, 0);
});
