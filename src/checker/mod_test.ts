import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import { MaglevError } from "../errors.ts";
import { addLogListener, configureLog, type LogRecord } from "../log/mod.ts";
import { desiredFromFrontend, effectiveWeights } from "../weights/mod.ts";
import type { Transition } from "../health/types.ts";
import {
  Checker,
  DEADLINE_GRACE_MS,
  lookupBackend,
  lookupFrontend,
  lookupHealthCheck,
  STATIC_IDLE_MS,
} from "./mod.ts";
import type { MaglevEvent, SubscribeOptions } from "./types.ts";
import { STOP_DRAIN_MS } from "./runner.ts";
import {
  type ConfigSpec,
  FAIL,
  FakeDriver,
  FakeProber,
  makeConfig,
  PASS,
} from "./checker_test_util.ts";

// Keep test output quiet; listeners (and so subscribers) still see everything.
configureLog({ level: "error", format: "json", write: () => {} });

const BASE: ConfigSpec = {
  healthchecks: { hc: {} },
  backends: { a: "10.0.0.1", b: "10.0.0.2", c: "10.0.0.3", d: "10.0.0.4" },
  frontends: {
    web: { pools: [["primary", { a: 100, b: 100 }], ["fallback", { c: 100 }]] },
    api: { pools: [["main", { a: 50, d: 100 }]], address: "192.0.2.2" },
  },
};

interface Rig {
  clock: FakeClock;
  prober: FakeProber;
  checker: Checker;
  transitions: [string, Transition][];
  [Symbol.asyncDispose](): Promise<void>;
}

function rig(spec: ConfigSpec = BASE, start = true): Rig {
  const clock = new FakeClock();
  const prober = new FakeProber();
  const transitions: [string, Transition][] = [];
  const checker = new Checker(makeConfig(spec), {
    probe: prober.probe,
    clock,
    random: () => 0.5, // no jitter: exact schedules
    onTransition: (b, t) => transitions.push([b, t]),
  });
  if (start) checker.start();
  return {
    clock,
    prober,
    checker,
    transitions,
    async [Symbol.asyncDispose]() {
      await checker.stop();
      assert.equal(clock.pending, 0, "stop() leaves no timer behind");
    },
  };
}

function assertKind(fn: () => unknown, kind: string, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MaglevError, String(e));
    assert.equal(e.kind, kind);
    assert.equal(e.message, message);
    return true;
  });
}

/** Collects events from a subscription in the background. */
function collect(checker: Checker, options: SubscribeOptions = {}) {
  const ac = new AbortController();
  const events: MaglevEvent[] = [];
  const done = (async () => {
    for await (const ev of checker.subscribe({ ...options, signal: ac.signal })) events.push(ev);
  })();
  return {
    events,
    async stop() {
      ac.abort();
      await done;
    },
  };
}

function brief(ev: MaglevEvent): string {
  switch (ev.kind) {
    case "backend":
      return `${ev.seq} ${ev.frontend}/${ev.backend} ${ev.transition.from}>${ev.transition.to}`;
    case "frontend":
      return `${ev.seq} ${ev.frontend} ${ev.from}>${ev.to}`;
    case "log":
      return `${ev.seq} log ${ev.msg}`;
    case "resync":
      return `${ev.seq} resync`;
  }
}

Deno.test("checker: one loop per backend, staggered, then interval", async () => {
  await using r = rig();
  const { clock, prober, checker } = r;
  assert.deepEqual(checker.listBackends(), ["a", "b", "c", "d"]);
  // 4 backends, interval 1000: first probes at 0, 250, 500, 750.
  await clock.advance(0);
  assert.deepEqual(["a", "b", "c", "d"].map((n) => prober.count(n)), [1, 0, 0, 0]);
  await clock.advance(250);
  assert.deepEqual(["a", "b", "c", "d"].map((n) => prober.count(n)), [1, 1, 0, 0]);
  await clock.advance(500);
  assert.deepEqual(["a", "b", "c", "d"].map((n) => prober.count(n)), [1, 1, 1, 1]);
  // a is referenced by two frontends but probed by one loop.
  await clock.advance(10_000);
  assert.deepEqual(["a", "b", "c", "d"].map((n) => prober.count(n)), [11, 11, 11, 11]);
  for (const n of ["a", "b", "c", "d"]) assert.equal(checker.backendState(n), "up");
});

