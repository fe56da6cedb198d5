/**
 * The disruption preview against the weights VPP serves: with no adoption it
 * is health's states; while backends are adopted (issue 16) "before" is VPP's
 * held weights and "after" what the engine would write for the change.
 */
import { strict as assert } from "node:assert";
import type { PreviewChangeResponse } from "../../proto/maglev_pb.ts";
import type { State } from "../health/types.ts";
import { makeConfig } from "../checker/checker_test_util.ts";
import { asProgrammed } from "../reconciler/plan.ts";
import { vipFingerprint } from "../weights/fingerprint.ts";
import { desiredFromFrontend, placedWeight, withAdopted } from "../weights/mod.ts";
import { type PreviewChange, previewChange } from "./preview.ts";

const CONFIG = makeConfig({
  backends: { a: "10.0.0.1", b: "10.0.0.2", c: "10.0.0.3" },
  frontends: { web: { pools: [["primary", { a: 100, b: 100 }], ["fallback", { c: 100 }]] } },
});
const WEB = CONFIG.frontends.web;

/** Health's `states`, with what VPP held for `adopted` backends at WEB's pool weights. */
function served(states: Record<string, State>, adopted: Record<string, number>) {
  const held = Object.entries(adopted).map(([name, weight]) =>
    [name, { weight, cfgWeight: placedWeight(WEB, name) ?? 0 }] as const
  );
  return withAdopted({ backendState: (n) => states[n] }, new Map(held));
}

function weights(shares: PreviewChangeResponse["before"]): Record<string, number> {
  return Object.fromEntries(shares.map((s) => [s.backend, s.effective_weight]));
}

/** Effective weights of a, b and c. */
function abc(a: number, b: number, c: number): Record<string, number> {
  return { a, b, c };
}

const UP: Record<string, State> = { a: "up", b: "up", c: "up" };
const A_WAITS: Record<string, State> = { a: "unknown", b: "up", c: "up" };
const OFF_A: PreviewChange = { backend: "a", change: "disable" };

/** [why, states, adopted (backend -> the weight VPP held), change, before, after] */
type Case = [
  string,
  Record<string, State>,
  Record<string, number>,
  PreviewChange,
  Record<string, number>,
  Record<string, number>,
];

// a and b in primary (100 each), c in fallback (100).
const CASES: Case[] = [
  ["nothing adopted: health's states", UP, {}, OFF_A, abc(100, 100, 0), abc(0, 100, 0)],
  [
    "an adopted backend the change disables goes to 0",
    A_WAITS,
    { a: 70 },
    OFF_A,
    abc(70, 100, 0),
    abc(0, 100, 0),
  ],
  [
    "an adopted backend the change does not touch stays adopted",
    A_WAITS,
    { a: 70 },
    { backend: "b", change: "disable" },
    abc(70, 100, 0),
    abc(70, 0, 0),
  ],
  [
    "a weight change beside an adopted backend",
    A_WAITS,
    { a: 70 },
    { backend: "b", change: { weight: 30 } },
    abc(70, 100, 0),
    abc(70, 30, 0),
  ],
  // The operator decides at once where VPP serves the backend (issue 16).
  [
    "a weight change on an adopted backend VPP serves",
    A_WAITS,
    { a: 70 },
    { backend: "a", change: { weight: 20 } },
    abc(70, 100, 0),
    abc(20, 100, 0),
  ],
  [
    "a weight change on an adopted standby backend moves nothing",
    { a: "unknown", b: "up", c: "unknown" },
    { a: 70, c: 0 },
    { backend: "c", change: { weight: 20 } },
    abc(70, 100, 0),
    abc(70, 100, 0),
  ],
  [
    "disabling the adopted backend that kept the pool active fails over",
    { a: "unknown", b: "unknown", c: "up" },
    { a: 70, b: 0 },
    OFF_A,
    abc(70, 0, 0),
    abc(0, 0, 100),
  ],
];

Deno.test("preview: before is what VPP serves, after what the engine would write", () => {
  for (const [why, health, adopted, change, before, after] of CASES) {
    const states = served(health, adopted);
    const p = previewChange(WEB, change, { config: CONFIG, states });
    assert.deepEqual(weights(p.before), before, `before: ${why}`);
    assert.deepEqual(weights(p.after), after, `after: ${why}`);
    // The fingerprint GetFrontend computes from the same served states.
    const shown = vipFingerprint(
      asProgrammed(desiredFromFrontend(WEB, states, CONFIG), undefined),
    );
    assert.equal(p.fingerprint_before, shown, `fingerprint: ${why}`);
    const same = JSON.stringify(before) === JSON.stringify(after);
    assert.equal(p.buckets_moved === 0, same, `buckets moved: ${why}`);
    assert.equal(p.fingerprint_after === p.fingerprint_before, same, `fingerprint: ${why}`);
  }
});

Deno.test("preview: an adopted weight is not health's view (the fingerprint shows it)", () => {
  const change: PreviewChange = { backend: "b", change: { weight: 30 } };
  const adopted = previewChange(WEB, change, {
    config: CONFIG,
    states: served(A_WAITS, { a: 70 }),
  });
  const health = previewChange(WEB, change, { config: CONFIG, states: served(A_WAITS, {}) });
  assert.equal(weights(health.before).a, 0, "health alone: a has no result, weight 0");
  assert.notEqual(adopted.fingerprint_before, health.fingerprint_before);
});
