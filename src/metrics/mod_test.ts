import { strict as assert } from "node:assert";
import { Checker } from "../checker/mod.ts";
import type { Config, HealthCheck } from "../config/types.ts";
import type { ProbeResult, State } from "../health/types.ts";
import type { VipCounters, VppInfo } from "../reconciler/types.ts";
import {
  type ConfigSpec,
  FAIL,
  FakeProber,
  healthCheck,
  makeConfig,
} from "../checker/checker_test_util.ts";
import { FakeClock } from "../clock.ts";
import { configureLog } from "../log/mod.ts";
import {
  COUNTERS_WAIT_MS,
  createMetrics,
  grpcMethodsOf,
  type Metrics,
  type MetricsVpp,
} from "./mod.ts";

// Keep test output quiet: the real checker logs every transition.
const QUIET_LOG = { level: "error", format: "json", write: () => {} } as const;
configureLog(QUIET_LOG);

// --- fixtures -------------------------------------------------------------------

const HTTP_CHECK: HealthCheck = healthCheck("http-check", {
  intervalMs: 2000,
  fastIntervalMs: 2000,
  downIntervalMs: 2000,
  timeoutMs: 1000,
});

/** A backend checked by `http-check`. */
function web(address: string): { address: string; healthcheck: string } {
  return { address, healthcheck: "http-check" };
}

/** A config with `http-check` and frontends at 172.20.30.1 (the lab's VIP). */
function labConfig(spec: Omit<ConfigSpec, "healthchecks">): Config {
  const frontends: ConfigSpec["frontends"] = {};
  for (const [name, f] of Object.entries(spec.frontends)) {
    frontends[name] = { address: "172.20.30.1", ...f };
  }
  return makeConfig({ ...spec, healthchecks: { "http-check": HTTP_CHECK }, frontends });
}

const LAB_CONFIG = labConfig({
  backends: {
    nginx1: web("172.20.30.11"),
    nginx2: web("172.20.30.12"),
    nginx3: web("172.20.30.13"),
  },
  frontends: {
    "http-vip": {
      pools: [["primary", { nginx1: 100, nginx2: 100 }], ["fallback", { nginx3: 100 }]],
    },
  },
});

/**
 * The real checker over `config`, probing through a fake prober on a fake
 * clock (no jitter), so states, health and the active set are the product's.
 */
function labChecker(): {
  checker: Checker;
  prober: FakeProber;
  clock: FakeClock;
} {
  const clock = new FakeClock(1_800_000_000_000);
  const prober = new FakeProber();
  const checker = new Checker(LAB_CONFIG, { probe: prober.probe, clock, random: () => 0.5 });
  return { checker, prober, clock };
}

/** Long enough for every backend to settle: a dozen probes each at 2 s. */
const SETTLE_MS = 24_000;

/**
 * The narrow VPP view the metrics read, as plain recorded values: what a
 * connected VppManager would report, set by the test.
 */
class RecordedVpp implements MetricsVpp {
  isEnabled = true;
  isConnected = false;
  vipCounters: VipCounters[] = [];
  vppInfo: VppInfo = {
    version: "26.10-rc0~123-gabcdef",
    buildDate: "2026-04-01T10:00:00",
    buildDirectory: "/build",
    pid: 4242,
    bootTimeMs: 0,
    connectedAtMs: 0,
  };
  /** Set by a test to stand for a VPP read in progress. */
  freshCounters?: () => Promise<readonly VipCounters[]>;
  readonly syncErrors = new Map<string, string>();
  enabled(): boolean {
    return this.isEnabled;
  }
  connected(): boolean {
    return this.isConnected;
  }
  info(): VppInfo {
    return this.vppInfo;
  }
  counters(): readonly VipCounters[] {
    return this.vipCounters;
  }
  lastSyncError(frontend: string): string {
    return this.syncErrors.get(frontend) ?? "";
  }
}

function probe(ok: boolean, code: ProbeResult["code"], durationMs: number): ProbeResult {
  return { ok, layer: "L7", code, detail: "", durationMs };
}

