import { strict as assert } from "node:assert";
import { closest, didYouMean, editDistance } from "./suggest.ts";

Deno.test("editDistance counts a swap of adjacent letters as one edit", () => {
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("interval", "interval"), 0);
  assert.equal(editDistance("intervl", "interval"), 1);
  assert.equal(editDistance("prot", "port"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
});

Deno.test("closest suggests likely typos only", () => {
  const keys = ["interval", "fast-interval", "down-interval", "timeout", "rise", "fall", "port"];
  assert.equal(closest("intervall", keys), "interval");
  assert.equal(closest("fast_interval", keys), "fast-interval");
  assert.equal(closest("Timeout", keys), "timeout");
  assert.equal(closest("prot", keys), "port");
  assert.equal(closest("colour", keys), undefined);
  assert.equal(closest("x", keys), undefined);
  assert.equal(closest("anything", []), undefined);
});

Deno.test("didYouMean formats the suggestion", () => {
  assert.equal(didYouMean("adress", ["address", "port"]), '; did you mean "address"?');
  assert.equal(didYouMean("zzz", ["address"]), "");
});
