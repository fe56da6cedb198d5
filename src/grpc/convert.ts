/**
 * Conversions from the daemon's views (config, checker snapshots, VPP views,
 * events) to the API's messages. Pure functions: one place per mapping.
 * @module
 */
import type {
  BackendInfo,
  Event,
  FrontendInfo,
  HealthCheckInfo,
  LogAttr,
  ProbeRecord as PbProbeRecord,
  SyncVPPLBStateResponse,
  Transition as PbTransition,
  VPPInfo,
  VPPLBCounters,
  VPPLBState,
} from "../../proto/maglev_pb.ts";
import type { Frontend, HealthCheck } from "../config/types.ts";
import type { ProbeRecord, State, Transition } from "../health/types.ts";
import type { BackendSnapshot, FrontendState, MaglevEvent } from "../checker/types.ts";
import type { LbStateView, SyncStats, VipCounters, VppInfo } from "../reconciler/types.ts";
import type { Buffer } from "node:buffer";
import { encodeEvent } from "./proto.ts";
import { encapName, protocolName } from "../../vpp/names.ts";
import { type FrontendStates, heldWeight } from "../weights/mod.ts";

/** Unix (or duration) milliseconds as int64 nanoseconds in decimal. */
export function msToNs(ms: number): string {
  if (!Number.isFinite(ms) || ms === 0) return "0";
  // Sub-millisecond parts (durations from performance.now) survive as µs.
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

// The names of VPP's numbers are owned by the generated enums.
export { encapName, protocolName };

/** A health-package transition as the API's message. */
export function transitionInfo(t: Transition): PbTransition {
  return { from: t.from, to: t.to, at_ns: msToNs(t.atMs), code: t.code, detail: t.detail };
}

function probeInfo(p: ProbeRecord): PbProbeRecord {
  return {
    at_ns: msToNs(p.atMs),
    ok: p.ok,
    code: p.code,
    detail: p.detail,
    duration_ns: msToNs(p.durationMs),
  };
}

/** A checker snapshot as `BackendInfo`. */
export function backendInfo(b: BackendSnapshot): BackendInfo {
  return {
    name: b.name,
    address: b.address,
    state: b.state,
    enabled: b.enabled,
    healthcheck: b.healthcheck,
    health: b.health,
    health_max: b.healthMax,
    description: b.description,
    transitions: b.transitions.map(transitionInfo),
    probes: b.probes.map(probeInfo),
  };
}

/** What `frontendInfo` needs besides the frontend itself. */
export interface FrontendFacts {
  /** Pool name -> backend name -> effective weight. */
  effective: ReadonlyMap<string, ReadonlyMap<string, number>>;
  state: FrontendState;
  /** With the weights adopted from VPP (`servedStates`), for the `adopted` flag. */
  states: FrontendStates;
  /** Runtime enabled flag of a backend. */
  enabled(backend: string): boolean;
  /** Address of a backend, empty when unknown. */
  address(backend: string): string;
  /** Why VPP does not hold what the frontend wants; empty when it does. */
  vppSyncError?: string;
}

/**
 * A frontend with configured and effective weights. The active pool is the
 * one whose backends get traffic: the first with an effective weight > 0
 * (spec 5.1 gives weight only to the active pool).
 */
export function frontendInfo(fe: Frontend, facts: FrontendFacts): FrontendInfo {
  let activePool = "";
  const pools = fe.pools.map((pool) => {
    const eff = facts.effective.get(pool.name);
    return {
      name: pool.name,
      backends: pool.backends.map((pb) => {
        const effective = eff?.get(pb.name) ?? 0;
        if (effective > 0 && activePool === "") activePool = pool.name;
        const state: State = facts.states.backendState(pb.name) ?? "unknown";
        return {
          name: pb.name,
          weight: pb.weight,
          effective_weight: effective,
          enabled: facts.enabled(pb.name),
          state,
          address: facts.address(pb.name),
          adopted: heldWeight(facts.states, pb.name) !== undefined,
        };
      }),
    };
  });
  return {
    name: fe.name,
    address: fe.address,
    protocol: fe.protocol,
    port: fe.port,
    pools,
    description: fe.description,
    src_ip_sticky: fe.srcIpSticky,
    flush_on_down: fe.flushOnDown,
    state: facts.state,
    flow_table_length: fe.flowTableLength,
    flow_table_length_auto: fe.flowTableLengthAuto,
    active_pool: activePool,
    fingerprint: "",
    warning: "",
    vpp_sync_error: facts.vppSyncError ?? "",
  };
}

/** A configured health check as `HealthCheckInfo`. */
export function healthCheckInfo(hc: HealthCheck): HealthCheckInfo {
  return {
    name: hc.name,
    type: hc.type,
    port: hc.port,
    interval_ns: msToNs(hc.intervalMs),
    fast_interval_ns: msToNs(hc.fastIntervalMs),
    down_interval_ns: msToNs(hc.downIntervalMs),
    timeout_ns: msToNs(hc.timeoutMs),
    rise: hc.rise,
    fall: hc.fall,
    probe_ipv4_src: hc.probeIpv4Src,
    probe_ipv6_src: hc.probeIpv6Src,
    http: hc.http
      ? {
        path: hc.http.path,
        host: hc.http.host,
        response_code_min: hc.http.responseCodeMin,
        response_code_max: hc.http.responseCodeMax,
        response_regexp: hc.http.responseRegexp,
        server_name: hc.http.serverName,
        insecure_skip_verify: hc.http.insecureSkipVerify,
      }
      : null,
    tcp: hc.tcp
      ? {
        ssl: hc.tcp.ssl,
        server_name: hc.tcp.serverName,
        insecure_skip_verify: hc.tcp.insecureSkipVerify,
      }
      : null,
  };
}

/** Connected-VPP facts as `VPPInfo`. */
export function vppInfo(info: VppInfo, missing: readonly string[]): VPPInfo {
  return {
    version: info.version,
    build_date: info.buildDate,
    build_directory: info.buildDirectory,
    pid: info.pid,
    boottime_ns: msToNs(info.bootTimeMs),
    connecttime_ns: msToNs(info.connectedAtMs),
    missing_messages: [...missing],
  };
}

/** The lb plugin's state as `VPPLBState`. */
export function lbState(view: LbStateView): VPPLBState {
  return {
    ip4_src_address: view.ip4SrcAddress,
    ip6_src_address: view.ip6SrcAddress,
    sticky_buckets_per_core: view.stickyBucketsPerCore,
    flow_timeout: view.flowTimeout,
    vips: view.vips.map((v) => ({
      prefix: v.prefix,
      protocol: protocolName(v.protocol),
      port: v.port,
      encap: encapName(v.encap),
      src_ip_sticky: v.srcIpSticky,
      flow_table_length: v.flowTableLength,
      index: v.index,
      frontend: v.frontend,
      application_servers: v.ases.map((a) => ({
        address: a.address,
        weight: a.weight,
        flags: a.flags,
        in_use_since: a.inUseSince,
        buckets: a.buckets,
      })),
    })),
  };
}

/** Sync counts as `SyncVPPLBStateResponse`. */
export function syncResponse(stats: SyncStats): SyncVPPLBStateResponse {
  return {
    vip_added: stats.vipAdded,
    vip_removed: stats.vipRemoved,
    as_added: stats.asAdded,
    as_removed: stats.asRemoved,
    as_weight_updated: stats.asWeightUpdated,
  };
}

/** Counter snapshots as `VPPLBCounters`. */
export function lbCounters(counters: readonly VipCounters[]): VPPLBCounters {
  return {
    vips: counters.map((c) => ({
      frontend: c.frontend,
      prefix: c.prefix,
      protocol: protocolName(c.protocol),
      port: c.port,
      next: String(c.next),
      first: String(c.first),
      untracked: String(c.untracked),
      no_server: String(c.noServer),
    })),
  };
}

function attrText(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return value;
  return String(value);
}

/** A bus event as the API's `Event`; `nowMs` stamps events without a time. */
export function eventMessage(ev: MaglevEvent, nowMs: number): Event {
  const seq = String(ev.seq);
  switch (ev.kind) {
    case "backend":
      return {
        seq,
        at_ns: msToNs(ev.transition.atMs),
        event: "backend",
        backend: {
          frontend: ev.frontend,
          backend: ev.backend,
          address: ev.address,
          transition: transitionInfo(ev.transition),
        },
      };
    case "frontend":
      return {
        seq,
        at_ns: msToNs(ev.atMs),
        event: "frontend",
        frontend: { frontend: ev.frontend, from: ev.from, to: ev.to },
      };
    case "log": {
      const attrs: LogAttr[] = [];
      for (const [key, value] of Object.entries(ev.attrs)) {
        if (value !== undefined) attrs.push({ key, value: attrText(value) });
      }
      return {
        seq,
        at_ns: msToNs(ev.atMs),
        event: "log",
        log: { level: ev.level, msg: ev.msg, attrs },
      };
    }
    case "resync":
      return { seq, at_ns: msToNs(nowMs), event: "resync", resync: { reason: ev.reason } };
  }
}

/**
 * Encoded `Event` bytes per bus event: the bus hands the same event object
 * to every subscriber, so fanning one event out to N subscribers encodes it
 * once. Keyed weakly: an entry lives as long as the bus keeps the event.
 */
const ENCODED = new WeakMap<MaglevEvent, Buffer>();

/**
 * `eventMessage(ev, nowMs)` encoded as protobuf, cached per event object.
 * Resync notices carry the time they are sent, so they are never cached.
 */
export function encodedEvent(ev: MaglevEvent, nowMs: number): Buffer {
  if (ev.kind === "resync") return encodeEvent(eventMessage(ev, nowMs));
  let bytes = ENCODED.get(ev);
  if (bytes === undefined) {
    bytes = encodeEvent(eventMessage(ev, nowMs));
    ENCODED.set(ev, bytes);
  }
  return bytes;
}