Deno.test("checker: rise/fall over time and NextInterval choices", async () => {
  await using r = rig({
    healthchecks: {
      hc: { intervalMs: 1000, fastIntervalMs: 200, downIntervalMs: 5000, rise: 2, fall: 2 },
    },
    backends: { a: "10.0.0.1" },
    frontends: { web: { pools: [["p", { a: 100 }]] } },
  });
  const { clock, prober, checker } = r;
  await clock.advance(0);
  assert.equal(checker.backendState("a"), "up"); // unknown fast path
  await clock.advance(999);
  assert.equal(prober.count("a"), 1);
  await clock.advance(1); // interval while fully up
  assert.equal(prober.count("a"), 2);
  prober.fallback = FAIL;
  await clock.advance(1000); // fails, counter 2 of 3: still up, now fast
  assert.equal(checker.backendState("a"), "up");
  await clock.advance(200);
  assert.equal(checker.backendState("a"), "down");
  assert.equal(prober.count("a"), 4);
  await clock.advance(4999); // down-interval
  assert.equal(prober.count("a"), 4);
  await clock.advance(1);
  assert.equal(prober.count("a"), 5);
  prober.fallback = PASS;
  await clock.advance(5000); // rising: 1 of 2
  assert.equal(checker.backendState("a"), "down");
  await clock.advance(200);
  assert.equal(checker.backendState("a"), "up");
  const codes = checker.getBackend("a").transitions.map((t) => `${t.from}>${t.to}:${t.code}`);
  assert.deepEqual(codes, [
    "down>up:L7OK",
    "up>down:L4CON",
    "unknown>up:L7OK",
    "unknown>unknown:start",
  ]);
  assert.equal(checker.getBackend("a").probes.length, 7);
  // The summary a scrape reads is the snapshot without its history.
  const { transitions: _t, probes: _p, ...rest } = checker.getBackend("a");
  assert.deepEqual(checker.backendSummary("a"), rest);
  assert.throws(() => checker.backendSummary("nope"), /nope/);
  // The flush ledger's key is the snapshot's newest transition, without the snapshot.
  assert.equal(checker.lastTransitionAt("a"), checker.getBackend("a").transitions[0].atMs);
  assert.equal(checker.lastTransitionAt("a"), clock.now());
  assert.equal(checker.lastTransitionAt("nope"), undefined);
  assert.equal(checker.lastTransitionAt("__proto__"), undefined);
});

Deno.test("checker: static backends go up at once and idle 30 s without probing", async () => {
  await using r = rig({
    backends: { s: { address: "10.0.0.9", healthcheck: "" } },
    frontends: { web: { pools: [["p", { s: 100 }]] } },
  });
  const { clock, prober, checker } = r;
  await clock.advance(0);
  const snap = checker.getBackend("s");
  assert.equal(snap.state, "up");
  assert.equal(snap.healthMax, 1);
  assert.equal(snap.transitions[0].code, "L7OK");
  assert.equal(prober.count("s"), 0);
  await clock.advance(STATIC_IDLE_MS - 1);
  assert.equal(checker.getBackend("s").probes.length, 1);
  await clock.advance(1);
  assert.equal(checker.getBackend("s").probes.length, 2);
  assert.equal(checker.frontendState("web"), "up");
});

Deno.test("checker: pause stops probes, resume restarts at once", async () => {
  await using r = rig();
  const { clock, prober, checker, transitions } = r;
  await clock.advance(2000);
  const before = prober.count("b");
  const snap = checker.pause("b");
  assert.equal(snap.state, "paused");
  await clock.advance(10_000);
  assert.equal(prober.count("b"), before, "no probes while paused");
  assert.equal(checker.pause("b").state, "paused", "pause is idempotent");
  const resumed = checker.resume("b");
  assert.equal(resumed.state, "unknown");
  assert.equal(resumed.health, 1, "counter preset to rise-1");
  await clock.advance(0);
  assert.equal(prober.count("b"), before + 1, "probe at once after resume");
  assert.equal(checker.backendState("b"), "up");
  await clock.advance(1000);
  assert.equal(prober.count("b"), before + 2);
  const bt = transitions.filter(([n]) => n === "b").map(([, t]) => `${t.from}>${t.to}:${t.code}`);
  assert.deepEqual(bt, [
    "unknown>up:L7OK",
    "up>paused:paused",
    "paused>unknown:resumed",
    "unknown>up:L7OK",
  ]);
  // History survives pause/resume.
  assert.equal(checker.getBackend("b").transitions.length, 5);
});

Deno.test("checker: disable/enable and their preconditions", async () => {
  await using r = rig();
  const { clock, prober, checker } = r;
  await clock.advance(2000);
  const before = prober.count("a");
  const snap = checker.disable("a");
  assert.equal(snap.state, "disabled");
  assert.equal(snap.enabled, false);
  assert.equal(checker.config().backends.a.enabled, false);
  await clock.advance(5000);
  assert.equal(prober.count("a"), before);
  assertKind(
    () => checker.pause("a"),
    "FAILED_PRECONDITION",
    'backend "a" is disabled; enable it first',
  );
  assertKind(
    () => checker.resume("a"),
    "FAILED_PRECONDITION",
    'backend "a" is disabled; enable it first',
  );
  assert.equal(checker.disable("a").state, "disabled", "disable is idempotent");
  // Disabled stays desired with weight 0 and flush.
  const d = desiredFromFrontend(checker.config().frontends.web, checker, checker.config());
  assert.deepEqual(d.ases.get("10.0.0.1"), { weight: 0, flush: true, backend: "a" });
  const en = checker.enable("a");
  assert.equal(en.state, "unknown");
  assert.equal(en.enabled, true);
  assert.equal(checker.config().backends.a.enabled, true);
  await clock.advance(0);
  assert.equal(prober.count("a"), before + 1);
  assert.equal(checker.backendState("a"), "up");
  assert.equal(checker.enable("a").state, "up", "enable of an enabled backend changes nothing");
  // Pause, then disable, then enable: back to probing.
  checker.pause("b");
  checker.disable("b");
  checker.enable("b");
  const nb = prober.count("b");
  await clock.advance(0);
  assert.equal(prober.count("b"), nb + 1);
});

