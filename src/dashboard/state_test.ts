import { strict as assert } from "node:assert";
import {
  applyEvent,
  applySnapshot,
  EVENT_LOG_SIZE,
  newDaemonView,
  nsToMs,
  TRANSITIONS_KEPT,
} from "./state.ts";
import { backend, backendEvent, frontend, poolBackend } from "./fake_client_test_util.ts";
import type { Event } from "../../proto/maglev_pb.ts";

function seeded() {
  const v = newDaemonView("0", "127.0.0.1:9090", { nowMs: 1000 });
  applySnapshot(v, {
    frontends: [frontend("web", [poolBackend("a"), poolBackend("b")])],
    backends: [
      backend("a", {
        probes: [{ at_ns: "1", ok: true, code: "L7OK", detail: "", duration_ns: "5" }],
      }),
      backend("b"),
    ],
  }, { nowMs: 2000 });
  return v;
}

Deno.test("a snapshot replaces frontends and backends, drops probe rings, keeps the event log", () => {
  const v = seeded();
  v.events.push({ atMs: 1, kind: "log", level: "info", text: "kept" });
  applySnapshot(v, { backends: [backend("a")] }, { nowMs: 3000 });
  assert.deepEqual(Object.keys(v.backends), ["a"]);
  assert.deepEqual(v.backends.a.probes, []);
  assert.equal(v.frontends.length, 1, "a snapshot without frontends keeps them");
  assert.equal(v.events.length, 1);
  assert.equal(v.refreshedAtMs, 3000);
});

Deno.test("a backend transition sets the state everywhere, logs a line and asks for weights", () => {
  const v = seeded();
  const r = applyEvent(v, backendEvent(7, { name: "a", from: "up", to: "down", atMs: 5000 }));
  assert.equal(v.backends.a.state, "down");
  assert.equal(v.frontends[0].pools[0].backends[0].state, "down");
  assert.equal(v.frontends[0].pools[0].backends[1].state, "up");
  assert.equal(v.backends.a.transitions[0].to, "down");
  assert.equal(v.lastSeq, "7");
  assert.ok(r.changed && r.refetchWeights && !r.resync);
  assert.equal(r.line?.text, "backend a up -> down L7OK");
  assert.equal(r.line?.level, "warn", "down is worth a warning colour");
  assert.equal(r.line?.atMs, 5000);
});

Deno.test("a disable clears enabled; the same transition twice is kept once", () => {
  const v = seeded();
  const ev = backendEvent(3, { name: "b", from: "up", to: "disabled" });
  applyEvent(v, ev);
  applyEvent(v, ev);
  assert.equal(v.backends.b.enabled, false);
  assert.equal(v.frontends[0].pools[0].backends[1].enabled, false);
  assert.equal(v.backends.b.transitions.length, 1);
  for (let i = 0; i < 10; i++) {
    applyEvent(v, backendEvent(10 + i, { name: "b", from: "up", to: "down", atMs: 9000 + i }));
  }
  assert.equal(v.backends.b.transitions.length, TRANSITIONS_KEPT);
});

Deno.test("snapshot events (from == to) restate the state without a line or a transition", () => {
  const v = seeded();
  v.backends.a.state = "unknown";
  const r = applyEvent(v, backendEvent(4, { name: "a", from: "up", to: "up" }));
  assert.equal(v.backends.a.state, "up");
  assert.equal(r.line, undefined);
  assert.equal(r.refetchWeights, false);
  assert.deepEqual(v.backends.a.transitions, []);
  assert.equal(v.events.length, 0);
});

