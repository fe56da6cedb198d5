import { strict as assert } from "node:assert";
import { isOperatorCode, isProbeCode, layerOf, OperatorCode, probeResult } from "./codes.ts";

Deno.test("codes: probe codes, their layers, and operator codes are told apart", () => {
  assert.equal(isProbeCode("L7STS"), true);
  assert.equal(isProbeCode("L5OK"), false);
  assert.equal(isProbeCode("toString"), false, "prototype names are not codes");
  assert.equal(isProbeCode("__proto__"), false);
  assert.equal(layerOf("L6TOUT"), "L6");
  for (const c of Object.values(OperatorCode)) {
    assert.equal(isOperatorCode(c), true, c);
    assert.equal(isProbeCode(c), false, c);
  }
  assert.equal(isOperatorCode("L4CON"), false);
  assert.equal(isOperatorCode("constructor"), false);
});

Deno.test("codes: probeResult derives ok and layer from the code", () => {
  assert.deepEqual(probeResult("L4OK", "connected", { durationMs: 1.23456 }), {
    ok: true,
    layer: "L4",
    code: "L4OK",
    detail: "connected",
    durationMs: 1.235,
  });
  assert.equal(probeResult("L7TOUT", "x", { durationMs: -1 }).ok, false);
  assert.equal(probeResult("L7TOUT", "x", { durationMs: -1 }).durationMs, 0);
});
