import { strict as assert } from "node:assert";
import { configureLog, log } from "../log/mod.ts";
import { EventBus, REPLAY_RING_SIZE } from "./events.ts";
import type { BackendEvent, FrontendEvent, MaglevEvent } from "./types.ts";

configureLog({ level: "error", format: "json", write: () => {} });

function frontendEvent(n: number): Omit<FrontendEvent, "seq"> {
  return { kind: "frontend", frontend: `f${n}`, from: "up", to: "down", atMs: n };
}

function bus(): EventBus {
  return new EventBus((seq) => [
    { kind: "frontend", seq, frontend: "snap", from: "up", to: "up", atMs: 0 },
  ]);
}

/** Takes `n` events from a fresh subscription, then stops iterating. */
async function take(
  b: EventBus,
  n: number,
  options: Parameters<EventBus["subscribe"]>[0] = {},
): Promise<MaglevEvent[]> {
  const out: MaglevEvent[] = [];
  if (n === 0) return out;
  for await (const ev of b.subscribe(options)) {
    out.push(ev);
    if (out.length >= n) break;
  }
  return out;
}

Deno.test("events: sequence numbers are monotonic; snapshot carries the newest", async () => {
  const b = bus();
  assert.equal(b.lastSeq(), 0);
  assert.equal(b.publish(frontendEvent(1)).seq, 1);
  assert.equal(b.publish(frontendEvent(2)).seq, 2);
  const got = await take(b, 1);
  assert.deepEqual(got, [{
    kind: "frontend",
    seq: 2,
    frontend: "snap",
    from: "up",
    to: "up",
    atMs: 0,
  }]);
  assert.equal(b.subscribers, 0, "breaking the loop frees the subscription");
});

Deno.test("events: resume replays exactly what was missed, within the ring", async () => {
  const b = bus();
  const total = REPLAY_RING_SIZE + 4;
  for (let i = 1; i <= total; i++) b.publish(frontendEvent(i));
  const oldest = total - REPLAY_RING_SIZE + 1; // 5
  const replay = await take(b, REPLAY_RING_SIZE, { afterSeq: oldest - 1 });
  assert.equal(replay[0].seq, oldest);
  assert.equal(replay.at(-1)!.seq, total);
  assert.ok(replay.every((e, i) => e.seq === oldest + i));
  const tail = await take(b, 2, { afterSeq: total - 2 });
  assert.deepEqual(tail.map((e) => e.seq), [total - 1, total]);
  // Evicted: resync, then the snapshot.
  const old = await take(b, 2, { afterSeq: oldest - 2 });
  assert.equal(old[0].kind, "resync");
  assert.match((old[0] as { reason: string }).reason, /no longer kept \(oldest kept is 5\)/);
  assert.equal(old[1].kind, "frontend");
  assert.equal((old[1] as FrontendEvent).frontend, "snap");
  assert.equal(b.subscribers, 0);
});

Deno.test("events: filters apply to snapshot, replay and live events", async () => {
  const b = new EventBus((seq) => [
    {
      kind: "backend",
      seq,
      frontend: "f",
      backend: "x",
      address: "10.0.0.1",
      transition: { from: "up", to: "up", atMs: 0, code: "", detail: "" },
    } satisfies BackendEvent,
    { kind: "frontend", seq, frontend: "f", from: "up", to: "up", atMs: 0 },
  ]);
  b.publish(frontendEvent(1));
  const got = await take(b, 1, { frontend: false, backend: true });
  assert.equal(got[0].kind, "backend");
  const ac = new AbortController();
  const out: MaglevEvent[] = [];
  const done = (async () => {
    for await (const ev of b.subscribe({ afterSeq: 0, backend: false, signal: ac.signal })) {
      out.push(ev);
    }
  })();
  await Promise.resolve();
  b.publish({
    kind: "backend",
    frontend: "f",
    backend: "x",
    address: "10.0.0.1",
    transition: { from: "up", to: "down", atMs: 1, code: "L4CON", detail: "" },
  });
  b.publish(frontendEvent(3));
  await new Promise((r) => setTimeout(r, 0));
  ac.abort();
  await done;
  assert.deepEqual(out.map((e) => `${e.kind}${e.seq}`), ["frontend1", "frontend3"]);
  assert.equal(b.subscribers, 0, "abort frees the subscription");
});

