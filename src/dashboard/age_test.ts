import { strict as assert } from "node:assert";
import { formatAge } from "./age.ts";

Deno.test("ages in at most two units", () => {
  const cases: [number, string][] = [
    [0, "now"],
    [999, "now"],
    [-5, "now"],
    [NaN, "now"],
    [1000, "1s"],
    [45_500, "45s"],
    [600_000, "10m"],
    [630_000, "10m30s"],
    [3_600_000, "1h"],
    [4_350_000, "1h12m"],
    [3_601_000, "1h"],
    [144_000_000, "1d16h"],
    [86_400_000 + 59_000, "1d"],
  ];
  for (const [ms, want] of cases) assert.equal(formatAge(ms), want, String(ms));
});
