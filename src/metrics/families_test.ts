import { strict as assert } from "node:assert";
import type { BackendSummary, CheckerApi } from "../checker/types.ts";
import { addLogListener, configureLog, type LogRecord } from "../log/mod.ts";
import { renderFamilies } from "./exposition.ts";
import { familySet, series } from "./families.ts";

configureLog({ level: "error", format: "json", write: () => {} });

/** A checker with `names`, whose `gone` backends vanish between listing and reading. */
function checker(names: string[], gone: string[] = []) {
  let lists = 0;
  const api = {
    listBackends: () => {
      lists++;
      return names;
    },
    backendSummary: (name: string) => {
      if (gone.includes(name)) throw new Error(`backend "${name}" not found`);
      return { name } as unknown as BackendSummary;
    },
  } as unknown as CheckerApi;
  return { api, lists: () => lists };
}

Deno.test("families: series is client_golang's 1-2.5-5 buckets between the bounds", () => {
  assert.deepEqual(series(0.005, 10), [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  assert.deepEqual(series(0.0001, 0.0005), [0.0001, 0.00025, 0.0005]);
  assert.deepEqual(series(20_000, 50_000), [25_000, 50_000]);
  assert.deepEqual(series(3, 4), []);
});

Deno.test("families: a text gauge writes its header and lines once per collection", async () => {
  const { api } = checker(["a", "b"]);
  const set = familySet(api);
  set.textGauge("x_up", "Up.", (view, out) => {
    for (const b of view.backends()) out.push(`x_up{backend="${b.name}"} 1`);
  });
  set.collectAll();
  const want = '# HELP x_up Up.\n# TYPE x_up gauge\nx_up{backend="a"} 1\nx_up{backend="b"} 1\n';
  assert.equal(await renderFamilies(set.families), want);
  // Handed over: a render without a collection first has nothing to show.
  assert.equal(await renderFamilies(set.families), "");
  set.collectAll();
  assert.equal(await renderFamilies(set.families), want);
});

Deno.test("families: a text gauge without lines renders nothing, not a bare header", async () => {
  const set = familySet(checker([]).api);
  set.textGauge("x_up", "Up.", (view, out) => {
    for (const b of view.backends()) out.push(`x_up{backend="${b.name}"} 1`);
  });
  set.collectAll();
  assert.equal(await renderFamilies(set.families), "");
});

Deno.test("families: backends are read once per collection, and only when asked", () => {
  const c = checker(["a", "gone", "b"], ["gone"]);
  const set = familySet(c.api);
  set.collectAll();
  assert.equal(c.lists(), 0, "no collector asked");
  const seen: string[][] = [];
  set.atScrape("one", (view) => seen.push(view.backends().map((b) => b.name)));
  set.atScrape("two", (view) => seen.push(view.backends().map((b) => b.name)));
  set.collectAll();
  assert.equal(c.lists(), 1);
  // A backend removed by a concurrent reload is skipped, not an error.
  assert.deepEqual(seen, [["a", "b"], ["a", "b"]]);
});

Deno.test("families: a failing collector is logged by name and the others still run", () => {
  const logs: LogRecord[] = [];
  const stop = addLogListener((r) => logs.push(r), { level: "warn" });
  try {
    const set = familySet(checker([]).api);
    const ran: string[] = [];
    set.atScrape("broken", () => {
      throw new Error("source down");
    });
    set.atScrape("fine", () => ran.push("fine"));
    set.collectAll();
    assert.deepEqual(ran, ["fine"]);
    assert.deepEqual(logs.map((l) => [l.level, l.msg, l.attrs.metric, l.attrs.err]), [
      ["warn", "metrics-collect-error", "broken", "source down"],
    ]);
  } finally {
    stop();
  }
});

Deno.test("families: prom-client metrics join the registry and render in creation order", async () => {
  const set = familySet(checker([]).api);
  set.counter("b_total", "B.", ["k"]).inc({ k: "v" });
  set.gauge("a", "A.", []).set(2);
  set.histogram("h_seconds", "H.", { labelNames: [], buckets: [1] }).observe(0.5);
  assert.deepEqual(set.families.map((f) => f.name), ["b_total", "a", "h_seconds"]);
  assert.equal(set.registry.getMetricsAsArray().length, 3);
  const text = await renderFamilies(set.families);
  assert.ok(text.startsWith('# HELP b_total B.\n# TYPE b_total counter\nb_total{k="v"} 1\n'), text);
  assert.match(text, /^h_seconds_bucket\{le="1"\} 1$/m);
});
