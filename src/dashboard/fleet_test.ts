import { strict as assert } from "node:assert";
import { compareFleet } from "./fleet.ts";
import { applySnapshot, newDaemonView } from "./state.ts";
import { frontend, poolBackend } from "./fake_client_test_util.ts";
import type { FrontendInfo } from "../../proto/maglev_pb.ts";

function daemon(id: string, frontends: FrontendInfo[], reached = true) {
  const v = newDaemonView(id, `router${id}:9090`, { nowMs: 0 });
  if (reached) applySnapshot(v, { frontends, backends: [] }, { nowMs: 1 });
  return v;
}

const web = (w1: number, extra: Partial<FrontendInfo> = {}) =>
  frontend("web", [poolBackend("a", { effective_weight: w1 }), poolBackend("b")], extra);

Deno.test("identical routers: nothing differs", () => {
  const rows = compareFleet([daemon("0", [web(100)]), daemon("1", [web(100)])]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].differs, false);
  assert.deepEqual(rows[0].backends, ["a", "b"]);
  assert.deepEqual(rows[0].cells["1"].weights, { a: 100, b: 100 });
});

Deno.test("one effective weight differs: that backend is flagged", () => {
  const [row] = compareFleet([daemon("0", [web(100)]), daemon("1", [web(50)])]);
  assert.deepEqual(row.weightDiffers, ["a"]);
  assert.ok(row.differs);
  assert.equal(row.fingerprintDiffers, false, "no fingerprints, no verdict on them");
});

Deno.test("fingerprints are compared when every router reports one", () => {
  const same = compareFleet([
    daemon("0", [web(100, { fingerprint: "abc" } as Partial<FrontendInfo>)]),
    daemon("1", [web(100, { fingerprint: "abc" } as Partial<FrontendInfo>)]),
  ]);
  assert.equal(same[0].cells["0"].fingerprint, "abc");
  assert.equal(same[0].differs, false);
  const other = compareFleet([
    daemon("0", [web(100, { fingerprint: "abc" } as Partial<FrontendInfo>)]),
    daemon("1", [web(100, { fingerprint: "abd" } as Partial<FrontendInfo>)]),
  ]);
  assert.ok(other[0].fingerprintDiffers && other[0].differs);
});

Deno.test("a frontend missing on one router differs; an unreached router has no say", () => {
  const rows = compareFleet([
    daemon("0", [web(100), frontend("api", [poolBackend("c")])]),
    daemon("1", [web(100)]),
    daemon("2", [], false),
  ]);
  assert.deepEqual(rows.map((r) => r.frontend), ["web", "api"]);
  assert.deepEqual(Object.keys(rows[1].cells), ["0", "1"]);
  assert.ok(rows[1].presenceDiffers);
  assert.equal(rows[1].cells["1"].present, false);
  assert.deepEqual(rows[1].weightDiffers, [], "weights compare among routers that have it");
});

Deno.test("equal weights in tables of different lengths still differ", () => {
  const [row] = compareFleet([
    daemon("0", [web(100, { flow_table_length: 4096 })]),
    daemon("1", [web(100, { flow_table_length: 2048 })]),
  ]);
  assert.deepEqual(row.weightDiffers, []);
  assert.ok(row.tableLengthDiffers && row.differs);
  assert.equal(row.cells["1"].tableLength, 2048);
});
