import { strict as assert } from "node:assert";
import { HealthMachine, PROBE_RING_SIZE } from "./mod.ts";
import type { ProbeResult, State } from "./types.ts";

const PASS: ProbeResult = { ok: true, layer: "L7", code: "L7OK", detail: "200", durationMs: 3 };
const FAIL: ProbeResult = {
  ok: false,
  layer: "L4",
  code: "L4CON",
  detail: "refused",
  durationMs: 1,
};

function machine(rise = 2, fall = 3, historyLimit = 100): HealthMachine {
  const m = new HealthMachine({ rise, fall, historyLimit });
  m.start(0);
  return m;
}

/** Feeds a string of `+` (pass) and `-` (fail); returns the states after each. */
function feed(m: HealthMachine, probes: string): State[] {
  const out: State[] = [];
  for (const c of probes) {
    m.record(c === "+" ? PASS : FAIL, 1);
    out.push(m.state);
  }
  return out;
}

Deno.test("health: starts unknown with counter rise-1 and a start transition", () => {
  const m = new HealthMachine({ rise: 3, fall: 2, historyLimit: 5 });
  assert.equal(m.state, "unknown");
  assert.equal(m.transitions().length, 0);
  const t = m.start(42);
  assert.deepEqual(t, { from: "unknown", to: "unknown", atMs: 42, code: "start", detail: "" });
  assert.equal(m.counter, 2);
  assert.equal(m.max, 4);
});

Deno.test("health: bad construction parameters are rejected with the culprit named", () => {
  assert.throws(() => new HealthMachine({ rise: 0, fall: 1, historyLimit: 1 }), /rise/);
  assert.throws(() => new HealthMachine({ rise: 1, fall: 1.5, historyLimit: 1 }), /fall/);
  assert.throws(
    () => new HealthMachine({ rise: 1, fall: 1, historyLimit: 0 }),
    /transition-history/,
  );
});

Deno.test("health: unknown fast path: one pass goes up", () => {
  const m = machine(2, 3);
  assert.equal(m.record(PASS, 10), true);
  assert.equal(m.state, "up");
  assert.equal(m.counter, m.max);
  assert.deepEqual(m.lastTransition(), {
    from: "unknown",
    to: "up",
    atMs: 10,
    code: "L7OK",
    detail: "200",
  });
});

Deno.test("health: unknown fast path: any failure goes straight down", () => {
  for (const [rise, fall] of [[1, 1], [2, 3], [5, 5], [10, 1]]) {
    const m = machine(rise, fall);
    assert.equal(m.record(FAIL, 5), true, `rise=${rise} fall=${fall}`);
    assert.equal(m.state, "down");
    assert.equal(m.counter, 0);
    assert.equal(m.lastTransition()?.code, "L4CON");
  }
});

Deno.test("health: unknown with rise>1 still needs only one pass", () => {
  const m = machine(5, 2);
  assert.equal(m.counter, 4);
  assert.deepEqual(feed(m, "+"), ["up"]);
  assert.equal(m.counter, 6);
});

Deno.test("health: hysteresis: a fresh up needs exactly fall failures to go down", () => {
  for (const [rise, fall] of [[1, 1], [2, 3], [3, 2], [1, 5], [4, 4]]) {
    const m = machine(rise, fall);
    feed(m, "+".repeat(rise));
    assert.equal(m.state, "up");
    const states = feed(m, "-".repeat(fall));
    assert.deepEqual(
      states,
      [...Array(fall - 1).fill("up"), "down"],
      `rise=${rise} fall=${fall}`,
    );
    assert.equal(m.counter, 0);
  }
});

Deno.test("health: hysteresis: fully down needs exactly rise passes to come up", () => {
  for (const [rise, fall] of [[1, 1], [2, 3], [3, 2], [5, 1]]) {
    const m = machine(rise, fall);
    feed(m, "-");
    assert.equal(m.state, "down");
    const states = feed(m, "+".repeat(rise));
    assert.deepEqual(states, [...Array(rise - 1).fill("down"), "up"], `rise=${rise}`);
    assert.equal(m.counter, m.max);
  }
});

Deno.test("health: flapping inside the band does not change state", () => {
  const m = machine(2, 3); // max 4
  feed(m, "+"); // up, counter 4
  assert.deepEqual(feed(m, "-+-+-+"), Array(6).fill("up"));
  assert.deepEqual(feed(m, "---"), ["up", "up", "down"]); // 3, 2, then below rise
  assert.deepEqual(feed(m, "+-+-"), Array(4).fill("down"));
  assert.equal(m.counter, 0);
});

