import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import { formatSse, HEARTBEAT_MS, MAX_QUEUED_FRAMES, parseEventId, SseHub } from "./sse.ts";

/** Reads a stream's text as it arrives. */
function reader(stream: ReadableStream<Uint8Array>) {
  const r = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return {
    /** Reads until `text` holds `want`; returns everything read so far. */
    async until(want: string): Promise<string> {
      while (!text.includes(want)) {
        const { value, done } = await r.read();
        if (done) throw new Error(`stream ended before ${JSON.stringify(want)}; got ${text}`);
        text += value;
      }
      return text;
    },
    cancel: () => r.cancel(),
  };
}

Deno.test("formatSse frames id, event and one data line per line", () => {
  assert.equal(
    formatSse({ id: "e-1", event: "log", data: "a\nb\r\nc" }),
    "id: e-1\nevent: log\ndata: a\ndata: b\ndata: c\n\n",
  );
  assert.equal(formatSse({ data: "{}" }), "data: {}\n\n");
  assert.deepEqual(parseEventId("k1x-42"), { epoch: "k1x", seq: 42 });
  assert.equal(parseEventId("42"), undefined);
  assert.equal(parseEventId("a-b"), undefined);
});

Deno.test("a subscriber gets the retry hint and live messages with numbered ids", async () => {
  const hub = new SseHub({ clock: new FakeClock(), epoch: "ep" });
  const r = reader(hub.subscribe());
  assert.equal(hub.clients, 1);
  hub.publish("daemon", { id: "0" });
  const text = await r.until('data: {"id":"0"}');
  assert.equal(text, 'retry: 1000\n\nid: ep-1\nevent: daemon\ndata: {"id":"0"}\n\n');
  assert.equal(hub.lastId, "ep-1");
  await r.cancel();
  assert.equal(hub.clients, 0);
  hub.close();
});

Deno.test("Last-Event-ID replays exactly what the browser missed", async () => {
  const hub = new SseHub({ clock: new FakeClock(), epoch: "ep" });
  for (let i = 1; i <= 5; i++) hub.publish("log", { i });
  const r = reader(hub.subscribe("ep-3"));
  hub.publish("log", { i: 6 });
  const text = await r.until('{"i":6}');
  assert.deepEqual([...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]), ["ep-4", "ep-5", "ep-6"]);
  await r.cancel();
  // Up to date: nothing replayed, nothing owed.
  const r2 = reader(hub.subscribe("ep-6"));
  hub.publish("log", { i: 7 });
  assert.doesNotMatch(await r2.until('{"i":7}'), /ep-[1-6]\b|resync/);
  await r2.cancel();
  hub.close();
});

Deno.test("a gap longer than the ring, an old run's id or one ahead gets a resync", async () => {
  const clock = new FakeClock();
  const hub = new SseHub({ clock, epoch: "ep", maxEvents: 3, maxAgeMs: 30_000 });
  for (let i = 1; i <= 10; i++) hub.publish("log", { i });
  const cases: [string, RegExp][] = [
    ["ep-2", /no longer kept \(oldest kept is ep-8\)/],
    ["old-5", /not from this run/],
    ["ep-99", /ahead of the newest ep-10/],
    ["garbage", /not from this run/],
  ];
  for (const [id, why] of cases) {
    const r = reader(hub.subscribe(id));
    const text = await r.until("\n\nid: ep-10\nevent: resync\n");
    assert.match(text, why, id);
    await r.cancel();
  }
  // Age counts too: after 30 s nothing is replayable.
  await clock.advance(31_000);
  const r = reader(hub.subscribe("ep-9"));
  assert.match(await r.until("resync"), /no longer kept/);
  await r.cancel();
  hub.close();
});

Deno.test("a ping every 15 s while someone listens, no timer otherwise", async () => {
  const clock = new FakeClock();
  const hub = new SseHub({ clock, epoch: "ep" });
  assert.equal(clock.pending, 0);
  const r = reader(hub.subscribe());
  assert.equal(clock.pending, 1);
  await clock.advance(HEARTBEAT_MS - 1);
  await clock.advance(1);
  assert.match(await r.until(": ping\n\n"), /^retry: 1000\n\n: ping\n\n$/);
  await clock.advance(HEARTBEAT_MS);
  assert.equal((await r.until(": ping\n\n: ping\n\n")).split(": ping").length, 3);
  await r.cancel();
  await clock.advance(HEARTBEAT_MS);
  assert.equal(clock.pending, 0, "the timer stops with the last browser");
  hub.close();
});

Deno.test("a browser that stops reading is cut off, not buffered for without bound", async () => {
  const hub = new SseHub({ clock: new FakeClock(), epoch: "ep", maxEvents: 10 });
  const stream = hub.subscribe();
  for (let i = 0; i < MAX_QUEUED_FRAMES + 5; i++) hub.publish("log", { i });
  assert.equal(hub.clients, 0);
  // What was queued before the cut is still readable, then the stream ends.
  const text = await new Response(stream).text();
  assert.match(text, /"i":0\}/);
  hub.close();
});

Deno.test("the replay ring is bounded in bytes too", async () => {
  const hub = new SseHub({ clock: new FakeClock(), epoch: "ep", maxBytes: 1000 });
  const big = "x".repeat(300);
  for (let i = 1; i <= 10; i++) hub.publish("log", { i, big });
  // Two ~345-byte frames fit in 1,000 bytes: ep-9 and ep-10.
  const r = reader(hub.subscribe("ep-8"));
  hub.publish("log", { i: 11 });
  const text = await r.until('{"i":11}');
  assert.deepEqual([...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]), [
    "ep-9",
    "ep-10",
    "ep-11",
  ]);
  await r.cancel();
  const old = reader(hub.subscribe("ep-7"));
  assert.match(await old.until("resync"), /no longer kept/);
  await old.cancel();
  hub.close();
});
