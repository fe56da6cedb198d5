import { strict as assert } from "node:assert";
import { cpuSeconds, formatFigure, parseProcStatCpu, quantile, withTimeout } from "./util.ts";

Deno.test("quantile: nearest rank on sorted values, NaN when empty", () => {
  const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantile(v, 0.5), 5);
  assert.equal(quantile(v, 0.99), 10);
  assert.equal(quantile(v, 0), 1);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

Deno.test("parseProcStatCpu: utime+stime after a command name with spaces and parens", () => {
  const line = "123 (deno (x) y) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 5 0";
  assert.equal(parseProcStatCpu(line), 3);
  assert.throws(() => parseProcStatCpu("garbage"), /not a \/proc/);
  assert.ok(cpuSeconds() >= 0);
});

Deno.test("formatFigure: name value unit", () => {
  assert.equal(formatFigure({ name: "a.b", value: 1.5, unit: "ms" }), "a.b 1.5 ms");
});

Deno.test("withTimeout: names what it waited for and leaves no timer", async () => {
  assert.equal(await withTimeout(Promise.resolve(7), 1000, "seven"), 7);
  await assert.rejects(withTimeout(new Promise(() => {}), 1, "nothing"), /waiting for nothing/);
});
