import { strict as assert } from "node:assert";
import { makeConfig } from "../checker/checker_test_util.ts";
import { parseConfig } from "../config/mod.ts";
import type { Config } from "../config/types.ts";
import type { State, StateSource } from "../health/types.ts";
import { reloadPlan } from "./reload_plan.ts";

function yaml(weight: number, table = ""): string {
  return `maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.254, ipv6-src-address: "2001:db8::254" }
  backends:
    s1: { address: 10.0.0.1 }
    s2: { address: 10.0.0.2 }
  frontends:
    www:
      address: 192.0.2.1
      protocol: tcp
      port: 80${table}
      pools:
        - name: primary
          backends: { s1: { weight: 100 }, s2: { weight: ${weight} } }
`;
}

function config(text: string): Config {
  const r = parseConfig(text);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

const UP: StateSource = { backendState: (): State => "up" };

Deno.test("reload plan: an auto table that shrinks with the weights keeps the VIP", () => {
  // 8 x 200 -> 2048 buckets; 8 x 128 -> 1024.
  const from = config(yaml(100));
  const to = config(yaml(28));
  assert.equal(from.frontends.www.flowTableLength, 2048);
  assert.equal(to.frontends.www.flowTableLength, 1024);
  const plan = reloadPlan(from, to, { states: UP });
  assert.deepEqual(plan.vips_recreated, []);
  assert.equal(plan.weights_changed.length, 1);
});

Deno.test("reload plan: an auto table that must grow, or an explicit change, recreates", () => {
  const grow = reloadPlan(config(yaml(28)), config(yaml(100)), { states: UP });
  assert.equal(grow.vips_recreated.length, 1);
  assert.match(grow.vips_recreated[0].reason, /^flow-table-length 1024 -> 2048 \(auto: /);

  const explicit = reloadPlan(
    config(yaml(100, "\n      flow-table-length: 4096")),
    config(yaml(100, "\n      flow-table-length: 2048")),
    { states: UP },
  );
  assert.equal(explicit.vips_recreated[0]?.reason, "flow-table-length 4096 -> 2048");
});

Deno.test("reload plan: growth against the table VPP kept is no recreate (as the engine decides)", () => {
  // VPP kept 2048 from earlier weights; the config's own length is 1024 (weight 28).
  const from = config(yaml(28));
  const to = config(yaml(100));
  const held = { states: UP, heldTableLength: (fe: string) => fe === "www" ? 2048 : undefined };
  assert.deepEqual(reloadPlan(from, to, held).vips_recreated, [], "2048 is already held");
  const bigger = reloadPlan(from, to, { ...held, heldTableLength: () => 1024 });
  assert.equal(bigger.vips_recreated.length, 1, "VPP holds 1024: the weights need 2048");
});

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
  const plan = reloadPlan(from, to, { states: UP });
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
  const plan = reloadPlan(from, to, { states: UP });
  assert.deepEqual(plan.probes_restarted, [
    { backend: "a", reason: "healthcheck hc: fast-interval, params changed" },
  ]);
  assert.deepEqual(plan.vips_recreated, [], "a probe change does not touch the VIP");
});

Deno.test("reload plan: a probe change restarts probes but moves no weight; a new address does", () => {
  const probed = (interval: string, s2 = "10.0.0.2") =>
    yaml(100).replace(
      "  backends:\n    s1: { address: 10.0.0.1 }\n    s2: { address: 10.0.0.2 }",
      `  healthchecks:\n    hc: { type: tcp, port: 80, interval: ${interval} }\n  backends:\n` +
        `    s1: { address: 10.0.0.1, healthcheck: hc }\n    s2: { address: ${s2}, healthcheck: hc }`,
    );
  const plan = reloadPlan(config(probed("2s")), config(probed("5s")), { states: UP });
  assert.deepEqual(plan.probes_restarted.map((p) => p.backend), ["s1", "s2"]);
  // VPP keeps each restarted backend's weight until its first result.
  assert.deepEqual(plan.weights_changed, []);
  const moved = reloadPlan(config(probed("2s")), config(probed("5s", "10.0.0.3")), { states: UP });
  assert.deepEqual(moved.weights_changed.map((w) => w.backend), ["s2"]);
});