Deno.test("checker: unknown names give NOT_FOUND and change nothing", async () => {
  await using r = rig();
  const { checker } = r;
  for (const op of ["pause", "resume", "enable", "disable", "getBackend"] as const) {
    assertKind(() => checker[op]("nope"), "NOT_FOUND", 'backend "nope" not found');
  }
  assertKind(() => checker.frontendState("nope"), "NOT_FOUND", 'frontend "nope" not found');
  assert.equal(checker.backendState("nope"), undefined);
});

Deno.test("checker: setWeight validates, logs and emits no backend event", async () => {
  await using r = rig();
  const { clock, checker } = r;
  await clock.advance(1000);
  const cfg = checker.config();
  assertKind(
    () => checker.setWeight("web", "primary", "a", 101),
    "INVALID_ARGUMENT",
    "weight 101 out of range [0, 100]",
  );
  assertKind(
    () => checker.setWeight("web", "primary", "a", -1),
    "INVALID_ARGUMENT",
    "weight -1 out of range [0, 100]",
  );
  assertKind(
    () => checker.setWeight("x", "primary", "a", 1),
    "NOT_FOUND",
    'frontend "x" not found',
  );
  assertKind(
    () => checker.setWeight("web", "nope", "a", 1),
    "NOT_FOUND",
    'pool "nope" not found in frontend "web"',
  );
  assertKind(
    () => checker.setWeight("web", "fallback", "a", 1),
    "NOT_FOUND",
    'backend "a" not found in pool "fallback" of frontend "web"',
  );
  assert.equal(checker.config(), cfg, "bad input changes nothing");

  const logs: LogRecord[] = [];
  const stopLogs = addLogListener((rec) => logs.push(rec));
  const sub = collect(checker, { afterSeq: checker.lastSeq() });
  await clock.advance(0);
  checker.setWeight("web", "primary", "a", 0);
  checker.setWeight("web", "primary", "b", 0);
  await clock.advance(0);
  stopLogs();
  await sub.stop();
  assert.equal(checker.config().frontends.web.pools[0].backends[0].weight, 0);
  assert.equal(cfg.frontends.web.pools[0].backends[0].weight, 100, "old config untouched");
  assert.ok(Object.isFrozen(checker.config().frontends.web.pools[0].backends[0]));
  const w = logs.filter((l) => l.msg === "frontend-pool-weight");
  assert.deepEqual(w[0].attrs, { frontend: "web", pool: "primary", backend: "a", weight: 0 });
  // Primary all weight 0: the fallback serves.
  const eff = effectiveWeights(checker.config().frontends.web, checker);
  assert.equal(eff.get("fallback")!.get("c"), 100);
  assert.ok(sub.events.every((e) => e.kind !== "backend"), sub.events.map(brief).join());
});

Deno.test("checker: events in order with sequence numbers; snapshot first", async () => {
  await using r = rig(BASE, false);
  const { clock, checker } = r;
  const sub = collect(checker);
  await clock.advance(0);
  // Snapshot: per frontend (sorted) its backends then the frontend itself.
  assert.deepEqual(sub.events.map(brief), [
    "0 api/a unknown>unknown",
    "0 api/d unknown>unknown",
    "0 api unknown>unknown",
    "0 web/a unknown>unknown",
    "0 web/b unknown>unknown",
    "0 web/c unknown>unknown",
    "0 web unknown>unknown",
  ]);
  sub.events.length = 0;
  checker.start();
  await clock.advance(1000);
  assert.deepEqual(sub.events.map(brief), [
    // a goes up: one event per referencing frontend, then both frontends go up.
    "1 api/a unknown>up",
    "2 web/a unknown>up",
    "3 api unknown>up",
    "4 web unknown>up",
    "5 web/b unknown>up",
    "6 web/c unknown>up",
    "7 api/d unknown>up",
  ]);
  assert.equal(checker.lastSeq(), 7);
  const ev = sub.events[0];
  assert.equal(ev.kind === "backend" && ev.address, "10.0.0.1");
  await sub.stop();
});

