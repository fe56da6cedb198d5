/**
 * Prometheus metrics (spec 10 and 0.5) on a private prom-client registry.
 *
 * Counters and histograms are updated inline by the checker, the VPP client,
 * the reconciler and the gRPC server through the functions of {@link Metrics}.
 * Every gauge (and the VPP packet counters, which are a snapshot VPP keeps) is
 * computed at scrape time from the running checker and VPP views, so a
 * reload, a removed backend or a runtime weight change shows on the next
 * scrape and no series is left behind.
 *
 * The exposition is written here rather than by prom-client, because
 * upstream's scripts match series byte for byte as client_golang prints them:
 * labels in alphabetical order, with a histogram's `le` last.
 * @module
 */
import { errorMessage } from "../errors.ts";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type {
  BackendSnapshot,
  CheckerApi,
  FrontendState,
  ProbeObserver,
} from "../checker/types.ts";
import type { HealthCheck } from "../config/types.ts";
import { type ProbeResult, STATES, type Transition } from "../health/types.ts";
import { isProbeCode } from "../health/codes.ts";
import type { SyncStats, VppControl } from "../reconciler/types.ts";
import { effectiveWeights } from "../weights/mod.ts";
import { type Clock, realClock } from "../clock.ts";
import { log } from "../log/mod.ts";
import { type Family, renderFamilies } from "./exposition.ts";
import { addSelfFamilies, processRegistry, type SelfFacts } from "./self.ts";
import type { GrpcMethod, GrpcObserver, GrpcType } from "../grpc/observer.ts";
import { protocolName } from "../../vpp/names.ts";

export type { GrpcMethod, GrpcObserver, GrpcType };

/** One VPP binary-API message, for `maglev_vpp_api_total`. */
export interface VppApiEvent {
  /** Message name, e.g. `lb_add_del_vip_v2`. */
  readonly msg: string;
  readonly direction: "send" | "recv";
  readonly ok: boolean;
}

/** The metrics of one daemon. */
export interface Metrics {
  /** Counts a probe and observes its duration; pass to the checker. */
  readonly observeProbe: ProbeObserver;
  /** Counts a probe that failed for a local reason (issue 12.2); it is no probe result. */
  readonly observeLocalError: ProbeObserver;
  /** Counts a backend state transition. */
  onTransition(backend: string, transition: Transition): void;
  /** Counts one binary-API message. */
  vppApi(event: VppApiEvent): void;
  /** Counts what one LB sync changed; kinds that stayed 0 are not touched. */
  lbSync(scope: "all" | "vip", stats: SyncStats): void;
  /** Observes the time from a probe result or operator command to VPP's reply. */
  programmingLatency(trigger: string, seconds: number): void;
  /** Feed for the gRPC server's interceptor. */
  readonly grpcObserver: GrpcObserver;
  /** Creates every series of these methods at 0 (all codes for `handled`). */
  preRegisterGrpc(methods: readonly GrpcMethod[]): void;
  /** The text exposition (format 0.0.4). */
  render(): Promise<string>;
  /** The Content-Type of {@link render}'s output. */
  readonly contentType: string;
}

/** Where the scrape-time gauges read from. */
export interface MetricsSources {
  readonly checker: CheckerApi;
  /** Absent or `enabled() == false` when VPP integration is off. */
  readonly vpp?: VppControl;
  /** maglevd's version. */
  readonly version: string;
  /** Build, start and config facts; without them no self families. */
  readonly facts?: SelfFacts;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** For uptime and connected-time gauges; defaults to the wall clock. */
  clock?: Clock;
}

/** `maglev_probe_duration_seconds` buckets (spec 10). */
export const PROBE_BUCKETS: readonly number[] = [
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
];

/** client_golang's default buckets, as go-grpc-middleware uses them. */
export const GRPC_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** `maglev_vpp_programming_latency_seconds` buckets: 1 ms to 10 s. */
export const PROGRAMMING_BUCKETS: readonly number[] = [
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
  5,
  10,
];

/** gRPC status names by number, as Go's `codes.Code.String()` spells them. */
export const GRPC_CODES: readonly string[] = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

