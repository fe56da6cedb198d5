import { strict as assert } from "node:assert";
import { grpcUnit, parseProberLine, selectBenches } from "./mod.ts";

Deno.test("selectBenches: all by default, filters by name, names an unknown one", () => {
  assert.deepEqual(
    selectBenches([]).map((b) => b.name),
    ["vpp_client", "reconciler", "prober", "grpc", "checker", "ffi", "probe_engine", "dashboard"],
  );
  assert.deepEqual(selectBenches(["checker,vpp_client"]).map((b) => b.name), [
    "vpp_client",
    "checker",
  ]);
  assert.throws(() => selectBenches(["nope"]), /--only "nope": no such benchmark/);
});

Deno.test("parseProberLine: the prober bench's summary becomes figures", () => {
  const line = "http: 2000 backends, 19990 probes in 10.0 s = 1999/s; daemon CPU 1.60 s = 0.16 " +
    "core, 0.080 s per 1,000 probes; RSS 120 MB; lateness p50 1.2 ms p99 4.5 ms; " +
    'codes {"L7OK":19980,"L4TOUT":10}';
  const figs = parseProberLine(line)!;
  const byName = Object.fromEntries(figs.map((f) => [f.name, f.value]));
  assert.equal(byName["prober.http.2000.probes_per_s"], 1999);
  assert.equal(byName["prober.http.2000.cpu_s_per_1000_probes"], 0.08);
  assert.equal(byName["prober.http.2000.lateness_p99_ms"], 4.5);
  assert.equal(byName["prober.http.2000.failed_fraction"], 0.0005);
  assert.equal(parseProberLine("something else"), undefined);
});

Deno.test("grpcUnit: from the figure name", () => {
  assert.equal(grpcUnit("grpc.get_frontend.p99_ms"), "ms");
  assert.equal(grpcUnit("grpc.watch_events.published_per_s"), "1/s");
  assert.equal(grpcUnit("grpc.watch_events.lost"), "count");
});