/** Series line (name and labels) → value. */
function series(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

function assertLine(text: string, line: string): void {
  assert.ok(text.split("\n").includes(line), `missing line:\n  ${line}\nin:\n${text}`);
}

function assertNoSeries(text: string, name: string): void {
  const found = text.split("\n").filter((l) =>
    l.startsWith(name + "{") || l.startsWith(name + " ")
  );
  assert.deepEqual(found, [], `${name} should be absent`);
}

interface LabRig {
  checker: Checker;
  prober: FakeProber;
  clock: FakeClock;
  metrics: Metrics;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The lab config's checker with every backend up, and metrics over it. */
async function labLabels(): Promise<LabRig> {
  const { checker, prober, clock } = labChecker();
  checker.start();
  await clock.advance(SETTLE_MS);
  return {
    checker,
    prober,
    clock,
    metrics: createMetrics({ checker, version: "1.0.0" }),
    [Symbol.asyncDispose]: () => checker.stop(),
  };
}

// --- tests -----------------------------------------------------------------------

Deno.test("backend state: every state as 0/1 with address, backend, healthcheck labels", async () => {
  await using lab = await labLabels();
  const { checker, prober, clock, metrics } = lab;
  prober.behaviour.set("nginx2", FAIL);
  await clock.advance(SETTLE_MS);
  const text = await metrics.render();
  assertLine(
    text,
    'maglev_backend_state{address="172.20.30.11",backend="nginx1",healthcheck="http-check",state="up"} 1',
  );
  for (const s of ["unknown", "down", "paused", "disabled", "removed"]) {
    assertLine(
      text,
      `maglev_backend_state{address="172.20.30.11",backend="nginx1",healthcheck="http-check",state="${s}"} 0`,
    );
  }
  assertLine(
    text,
    'maglev_backend_state{address="172.20.30.12",backend="nginx2",healthcheck="http-check",state="down"} 1',
  );
  assertLine(text, 'maglev_backend_health{backend="nginx1"} 4');
  assertLine(text, 'maglev_backend_health{backend="nginx2"} 0');
  assertLine(text, 'maglev_backend_enabled{backend="nginx1"} 1');
  checker.disable("nginx3");
  const after = await metrics.render();
  assertLine(after, 'maglev_backend_enabled{backend="nginx3"} 0');
  assertLine(
    after,
    'maglev_backend_state{address="172.20.30.13",backend="nginx3",healthcheck="http-check",state="disabled"} 1',
  );
  const stateLines = after.split("\n").filter((l) => l.startsWith("maglev_backend_state{"));
  assert.equal(stateLines.length, 3 * 6);
});

Deno.test("pool weights: configured and effective, frontend state", async () => {
  await using lab = await labLabels();
  const { prober, clock, metrics } = lab;
  const text = await metrics.render();
  assertLine(
    text,
    'maglev_frontend_pool_backend_weight{backend="nginx1",frontend="http-vip",pool="primary"} 100',
  );
  assertLine(
    text,
    'maglev_frontend_pool_backend_weight{backend="nginx3",frontend="http-vip",pool="fallback"} 100',
  );
  assertLine(
    text,
    'maglev_frontend_pool_backend_effective_weight{backend="nginx1",frontend="http-vip",pool="primary"} 100',
  );
  assertLine(
    text,
    'maglev_frontend_pool_backend_effective_weight{backend="nginx3",frontend="http-vip",pool="fallback"} 0',
  );
  assertLine(text, 'maglev_frontend_state{frontend="http-vip",state="up"} 1');
  assertLine(text, 'maglev_frontend_state{frontend="http-vip",state="down"} 0');
  assertLine(text, 'maglev_frontend_state{frontend="http-vip",state="unknown"} 0');

  // Primary all down: the fallback takes over on the next scrape.
  prober.behaviour.set("nginx1", FAIL);
  prober.behaviour.set("nginx2", FAIL);
  await clock.advance(SETTLE_MS);
  const failed = await metrics.render();
  assertLine(
    failed,
    'maglev_frontend_pool_backend_effective_weight{backend="nginx1",frontend="http-vip",pool="primary"} 0',
  );
  assertLine(
    failed,
    'maglev_frontend_pool_backend_effective_weight{backend="nginx3",frontend="http-vip",pool="fallback"} 100',
  );
});

Deno.test("gauges follow a config change without a restart", async () => {
  await using lab = await labLabels();
  const { checker, metrics } = lab;
  assertLine(await metrics.render(), 'maglev_backend_health{backend="nginx3"} 4');
  const next = labConfig({
    backends: {
      nginx1: web("172.20.30.11"),
      nginx4: web("172.20.30.14"),
      static1: { address: "10.0.0.5", healthcheck: "" },
    },
    frontends: {
      "http-vip": { pools: [["primary", { nginx1: 50 }]] },
      "dns-vip": { pools: [["main", { nginx4: 10, static1: 20 }]] },
    },
  });
  checker.applyConfig(next);
  const text = await metrics.render();
  // Gone: nginx2, nginx3 and the fallback pool.
  for (const gone of ['backend="nginx2"', 'backend="nginx3"', 'pool="fallback"']) {
    assert.ok(!text.includes(gone), `${gone} still exported`);
  }
  assertLine(
    text,
    'maglev_frontend_pool_backend_weight{backend="nginx1",frontend="http-vip",pool="primary"} 50',
  );
  assertLine(
    text,
    'maglev_frontend_pool_backend_weight{backend="static1",frontend="dns-vip",pool="main"} 20',
  );
  // New backends start unknown, and so does the frontend they make up.
  for (
    const [address, backend, hc] of [
      ["10.0.0.5", "static1", ""],
      ["172.20.30.14", "nginx4", "http-check"],
    ]
  ) {
    assertLine(
      text,
      `maglev_backend_state{address="${address}",backend="${backend}",healthcheck="${hc}",state="unknown"} 1`,
    );
  }
  assertLine(text, 'maglev_frontend_state{frontend="dns-vip",state="unknown"} 1');

  // The static backend passes on its own; nginx4 fails its probes.
  lab.prober.behaviour.set("nginx4", FAIL);
  await lab.clock.advance(SETTLE_MS);
  const settled = await metrics.render();
  assertLine(
    settled,
    'maglev_backend_state{address="10.0.0.5",backend="static1",healthcheck="",state="up"} 1',
  );
  assertLine(
    settled,
    'maglev_backend_state{address="172.20.30.14",backend="nginx4",healthcheck="http-check",state="down"} 1',
  );
  assertLine(settled, 'maglev_backend_health{backend="nginx4"} 0');
  assertLine(
    settled,
    'maglev_frontend_pool_backend_effective_weight{backend="static1",frontend="dns-vip",pool="main"} 20',
  );
  assertLine(
    settled,
    'maglev_frontend_pool_backend_effective_weight{backend="nginx4",frontend="dns-vip",pool="main"} 0',
  );
  assertLine(settled, 'maglev_frontend_state{frontend="dns-vip",state="up"} 1');
});

Deno.test("probe counters and duration histogram; static backends add nothing", async () => {
  await using lab = await labLabels();
  const { metrics } = lab;
  metrics.observeProbe("nginx1", HTTP_CHECK, probe(true, "L7OK", 3));
  metrics.observeProbe("nginx1", HTTP_CHECK, probe(true, "L7OK", 40));
  metrics.observeProbe("nginx1", HTTP_CHECK, probe(false, "L7STS", 2000));
  metrics.observeProbe("static1", { ...HTTP_CHECK, name: "" }, probe(true, "L7OK", 1));
  const text = await metrics.render();
  assertLine(
    text,
    'maglev_probe_total{backend="nginx1",code="L7OK",result="success",type="http"} 2',
  );
  assertLine(
    text,
    'maglev_probe_total{backend="nginx1",code="L7STS",result="failure",type="http"} 1',
  );
  assertLine(
    text,
    'maglev_probe_duration_seconds_bucket{backend="nginx1",type="http",le="0.001"} 0',
  );
  assertLine(
    text,
    'maglev_probe_duration_seconds_bucket{backend="nginx1",type="http",le="0.005"} 1',
  );
  assertLine(
    text,
    'maglev_probe_duration_seconds_bucket{backend="nginx1",type="http",le="0.05"} 2',
  );
  assertLine(text, 'maglev_probe_duration_seconds_bucket{backend="nginx1",type="http",le="2.5"} 3');
  assertLine(
    text,
    'maglev_probe_duration_seconds_bucket{backend="nginx1",type="http",le="+Inf"} 3',
  );
  assertLine(text, 'maglev_probe_duration_seconds_count{backend="nginx1",type="http"} 3');
  assertLine(text, 'maglev_probe_duration_seconds_sum{backend="nginx1",type="http"} 2.043');
  assert.ok(!text.includes('backend="static1"'));
});

Deno.test("transitions, VPP API messages, LB sync kinds and programming latency", async () => {
  await using lab = await labLabels();
  const { metrics } = lab;
  const t = { from: "unknown" as State, to: "up" as State, atMs: 0, code: "L7OK", detail: "" };
  metrics.onTransition("nginx1", t);
  metrics.onTransition("nginx1", t);
  metrics.vppApi({ msg: "lb_add_del_vip_v2", direction: "send", ok: true });
  metrics.vppApi({ msg: "lb_add_del_vip_v2_reply", direction: "recv", ok: false });
  metrics.lbSync("all", {
    vipAdded: 1,
    vipRemoved: 0,
    asAdded: 3,
    asRemoved: 0,
    asWeightUpdated: 0,
  });
  metrics.lbSync("vip", {
    vipAdded: 0,
    vipRemoved: 0,
    asAdded: 0,
    asRemoved: 0,
    asWeightUpdated: 2,
  });
  metrics.programmingLatency("probe", 0.004);
  const text = await metrics.render();
  assertLine(text, 'maglev_backend_transitions_total{backend="nginx1",from="unknown",to="up"} 2');
  assertLine(
    text,
    'maglev_vpp_api_total{direction="send",msg="lb_add_del_vip_v2",result="success"} 1',
  );
  assertLine(
    text,
    'maglev_vpp_api_total{direction="recv",msg="lb_add_del_vip_v2_reply",result="failure"} 1',
  );
  assertLine(text, 'maglev_vpp_lbsync_total{kind="vip_added",scope="all"} 1');
  assertLine(text, 'maglev_vpp_lbsync_total{kind="as_added",scope="all"} 3');
  assertLine(text, 'maglev_vpp_lbsync_total{kind="as_weight_updated",scope="vip"} 2');
  const lbsync = [...series(text).keys()].filter((k) => k.startsWith("maglev_vpp_lbsync_total"));
  assert.equal(lbsync.length, 3, `only non-zero kinds: ${lbsync.join(" ")}`);
  assertLine(text, 'maglev_vpp_programming_latency_seconds_count{trigger="probe"} 1');
  assertLine(text, 'maglev_vpp_programming_latency_seconds_bucket{trigger="probe",le="0.005"} 1');
  assertLine(text, 'maglev_vpp_programming_latency_seconds_count{trigger="operator"} 0');
  assertLine(text, 'maglev_vpp_programming_latency_seconds_count{trigger="reload"} 0');
});

const SERVICE_DEF = {
  GetFrontend: {
    path: "/maglev.v1.Maglev/GetFrontend",
    requestStream: false,
    responseStream: false,
  },
  WatchEvents: {
    path: "/maglev.v1.Maglev/WatchEvents",
    requestStream: false,
    responseStream: true,
  },
};

Deno.test("gRPC series exist at 0 for every method before any call, then count", async () => {
  await using lab = await labLabels();
  const { metrics } = lab;
  const methods = grpcMethodsOf(SERVICE_DEF);
  assert.deepEqual(methods, [
    { service: "maglev.v1.Maglev", method: "GetFrontend", type: "unary" },
    { service: "maglev.v1.Maglev", method: "WatchEvents", type: "server_stream" },
  ]);
  metrics.preRegisterGrpc(methods);
  const text = await metrics.render();
  const m = 'grpc_method="GetFrontend",grpc_service="maglev.v1.Maglev",grpc_type="unary"';
  const w = 'grpc_method="WatchEvents",grpc_service="maglev.v1.Maglev",grpc_type="server_stream"';
  for (const l of [m, w]) {
    assertLine(text, `grpc_server_started_total{${l}} 0`);
    assertLine(text, `grpc_server_msg_received_total{${l}} 0`);
    assertLine(text, `grpc_server_msg_sent_total{${l}} 0`);
    assertLine(text, `grpc_server_handling_seconds_count{${l}} 0`);
    assertLine(text, `grpc_server_handling_seconds_bucket{${l},le="+Inf"} 0`);
    for (const code of ["OK", "NotFound", "InvalidArgument", "Unavailable", "PermissionDenied"]) {
      assertLine(text, `grpc_server_handled_total{grpc_code="${code}",${l}} 0`);
    }
  }
  const handled = [...series(text).keys()].filter((k) => k.startsWith("grpc_server_handled_total"));
  assert.equal(handled.length, 2 * 17);

  const getFrontend = methods[0];
  metrics.grpcObserver.started(getFrontend);
  metrics.grpcObserver.msgReceived(getFrontend);
  metrics.grpcObserver.msgSent(getFrontend);
  metrics.grpcObserver.handled(getFrontend, 0, 0.002);
  metrics.grpcObserver.started(getFrontend);
  metrics.grpcObserver.msgReceived(getFrontend);
  metrics.grpcObserver.handled(getFrontend, 5, 0.3);
  const after = await metrics.render();
  assertLine(after, `grpc_server_started_total{${m}} 2`);
  assertLine(after, `grpc_server_msg_received_total{${m}} 2`);
  assertLine(after, `grpc_server_msg_sent_total{${m}} 1`);
  assertLine(after, `grpc_server_handled_total{grpc_code="OK",${m}} 1`);
  assertLine(after, `grpc_server_handled_total{grpc_code="NotFound",${m}} 1`);
  assertLine(after, `grpc_server_handling_seconds_bucket{${m},le="0.005"} 1`);
  assertLine(after, `grpc_server_handling_seconds_count{${m}} 2`);
});

Deno.test("VPP gauges: absent when disabled, connected 0 when down, full when up", async () => {
  const { checker, clock } = labChecker();
  const vpp = new RecordedVpp();
  const vppNames = [
    "maglev_vpp_connected",
    "maglev_vpp_uptime_seconds",
    "maglev_vpp_connected_seconds",
    "maglev_vpp_info",
    "maglev_vip_packets_total",
  ];

  const none = await createMetrics({ checker, version: "1.0.0" }).render();
  for (const n of vppNames) assertNoSeries(none, n);

  const metrics = createMetrics({ checker, vpp, version: "1.0.0" }, { clock });
  vpp.isEnabled = false;
  const disabled = await metrics.render();
  for (const n of vppNames) assertNoSeries(disabled, n);

  vpp.isEnabled = true;
  const down = await metrics.render();
  assertLine(down, "maglev_vpp_connected 0");
  for (const n of vppNames.slice(1)) assertNoSeries(down, n);

  vpp.isConnected = true;
  vpp.vppInfo = {
    ...vpp.vppInfo,
    bootTimeMs: clock.now() - 3_600_000,
    connectedAtMs: clock.now() - 90_500,
  };
  vpp.vipCounters = [{
    frontend: "http-vip",
    prefix: "172.20.30.1/32",
    protocol: 6,
    port: 80,
    next: 1000,
    first: 25,
    untracked: 0,
    noServer: 3,
  }];
  const up = await metrics.render();
  assertLine(up, "maglev_vpp_connected 1");
  assertLine(up, "maglev_vpp_uptime_seconds 3600");
  assertLine(up, "maglev_vpp_connected_seconds 90.5");
  assertLine(
    up,
    'maglev_vpp_info{build_date="2026-04-01T10:00:00",pid="4242",version="26.10-rc0~123-gabcdef"} 1',
  );
  const vip = 'address="172.20.30.1",frontend="http-vip"';
  assertLine(up, `maglev_vip_packets_total{${vip},kind="next",port="80",protocol="tcp"} 1000`);
  assertLine(up, `maglev_vip_packets_total{${vip},kind="first",port="80",protocol="tcp"} 25`);
  assertLine(up, `maglev_vip_packets_total{${vip},kind="untracked",port="80",protocol="tcp"} 0`);
  assertLine(up, `maglev_vip_packets_total{${vip},kind="no-server",port="80",protocol="tcp"} 3`);

  // Counters that VPP no longer reports (VIP removed) leave the exposition.
  vpp.vipCounters = [];
  assertNoSeries(await metrics.render(), "maglev_vip_packets_total");
});

Deno.test("a scrape waits (bounded) for stale counters to be read from VPP", async () => {
  const { checker, clock } = labChecker();
  const vpp = new RecordedVpp();
  vpp.isConnected = true;
  const counters: VipCounters = {
    frontend: "http-vip",
    prefix: "172.20.30.1/32",
    protocol: 6,
    port: 80,
    next: 7,
    first: 1,
    untracked: 0,
    noServer: 0,
  };
  let answer: (() => void) | undefined;
  vpp.freshCounters = () =>
    new Promise((resolve) => {
      answer = () => {
        vpp.vipCounters = [counters];
        resolve(vpp.vipCounters);
      };
    });
  const metrics = createMetrics({ checker, vpp, version: "1.0.0" }, { clock });
  const first = metrics.render();
  answer!();
  assertLine(
    await first,
    'maglev_vip_packets_total{address="172.20.30.1",frontend="http-vip",kind="next",' +
      'port="80",protocol="tcp"} 7',
  );

  // VPP does not answer within the bound: the scrape goes on with what is known.
  vpp.vipCounters = [];
  const late = metrics.render();
  await clock.advance(COUNTERS_WAIT_MS);
  const text = await late;
  assertLine(text, "maglev_vpp_connected 1");
  assertNoSeries(text, "maglev_vip_packets_total");
});

Deno.test("a frontend whose write VPP refused shows as out of sync", async () => {
  const { checker } = labChecker();
  const vpp = new RecordedVpp();
  vpp.isConnected = true;
  const metrics = createMetrics({ checker, vpp, version: "1.0.0" });
  assertLine(await metrics.render(), 'maglev_frontend_vpp_sync_error{frontend="http-vip"} 0');
  vpp.syncErrors.set("http-vip", "VPP refused as-add ::1: INVALID_ADDRESS_FAMILY (-97)");
  assertLine(await metrics.render(), 'maglev_frontend_vpp_sync_error{frontend="http-vip"} 1');
  vpp.isEnabled = false;
  assertNoSeries(await metrics.render(), "maglev_frontend_vpp_sync_error");
});

Deno.test("a failing source costs its own families, not the scrape", async () => {
  await using lab = await labLabels();
  const { checker, metrics } = lab;
  // A fault injected into the real checker: its frontend read throws.
  checker.frontendState = () => {
    throw new Error("checker stopped");
  };
  const logged: string[] = [];
  configureLog({ level: "warn", format: "json", write: (l) => logged.push(l) });
  try {
    const text = await metrics.render();
    assertNoSeries(text, "maglev_frontend_state");
    assertLine(text, 'maglev_backend_health{backend="nginx1"} 4');
  } finally {
    configureLog(QUIET_LOG);
  }
  assert.equal(logged.length, 1);
  assert.deepEqual(
    { ...JSON.parse(logged[0]), time: undefined },
    {
      time: undefined,
      level: "WARN",
      msg: "metrics-collect-error",
      metric: "maglev_frontend_state",
      err: "checker stopped",
    },
  );
});

Deno.test("labels are in alphabetical order (histogram le last, as client_golang)", async () => {
  const text = await fullExposition();
  let checked = 0;
  for (const line of text.split("\n")) {
    const open = line.indexOf("{");
    if (line.startsWith("#") || open < 0) continue;
    const body = line.slice(open + 1, line.lastIndexOf("}"));
    const names = [...body.matchAll(/([a-z_]+)="(?:[^"\\]|\\.)*"/g)].map((m) => m[1]);
    const withoutLe = names.filter((n) => n !== "le");
    assert.deepEqual(withoutLe, [...withoutLe].sort(), `labels out of order: ${line}`);
    if (names.includes("le")) assert.equal(names[names.length - 1], "le", line);
    checked++;
  }
  assert.ok(checked > 100, `checked ${checked} series`);
});

/** An exposition with every family populated. */
async function fullExposition(): Promise<string> {
  await using lab = await labLabels();
  const { checker } = lab;
  const vpp = new RecordedVpp();
  vpp.isConnected = true;
  vpp.vppInfo = { ...vpp.vppInfo, bootTimeMs: Date.now() - 5000, connectedAtMs: Date.now() - 1000 };
  vpp.vipCounters = [{
    frontend: "http-vip",
    prefix: "2001:db8::1/128",
    protocol: 17,
    port: 53,
    next: 1,
    first: 2,
    untracked: 3,
    noServer: 4,
  }];
  const metrics = createMetrics({ checker, vpp, version: "1.0.0" });
  metrics.preRegisterGrpc(grpcMethodsOf(SERVICE_DEF));
  metrics.observeProbe("nginx1", HTTP_CHECK, probe(true, "L7OK", 12));
  metrics.onTransition("nginx1", { from: "unknown", to: "up", atMs: 0, code: "L7OK", detail: "" });
  metrics.vppApi({ msg: "control_ping", direction: "send", ok: true });
  metrics.lbSync("all", {
    vipAdded: 1,
    vipRemoved: 1,
    asAdded: 1,
    asRemoved: 1,
    asWeightUpdated: 1,
  });
  metrics.programmingLatency("operator", 0.02);
  return await metrics.render();
}

const PROMTOOL = findPromtool();

function findPromtool(): string | undefined {
  try {
    const r = new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success ? "promtool" : undefined;
  } catch {
    console.log("promtool not found (Debian package prometheus): skipping the promtool check");
    return undefined;
  }
}

Deno.test({
  name: "promtool check metrics finds nothing to complain about",
  ignore: PROMTOOL === undefined,
  async fn() {
    const text = await fullExposition();
    const child = new Deno.Command(PROMTOOL!, {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await child.output();
    const msgs = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `promtool: ${msgs}\n${text}`);
    assert.equal(msgs.trim(), "", `promtool: ${msgs}`);
  },
});
