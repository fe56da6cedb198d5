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
import { desiredFromFrontend, withAdopted } from "../weights/mod.ts";
import { type PreviewChange, previewChange } from "./preview.ts";

const CONFIG = makeConfig({
  backends: { a: "10.0.0.1", b: "10.0.0.2", c: "10.0.0.3" },
  frontends: { web: { pools: [["primary", { a: 100, b: 100 }], ["fallback", { c: 100 }]] } },
});
const WEB = CONFIG.frontends.web;

function served(states: Record<string, State>, adopted: Record<string, number>) {
  return withAdopted({ backendState: (n) => states[n] }, new Map(Object.entries(adopted)));
}

function weights(shares: PreviewChangeResponse["before"]): Record<string, number> {
  return Object.fromEntries(shares.map((s) => [s.backend, s.effective_weight]));
}

interface Case {
  readonly why: string;
  readonly states: Record<string, State>;
  /** Backend -> the weight VPP held when it was adopted. */
  readonly adopted: Record<string, number>;
  readonly change: PreviewChange;
  readonly before: Record<string, number>;
  readonly after: Record<string, number>;
}

const UP: Record<string, State> = { a: "up", b: "up", c: "up" };
const A_WAITS: Record<string, State> = { a: "unknown", b: "up", c: "up" };

const CASES: Case[] = [
  {
    why: "nothing adopted: health's states",
    states: UP,
    adopted: {},
    change: { backend: "a", change: "disable" },
    before: { a: 100, b: 100, c: 0 },
    after: { a: 0, b: 100, c: 0 },
  },
  {
    why: "an adopted backend the change disables goes to 0",
    states: A_WAITS,
    adopted: { a: 70 },
    change: { backend: "a", change: "disable" },
    before: { a: 70, b: 100, c: 0 },
    after: { a: 0, b: 100, c: 0 },
  },
  {
    why: "an adopted backend the change does not touch stays adopted",
    states: A_WAITS,
    adopted: { a: 70 },
    change: { backend: "b", change: "disable" },
    before: { a: 70, b: 100, c: 0 },
    after: { a: 70, b: 0, c: 0 },
  },
  {
    why: "a weight change beside an adopted backend",
    states: A_WAITS,
    adopted: { a: 70 },
    change: { backend: "b", change: { weight: 30 } },
    before: { a: 70, b: 100, c: 0 },
    after: { a: 70, b: 30, c: 0 },
  },
  {
    why: "a weight change on an adopted backend: VPP's weight holds until its first result",
    states: A_WAITS,
    adopted: { a: 70 },
    change: { backend: "a", change: { weight: 20 } },
    before: { a: 70, b: 100, c: 0 },
    after: { a: 70, b: 100, c: 0 },
  },
  {
    why: "disabling the adopted backend that kept the pool active fails over",
    states: { a: "unknown", b: "unknown", c: "up" },
    adopted: { a: 70, b: 0 },
    change: { backend: "a", change: "disable" },
    before: { a: 70, b: 0, c: 0 },
    after: { a: 0, b: 0, c: 100 },
  },
];

Deno.test("preview: before is what VPP serves, after what the engine would write", () => {
  for (const c of CASES) {
    const states = served(c.states, c.adopted);
    const p = previewChange(WEB, c.change, { config: CONFIG, states });
    assert.deepEqual(weights(p.before), c.before, `before: ${c.why}`);
    assert.deepEqual(weights(p.after), c.after, `after: ${c.why}`);
    // The fingerprint GetFrontend computes from the same served states.
    const shown = vipFingerprint(
      asProgrammed(desiredFromFrontend(WEB, states, CONFIG.backends), undefined),
    );
    assert.equal(p.fingerprint_before, shown, `fingerprint: ${c.why}`);
    const same = JSON.stringify(c.before) === JSON.stringify(c.after);
    assert.equal(p.buckets_moved === 0, same, `buckets moved: ${c.why}`);
    assert.equal(p.fingerprint_after === p.fingerprint_before, same, `fingerprint: ${c.why}`);
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