Deno.test("checker: frontend aggregate follows failover", async () => {
  await using r = rig();
  const { clock, prober, checker } = r;
  await clock.advance(1000);
  assert.equal(checker.frontendState("web"), "up");
  const sub = collect(checker, { afterSeq: checker.lastSeq() });
  prober.behaviour.set("a", FAIL);
  prober.behaviour.set("b", FAIL);
  prober.behaviour.set("c", FAIL);
  prober.behaviour.set("d", FAIL);
  await clock.advance(5000);
  assert.equal(checker.frontendState("web"), "down");
  assert.equal(checker.frontendState("api"), "down");
  await sub.stop();
  const fe = sub.events.filter((e) => e.kind === "frontend").map(brief);
  assert.equal(fe.length, 2);
  assert.match(fe.join(), /web up>down/);
  assert.match(fe.join(), /api up>down/);
});

Deno.test("checker: resume from a sequence number", async () => {
  await using r = rig();
  const { clock, checker } = r;
  await clock.advance(1000);
  const mid = 3;
  const sub = collect(checker, { afterSeq: mid });
  await clock.advance(0);
  await sub.stop();
  assert.deepEqual(sub.events.map((e) => e.seq), [4, 5, 6, 7]);
  // Resuming from the newest number gives no snapshot and nothing old.
  checker.pause("c");
  const sub2 = collect(checker, { afterSeq: checker.lastSeq() });
  await clock.advance(0);
  checker.resume("c");
  await clock.advance(0);
  await sub2.stop();
  assert.deepEqual(sub2.events.map(brief), ["9 web/c paused>unknown", "10 web/c unknown>up"]);
  // A number from the future (restarted daemon) gets a resync and a snapshot.
  const sub3 = collect(checker, { afterSeq: 10_000 });
  await clock.advance(0);
  await sub3.stop();
  assert.equal(sub3.events[0].kind, "resync");
  assert.match((sub3.events[0] as { reason: string }).reason, /ahead/);
  assert.equal(sub3.events.filter((e) => e.kind === "frontend").length, 2);
});

Deno.test("checker: a slow subscriber gets resync then a fresh snapshot", async () => {
  await using r = rig();
  const { clock, checker } = r;
  await clock.advance(1000);
  const it = checker.subscribe({ afterSeq: checker.lastSeq(), bufferSize: 2 })[
    Symbol.asyncIterator
  ]();
  const first = it.next(); // registers the subscriber; nothing to read yet
  await clock.advance(0);
  // Six events while the reader is not reading: more than its buffer of 2.
  for (let i = 0; i < 3; i++) {
    checker.pause("b");
    checker.resume("b");
  }
  const got: MaglevEvent[] = [(await first).value];
  for (;;) {
    const n = await it.next();
    got.push(n.value);
    if (n.value.kind === "frontend" && n.value.frontend === "web") break; // end of snapshot
  }
  assert.equal(got[0].kind, "resync");
  assert.match((got[0] as { reason: string }).reason, /more than 2 events behind/);
  // Everything after the resync is a snapshot at the newest sequence number.
  assert.ok(got.every((e) => e.seq === checker.lastSeq()), got.map(brief).join("\n"));
  assert.deepEqual(got.slice(1).map(brief), [
    "13 api/a up>up",
    "13 api/d up>up",
    "13 api up>up",
    "13 web/a up>up",
    "13 web/b unknown>unknown",
    "13 web/c up>up",
    "13 web up>up",
  ]);
  // Then the live stream goes on where the snapshot left off.
  checker.pause("c");
  const next = await it.next();
  assert.equal(brief(next.value), "14 web/c up>paused");
  await it.return?.();
  await clock.advance(0);
});

Deno.test("checker: log records stream at the subscriber's level", async () => {
  await using r = rig(BASE, false);
  const { clock, checker } = r;
  const info = collect(checker, { log: true, backend: false, frontend: false });
  const debug = collect(checker, { log: true, logLevel: "debug", backend: false, frontend: false });
  await clock.advance(0);
  checker.start();
  await clock.advance(0);
  await info.stop();
  await debug.stop();
  const infoMsgs = new Set(info.events.map((e) => e.kind === "log" ? e.msg : e.kind));
  const debugMsgs = new Set(debug.events.map((e) => e.kind === "log" ? e.msg : e.kind));
  assert.ok(infoMsgs.has("backend-start"));
  assert.ok(infoMsgs.has("backend-transition"));
  assert.ok(!infoMsgs.has("probe-start"));
  assert.ok(debugMsgs.has("probe-start"));
  assert.ok(debugMsgs.has("probe-done"));
  const t = info.events.find((e) => e.kind === "log" && e.msg === "backend-transition");
  assert.deepEqual(t?.kind === "log" && t.attrs, {
    backend: "a",
    from: "unknown",
    to: "up",
    code: "L7OK",
    detail: "HTTP 200",
  });
});