Deno.test("health: counter stays within [0, max]", () => {
  const m = machine(2, 2);
  feed(m, "++++++++");
  assert.equal(m.counter, 3);
  feed(m, "--------");
  assert.equal(m.counter, 0);
});

Deno.test("health: record returns false without a state change", () => {
  const m = machine(2, 3);
  m.record(PASS, 1);
  const n = m.transitions().length;
  assert.equal(m.record(PASS, 2), false);
  assert.equal(m.record(FAIL, 3), false);
  assert.equal(m.transitions().length, n);
});

Deno.test("health: static backends (rise = fall = 1)", () => {
  const m = machine(1, 1);
  assert.equal(m.counter, 0);
  assert.deepEqual(feed(m, "+-+"), ["up", "down", "up"]);
});

Deno.test("health: inactive states reject record", () => {
  for (const enter of ["pause", "disable", "remove"] as const) {
    const m = machine();
    m.record(PASS, 1);
    m[enter](2);
    const before = { s: m.state, c: m.counter, t: m.transitions().length, p: m.probes().length };
    assert.equal(m.record(FAIL, 3), false);
    assert.equal(m.record(PASS, 4), false);
    assert.deepEqual(
      { s: m.state, c: m.counter, t: m.transitions().length, p: m.probes().length },
      before,
      enter,
    );
  }
});

Deno.test("health: every operator transition and its code", () => {
  const m = machine(2, 3);
  m.record(PASS, 1);
  const cases: [() => unknown, State, State, string][] = [
    [() => m.pause(10), "up", "paused", "paused"],
    [() => m.resume(11), "paused", "unknown", "resumed"],
    [() => m.disable(12), "unknown", "disabled", "disabled"],
    [() => m.enable(13), "disabled", "unknown", "enabled"],
    [() => m.pause(14), "unknown", "paused", "paused"],
    [() => m.disable(15), "paused", "disabled", "disabled"],
    [() => m.enable(16), "disabled", "unknown", "enabled"],
    [() => m.start(17), "unknown", "unknown", "start"],
    [() => m.remove(18), "unknown", "removed", "removed"],
  ];
  for (const [act, from, to, code] of cases) {
    const t = act();
    assert.deepEqual(
      t && { ...(t as object) },
      { from, to, code, detail: "", atMs: (t as { atMs: number }).atMs },
      `${from} -> ${to}`,
    );
    assert.equal(m.state, to);
  }
});

Deno.test("health: probe-driven transitions up<->down and down/up from paused entries", () => {
  const m = machine(1, 1);
  m.record(FAIL, 1); // unknown -> down
  m.record(PASS, 2); // down -> up
  m.record(FAIL, 3); // up -> down
  m.disable(4); // down -> disabled
  m.enable(5); // disabled -> unknown
  m.record(PASS, 6); // unknown -> up
  m.pause(7); // up -> paused
  m.remove(8); // paused -> removed
  assert.deepEqual(
    m.transitions().map((t) => `${t.from}>${t.to}:${t.code}@${t.atMs}`),
    [
      "paused>removed:removed@8",
      "up>paused:paused@7",
      "unknown>up:L7OK@6",
      "disabled>unknown:enabled@5",
      "down>disabled:disabled@4",
      "up>down:L4CON@3",
      "down>up:L7OK@2",
      "unknown>down:L4CON@1",
      "unknown>unknown:start@0",
    ],
  );
});

Deno.test("health: operator actions that do not apply change nothing", () => {
  const m = machine();
  m.record(PASS, 1);
  assert.equal(m.resume(2), undefined); // not paused
  assert.equal(m.enable(3), undefined); // not disabled
  m.pause(4);
  assert.equal(m.pause(5), undefined); // already paused
  m.disable(6);
  assert.equal(m.disable(7), undefined);
  assert.equal(m.pause(8), undefined); // disabled cannot be paused
  assert.equal(m.resume(9), undefined); // disabled cannot be resumed
  m.remove(10);
  assert.equal(m.remove(11), undefined);
  assert.equal(m.start(12), undefined);
  assert.equal(m.enable(13), undefined);
  assert.equal(m.state, "removed");
});

