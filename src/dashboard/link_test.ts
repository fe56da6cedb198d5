import { strict as assert } from "node:assert";
import { FakeClock, flushMicrotasks } from "../clock.ts";
import { DaemonLink, retryDelayMs, type ViewChange } from "./link.ts";
import {
  backend,
  backendEvent,
  FakeDaemon,
  frontend,
  poolBackend,
} from "./fake_client_test_util.ts";

function world() {
  const clock = new FakeClock();
  const daemon = new FakeDaemon();
  daemon.frontends = [frontend("web", [poolBackend("a"), poolBackend("b")])];
  daemon.backends = [backend("a"), backend("b")];
  const changes: ViewChange[] = [];
  const link = new DaemonLink("0", "router:9090", daemon, {
    clock,
    onChange: (c) => changes.push(c),
  });
  return { clock, daemon, link, changes };
}

/** Lets the link's loop run until `cond` holds (no real time involved). */
async function settle(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 50 && !cond(); i++) await flushMicrotasks();
  assert.ok(cond(), `never happened: ${what}`);
}

Deno.test("connecting: a full fetch, the admin probe, then the stream from the start", async () => {
  const { daemon, link } = world();
  link.start();
  await settle(() => daemon.streams.length === 1, "a stream");
  assert.deepEqual(daemon.calls, [
    "ListFrontends",
    "ListBackends",
    "PreviewChange  ",
    "PauseBackend ",
    "WatchEvents after 0",
  ]);
  assert.equal(link.view.offersPreview, false, "UNIMPLEMENTED: an older daemon");
  assert.equal(link.view.connection.connected, true);
  assert.equal(link.view.acceptsMutations, true);
  assert.equal(link.view.vpp.error, "VPP is off");
  assert.equal(daemon.streams[0].request.log_level, "debug", "probe records feed the heartbeat");
  await link.stop();
  const quiet = new DaemonLink("1", "r", new FakeDaemon(), { heartbeat: false });
  quiet.start();
  const fake = quiet.client as FakeDaemon;
  await settle(() => fake.streams.length === 1, "a stream");
  assert.equal(fake.streams[0].request.log_level, "info");
  await quiet.stop();
  assert.ok(daemon.closed && daemon.streams[0].cancelled);
});

Deno.test("a listener that refuses mutations is marked so; a preview is detected", async () => {
  const { daemon, link } = world();
  daemon.refuseMutations = true;
  daemon.preview = {
    frontend: "",
    table_length: 0,
    buckets_moved: 0,
    moves: [],
    before: [],
    after: [],
    fingerprint_before: "",
    fingerprint_after: "",
  };
  link.start();
  await settle(() => daemon.streams.length === 1, "a stream");
  assert.equal(link.view.acceptsMutations, false);
  assert.equal(link.view.offersPreview, true);
  await link.stop();
});

Deno.test("a transition refetches weights within 100 ms and the lb state within 1 s", async () => {
  const { clock, daemon, link, changes } = world();
  daemon.vppInfo = {
    version: "24.10",
    build_date: "",
    build_directory: "",
    pid: 1,
    boottime_ns: "0",
    connecttime_ns: "0",
    missing_messages: [],
  };
  daemon.lb = {
    ip4_src_address: "",
    ip6_src_address: "",
    sticky_buckets_per_core: 0,
    flow_timeout: 0,
    vips: [],
  };
  link.start();
  await settle(() => daemon.streams.length === 1, "a stream");
  daemon.calls.length = 0;
  const count = (m: string) => daemon.calls.filter((c) => c === m).length;
  daemon.streams[0].push(backendEvent(5, { name: "a", from: "up", to: "down" }));
  await settle(() => link.view.backends.a.state === "down", "a down");
  assert.ok(changes.some((c) => c.applied?.line?.text === "backend a up -> down L7OK"));
  await settle(() => count("ListFrontends") === 1 && count("GetVPPLBState") === 1, "leading reads");
  // More transitions within the windows: nothing more until they close.
  daemon.streams[0].push(
    backendEvent(6, { name: "b", from: "up", to: "down" }),
    backendEvent(7, { name: "b", from: "down", to: "up" }),
  );
  await settle(() => link.view.lastSeq === "7", "seq 7");
  assert.equal(count("ListFrontends"), 1);
  await clock.advance(100);
  await settle(() => count("ListFrontends") === 2, "the weights read after the window");
  await clock.advance(100);
  await settle(() => count("ListFrontends") === 3, "the trailing weights read");
  assert.equal(count("GetVPPLBState"), 1, "the lb state keeps its 1 s window");
  await clock.advance(800);
  await settle(() => count("GetVPPLBState") === 2, "the lb state read after its window");
  await clock.advance(1000);
  await settle(() => count("GetVPPLBState") === 3, "the trailing lb state read");
  await clock.advance(5000);
  assert.equal(count("GetVPPLBState"), 3, "and nothing after that");
  await link.stop();
});

Deno.test("a dropped stream resumes after the last sequence number, without a refetch", async () => {
  const { clock, daemon, link } = world();
  link.start();
  await settle(() => daemon.streams.length === 1, "a stream");
  daemon.streams[0].push(backendEvent(41, { name: "a", from: "up", to: "down" }));
  await settle(() => link.view.lastSeq === "41", "seq 41");
  daemon.streams[0].fail();
  await settle(() => !link.view.connection.connected, "disconnected");
  assert.equal(link.view.connection.error, "connection dropped");
  daemon.calls.length = 0;
  await clock.advance(retryDelayMs(0));
  await settle(() => daemon.streams.length === 2, "a second stream");
  assert.ok(!daemon.calls.includes("ListBackends"), `no full refetch: ${daemon.calls}`);
  assert.equal(daemon.calls.at(-1), "WatchEvents after 41");
  assert.equal(link.view.connection.connected, true);
  await link.stop();
});

Deno.test("a resync refetches everything", async () => {
  const { daemon, link } = world();
  link.start();
  await settle(() => daemon.streams.length === 1, "a stream");
  daemon.calls.length = 0;
  daemon.backends = [backend("a"), backend("b"), backend("c")];
  daemon.streams[0].push({ seq: "9", at_ns: "0", event: "resync", resync: { reason: "behind" } });
  await settle(() => "c" in link.view.backends, "the refetched backend c");
  assert.ok(daemon.calls.includes("ListBackends"));
  assert.equal(link.view.events.at(-1)?.text, "resync: behind");
  await link.stop();
});

Deno.test("an unreachable daemon shows why and is retried with backoff", async () => {
  const { clock, daemon, link } = world();
  daemon.unreachable = true;
  link.start();
  await settle(() => link.view.connection.error === "No connection established", "the error");
  assert.equal(link.view.connection.connected, false);
  assert.equal(link.view.refreshedAtMs, 0);
  daemon.unreachable = false;
  await clock.advance(retryDelayMs(0));
  await settle(() => link.view.connection.connected, "connected");
  assert.equal(link.view.refreshedAtMs, clock.now());
  assert.deepEqual([0, 1, 2, 3, 4, 9].map(retryDelayMs), [500, 1000, 2000, 4000, 5000, 5000]);
  await link.stop();
});

Deno.test("the health call notices a daemon that stopped answering", async () => {
  const { clock, daemon, link } = world();
  link.start();
  await settle(() => daemon.streams.length === 1, "a stream");
  daemon.unreachable = true;
  await clock.advance(5_000);
  await settle(() => !link.view.connection.connected, "disconnected");
  assert.ok(daemon.streams[0].cancelled, "the stream is dropped so the loop reconnects");
  assert.equal(link.view.connection.error, "No connection established");
  await link.stop();
});
