import { strict as assert } from "node:assert";
import type { CheckerApi } from "../checker/types.ts";
import type { HealthCheck } from "../config/types.ts";
import { OperatorCode, probeResult } from "../health/codes.ts";
import type { Transition } from "../health/types.ts";
import { addEventFamilies, PROBE_BUCKETS, PROGRAMMING_BUCKETS } from "./events.ts";
import { renderFamilies } from "./exposition.ts";
import { familySet } from "./families.ts";

const NO_CHECKER = { listBackends: () => [] } as unknown as CheckerApi;
const HC = { name: "hc", type: "tcp" } as HealthCheck;

function rig() {
  const set = familySet(NO_CHECKER);
  const metrics = addEventFamilies(set);
  const render = async () => {
    set.collectAll();
    return await renderFamilies(set.families);
  };
  return { metrics, render };
}

function seriesOf(text: string, name: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

Deno.test("events: the bucket bounds of spec 10", () => {
  assert.deepEqual(PROBE_BUCKETS, [
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
  ]);
  assert.deepEqual(PROGRAMMING_BUCKETS, [...PROBE_BUCKETS, 5, 10]);
});

Deno.test("events: operator transitions are not probe transitions", async () => {
  const { metrics, render } = rig();
  const t = (code: string): Transition => ({ from: "up", to: "paused", atMs: 0, code, detail: "" });
  for (const code of Object.values(OperatorCode)) metrics.onTransition("b", t(code));
  metrics.onTransition("b", t("not-a-code"));
  assert.deepEqual(seriesOf(await render(), "maglev_backend_transitions_total"), []);
  metrics.onTransition("b", { ...t("L4CON"), to: "down" });
  assert.deepEqual(seriesOf(await render(), "maglev_backend_transitions_total"), [
    'maglev_backend_transitions_total{backend="b",from="up",to="down"} 1',
  ]);
});

Deno.test("events: a local error counts apart from probe results", async () => {
  const { metrics, render } = rig();
  const local = probeResult("L4CON", "too many open files", 0);
  metrics.observeLocalError("b", HC, local);
  metrics.observeLocalError("b", HC, local);
  const text = await render();
  assert.deepEqual(seriesOf(text, "maglev_probe_local_errors_total"), [
    'maglev_probe_local_errors_total{backend="b",type="tcp"} 2',
  ]);
  assert.deepEqual(seriesOf(text, "maglev_probe_total"), []);
});

Deno.test("events: programming latency has its three triggers at zero from the start", async () => {
  const { render } = rig();
  const counts = seriesOf(await render(), "maglev_vpp_programming_latency_seconds_count");
  assert.deepEqual(counts, [
    'maglev_vpp_programming_latency_seconds_count{trigger="operator"} 0',
    'maglev_vpp_programming_latency_seconds_count{trigger="probe"} 0',
    'maglev_vpp_programming_latency_seconds_count{trigger="reload"} 0',
  ]);
});

Deno.test("events: an LB sync that changed nothing makes no series", async () => {
  const { metrics, render } = rig();
  metrics.lbSync("all", {
    vipAdded: 0,
    vipRemoved: 0,
    asAdded: 0,
    asRemoved: 0,
    asWeightUpdated: 0,
  });
  metrics.lbSync("vip", {
    vipAdded: 0,
    vipRemoved: 2,
    asAdded: 0,
    asRemoved: 5,
    asWeightUpdated: 0,
  });
  assert.deepEqual(seriesOf(await render(), "maglev_vpp_lbsync_total"), [
    'maglev_vpp_lbsync_total{kind="vip_removed",scope="vip"} 2',
    'maglev_vpp_lbsync_total{kind="as_removed",scope="vip"} 5',
  ]);
});