Deno.test("checker: reload keeps unchanged, restarts changed, stops removed, starts new", async () => {
  await using r = rig({
    healthchecks: { hc: {}, other: { intervalMs: 2000, fastIntervalMs: 2000 } },
    backends: { a: "10.0.0.1", b: "10.0.0.2", c: "10.0.0.3" },
    frontends: {
      web: { pools: [["p", { a: 100, b: 100 }], ["f", { c: 100 }]] },
      old: { pools: [["p", { c: 100 }]], address: "192.0.2.9" },
    },
  });
  const { clock, prober, checker } = r;
  await clock.advance(1000);
  checker.disable("a"); // runtime flag must survive (health check unchanged)
  checker.setWeight("web", "p", "b", 7); // runtime weight must not survive
  const aHistory = checker.getBackend("a").transitions.length;
  const bCount = prober.count("b");
  const logs: LogRecord[] = [];
  const stopLogs = addLogListener((rec) => logs.push(rec));
  const sub = collect(checker, { afterSeq: checker.lastSeq() });
  await clock.advance(0);

  checker.applyConfig(makeConfig({
    healthchecks: { hc: {}, other: { intervalMs: 2000, fastIntervalMs: 2000 } },
    backends: {
      a: "10.0.0.1",
      b: { address: "10.0.0.22", healthcheck: "hc" }, // address change only
      d: { address: "10.0.0.4", healthcheck: "other" }, // new
      c: { address: "10.0.0.3", healthcheck: "other" }, // (unreferenced now: removed)
    },
    frontends: { web: { pools: [["p", { a: 100, b: 100 }], ["f", { d: 100 }]] } },
  }));
  await clock.advance(0);
  stopLogs();

  // Unchanged: a keeps its state, history and runtime disabled flag.
  assert.equal(checker.backendState("a"), "disabled");
  assert.equal(checker.config().backends.a.enabled, false);
  assert.equal(checker.getBackend("a").transitions.length, aHistory);
  // Unchanged with a new address: no reset, probing goes on at the new address.
  assert.equal(checker.backendState("b"), "up");
  assert.equal(checker.getBackend("b").address, "10.0.0.22");
  assert.equal(prober.count("b"), bCount, "no probe reset");
  // Weights come from the YAML again.
  assert.equal(checker.config().frontends.web.pools[0].backends[1].weight, 100);
  // Removed and new.
  assert.deepEqual(checker.listBackends(), ["a", "b", "d"]);
  assert.equal(checker.backendState("c"), undefined);
  assertKind(() => checker.frontendState("old"), "NOT_FOUND", 'frontend "old" not found');
  await clock.advance(0);
  assert.equal(prober.count("d"), 1);
  assert.equal(checker.backendState("d"), "up");
  await sub.stop();

  const msgs = logs.filter((l) => l.msg.startsWith("backend-") && l.msg !== "backend-transition")
    .map((l) => `${l.msg} ${l.attrs.backend}`);
  assert.deepEqual(msgs, ["backend-stop c", "backend-start d"]);
  const evs = sub.events.map(brief);
  // The removal goes to the OLD frontends of c (old and web).
  assert.ok(evs.some((e) => e.endsWith("old/c up>removed")), evs.join("\n"));
  assert.ok(evs.some((e) => e.endsWith("web/c up>removed")));
  // Every wanted backend's latest transition goes to its new frontends.
  assert.ok(evs.some((e) => e.endsWith("web/a down>disabled") || e.endsWith("web/a up>disabled")));
  assert.ok(evs.some((e) => e.endsWith("web/d unknown>unknown")));
  assert.ok(evs.some((e) => e.endsWith("web/d unknown>up")));
  // Sequence numbers stay strictly increasing.
  for (let i = 1; i < sub.events.length; i++) assert.ok(sub.events[i].seq > sub.events[i - 1].seq);
});

Deno.test("checker: reload with a changed health check restarts the worker", async () => {
  const spec = (timeoutMs: number): ConfigSpec => ({
    healthchecks: { hc: { timeoutMs } },
    backends: { a: { address: "10.0.0.1", enabled: true } },
    frontends: { web: { pools: [["p", { a: 100 }]] } },
  });
  await using r = rig(spec(500));
  const { clock, prober, checker } = r;
  await clock.advance(1000);
  checker.pause("a");
  const logs: LogRecord[] = [];
  const stopLogs = addLogListener((rec) => logs.push(rec));
  checker.applyConfig(makeConfig(spec(400)));
  stopLogs();
  assert.ok(logs.some((l) => l.msg === "backend-restart" && l.attrs.backend === "a"));
  const snap = checker.getBackend("a");
  assert.equal(snap.state, "unknown", "new state machine, not paused any more");
  assert.deepEqual(snap.transitions.map((t) => t.code), ["start"]);
  const n = prober.count("a");
  await clock.advance(0);
  assert.equal(prober.count("a"), n + 1);
  assert.equal(checker.backendState("a"), "up");
  // Same config again: nothing restarts.
  const before = checker.getBackend("a").transitions.length;
  checker.applyConfig(makeConfig(spec(400)));
  assert.equal(checker.getBackend("a").transitions.length, before);
  // A YAML-disabled backend on restart is disabled and not probed.
  checker.applyConfig(makeConfig({
    ...spec(300),
    backends: { a: { address: "10.0.0.1", enabled: false } },
  }));
  assert.equal(checker.backendState("a"), "disabled");
  const m = prober.count("a");
  await clock.advance(5000);
  assert.equal(prober.count("a"), m);
});