Deno.test("health: entering unknown presets the counter to rise-1", () => {
  const m = machine(3, 2);
  feed(m, "+++");
  assert.equal(m.counter, 4);
  m.pause(1);
  m.resume(2);
  assert.equal(m.counter, 2);
  m.disable(3);
  m.enable(4);
  assert.equal(m.counter, 2);
  assert.deepEqual(feed(m, "+"), ["up"]);
});

Deno.test("health: history is bounded, newest first, and survives pause/resume", () => {
  const m = new HealthMachine({ rise: 1, fall: 1, historyLimit: 3 });
  m.start(0);
  for (let i = 1; i <= 10; i++) m.record(i % 2 ? PASS : FAIL, i);
  m.pause(11);
  m.resume(12);
  const ts = m.transitions();
  assert.equal(ts.length, 3);
  assert.deepEqual(ts.map((t) => t.atMs), [12, 11, 10]);
  m.setHistoryLimit(1);
  assert.deepEqual(m.transitions().map((t) => t.code), ["resumed"]);
  assert.throws(() => m.setHistoryLimit(0), /transition-history/);
});

Deno.test("health: probe ring keeps the last 20 results, newest first", () => {
  const m = machine(1, 1);
  for (let i = 0; i < 25; i++) {
    m.record({ ...PASS, detail: `p${i}`, durationMs: i }, 1000 + i);
  }
  const ps = m.probes();
  assert.equal(ps.length, PROBE_RING_SIZE);
  assert.equal(ps[0].detail, "p24");
  assert.equal(ps[19].detail, "p5");
  assert.deepEqual(ps[0], { atMs: 1024, ok: true, code: "L7OK", detail: "p24", durationMs: 24 });
  const few = machine(1, 1);
  few.record(FAIL, 1);
  assert.deepEqual(few.probes().map((p) => p.code), ["L4CON"]);
});

Deno.test("health: nextInterval picks interval, down-interval or fast-interval", () => {
  const iv = { intervalMs: 2000, fastIntervalMs: 500, downIntervalMs: 10_000 };
  const mid = () => 0.5; // no jitter
  const m = machine(2, 3);
  assert.equal(m.nextInterval(iv, mid), 500, "unknown");
  m.record(PASS, 1);
  assert.equal(m.nextInterval(iv, mid), 2000, "up, counter max");
  m.record(FAIL, 2);
  assert.equal(m.state, "up");
  assert.equal(m.nextInterval(iv, mid), 500, "up, falling");
  m.record(FAIL, 3);
  m.record(FAIL, 4);
  assert.equal(m.state, "down");
  assert.equal(m.nextInterval(iv, mid), 10_000, "down, counter 0");
  m.record(PASS, 5);
  assert.equal(m.state, "down");
  assert.equal(m.nextInterval(iv, mid), 500, "down, rising");
  m.pause(6);
  assert.equal(m.nextInterval(iv, mid), 500, "paused");
});

Deno.test("health: nextInterval jitter is +-10% of the chosen interval", () => {
  const iv = { intervalMs: 1000, fastIntervalMs: 1000, downIntervalMs: 1000 };
  const m = machine();
  assert.equal(m.nextInterval(iv, () => 0), 900);
  assert.equal(m.nextInterval(iv, () => 0.999999), 1100);
  assert.equal(m.nextInterval(iv, () => 0.25), 950);
  for (let i = 0; i < 200; i++) {
    const v = m.nextInterval(iv);
    assert.ok(v >= 900 && v <= 1100, `${v}`);
  }
});

Deno.test("health: probe ring keeps every field exact through many distinct details", () => {
  const m = machine(1, 2);
  const fed: { atMs: number; ok: boolean; code: string; detail: string; durationMs: number }[] = [];
  // 500 results with 137 distinct details, passes and failures mixed: the ring's detail
  // list is compacted many times and must still return each slot's own detail.
  for (let i = 0; i < 500; i++) {
    const base = i % 3 === 0 ? FAIL : PASS;
    const r = { ...base, detail: `d${(i * 7) % 137}`, durationMs: i / 1000 + 0.123 };
    m.record(r, 1_700_000_000_000 + i * 1.5);
    fed.push({
      atMs: 1_700_000_000_000 + i * 1.5,
      ok: r.ok,
      code: r.code,
      detail: r.detail,
      durationMs: r.durationMs,
    });
  }
  assert.deepEqual(m.probes(), fed.slice(-PROBE_RING_SIZE).reverse());
});
