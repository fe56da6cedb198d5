import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import type { Backend, HealthCheck } from "../config/types.ts";
import { HealthMachine, probeResult } from "../health/mod.ts";
import type { ProbeResult, ProbeSink } from "../health/types.ts";
import { addLogListener, configureLog, type LogRecord } from "../log/mod.ts";
import { healthCheck } from "./checker_test_util.ts";
import { DEADLINE_GRACE_MS, type Entry, type ProbeLoopOptions, ProbeLoops } from "./runner.ts";
import type { ProbeDriver, ProbeFn } from "./types.ts";

configureLog({ level: "error", format: "json", write: () => {} });

const BACKEND: Backend = {
  name: "a",
  address: "10.0.0.1",
  family: 4,
  healthcheck: "hc",
  enabled: true,
  description: "",
};
const PASS = probeResult("L4OK", "", 1);

/** One probe in flight: its signal, and how to answer it. */
interface Call {
  readonly signal: AbortSignal;
  resolve(r: ProbeResult): void;
  reject(e: unknown): void;
}

/** Loops over one backend `a` with check `hc`; results the machine got are in `recorded`. */
function rig(hc: HealthCheck, over: Partial<ProbeLoopOptions> = {}) {
  const clock = new FakeClock();
  const calls: Call[] = [];
  const recorded: ProbeResult[] = [];
  const probe: ProbeFn = (_hc, _b, signal) =>
    new Promise((resolve, reject) => calls.push({ signal, resolve, reject }));
  const loops = new ProbeLoops({
    clock,
    probe,
    driver: undefined,
    scheduleSlackMs: 0,
    random: () => 0.5,
    onProbe: undefined,
    onLocalError: undefined,
    debugWanted: () => false,
    record: (_e, r) => recorded.push(r),
    ...over,
  });
  const entry = loops.entry({
    name: "a",
    backend: BACKEND,
    hc,
    machine: new HealthMachine({ rise: hc.rise, fall: hc.fall, historyLimit: 5 }),
    frontends: ["web"],
  });
  return { clock, calls, recorded, loops, entry };
}

Deno.test("runner: loops need a probe or a driver", () => {
  assert.throws(
    () => rig(healthCheck("hc"), { probe: undefined }),
    new TypeError("Checker needs a probe or a driver"),
  );
});

Deno.test("runner: the timeout code is the layer of the check's type", async () => {
  const cases: [HealthCheck["type"], string][] = [
    ["icmp", "L3TOUT"],
    ["tcp", "L4TOUT"],
    ["http", "L7TOUT"],
    ["https", "L7TOUT"],
  ];
  for (const [type, code] of cases) {
    const r = rig(healthCheck("hc", { type, timeoutMs: 200 }));
    r.loops.start(r.entry, 0);
    await r.clock.advance(200 + DEADLINE_GRACE_MS);
    assert.deepEqual(
      r.recorded.map((x) => [x.code, x.detail, x.durationMs]),
      [[code, "timeout after 200ms", 200 + DEADLINE_GRACE_MS]],
      type,
    );
    assert.equal(r.calls[0].signal.reason.name, "TimeoutError");
    r.loops.stop(r.entry);
  }
});

Deno.test("runner: a probe that throws at once is a connection failure of its layer", async () => {
  for (const [type, code] of [["icmp", "L3CON"], ["tcp", "L4CON"]] as const) {
    const r = rig(healthCheck("hc", { type }), {
      probe: () => {
        throw new Error("no route");
      },
    });
    r.loops.start(r.entry, 0);
    await r.clock.advance(0);
    assert.deepEqual(r.recorded.map((x) => [x.code, x.detail]), [[code, "no route"]]);
    r.loops.stop(r.entry);
  }
});

Deno.test("runner: after the deadline a failure keeps its own code, a pass is a timeout", async () => {
  const r = rig(healthCheck("hc", { type: "tcp", timeoutMs: 100, intervalMs: 1000 }));
  r.loops.start(r.entry, 0);
  await r.clock.advance(100);
  assert.equal(r.calls[0].signal.aborted, true);
  r.calls[0].resolve(probeResult("L4CON", "connection refused", 100));
  await r.clock.advance(0);
  await r.clock.advance(1000);
  assert.equal(r.calls.length, 2);
  await r.clock.advance(100 + DEADLINE_GRACE_MS - 1);
  r.calls[1].resolve(PASS);
  await r.clock.advance(0);
  assert.deepEqual(r.recorded.map((x) => x.code), ["L4CON", "L4TOUT"]);
  r.loops.stop(r.entry);
});

Deno.test("runner: a throwing record hook is logged and the loop goes on", async () => {
  const logs: LogRecord[] = [];
  const stopLogs = addLogListener((rec) => logs.push(rec), { level: "error" });
  try {
    const r = rig(healthCheck("hc", { intervalMs: 1000 }), {
      record: () => {
        throw new Error("hook broke");
      },
    });
    r.loops.start(r.entry, 0);
    await r.clock.advance(0);
    r.calls[0].resolve(PASS);
    await r.clock.advance(1000);
    assert.equal(r.calls.length, 2, "the next probe started");
    assert.deepEqual(logs.map((l) => [l.msg, l.attrs.backend, l.attrs.err]), [
      ["checker-internal-error", "a", "Error: hook broke"],
    ]);
    r.loops.stop(r.entry);
  } finally {
    stopLogs();
  }
});

Deno.test("runner: stop aborts the probe in flight, drops its answer, and drain awaits it", async () => {
  const r = rig(healthCheck("hc"));
  r.loops.start(r.entry, 0);
  r.loops.start(r.entry, 0); // already running: no second loop
  await r.clock.advance(0);
  assert.equal(r.calls.length, 1);
  r.loops.stop(r.entry);
  const signal = r.calls[0].signal;
  assert.deepEqual([signal.aborted, signal.reason.name, signal.reason.message], [
    true,
    "AbortError",
    "probe cancelled",
  ]);
  assert.equal(r.clock.pending, 0, "the deadline timer is gone");
  let drained = false;
  const drain = r.loops.drain().then(() => drained = true);
  await r.clock.advance(0);
  assert.equal(drained, false, "the cancelled probe has not settled yet");
  r.calls[0].reject(signal.reason);
  await drain;
  assert.deepEqual(r.recorded, []);
});

Deno.test("runner: a driver may answer from inside start; the loop schedules the next probe", async () => {
  const started: number[] = [];
  const cancelled: number[] = [];
  let answerAtOnce = true;
  const driver: ProbeDriver = {
    start(_hc, _b, sink: ProbeSink) {
      started.push(started.length + 1);
      if (answerAtOnce) sink.probeDone(PASS);
      return started.length;
    },
    cancel: (ticket) => void cancelled.push(ticket),
  };
  const r = rig(healthCheck("hc", { intervalMs: 1000 }), { probe: undefined, driver });
  r.loops.start(r.entry, 0);
  await r.clock.advance(0);
  assert.deepEqual([started, r.recorded.length, r.entry.ticket], [[1], 1, undefined]);
  answerAtOnce = false;
  await r.clock.advance(1000);
  assert.deepEqual([started, r.entry.ticket], [[1, 2], 2]);
  // An answer for an entry with nothing in flight (after stop) is ignored.
  r.loops.stop(r.entry);
  assert.deepEqual(cancelled, [2]);
  (r.entry as Entry).probeDone(PASS);
  assert.equal(r.recorded.length, 1);
});