Deno.test("checker: YAML-disabled backends are disabled, not probed, and desired", async () => {
  await using r = rig({
    ...BASE,
    backends: { ...BASE.backends, c: { address: "10.0.0.3", enabled: false } },
  });
  const { clock, prober, checker } = r;
  await clock.advance(3000);
  assert.equal(checker.backendState("c"), "disabled");
  assert.equal(prober.count("c"), 0);
  assert.equal(checker.getBackend("c").enabled, false);
  const d = desiredFromFrontend(checker.config().frontends.web, checker, checker.config());
  assert.deepEqual(d.ases.get("10.0.0.3"), { weight: 0, flush: true, backend: "c" });
  checker.enable("c");
  await clock.advance(0);
  assert.equal(prober.count("c"), 1);
  assert.equal(checker.backendState("c"), "up");
});

Deno.test("checker: the deadline aborts the probe; a deaf or late probe is a timeout", async () => {
  await using r = rig({
    healthchecks: { hc: { timeoutMs: 300 } },
    backends: { h: "10.0.0.1", t: "10.0.0.2", z: "10.0.0.3" },
    frontends: { web: { pools: [["p", { h: 100, t: 100, z: 100 }]] } },
  });
  const { clock, prober, checker } = r;
  prober.behaviour.set("h", "hang"); // probed at 0
  prober.behaviour.set("t", "throw"); // probed at 333
  prober.behaviour.set("z", "deaf"); // probed at 667
  const signalOf = (b: string) => prober.signals.filter((s) => s.backend === b).at(-1)!.signal;
  await clock.advance(299);
  assert.equal(checker.backendState("h"), "unknown");
  assert.equal(signalOf("h").aborted, false);
  await clock.advance(1);
  // The honouring prober is aborted at the deadline and reports its own result.
  assert.equal(signalOf("h").aborted, true);
  assert.equal(checker.backendState("h"), "down");
  assert.equal(checker.getBackend("h").probes[0].code, "L7TOUT");
  assert.equal(checker.getBackend("h").probes[0].detail, "aborted by signal");
  // A thrown prober error is a connection failure.
  await clock.advance(100);
  assert.equal(checker.backendState("t"), "down");
  assert.equal(checker.getBackend("t").probes[0].code, "L4CON");
  assert.equal(checker.getBackend("t").probes[0].detail, "prober exploded");
  // The deaf one is declared timed out after the grace period.
  await clock.advance(600 + DEADLINE_GRACE_MS); // t = 1000 + grace
  assert.equal(signalOf("z").aborted, true);
  assert.equal(checker.backendState("z"), "down");
  assert.equal(checker.getBackend("z").probes[0].code, "L7TOUT");
  assert.equal(checker.getBackend("z").probes[0].detail, "timeout after 300ms");
  // Its answer after that is ignored.
  prober.release("z", PASS);
  await clock.advance(0);
  assert.equal(checker.backendState("z"), "down");
  assert.equal(checker.getBackend("z").probes.length, 1);
  // Next z probe at ~2017 (down-interval), deadline ~2317: a pass that
  // arrives inside the grace period is late, hence a timeout.
  await clock.advance(1330 - DEADLINE_GRACE_MS); // t = 2330
  assert.equal(prober.count("z"), 2);
  assert.equal(signalOf("z").aborted, true);
  prober.release("z", PASS);
  await clock.advance(0);
  const probes = checker.getBackend("z").probes;
  assert.equal(probes.length, 2);
  assert.deepEqual([probes[0].ok, probes[0].code], [false, "L7TOUT"]);
  assert.equal(checker.backendState("z"), "down");
});

Deno.test("checker: probe observer sees every probe; static backends are not probes", async () => {
  const clock = new FakeClock();
  const prober = new FakeProber();
  const seen: string[] = [];
  const checker = new Checker(
    makeConfig({
      healthchecks: { hc: {} },
      backends: { a: "10.0.0.1", s: { address: "10.0.0.2", healthcheck: "" } },
      frontends: { web: { pools: [["p", { a: 100, s: 100 }]] } },
    }),
    {
      probe: prober.probe,
      clock,
      onProbe: (b, hc, res) => {
        seen.push(`${b}:${hc.name}:${res.code}`);
        throw new Error("observer bug must not stop the loop");
      },
    },
  );
  checker.start();
  await clock.advance(2000);
  assert.equal(seen.length, prober.count("a"));
  assert.ok(seen.length >= 2);
  assert.ok(seen.every((x) => x === "a:hc:L7OK"), seen.join());
  assert.equal(checker.backendState("s"), "up");
  await checker.stop();
  assert.equal(clock.pending, 0);
});

