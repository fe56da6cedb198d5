import { strict as assert } from "node:assert";
import { flushMicrotasks } from "../clock.ts";
import { COALESCE_MS, HEARTBEAT_LINGER_MS, type summary } from "./board.ts";
import { backendEvent, fakeBoard } from "./fake_client_test_util.ts";
import type { Event } from "../../proto/maglev_pb.ts";

Deno.test("view changes go out once per coalescing window, log lines at once", async () => {
  const { clock, daemons, board, published } = await fakeBoard();
  await clock.advance(COALESCE_MS);
  published.length = 0;
  const s = daemons.get("r1:9090")!.streams[0];
  s.push(
    backendEvent(1, { name: "a", from: "up", to: "down" }),
    backendEvent(2, { name: "b", from: "up", to: "down" }),
  );
  for (let i = 0; i < 10 && published.length < 2; i++) await flushMicrotasks();
  assert.deepEqual(published.map((p) => p.event), ["log", "log"]);
  await clock.advance(COALESCE_MS);
  assert.deepEqual(published.map((p) => p.event), ["log", "log", "daemon", "fleet"]);
  const view = published[2].data as ReturnType<typeof summary>;
  assert.equal(view.id, "0");
  assert.equal(view.backends.a.state, "down");
  assert.equal("events" in view, false, "the event log travels line by line");
  await board.stop();
});

Deno.test("state: every daemon, the fleet comparison and the resume point", async () => {
  const { board } = await fakeBoard();
  const st = board.state(false);
  assert.deepEqual(st.daemons.map((d) => d.address), ["r1:9090", "r2:9090"]);
  assert.equal(st.fleet[0].frontend, "web");
  assert.equal(st.fleet[0].differs, false);
  assert.equal(st.lastEventId, board.hub.lastId);
  await board.stop();
});

Deno.test("actions call the daemon and note themselves in its event log", async () => {
  const { daemons, board, published } = await fakeBoard();
  const r2 = daemons.get("r2:9090")!;
  const info = await board.backendAction("1", "disable", "b");
  assert.equal(info.state, "disabled");
  assert.ok(r2.calls.includes("DisableBackend b"));
  assert.equal(board.views()[1].events.at(-1)?.text, "dashboard: disable backend b");
  assert.ok(published.some((p) => p.event === "log"));
  await board.setWeight("1", { frontend: "web", pool: "primary", backend: "a", weight: 30 });
  assert.ok(r2.calls.includes("SetWeight web a 30"));
  await assert.rejects(board.backendAction("7", "pause", "a"), /no daemon "7"/);
  await assert.rejects(board.backendAction("0", "pause", "zz"), /no backend zz/);
  await board.stop();
});

Deno.test("a window with only probe records sends the heartbeat alone", async () => {
  const { clock, daemons, board, published } = await fakeBoard();
  await clock.advance(COALESCE_MS);
  published.length = 0;
  const s = daemons.get("r1:9090")!.streams[0];
  const probe = (msg: string): Event => ({
    seq: "0",
    at_ns: "0",
    event: "log",
    log: { level: "debug", msg, attrs: [{ key: "backend", value: "a" }] },
  });
  s.push(probe("probe-start"), probe("probe-done"));
  await flushMicrotasks();
  await clock.advance(COALESCE_MS);
  assert.deepEqual(published.map((p) => p.event), ["probes"]);
  assert.deepEqual(published[0].data, {
    daemon: "0",
    probes: { a: { inFlight: false, lastAtMs: 0, lastOk: true } },
  });
  // A transition in the same window as probes: the whole view goes.
  s.push(probe("probe-start"), backendEvent(3, { name: "a", from: "up", to: "down" }));
  await flushMicrotasks();
  await clock.advance(COALESCE_MS);
  assert.deepEqual(published.slice(1).map((p) => p.event), ["log", "daemon", "fleet"]);
  await board.stop();
});

Deno.test("the probe heartbeat is on only while a browser watches, and lingers 30 s", async () => {
  const { clock, daemons, board } = await fakeBoard();
  const r1 = daemons.get("r1:9090")!;
  const level = () => r1.streams.at(-1)!.request.log_level;
  assert.equal(level(), "info", "nobody watches yet");
  const page = board.hub.subscribe().getReader();
  for (let i = 0; i < 50 && r1.streams.length < 2; i++) await flushMicrotasks();
  assert.equal(level(), "debug");
  assert.equal(r1.streams.at(-1)!.request.after_seq, r1.streams[0].request.after_seq);
  assert.ok(r1.streams[0].cancelled);
  await page.cancel();
  await clock.advance(HEARTBEAT_LINGER_MS - 1);
  assert.equal(r1.streams.length, 2, "a reload within the linger keeps it on");
  await clock.advance(1);
  for (let i = 0; i < 50 && r1.streams.length < 3; i++) await flushMicrotasks();
  assert.equal(level(), "info");
  assert.equal(board.views()[0].connection.connected, true, "no disconnect on the way");
  await board.stop();
});