const FRONTEND_STATES: readonly FrontendState[] = ["unknown", "up", "down"];
const SYNC_KINDS: readonly (readonly [keyof SyncStats, string])[] = [
  ["vipAdded", "vip_added"],
  ["vipRemoved", "vip_removed"],
  ["asAdded", "as_added"],
  ["asRemoved", "as_removed"],
  ["asWeightUpdated", "as_weight_updated"],
];

/** The shape of a grpc-js service definition that {@link grpcMethodsOf} reads. */
export type ServiceMethods = Readonly<
  Record<
    string,
    { readonly path: string; readonly requestStream: boolean; readonly responseStream: boolean }
  >
>;

/** Lists the methods of a grpc-js service definition for {@link Metrics.preRegisterGrpc}. */
export function grpcMethodsOf(definition: ServiceMethods): GrpcMethod[] {
  return Object.values(definition).map((m) => {
    const [, service, method] = m.path.split("/");
    const type: GrpcType = m.requestStream
      ? (m.responseStream ? "bidi_stream" : "client_stream")
      : (m.responseStream ? "server_stream" : "unary");
    return { service, method, type };
  });
}

/** Name for the `grpc_code` label, from the numeric status. */
export function grpcCodeName(code: number): string {
  return GRPC_CODES[code] ?? `Code(${code})`;
}

/** `address/len` → `address`. */
function prefixAddress(prefix: string): string {
  const slash = prefix.indexOf("/");
  return slash < 0 ? prefix : prefix.slice(0, slash);
}