Deno.test("checker: stop aborts probes in flight and ends subscriptions", async () => {
  const r = rig();
  const { clock, prober, checker } = r;
  prober.fallback = "hang";
  const sub = collect(checker);
  await clock.advance(100);
  const inflight = prober.signals.filter((s) => !s.signal.aborted);
  assert.ok(inflight.length > 0);
  await checker.stop();
  assert.ok(inflight.every((s) => s.signal.aborted));
  assert.equal(clock.pending, 0);
  await sub.stop();
  assert.ok(sub.events.length > 0);
  // A stopped checker does not start again.
  checker.start();
  assert.equal(clock.pending, 0);
});

Deno.test("checker: a driven probe costs no timer of the checker's; results come from the driver", async () => {
  const clock = new FakeClock();
  const driver = new FakeDriver();
  const checker = new Checker(
    makeConfig({
      healthchecks: { hc: {} },
      backends: { a: "10.0.0.1" },
      frontends: { web: { pools: [["p", { a: 100 }]] } },
    }),
    { driver, clock, random: () => 0.5 },
  );
  checker.start();
  await clock.advance(0);
  assert.equal(driver.open("a").length, 1);
  // In flight: the driver keeps the deadline; the checker holds no timer at all.
  assert.equal(clock.pending, 0);
  await clock.advance(60_000);
  assert.equal(driver.open("a").length, 1, "no second probe while one is in flight");
  assert.equal(driver.answer("a", PASS), 1);
  assert.equal(clock.pending, 1, "the next probe is scheduled");
  await clock.advance(1000);
  driver.answer("a", PASS);
  assert.equal(checker.backendState("a"), "up");
  await clock.advance(1000);
  assert.equal(driver.open("a").length, 1);
  await checker.stop();
  assert.equal(driver.open("a").length, 0, "stop cancels the probe in flight");
  assert.equal(clock.pending, 0);
});

Deno.test("checker: a local error (EMFILE) keeps the state, is counted and logged once a second", async () => {
  const clock = new FakeClock();
  const driver = new FakeDriver();
  const local: string[] = [];
  const probes: string[] = [];
  const logs: LogRecord[] = [];
  const stopLogs = addLogListener((r) => {
    if (r.msg === "probe-local-error") logs.push(r);
  });
  const checker = new Checker(
    makeConfig({
      healthchecks: { hc: { rise: 1, fall: 1 } },
      backends: { a: "10.0.0.1" },
      frontends: { web: { pools: [["p", { a: 100 }]] } },
    }),
    {
      driver,
      clock,
      random: () => 0.5,
      onLocalError: (b, _hc, r) => local.push(`${b}:${r.detail}`),
      onProbe: (b, _hc, r) => probes.push(`${b}:${r.code}`),
    },
  );
  const emfile = {
    ...FAIL,
    code: "L4CON" as const,
    layer: "L4" as const,
    detail: "socket: too many open files",
    local: true,
  };
  try {
    checker.start();
    await clock.advance(0);
    driver.answer("a", PASS);
    assert.equal(checker.backendState("a"), "up");
    for (let i = 0; i < 5; i++) {
      await clock.advance(1000);
      assert.equal(driver.answer("a", emfile), 1, "probing goes on");
    }
    assert.equal(checker.backendState("a"), "up");
    assert.equal(checker.getBackend("a").probes.length, 1, "local errors are not probe results");
    assert.deepEqual(probes, ["a:L7OK"]);
    assert.equal(local.length, 5);
    assert.equal(local[0], "a:socket: too many open files");
    // Five errors a second apart: each one is logged.
    assert.equal(logs.length, 5);
    assert.equal(logs[0].level, "error");
    await clock.advance(1000);
    driver.answer("a", emfile);
    await clock.advance(10);
    await clock.advance(990);
    driver.answer("a", FAIL);
    assert.equal(checker.backendState("a"), "down", "a real failure still counts");
  } finally {
    stopLogs();
    await checker.stop();
  }
});

