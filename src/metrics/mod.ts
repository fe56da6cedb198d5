/**
 * Prometheus metrics (spec 10 and 0.5) on a private prom-client registry.
 *
 * Counters and histograms are updated inline by the checker, the VPP client,
 * the reconciler and the gRPC server through the functions of {@link Metrics}
 * (events.ts, grpc.ts). Every gauge (and the VPP packet counters, which are
 * a snapshot VPP keeps) is computed at scrape time from the running checker
 * and VPP views (state.ts, self.ts). The exposition is ours (exposition.ts).
 * @module
 */
import type { CheckerApi } from "../checker/types.ts";
import { type Clock, realClock, type TimerId } from "../clock.ts";
import type { GrpcMethod, GrpcObserver, GrpcType } from "../grpc/observer.ts";
import { log } from "../log/mod.ts";
import { renderFamilies } from "./exposition.ts";
import { addEventFamilies, type EventMetrics, type VppApiEvent } from "./events.ts";
import { familySet } from "./families.ts";
import { addGrpcFamilies } from "./grpc.ts";
import { addSelfFamilies, processRegistry, type SelfFacts } from "./self.ts";
import { addBackendGauges, addFrontendGauges, addVppGauges, type MetricsVpp } from "./state.ts";

export type { GrpcMethod, GrpcObserver, GrpcType, MetricsVpp, VppApiEvent };
export { PROBE_BUCKETS, PROGRAMMING_BUCKETS } from "./events.ts";
export { GRPC_BUCKETS, GRPC_CODES, grpcCodeName } from "./grpc.ts";

/** The metrics of one daemon: the inline updates (see {@link EventMetrics}) and more. */
export interface Metrics extends EventMetrics {
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
  readonly vpp?: MetricsVpp;
  /** maglevd's version. */
  readonly version: string;
  /** Build, start and config facts; without them no self families. */
  readonly facts?: SelfFacts;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** For uptime and connected-time gauges; defaults to the wall clock. */
  clock?: Clock;
  /**
   * How long a scrape waits for VPP's counters when its snapshot is stale
   * (default 1.5 s, well inside Prometheus' 10 s scrape timeout).
   */
  countersWaitMs?: number;
}

/** See {@link MetricsOptions.countersWaitMs}. */
export const COUNTERS_WAIT_MS = 1_500;

/**
 * Lets a stale counters snapshot refresh before the scrape reads it, so the
 * first scrape after a connect or a new VIP has every VIP's series. Bounded:
 * past `waitMs` the scrape goes on with what is known. A VIP VPP has not
 * reported yet then has no series rather than a zero, which would read as a
 * counter reset.
 */
async function awaitCounters(vpp: MetricsVpp | undefined, clock: Clock, waitMs: number) {
  if (!vpp?.freshCounters || !vpp.enabled() || !vpp.connected()) return;
  let timer: TimerId | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = clock.setTimeout(() => resolve(true), waitMs);
  });
  const fresh = vpp.freshCounters().then(() => false, () => false);
  const timedOut = await Promise.race([fresh, late]);
  if (timer !== undefined) clock.clearTimeout(timer);
  if (timedOut) log.warn("metrics-counters-late", { "waited-ms": waitMs });
}

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

/** Builds the metrics over `sources`; see {@link Metrics}. */
export function createMetrics(sources: MetricsSources, options: MetricsOptions = {}): Metrics {
  const clock = options.clock ?? realClock;
  const { checker, vpp } = sources;
  const set = familySet(checker);
  const events = addEventFamilies(set);
  const grpc = addGrpcFamilies(set);
  addBackendGauges(set);
  addFrontendGauges(set, { checker, vpp, clock });
  addVppGauges(set, { checker, vpp, clock });
  if (sources.facts) addSelfFamilies(set, { facts: sources.facts, checker, vpp });
  const processMetrics = processRegistry();
  set.families.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    ...events,
    ...grpc,
    async render() {
      await awaitCounters(vpp, clock, options.countersWaitMs ?? COUNTERS_WAIT_MS);
      set.collectAll();
      const ours = await renderFamilies(set.families);
      // prom-client separates families with blank lines; client_golang does not.
      const proc = (await processMetrics.metrics()).replace(/\n\n+/g, "\n");
      return ours + proc;
    },
    contentType: set.registry.contentType,
  };
}
