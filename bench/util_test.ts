import { strict as assert } from "node:assert";
import {
  cpuSeconds,
  foldRounds,
  formatFigure,
  median,
  parseFigure,
  parseProcStatCpu,
  quantile,
  withTimeout,
} from "./util.ts";

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
  assert.equal(await withTimeout(Promise.resolve(7), { ms: 1000, what: "seven" }), 7);
  await assert.rejects(
    withTimeout(new Promise(() => {}), { ms: 1, what: "nothing" }),
    /waiting for nothing/,
  );
});

Deno.test("median: middle value, mean of the middle two, NaN left out", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([NaN, 5]), 5);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("foldRounds: one figure per name, by its fold; a round missing a name is skipped", () => {
  const rounds = [
    [{ name: "a", value: 3, unit: "x" }, { name: "b", value: 1, unit: "y" }],
    [{ name: "a", value: 1, unit: "x" }, { name: "b", value: 9, unit: "y" }],
    [{ name: "a", value: 2, unit: "x" }, { name: "c", value: NaN, unit: "z" }],
  ];
  const folded = foldRounds(rounds, (name) => (name === "b" ? "max" : "median"));
  assert.deepEqual(folded.slice(0, 2), [
    { name: "a", value: 2, unit: "x" },
    { name: "b", value: 9, unit: "y" },
  ]);
  assert.equal(folded[2].name, "c");
  assert.ok(Number.isNaN(folded[2].value));
  assert.equal(foldRounds(rounds, () => "min")[0].value, 1);
});

Deno.test("parseFigure: reads what formatFigure writes, nothing else", () => {
  const f = { name: "reconciler.initial_sync_scripted_fresh.client_cpu_s", value: 0.25, unit: "s" };
  assert.deepEqual(parseFigure(formatFigure(f)), f);
  assert.deepEqual(parseFigure("a.b_c-d -1.5 msgs/s\n"), {
    name: "a.b_c-d",
    value: -1.5,
    unit: "msgs/s",
  });
  for (const line of ["", "# prober: skipped", "a.b x ms", "a.b 1", "a.b 1 ms extra"]) {
    assert.equal(parseFigure(line), undefined, line);
  }
});