Deno.test("checker: __proto__, constructor and toString are ordinary names", async () => {
  const names = ["__proto__", "constructor", "toString"];
  const backends: Record<string, string> = Object.create(null);
  names.forEach((n, i) => (backends[n] = `10.0.0.${i + 1}`));
  const pool: Record<string, number> = Object.create(null);
  for (const n of names) pool[n] = 100;
  const frontends: ConfigSpec["frontends"] = Object.create(null);
  frontends["constructor"] = { pools: [["hasOwnProperty", pool]] };
  await using r = rig({ healthchecks: { hc: {} }, backends, frontends });
  const { clock, checker } = r;
  await clock.advance(2000);
  assert.deepEqual(checker.listBackends(), [...names].sort());
  for (const n of names) assert.equal(checker.getBackend(n).state, "up", n);
  checker.setWeight("constructor", "hasOwnProperty", "__proto__", 7);
  const fe = lookupFrontend(checker.config(), "constructor");
  assert.equal(fe.pools[0].backends.find((b) => b.name === "__proto__")?.weight, 7);
  assert.equal(Object.getPrototypeOf(checker.config().frontends), null);
  checker.disable("toString");
  assert.equal(lookupBackend(checker.config(), "toString").enabled, false);
  // Names that exist nowhere are NOT_FOUND, not prototype members.
  assertKind(
    () => checker.getBackend("hasOwnProperty"),
    "NOT_FOUND",
    'backend "hasOwnProperty" not found',
  );
  assertKind(() => checker.frontendState("toString"), "NOT_FOUND", 'frontend "toString" not found');
  assertKind(
    () => lookupHealthCheck(checker.config(), "toString"),
    "NOT_FOUND",
    'healthcheck "toString" not found',
  );
  assertKind(
    () => checker.setWeight("constructor", "hasOwnProperty", "valueOf", 1),
    "NOT_FOUND",
    'backend "valueOf" not found',
  );
});

Deno.test("checker: transitions it re-tells (snapshots, a reload's replay) are marked replay", async () => {
  const spec: ConfigSpec = {
    backends: { s: { address: "10.0.0.9", healthcheck: "" } },
    frontends: { web: { pools: [["p", { s: 100 }]] } },
  };
  await using r = rig(spec);
  const { clock, checker } = r;
  const live = collect(checker, { afterSeq: checker.lastSeq(), frontend: false });
  await clock.advance(0);
  // The reload moves s into a second frontend: its latest transition is told again.
  checker.applyConfig(makeConfig({
    ...spec,
    frontends: { ...spec.frontends, dns: { address: "192.0.2.53", pools: [["p", { s: 100 }]] } },
  }));
  await clock.advance(0);
  const snapshot = collect(checker, { frontend: false });
  await clock.advance(0);
  await live.stop();
  await snapshot.stop();
  const marks = (evs: MaglevEvent[]) =>
    evs.filter((e) => e.kind === "backend").map((e) =>
      e.kind === "backend" ? `${e.frontend} ${e.transition.to} ${e.replay === true}` : ""
    );
  assert.deepEqual(marks(live.events), ["web up false", "dns up true", "web up true"]);
  assert.deepEqual(marks(snapshot.events), ["dns up true", "web up true"]);
});

Deno.test("checker: stop waits for probes to honour their abort, but not for ever for one that does not", async () => {
  const clock = new FakeClock();
  const prober = new FakeProber();
  const checker = new Checker(
    makeConfig({
      healthchecks: { hc: { intervalMs: 1000, timeoutMs: 30_000 } },
      backends: { h: "10.0.0.1", z: "10.0.0.2", q: "10.0.0.3" },
      frontends: { web: { pools: [["p", { h: 100, z: 100, q: 100 }]] } },
    }),
    { probe: prober.probe, clock, random: () => 0.5 },
  );
  const logs: LogRecord[] = [];
  const stopLogs = addLogListener((rec) => logs.push(rec), { level: "warn" });
  try {
    prober.behaviour.set("h", "hang");
    prober.behaviour.set("z", "deaf");
    checker.start();
    await clock.advance(1000); // every backend probed once; h and z still in flight
    assert.equal(prober.count("z"), 1);
    let stopped = false;
    const stopping = checker.stop().then(() => stopped = true);
    await clock.advance(STOP_DRAIN_MS - 1);
    assert.equal(stopped, false, "a deaf probe holds the stop until the bound");
    assert.deepEqual(logs.filter((l) => l.msg === "probe-stuck"), []);
    await clock.advance(1);
    await stopping;
    const stuck = logs.filter((l) => l.msg === "probe-stuck");
    assert.equal(stuck.length, 1);
    assert.deepEqual(stuck[0].attrs, { probes: 1, backends: "z", waited: "2s" });
    assert.equal(clock.pending, 0, "stop() leaves no timer behind");
    // Its late answer goes nowhere.
    prober.release("z", PASS);
    await clock.advance(0);
    assert.equal(checker.getBackend("z").probes.length, 0);
  } finally {
    stopLogs();
  }
});

Deno.test("checker: a stop with every probe honouring its abort ends at once and warns of nothing", async () => {
  await using r = rig({
    healthchecks: { hc: { timeoutMs: 30_000 } },
    backends: { h: "10.0.0.1" },
    frontends: { web: { pools: [["p", { h: 100 }]] } },
  });
  const logs: LogRecord[] = [];
  const stopLogs = addLogListener((rec) => logs.push(rec), { level: "warn" });
  r.prober.behaviour.set("h", "hang");
  await r.clock.advance(0);
  assert.equal(r.prober.count("h"), 1);
  await r.checker.stop(); // no clock advance: the hanging probe settles on its abort
  stopLogs();
  assert.deepEqual(logs.filter((l) => l.msg === "probe-stuck"), []);
});