/** Builds the metrics over `sources`; see {@link Metrics}. */
export function createMetrics(sources: MetricsSources, options: MetricsOptions = {}): Metrics {
  const clock = options.clock ?? realClock;
  const { checker, vpp } = sources;
  const registry = new Registry();
  const families: Family[] = [];

  function add<T extends Counter<string> | Gauge<string> | Histogram<string>>(metric: T): T {
    families.push(metric as unknown as { name: string; get(): Promise<unknown> });
    return metric;
  }

  /**
   * Scrape-time collectors, run together at the start of each render so that
   * they share one read of the checker (the backend families stay consistent)
   * and a failing source costs its own families, not the scrape.
   */
  const collectors: { name: string; fill(view: ScrapeView): void }[] = [];
  function atScrape(name: string, fill: (view: ScrapeView) => void): void {
    collectors.push({ name, fill });
  }
  function collectAll(): void {
    let backends: BackendSnapshot[] | undefined;
    function readBackends(): BackendSnapshot[] {
      const out: BackendSnapshot[] = [];
      for (const name of checker.listBackends()) {
        // A backend a concurrent reload removed is simply not exported this time.
        try {
          out.push(checker.getBackend(name));
        } catch {
          continue;
        }
      }
      return out;
    }
    const view: ScrapeView = { backends: () => backends ??= readBackends() };
    for (const c of collectors) {
      try {
        c.fill(view);
      } catch (e) {
        log.warn("metrics-collect-error", { metric: c.name, err: errorMessage(e) });
      }
    }
  }

  // --- inline counters and histograms ---------------------------------------

  const probeTotal = add(
    new Counter({
      name: "maglev_probe_total",
      help: "Health probes run, by result and result code.",
      labelNames: ["backend", "code", "result", "type"],
      registers: [registry],
    }),
  );
  const probeLocalErrors = add(
    new Counter({
      name: "maglev_probe_local_errors_total",
      help:
        "Probes that failed for a reason of this host (EMFILE, ENOBUFS, ...), not the backend's.",
      labelNames: ["backend", "type"],
      registers: [registry],
    }),
  );
  const probeDuration = add(
    new Histogram({
      name: "maglev_probe_duration_seconds",
      help: "Health probe duration in seconds.",
      labelNames: ["backend", "type"],
      buckets: [...PROBE_BUCKETS],
      registers: [registry],
    }),
  );
  const transitions = add(
    new Counter({
      name: "maglev_backend_transitions_total",
      help: "Backend state transitions.",
      labelNames: ["backend", "from", "to"],
      registers: [registry],
    }),
  );
  const vppApiTotal = add(
    new Counter({
      name: "maglev_vpp_api_total",
      help: "VPP binary API messages sent and received.",
      labelNames: ["direction", "msg", "result"],
      registers: [registry],
    }),
  );
  const lbSyncTotal = add(
    new Counter({
      name: "maglev_vpp_lbsync_total",
      help: "Changes made to VPP's load balancer by LB syncs, by kind.",
      labelNames: ["kind", "scope"],
      registers: [registry],
    }),
  );
  const programming = add(
    new Histogram({
      name: "maglev_vpp_programming_latency_seconds",
      help: "Time from a probe result or operator command to VPP's reply.",
      labelNames: ["trigger"],
      buckets: [...PROGRAMMING_BUCKETS],
      registers: [registry],
    }),
  );
  for (const trigger of ["operator", "probe", "reload"]) programming.zero({ trigger });

  const grpcStarted = add(
    new Counter({
      name: "grpc_server_started_total",
      help: "Total number of RPCs started on the server.",
      labelNames: ["grpc_method", "grpc_service", "grpc_type"],
      registers: [registry],
    }),
  );
  const grpcHandled = add(
    new Counter({
      name: "grpc_server_handled_total",
      help: "Total number of RPCs completed on the server, regardless of success or failure.",
      labelNames: ["grpc_code", "grpc_method", "grpc_service", "grpc_type"],
      registers: [registry],
    }),
  );
  const grpcReceived = add(
    new Counter({
      name: "grpc_server_msg_received_total",
      help: "Total number of RPC stream messages received on the server.",
      labelNames: ["grpc_method", "grpc_service", "grpc_type"],
      registers: [registry],
    }),
  );
  const grpcSent = add(
    new Counter({
      name: "grpc_server_msg_sent_total",
      help: "Total number of gRPC stream messages sent by the server.",
      labelNames: ["grpc_method", "grpc_service", "grpc_type"],
      registers: [registry],
    }),
  );
  const grpcSeconds = add(
    new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Histogram of response latency (seconds) of gRPC that had been application-level " +
        "handled by the server.",
      labelNames: ["grpc_method", "grpc_service", "grpc_type"],
      buckets: [...GRPC_BUCKETS],
      registers: [registry],
    }),
  );

  // --- scrape-time gauges ----------------------------------------------------

  function gauge(name: string, help: string, labelNames: string[]): Gauge<string> {
    return add(new Gauge({ name, help, labelNames, registers: [registry] }));
  }

  const backendState = gauge(
    "maglev_backend_state",
    "1 for the backend's current state, 0 for every other state.",
    ["address", "backend", "healthcheck", "state"],
  );
  atScrape("maglev_backend_state", (view) => {
    backendState.reset();
    for (const b of view.backends()) {
      const { address, name: backend, healthcheck } = b;
      for (const state of STATES) {
        backendState.set({ address, backend, healthcheck, state }, state === b.state ? 1 : 0);
      }
    }
  });
  const backendHealth = gauge("maglev_backend_health", "The backend's rise/fall counter.", [
    "backend",
  ]);
  atScrape("maglev_backend_health", (view) => {
    backendHealth.reset();
    for (const b of view.backends()) backendHealth.set({ backend: b.name }, b.health);
  });
  const backendEnabled = gauge("maglev_backend_enabled", "1 when the backend is enabled.", [
    "backend",
  ]);
  atScrape("maglev_backend_enabled", (view) => {
    backendEnabled.reset();
    for (const b of view.backends()) backendEnabled.set({ backend: b.name }, b.enabled ? 1 : 0);
  });

  const poolWeight = gauge(
    "maglev_frontend_pool_backend_weight",
    "Configured weight of a backend in a frontend's pool.",
    ["backend", "frontend", "pool"],
  );
  atScrape("maglev_frontend_pool_backend_weight", () => {
    poolWeight.reset();
    for (const fe of Object.values(checker.config().frontends)) {
      for (const pool of fe.pools) {
        for (const pb of pool.backends) {
          poolWeight.set({ backend: pb.name, frontend: fe.name, pool: pool.name }, pb.weight);
        }
      }
    }
  });
  const effectiveWeight = gauge(
    "maglev_frontend_pool_backend_effective_weight",
    "Weight of a backend in a frontend's pool after health and failover (what VPP is given).",
    ["backend", "frontend", "pool"],
  );
  atScrape("maglev_frontend_pool_backend_effective_weight", () => {
    effectiveWeight.reset();
    for (const fe of Object.values(checker.config().frontends)) {
      for (const [pool, backends] of effectiveWeights(fe, checker)) {
        for (const [backend, weight] of backends) {
          effectiveWeight.set({ backend, frontend: fe.name, pool }, weight);
        }
      }
    }
  });
  const frontendState = gauge(
    "maglev_frontend_state",
    "1 for the frontend's current aggregate state, 0 for the others.",
    ["frontend", "state"],
  );
  atScrape("maglev_frontend_state", () => {
    frontendState.reset();
    for (const frontend of Object.keys(checker.config().frontends)) {
      const current = checker.frontendState(frontend);
      for (const state of FRONTEND_STATES) {
        frontendState.set({ frontend, state }, state === current ? 1 : 0);
      }
    }
  });

  const vppSyncError = gauge(
    "maglev_frontend_vpp_sync_error",
    "1 when VPP refused a write for the frontend at the last sync: VPP does not hold what " +
      "maglevd shows; 0 when it does.",
    ["frontend"],
  );
  atScrape("maglev_frontend_vpp_sync_error", () => {
    vppSyncError.reset();
    if (vpp?.lastSyncError === undefined || !vpp.enabled()) return;
    for (const frontend of Object.keys(checker.config().frontends)) {
      vppSyncError.set({ frontend }, vpp.lastSyncError(frontend) ? 1 : 0);
    }
  });

  function vppUp(): boolean {
    return vpp !== undefined && vpp.enabled() && vpp.connected();
  }

  // Unlabelled gauges always hold a series after reset(); remove() drops it
  // where the spec says the metric is absent.
  const vppConnected = gauge(
    "maglev_vpp_connected",
    "1 when maglevd is connected to VPP's binary API.",
    [],
  );
  atScrape("maglev_vpp_connected", () => {
    vppConnected.reset();
    if (vpp !== undefined && vpp.enabled()) vppConnected.set(vpp.connected() ? 1 : 0);
    else vppConnected.remove();
  });
  const vppUptime = gauge("maglev_vpp_uptime_seconds", "Seconds since VPP booted.", []);
  atScrape("maglev_vpp_uptime_seconds", () => {
    vppUptime.reset();
    const boot = vpp !== undefined && vppUp() ? vpp.info().bootTimeMs : 0;
    if (boot > 0) vppUptime.set(Math.max(0, (clock.now() - boot) / 1000));
    else vppUptime.remove();
  });
  const vppConnectedSeconds = gauge(
    "maglev_vpp_connected_seconds",
    "Seconds since maglevd connected to VPP.",
    [],
  );
  atScrape("maglev_vpp_connected_seconds", () => {
    vppConnectedSeconds.reset();
    if (vpp !== undefined && vppUp()) {
      vppConnectedSeconds.set(Math.max(0, (clock.now() - vpp.info().connectedAtMs) / 1000));
    } else {
      vppConnectedSeconds.remove();
    }
  });
  const vppInfo = gauge("maglev_vpp_info", "Facts about the connected VPP; always 1.", [
    "build_date",
    "pid",
    "version",
  ]);
  atScrape("maglev_vpp_info", () => {
    vppInfo.reset();
    if (vpp === undefined || !vppUp()) return;
    const info = vpp.info();
    vppInfo.set({ build_date: info.buildDate, pid: String(info.pid), version: info.version }, 1);
  });
  // A counter, though set from VPP's snapshot: VPP owns the running totals.
  const vipPackets = add(
    new Counter({
      name: "maglev_vip_packets_total",
      help: "Packets the VPP lb plugin counted per VIP, by kind (next, first, untracked, " +
        "no-server).",
      labelNames: ["address", "frontend", "kind", "port", "protocol"],
      registers: [registry],
    }),
  );
  atScrape("maglev_vip_packets_total", () => {
    vipPackets.reset();
    if (vpp === undefined || !vppUp()) return;
    for (const c of vpp.counters()) {
      const vip = {
        address: prefixAddress(c.prefix),
        frontend: c.frontend,
        port: String(c.port),
        protocol: protocolName(c.protocol),
      };
      vipPackets.inc({ ...vip, kind: "next" }, c.next);
      vipPackets.inc({ ...vip, kind: "first" }, c.first);
      vipPackets.inc({ ...vip, kind: "untracked" }, c.untracked);
      vipPackets.inc({ ...vip, kind: "no-server" }, c.noServer);
    }
  });
  if (sources.facts) {
    addSelfFamilies({ gauge, atScrape: (name, fill) => atScrape(name, () => fill()) }, {
      facts: sources.facts,
      checker,
      vpp,
    });
  }
  const processMetrics = processRegistry();
  families.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // --- the inline API --------------------------------------------------------

  function observeProbe(backend: string, healthcheck: HealthCheck, result: ProbeResult): void {
    // Static backends are never probed; a caller passing one must not invent a series.
    if (!healthcheck || healthcheck.name === "") return;
    const type = healthcheck.type;
    probeTotal.inc({ backend, code: result.code, result: result.ok ? "success" : "failure", type });
    probeDuration.observe({ backend, type }, result.durationMs / 1000);
  }

  function grpcLabels(m: GrpcMethod): Record<string, string> {
    return { grpc_method: m.method, grpc_service: m.service, grpc_type: m.type };
  }

  const grpcObserver: GrpcObserver = {
    started: (m) => grpcStarted.inc(grpcLabels(m)),
    handled: (m, code, seconds) => {
      grpcHandled.inc({ grpc_code: grpcCodeName(code), ...grpcLabels(m) });
      grpcSeconds.observe(grpcLabels(m), seconds);
    },
    msgReceived: (m) => grpcReceived.inc(grpcLabels(m)),
    msgSent: (m) => grpcSent.inc(grpcLabels(m)),
  };

  return {
    observeProbe,
    observeLocalError: (backend, healthcheck) =>
      probeLocalErrors.inc({ backend, type: healthcheck.type }),
    onTransition(backend, transition) {
      // Spec 10: probe-driven transitions only; operator codes (paused,
      // disabled, ...) are not probe results.
      if (!isProbeCode(transition.code)) return;
      transitions.inc({ backend, from: transition.from, to: transition.to });
    },
    vppApi(event) {
      vppApiTotal.inc({
        direction: event.direction,
        msg: event.msg,
        result: event.ok ? "success" : "failure",
      });
    },
    lbSync(scope, stats) {
      for (const [field, kind] of SYNC_KINDS) {
        const n = stats[field];
        if (n > 0) lbSyncTotal.inc({ kind, scope }, n);
      }
    },
    programmingLatency(trigger, seconds) {
      programming.observe({ trigger }, seconds);
    },
    grpcObserver,
    preRegisterGrpc(methods) {
      for (const m of methods) {
        const labels = grpcLabels(m);
        grpcStarted.inc(labels, 0);
        grpcReceived.inc(labels, 0);
        grpcSent.inc(labels, 0);
        grpcSeconds.zero(labels);
        for (const code of GRPC_CODES) grpcHandled.inc({ grpc_code: code, ...labels }, 0);
      }
    },
    async render() {
      collectAll();
      const ours = await renderFamilies(families);
      // prom-client separates families with blank lines; client_golang does not.
      const proc = (await processMetrics.metrics()).replace(/\n\n+/g, "\n");
      return ours + proc;
    },
    contentType: registry.contentType,
  };
}

/** What the collectors of one scrape share. */
interface ScrapeView {
  /** Every active backend, read once per scrape. */
  backends(): readonly BackendSnapshot[];
}
