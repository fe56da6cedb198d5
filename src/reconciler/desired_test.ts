/**
 * The desired VIP of a frontend from the running config and live states
 * (spec 5.1-5.4), and the states as VPP serves them (with adoptions).
 */
import { strict as assert } from "node:assert";
import type { State } from "../health/types.ts";
import type { Adoption } from "../weights/mod.ts";
import { desiredVip, servedStates } from "./desired.ts";
import { labConfig } from "./harness_test_util.ts";
import type { DesiredVip } from "./plan.ts";

/** A state source: every backend of `states`, the rest `up`. */
function states(over: Record<string, State> = {}) {
  return { backendState: (name: string): State => over[name] ?? "up" };
}

/** The desired ASes as `backend: "weight[ flush]"`. */
function ases(d: DesiredVip): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of d.ases.values()) out[a.backend] = `${a.weight}${a.flush ? " flush" : ""}`;
  return out;
}

Deno.test("desiredVip: the frontend's VIP and, per address, its backend's weight", () => {
  const cfg = labConfig();
  const d = desiredVip(cfg.frontends.web, cfg, states());
  const { ases: byAddress, ...vip } = d;
  assert.deepEqual(
    Object.entries(vip).map(([k, v]) => `${k}=${v}`).join(" "),
    [
      "frontend=web prefix=192.0.2.1/32 protocol=6 port=80 encap=0 srcIpSticky=false",
      "flowTableLength=1024 flowTableLengthAuto=true",
    ].join(" "),
  );
  assert.deepEqual([...byAddress], [
    ["10.0.0.10", { weight: 100, flush: false, backend: "a" }],
    ["10.0.0.2", { weight: 50, flush: false, backend: "b" }],
    ["10.0.0.3", { weight: 0, flush: false, backend: "c" }],
  ]);
});

Deno.test("desiredVip: each state's weight and flush, and failover to the fallback pool", () => {
  const cfg = labConfig();
  const web = cfg.frontends.web;
  const cases: [Record<string, State>, Record<string, string>][] = [
    [{ a: "down" }, { a: "0 flush", b: "50", c: "0" }],
    [{ a: "disabled" }, { a: "0 flush", b: "50", c: "0" }],
    [{ a: "paused" }, { a: "0", b: "50", c: "0" }],
    [{ a: "unknown" }, { a: "0", b: "50", c: "0" }],
    // No primary backend up: the fallback pool takes over.
    [{ a: "down", b: "paused" }, { a: "0 flush", b: "0", c: "100" }],
    // Nothing up: everything at 0.
    [{ a: "down", b: "down", c: "disabled" }, { a: "0 flush", b: "0 flush", c: "0 flush" }],
  ];
  for (const [over, want] of cases) {
    assert.deepEqual(ases(desiredVip(web, cfg, states(over))), want, JSON.stringify(over));
  }
  // flush-on-down off: a down backend drains; disable still flushes.
  const drain = labConfig({}, { flushOnDown: false });
  const d = desiredVip(drain.frontends.web, drain, states({ a: "down", b: "disabled" }));
  assert.deepEqual(ases(d), { a: "0", b: "0 flush", c: "100" });
});

Deno.test("servedStates: adopted weights stand for backends without a result; without VPP it is health alone", () => {
  const cfg = labConfig();
  const web = cfg.frontends.web;
  const health = states({ a: "unknown", b: "unknown" });
  const adopted = new Map<string, Adoption>([
    ["a", { weight: 70, cfgWeight: 100 }],
    ["b", { weight: 0, cfgWeight: 50 }],
  ]);
  const vpp = { adoptedWeights: (fe: string) => fe === "web" ? adopted : undefined };
  // a served at 70 keeps the primary pool active: c stays standby.
  const served = servedStates(health, { vpp, frontend: "web" });
  assert.deepEqual(ases(desiredVip(web, cfg, served)), { a: "70", b: "0", c: "0" });
  // No VPP, one without adoptions, or another frontend's: health alone.
  for (const o of [{ frontend: "web" }, { vpp: {}, frontend: "web" }, { vpp, frontend: "x" }]) {
    const s = servedStates(health, o);
    assert.deepEqual(ases(desiredVip(web, cfg, s)), { a: "0", b: "0", c: "100" }, String(o.vpp));
  }
  // A pool weight changed since the adoption is the operator's: a served
  // backend takes it at once, one VPP held at 0 stays at 0.
  const pools = web.pools.map((p) => ({
    ...p,
    backends: p.backends.map((b) => b.name === "c" ? b : { ...b, weight: 80 }),
  }));
  const after = desiredVip({ ...web, pools }, cfg, served);
  assert.deepEqual(ases(after), { a: "80", b: "0", c: "0" });
});