Deno.test("frontend events, resync and log records", () => {
  const v = seeded();
  const fe: Event = {
    seq: "9",
    at_ns: "0",
    event: "frontend",
    frontend: { frontend: "web", from: "up", to: "down" },
  };
  assert.equal(applyEvent(v, fe).line?.text, "frontend web up -> down");
  assert.equal(v.frontends[0].state, "down");
  const rs = applyEvent(v, { seq: "9", at_ns: "0", event: "resync", resync: { reason: "behind" } });
  assert.ok(rs.resync);
  const info = applyEvent(v, {
    seq: "9",
    at_ns: "0",
    event: "log",
    log: { level: "info", msg: "vpp-connect", attrs: [{ key: "version", value: "24.10" }] },
  });
  assert.equal(info.line?.text, "vpp-connect version=24.10");
  assert.ok(info.refetchWeights, "a VPP record may move buckets");
  const dup = applyEvent(v, {
    seq: "9",
    at_ns: "0",
    event: "log",
    log: { level: "info", msg: "backend-transition", attrs: [] },
  });
  assert.equal(dup.line, undefined, "transitions are logged from their events, not twice");
  assert.equal(v.lastSeq, "9");
});

Deno.test("probe records drive the heartbeat and stay out of the event log", () => {
  const v = seeded();
  const log = (msg: string, ok?: string): Event => ({
    seq: "0",
    at_ns: "3000000000",
    event: "log",
    log: {
      level: "debug",
      msg,
      attrs: [{ key: "backend", value: "a" }, ...(ok ? [{ key: "ok", value: ok }] : [])],
    },
  });
  applyEvent(v, log("probe-start"));
  assert.deepEqual(v.probes.a, { inFlight: true, lastAtMs: 0, lastOk: true });
  applyEvent(v, log("probe-done", "false"));
  assert.deepEqual(v.probes.a, { inFlight: false, lastAtMs: 3000, lastOk: false });
  assert.equal(v.events.length, 0);
  const other = applyEvent(v, { ...log("vpp-api-send"), seq: "0" });
  assert.equal(other.changed, false, "other debug records change nothing");
});

Deno.test("the event log is bounded", () => {
  const v = seeded();
  for (let i = 0; i < EVENT_LOG_SIZE + 10; i++) {
    applyEvent(
      v,
      backendEvent(i + 1, {
        name: "a",
        from: i % 2 ? "up" : "down",
        to: i % 2 ? "down" : "up",
        atMs: i,
      }),
    );
  }
  assert.equal(v.events.length, EVENT_LOG_SIZE);
  assert.equal(v.events.at(-1)?.atMs, EVENT_LOG_SIZE + 9);
  assert.equal(nsToMs("1700000000123456789"), 1700000000123);
  assert.equal(nsToMs(""), 0);
});

Deno.test("the first snapshot opens the event log with the remembered transitions", () => {
  const v = newDaemonView("0", "r", { nowMs: 0 });
  const t = (from: string, to: string, s: number) => ({
    from,
    to,
    at_ns: String(s * 1_000_000_000),
    code: "L7OK",
    detail: "",
  });
  applySnapshot(v, {
    backends: [
      backend("a", { transitions: [t("up", "down", 30), t("unknown", "up", 10)] }),
      backend("b", { transitions: [t("unknown", "up", 20)] }),
    ],
  }, { nowMs: 1 });
  assert.deepEqual(v.events.map((l) => [l.atMs, l.text]), [
    [10_000, "backend a unknown -> up L7OK"],
    [20_000, "backend b unknown -> up L7OK"],
    [30_000, "backend a up -> down L7OK"],
  ]);
  applySnapshot(v, { backends: [backend("a", { transitions: [t("down", "up", 40)] })] }, {
    nowMs: 2,
  });
  assert.equal(v.events.length, 3, "later refetches do not repeat history");
});

Deno.test("after a resync the sequence restarts where the daemon is (a restarted daemon)", () => {
  const v = seeded();
  applyEvent(v, backendEvent(900, { name: "a", from: "up", to: "down" }));
  assert.equal(v.lastSeq, "900");
  applyEvent(v, { seq: "3", at_ns: "0", event: "resync", resync: { reason: "ahead" } });
  assert.equal(v.lastSeq, "3");
  applyEvent(v, backendEvent(4, { name: "a", from: "down", to: "up" }));
  assert.equal(v.lastSeq, "4");
});
