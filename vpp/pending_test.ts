import { strict as assert } from "node:assert";
import { type Pending, PendingTable, type VppTimers } from "./pending.ts";

/** Timers fired by hand. */
class ManualTimers implements VppTimers {
  #next = 1;
  readonly armed = new Map<number, { fn: () => void; ms: number }>();
  setTimeout(fn: () => void, ms: number): number {
    const id = this.#next++;
    this.armed.set(id, { fn, ms });
    return id;
  }
  clearTimeout(id: number): void {
    this.armed.delete(id);
  }
  fire(id: number): void {
    const t = this.armed.get(id)!;
    this.armed.delete(id);
    t.fn();
  }
}

function pending(name: string, log: string[]): Pending {
  return {
    name,
    replyName: `${name}_reply`,
    details: null,
    checkRetval: true,
    wantsReply: true,
    resolve: () => log.push(`ok ${name}`),
    reject: (e) => log.push(`${name}: ${e.message}`),
  };
}

Deno.test("requests sent in one flush share one timer per timeout", () => {
  const timers = new ManualTimers();
  const log: string[] = [];
  const t = new PendingTable(timers, (p, ms) => new Error(`${p.name} timed out after ${ms}`));
  for (let i = 0; i < 1000; i++) t.add(t.nextContext(), pending(`r${i}`, log), 5000);
  t.add(t.nextContext(), pending("short", log), 50);
  assert.deepEqual([...timers.armed.values()].map((x) => x.ms), [5000, 50]);
  t.seal();
  t.add(t.nextContext(), pending("later", log), 5000);
  assert.equal(timers.armed.size, 3, "the next flush starts a new batch");
  // Answering every request of a batch ends its timer.
  for (let c = 1; c <= 1000; c++) t.take(c);
  assert.deepEqual([...timers.armed.values()].map((x) => x.ms), [50, 5000]);
  // A batch's timer fails only what is still waiting in it.
  const [shortId] = [...timers.armed.keys()];
  timers.fire(shortId);
  assert.deepEqual(log, ["short: short timed out after 50"]);
  assert.equal(t.get(1002)?.name, "later");
});

Deno.test("contexts skip the ones in flight; drain hands every request back", () => {
  const timers = new ManualTimers();
  const t = new PendingTable(timers, () => new Error("timeout"));
  const log: string[] = [];
  const a = t.nextContext();
  t.add(a, pending("a", log), 10);
  const b = t.nextContext();
  assert.notEqual(a, b);
  t.add(b, pending("b", log), 10);
  assert.deepEqual(t.drain().map((p) => p.name), ["a", "b"]);
  assert.equal(timers.armed.size, 0);
  assert.equal(t.get(a), undefined);
});

Deno.test("thousands in flight, answered out of order: each found under its own context", () => {
  const timers = new ManualTimers();
  const t = new PendingTable(timers, () => new Error("timeout"));
  const log: string[] = [];
  const live = new Map<number, string>();
  const send = (name: string) => {
    const c = t.nextContext();
    assert.ok(!live.has(c), `context ${c} handed out twice`);
    t.add(c, pending(name, log), 10);
    live.set(c, name);
  };
  // A long-lived request stays while the ring wraps past its slot many times.
  send("old");
  for (let i = 0; i < 3000; i++) send(`r${i}`);
  t.seal();
  for (const [c, name] of [...live]) {
    if (name === "old" || Number(name.slice(1)) % 2 === 1) continue;
    assert.equal(t.take(c)?.name, name);
    live.delete(c);
  }
  for (let i = 3000; i < 9000; i++) send(`r${i}`);
  for (const [c, name] of live) assert.equal(t.get(c)?.name, name);
  assert.equal(t.get(0x7fffffff), undefined);
  const drained = t.drain().map((p) => p.name);
  assert.deepEqual(drained, [...live.values()]);
  assert.equal(timers.armed.size, 0);
});
