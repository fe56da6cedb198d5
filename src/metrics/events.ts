/**
 * Counters and histograms updated inline by the checker (the per-probe ones
 * in probes.ts), the VPP client and the reconciler: probes, transitions, binary-API messages, LB syncs and
 * the programming latency.
 * @module
 */
import type { ProbeObserver } from "../checker/types.ts";
import type { HealthCheck } from "../config/types.ts";
import { isProbeCode } from "../health/codes.ts";
import type { ProbeResult, Transition } from "../health/types.ts";
import type { SyncStats } from "../reconciler/types.ts";
import { type FamilySet, series } from "./families.ts";
import { ProbeCounters } from "./probes.ts";

/** `maglev_probe_duration_seconds` buckets (spec 10). */
export const PROBE_BUCKETS: readonly number[] = series(0.001, 2.5);

/** `maglev_vpp_programming_latency_seconds` buckets: 1 ms to 10 s. */
export const PROGRAMMING_BUCKETS: readonly number[] = series(0.001, 10);

/** One VPP binary-API message, for `maglev_vpp_api_total`. */
export interface VppApiEvent {
  /** Message name, e.g. `lb_add_del_vip_v2`. */
  readonly msg: string;
  readonly direction: "send" | "recv";
  readonly ok: boolean;
}

const SYNC_KINDS: readonly (readonly [keyof SyncStats, string])[] = [
  ["vipAdded", "vip_added"],
  ["vipRemoved", "vip_removed"],
  ["asAdded", "as_added"],
  ["asRemoved", "as_removed"],
  ["asWeightUpdated", "as_weight_updated"],
];

/** The inline updates. */
export interface EventMetrics {
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
}

/** The inline families, added to `set`. */
function eventCounters(set: FamilySet) {
  const { counter, histogram } = set;
  // Per probe: plain counters, turned into series at scrape time (probes.ts says why).
  const probes = new ProbeCounters(PROBE_BUCKETS);
  set.families.push(...probes.families());
  const transitions = counter("maglev_backend_transitions_total", "Backend state transitions.", [
    "backend",
    "from",
    "to",
  ]);
  const vppApiTotal = counter(
    "maglev_vpp_api_total",
    "VPP binary API messages sent and received.",
    ["direction", "msg", "result"],
  );
  const lbSyncTotal = counter(
    "maglev_vpp_lbsync_total",
    "Changes made to VPP's load balancer by LB syncs, by kind.",
    ["kind", "scope"],
  );
  const programming = histogram(
    "maglev_vpp_programming_latency_seconds",
    "Time from a probe result or operator command to VPP's reply.",
    { labelNames: ["trigger"], buckets: PROGRAMMING_BUCKETS },
  );
  for (const trigger of ["operator", "probe", "reload"]) programming.zero({ trigger });
  return {
    probes,
    transitions,
    vppApiTotal,
    lbSyncTotal,
    programming,
  };
}

/** Adds the inline families to `set`; returns their updates. */
export function addEventFamilies(set: FamilySet): EventMetrics {
  const c = eventCounters(set);
  return {
    observeProbe(backend: string, healthcheck: HealthCheck, result: ProbeResult): void {
      // Static backends are never probed; a caller passing one must not invent a series.
      if (!healthcheck || healthcheck.name === "") return;
      c.probes.probe(backend, healthcheck.type, result);
    },
    observeLocalError: (backend, healthcheck) => c.probes.localError(backend, healthcheck.type),
    onTransition(backend, transition) {
      // Spec 10: probe-driven transitions only; operator codes (paused,
      // disabled, ...) are not probe results.
      if (!isProbeCode(transition.code)) return;
      c.transitions.inc({ backend, from: transition.from, to: transition.to });
    },
    vppApi(event) {
      c.vppApiTotal.inc({
        direction: event.direction,
        msg: event.msg,
        result: event.ok ? "success" : "failure",
      });
    },
    lbSync(scope, stats) {
      for (const [field, kind] of SYNC_KINDS) {
        const n = stats[field];
        if (n > 0) c.lbSyncTotal.inc({ kind, scope }, n);
      }
    },
    programmingLatency(trigger, seconds) {
      c.programming.observe({ trigger }, seconds);
    },
  };
}
