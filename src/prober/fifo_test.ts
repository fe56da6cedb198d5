import { strict as assert } from "node:assert";
import { DeadlineFifos } from "./fifo.ts";

Deno.test("fifo: each timeout's FIFO is swept from its head and stops at the first not due", () => {
  const f = new DeadlineFifos<{ at: number; done?: boolean }>();
  const a = { at: 10 }, b = { at: 20, done: true }, c = { at: 30 }, d = { at: 15 };
  f.push(100, a);
  f.push(100, b);
  f.push(100, c);
  f.push(50, d);
  const expired: number[] = [];
  const sweep = (now: number) =>
    f.sweep((t) => {
      if (t.done) return true;
      if (t.at > now) return false;
      expired.push(t.at);
      return true;
    });
  // At 12 a expires and b (done) is dropped; c and d are not due.
  assert.deepEqual(sweep(12), [c, d]);
  assert.deepEqual(expired, [10]);
  const heads = sweep(25);
  assert.deepEqual(expired, [10, 15]);
  assert.deepEqual(heads, [c], "the 50 ms FIFO is empty and gone");
  assert.deepEqual(sweep(30), []);
  assert.deepEqual(expired, [10, 15, 30]);
});

Deno.test("fifo: a long consumed prefix is dropped, order kept", () => {
  const f = new DeadlineFifos<number>();
  for (let i = 0; i < 5000; i++) f.push(1, i);
  const seen: number[] = [];
  f.sweep((i) => i < 3000 && seen.push(i) > 0);
  assert.equal(seen.length, 3000);
  const rest: number[] = [];
  f.sweep((i) => rest.push(i) > 0);
  assert.deepEqual([rest[0], rest.length], [3000, 2000]);
});
