import { strict as assert } from "node:assert";
import { Counter, Histogram, Registry } from "prom-client";
import { type Family, renderFamilies } from "./exposition.ts";
import { ProbeCounters, type ProbeSample } from "./probes.ts";
import { PROBE_BUCKETS } from "./events.ts";

/** The same three families on prom-client, as they were before probes.ts. */
function promClientReference() {
  const registers = [new Registry()];
  const labelNames = ["backend", "code", "result", "type"];
  const total = new Counter({ name: "maglev_probe_total", help: "h", labelNames, registers });
  const local = new Counter({
    name: "maglev_probe_local_errors_total",
    help: "h",
    labelNames: ["backend", "type"],
    registers,
  });
  const duration = new Histogram({
    name: "maglev_probe_duration_seconds",
    help: "h",
    labelNames: ["backend", "type"],
    buckets: [...PROBE_BUCKETS],
    registers,
  });
  return {
    families: [total, local, duration] as unknown as Family[],
    probe(backend: string, type: string, s: ProbeSample) {
      total.inc({ backend, code: s.code, result: s.ok ? "success" : "failure", type });
      duration.observe({ backend, type }, s.durationMs / 1000);
    },
    localError: (backend: string, type: string) => local.inc({ backend, type }),
  };
}

/** Sample lines, without HELP (the reference's is a stub), sorted: series order is free. */
async function seriesLines(families: Family[]): Promise<string[]> {
  const text = await renderFamilies(families);
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("# HELP")).sort();
}

Deno.test("probes: the plain counters export what prom-client exported, series for series", async () => {
  const ours = new ProbeCounters(PROBE_BUCKETS);
  const ref = promClientReference();
  const codes: [string, boolean][] = [["L7OK", true], ["L7STS", false], ["L4TOUT", false]];
  // Durations on, between and beyond the bounds (a bound itself is in its bucket: le).
  const durations = [0, 1, 2.5, 3, 50, 100, 999, 2500, 2501, 9000, 0.3];
  for (let i = 0; i < 400; i++) {
    const backend = `b${i % 7}`;
    // b6 changed its check from http to tcp: two series, as prom-client keeps.
    const type = i % 7 === 6 && i > 200 ? "tcp" : "http";
    const [code, ok] = codes[i % 5 === 0 ? (i % 3) : 0];
    const sample = { code, ok, durationMs: durations[i % durations.length] };
    ours.probe(backend, type, sample);
    ref.probe(backend, type, sample);
    if (i % 37 === 0) {
      ours.localError(backend, type);
      ref.localError(backend, type);
    }
  }
  // A backend with local errors only has no probe series.
  ours.localError("only-local", "http");
  ref.localError("only-local", "http");
  // Label values are escaped as prom-client escapes them.
  const odd = 'quote"back\\slash';
  ours.probe(odd, "http", { code: "L7OK", ok: true, durationMs: 4 });
  ref.probe(odd, "http", { code: "L7OK", ok: true, durationMs: 4 });
  ours.localError(odd, "http");
  ref.localError(odd, "http");
  assert.deepEqual(await seriesLines(ours.families()), await seriesLines(ref.families));
});

Deno.test("probes: no probe yet, no series", async () => {
  assert.equal(await renderFamilies(new ProbeCounters(PROBE_BUCKETS).families()), "");
});
