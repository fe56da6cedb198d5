/**
 * The pool weight range of spec 2.6 ("an int 0-100"), the one rule the
 * config check, `set ... weight` and the disruption preview share.
 */
import { strict as assert } from "node:assert";
import { MAX_WEIGHT, weightRangeError } from "./weight.ts";

Deno.test("weight: 0..100 integers are pool weights, anything else names itself", () => {
  assert.equal(MAX_WEIGHT, 100);
  for (const w of [0, 1, 50, 100]) assert.equal(weightRangeError(w), undefined, String(w));
  for (const w of [-1, 101, 1.5, NaN, Infinity, -Infinity]) {
    assert.equal(weightRangeError(w), `weight ${w} out of range [0, 100]`, String(w));
  }
});
