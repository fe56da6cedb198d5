import { strict as assert } from "node:assert";
import {
  escapeLabel,
  familyHeader,
  formatValue,
  renderFamilies,
  type ValuesFamily,
} from "./exposition.ts";

/** A family as prom-client's `get()` answers it. */
function values(
  name: string,
  type: string,
  series: unknown[],
  help = `${name} help`,
): ValuesFamily {
  return { name, get: () => Promise.resolve({ name, help, type, values: series }) };
}

Deno.test("exposition: values and label values as the text format writes them", () => {
  const numbers: [number, string][] = [
    [0, "0"],
    [1.5, "1.5"],
    [-2, "-2"],
    [1e21, "1e+21"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
  ];
  for (const [v, want] of numbers) assert.equal(formatValue(v), want);
  assert.equal(escapeLabel('a\\b\n"c"'), 'a\\\\b\\n\\"c\\"');
  assert.equal(
    familyHeader("x", "line one\nback\\slash", "counter"),
    [
      "# HELP x line one\\nback\\\\slash",
      "# TYPE x counter",
    ].join("\n"),
  );
});

Deno.test("exposition: labels sorted with le last; shared labels merged; metricName wins", async () => {
  const text = await renderFamilies([
    values("req_seconds", "histogram", [
      { value: 3, labels: { zone: "b", le: 0.5, app: "x" }, metricName: "req_seconds_bucket" },
      { value: 4, labels: { le: Infinity, app: "x" }, metricName: "req_seconds_bucket" },
      { value: 7, sharedLabels: { app: "shared", zone: "z" }, labels: { app: "own" } },
    ]),
  ]);
  assert.equal(
    text,
    [
      "# HELP req_seconds req_seconds help",
      "# TYPE req_seconds histogram",
      'req_seconds_bucket{app="x",zone="b",le="0.5"} 3',
      'req_seconds_bucket{app="x",le="+Inf"} 4',
      'req_seconds{app="own",zone="z"} 7',
      "",
    ].join("\n"),
  );
});

Deno.test("exposition: families in order; empty ones and empty text are left out", async () => {
  const text = await renderFamilies([
    { name: "t", text: () => "# HELP t t\n# TYPE t gauge\nt 1" },
    values("empty", "gauge", []),
    { name: "blank", text: () => "" },
    values("g", "gauge", [{ value: 2 }, { value: 3, labels: { a: 'q"uote' } }]),
  ]);
  assert.equal(
    text,
    '# HELP t t\n# TYPE t gauge\nt 1\n# HELP g g help\n# TYPE g gauge\ng 2\ng{a="q\\"uote"} 3\n',
  );
  assert.equal(await renderFamilies([values("empty", "gauge", [])]), "");
  assert.equal(await renderFamilies([]), "");
});

Deno.test("exposition: every family's values are asked for before any is awaited", async () => {
  const asked: string[] = [];
  const family = (name: string): ValuesFamily => ({
    name,
    get: () => {
      asked.push(name);
      return new Promise((r) =>
        queueMicrotask(() =>
          r({ name, help: "h", type: "gauge", values: [{ value: asked.length }] })
        )
      );
    },
  });
  const text = await renderFamilies([family("a"), family("b")]);
  assert.deepEqual(asked, ["a", "b"]);
  assert.match(text, /^a 2$/m, "a's value was read after b was asked");
});
