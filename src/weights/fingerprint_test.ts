import * as assert from "node:assert/strict";
import { vipFingerprint } from "./fingerprint.ts";
import type { DesiredAs } from "./mod.ts";

function vip(ases: [string, number, string][], flowTableLength = 1024) {
  const m = new Map<string, DesiredAs>();
  for (const [address, weight, backend] of ases) m.set(address, { weight, flush: false, backend });
  return { ases: m, flowTableLength };
}

Deno.test("the fingerprint depends on addresses, weights and table length only", () => {
  const a = vipFingerprint(vip([["10.0.0.2", 50, "b"], ["10.0.0.10", 100, "a"]]));
  // Other order, other names, an AS at weight 0: the same table, the same fingerprint.
  const b = vipFingerprint(
    vip([["10.0.0.10", 100, "x"], ["10.0.0.3", 0, "z"], ["10.0.0.2", 50, "y"]]),
  );
  assert.equal(a, b);
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.notEqual(a, vipFingerprint(vip([["10.0.0.2", 51, "b"], ["10.0.0.10", 100, "a"]])));
  assert.notEqual(
    a,
    vipFingerprint(vip([["10.0.0.2", 50, "b"], ["10.0.0.10", 100, "a"]], 2048)),
  );
});