Deno.test("events: log records go to log subscribers at their level; listener removed after", async () => {
  const b = bus();
  const ac = new AbortController();
  const out: MaglevEvent[] = [];
  const it = b.subscribe({ log: true, logLevel: "warn", afterSeq: 0, signal: ac.signal });
  const done = (async () => {
    for await (const ev of it) out.push(ev);
  })();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(b.wantsLog("warn"), true);
  assert.equal(b.wantsLog("info"), false);
  log.info("quiet", { a: 1 });
  log.warn("loud", { a: 2 });
  log.error("louder", {});
  await new Promise((r) => setTimeout(r, 0));
  ac.abort();
  await done;
  assert.deepEqual(out.map((e) => e.kind === "log" ? `${e.level}:${e.msg}` : e.kind), [
    "warn:loud",
    "error:louder",
  ]);
  assert.deepEqual((out[0] as { attrs: unknown }).attrs, { a: 2 });
  assert.equal(b.wantsLog("error"), false, "no log subscriber left");
});

Deno.test("events: a subscriber that keeps pace never gets a resync or a gap", async () => {
  const b = bus();
  const it = b.subscribe({ afterSeq: 0, bufferSize: 4 })[Symbol.asyncIterator]();
  const first = it.next();
  await Promise.resolve();
  // One event always stays queued, so the queue never drains completely and
  // must be compacted as it goes.
  b.publish(frontendEvent(1));
  b.publish(frontendEvent(2));
  const seen: number[] = [(await first).value.seq];
  for (let i = 3; i <= 10_000; i++) {
    b.publish(frontendEvent(i));
    seen.push((await it.next()).value.seq);
  }
  seen.push((await it.next()).value.seq);
  await it.return?.();
  assert.equal(seen.length, 10_000);
  assert.ok(seen.every((s, i) => s === i + 1), "no gap, no resync");
  assert.equal(b.subscribers, 0);
});

Deno.test("events: close ends every subscription", async () => {
  const b = bus();
  const done = (async () => {
    const out: MaglevEvent[] = [];
    for await (const ev of b.subscribe()) out.push(ev);
    return out;
  })();
  await new Promise((r) => setTimeout(r, 0));
  b.close();
  const out = await done;
  assert.equal(out.length, 1); // the snapshot
  assert.equal(b.subscribers, 0);
  assert.deepEqual(await take(b, 1), [], "a closed bus yields nothing");
});

Deno.test("events: batches hand over everything buffered per wakeup, in order", async () => {
  const b = bus();
  const it = b.subscribe({ afterSeq: 0 }).batches()[Symbol.asyncIterator]();
  const first = it.next();
  await Promise.resolve();
  for (let i = 1; i <= 5; i++) b.publish(frontendEvent(i));
  const got = (await first).value as MaglevEvent[];
  assert.deepEqual(got.map((e) => e.seq), [1, 2, 3, 4, 5], "one batch for one wakeup");
  assert.equal(b.subscribers, 1);
  b.publish(frontendEvent(6));
  assert.deepEqual(((await it.next()).value as MaglevEvent[]).map((e) => e.seq), [6]);
  await it.return?.();
  assert.equal(b.subscribers, 0, "ending the iteration frees the subscription");
});

Deno.test("events: a batch reader that falls behind gets a resync, then a snapshot", async () => {
  const b = bus();
  const it = b.subscribe({ afterSeq: 0, bufferSize: 3 }).batches()[Symbol.asyncIterator]();
  const first = it.next();
  await Promise.resolve();
  b.publish(frontendEvent(1));
  assert.deepEqual(((await first).value as MaglevEvent[]).map((e) => e.seq), [1]);
  // Not reading: the fourth live event overflows the buffer of three.
  for (let i = 2; i <= 5; i++) b.publish(frontendEvent(i));
  const batch = (await it.next()).value as MaglevEvent[];
  assert.equal(batch[0].kind, "resync");
  assert.match((batch[0] as { reason: string }).reason, /more than 3 events behind/);
  assert.deepEqual(batch.slice(1).map((e) => [e.kind, e.seq]), [["frontend", 5]], "the snapshot");
  b.publish(frontendEvent(6));
  assert.deepEqual(((await it.next()).value as MaglevEvent[]).map((e) => e.seq), [6]);
  const ctl = new AbortController();
  const aborted = b.subscribe({ signal: ctl.signal }).batches()[Symbol.asyncIterator]();
  assert.equal(((await aborted.next()).value as MaglevEvent[]).length, 1, "the snapshot");
  const pending = aborted.next();
  ctl.abort();
  assert.equal((await pending).done, true, "abort ends a waiting batch reader");
  await it.return?.();
  assert.equal(b.subscribers, 0);
});
