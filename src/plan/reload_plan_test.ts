import { strict as assert } from "node:assert";
import { makeConfig } from "../checker/testing.ts";
import type { StateSource } from "../health/types.ts";
import { reloadPlan } from "./reload_plan.ts";

const UP: StateSource = { backendState: () => "up" };

function withCheck(hc: Parameters<typeof makeConfig>[0]["healthchecks"]) {
  return makeConfig({
    healthchecks: hc,
    backends: { a: "10.0.0.1" },
    frontends: { web: { pools: [["primary", { a: 100 }]] } },
  });
}

Deno.test("reload plan: a health check from http to tcp names each changed key once", () => {
  const from = withCheck({ hc: {} });
  const to = withCheck({
    hc: {
      type: "tcp",
      http: undefined,
      tcp: { ssl: false, serverName: "", insecureSkipVerify: false },
    },
  });
  const plan = reloadPlan(from, to, UP);
  assert.deepEqual(plan.probes_restarted, [{
    backend: "a",
    reason: "healthcheck hc: type, params changed",
  }]);
});

Deno.test("reload plan: a changed interval and path are named in the config's spelling", () => {
  const from = withCheck({ hc: {} });
  const to = withCheck({
    hc: { fastIntervalMs: 200, http: { ...from.healthchecks.hc.http!, path: "/hc" } },
  });
  const plan = reloadPlan(from, to, UP);
  assert.deepEqual(plan.probes_restarted, [
    { backend: "a", reason: "healthcheck hc: fast-interval, params changed" },
  ]);
  assert.deepEqual(plan.vips_recreated, [], "a probe change does not touch the VIP");
});
