/**
 * Pool failover and effective weights (spec 5): the one place that maps
 * backend states to VPP application-server weights. Pure functions over the
 * config and a {@linkcode StateSource}; used by the reconciler (desired VPP
 * state), the gRPC server and metrics (effective weights, frontend state).
 * @module
 */
import type { Backend, Frontend, PoolBackend } from "../config/types.ts";
import type { State, StateSource } from "../health/types.ts";

import { parseIp4, parseIp6 } from "../../vpp/ip.ts";

import { ENCAP_GRE4, ENCAP_GRE6, PROTO_TCP, PROTO_UDP, vipProtocol } from "../../vpp/names.ts";

/** The weight and flush asked for one application server. */
export interface AsWeight {
  readonly weight: number;
  /** Clear existing flows and sticky entries when the weight drops to 0. */
  readonly flush: boolean;
}

/** Where a backend sits relative to the active pool. */
export interface AsPlacement {
  /** Index of the pool the backend is listed in. */
  readonly poolIdx: number;
  /** Result of {@linkcode activePoolIndex}. */
  readonly activePool: number;
  /** Configured pool weight, 0..100. */
  readonly cfgWeight: number;
  /** The frontend's `flush-on-down`. */
  readonly flushOnDown: boolean;
}

/** One desired application server of a VIP. */
export interface DesiredAs extends AsWeight {
  /** The backend name it comes from. */
  readonly backend: string;
}

/** The VIP a frontend should have in VPP (spec 6.4). */
export interface DesiredVip {
  readonly frontend: string;
  /** `address/32` or `address/128`. */
  readonly prefix: string;
  /** 6 tcp, 17 udp, 255 for an all-port VIP (port 0), as VPP reports it. */
  readonly protocol: number;
  readonly port: number;
  /** lb_encap_type: GRE4 = 0 for IPv4 backends, GRE6 = 1 for IPv6 backends. */
  readonly encap: number;
  readonly srcIpSticky: boolean;
  readonly flowTableLength: number;
  /**
   * True when the length is `auto` (derived from the weights): then a VIP
   * VPP already holds with a larger table keeps it (see `vipRecreate`).
   */
  readonly flowTableLengthAuto: boolean;
  /** Keyed by backend address; iterate with {@linkcode sortedIpKeys} for VPP. */
  readonly ases: ReadonlyMap<string, DesiredAs>;
}

/**
 * The states of one frontend's backends, optionally with the weights VPP
 * holds for backends adopted at start or reload (spec 6.7, issue 16): such a
 * backend has no result yet and keeps VPP's weight until its first result.
 */
export interface FrontendStates extends StateSource {
  /** What was adopted from VPP for `backend` in this frontend; undefined when nothing. */
  adoption?(backend: string): Adoption | undefined;
}

/** What a backend's AS held in VPP when it was adopted. */
export interface Adoption {
  /** The weight VPP held. */
  readonly weight: number;
  /** The backend's pool weight in the config then: a later change is an operator's. */
  readonly cfgWeight: number;
}

/**
 * `states` with the adoptions of one frontend (backend name -> what VPP
 * held); `states` itself when nothing is adopted.
 */
export function withAdopted(
  states: StateSource,
  adopted: ReadonlyMap<string, Adoption> | undefined,
): FrontendStates {
  if (!adopted || adopted.size === 0) return states;
  return {
    backendState: (name) => states.backendState(name),
    adoption: (name) => adopted.get(name),
  };
}

function stateOf(states: StateSource, name: string): State | undefined {
  return states.backendState(name);
}

/**
 * The weight VPP held for an adopted backend; undefined when `name` is not
 * adopted. The adoption rule: only a backend without a result keeps VPP's
 * weight; its first result (or an operator action) decides from then on.
 * Disable and pause give it a state; a changed pool weight is handled in
 * the weight itself (see {@linkcode weightOf}).
 */
export function heldWeight(states: FrontendStates, name: string): number | undefined {
  return adoptionIn(states, name, stateOf(states, name))?.weight;
}

/** The adoption of a backend whose state the caller has already read. */
function adoptionIn(
  states: FrontendStates,
  name: string,
  state: State | undefined,
): Adoption | undefined {
  if (!states.adoption || state !== "unknown") return undefined;
  return states.adoption(name);
}

/**
 * The backend's weight, state and flush rule applied, adoption first. The
 * caller passes the state it has read: one lookup a backend, not two. An
 * adopted backend keeps VPP's weight, except that an operator's change of
 * its pool weight (set weight, a reload) applies at once where VPP serves
 * it: it gets what an `up` backend would, so the operator decides without a
 * drain; one VPP held at 0 stays at 0 until its first result.
 */
function weightOf(
  states: FrontendStates,
  pb: PoolBackend,
  placement: AsPlacement & { state: State | undefined },
): AsWeight {
  const state = placement.state;
  const held = adoptionIn(states, pb.name, state);
  if (held !== undefined) {
    if (held.weight > 0 && held.cfgWeight !== pb.weight) return asFromBackend("up", placement);
    return { weight: held.weight, flush: false };
  }
  return asFromBackend(state ?? "removed", placement);
}

/**
 * The pool weight `frontend`'s VIP uses for `name`: its entry in the first
 * pool that lists it (as {@linkcode desiredFromFrontend} places it);
 * undefined when no pool does.
 */
export function placedWeight(frontend: Frontend, name: string): number | undefined {
  for (const pool of frontend.pools) {
    for (const pb of pool.backends) if (pb.name === name) return pb.weight;
  }
  return undefined;
}

/**
 * The index of the first pool with a backend that is `up` and has a pool
 * weight above 0 (spec 5.1); 0 when there is none (every backend then maps
 * to weight 0 anyway).
 */
export function activePoolIndex(frontend: Frontend, states: FrontendStates): number {
  const pools = frontend.pools;
  for (let i = 0; i < pools.length; i++) {
    for (const pb of pools[i].backends) {
      if (pb.weight <= 0) continue;
      // An adopted backend VPP gives weight keeps its pool active: a restart
      // alone never fails traffic over to a standby pool.
      if (stateOf(states, pb.name) === "up" || (heldWeight(states, pb.name) ?? 0) > 0) return i;
    }
  }
  return 0;
}

const ZERO: AsWeight = Object.freeze({ weight: 0, flush: false });
const ZERO_FLUSH: AsWeight = Object.freeze({ weight: 0, flush: true });

/**
 * The truth table of spec 5.2: a backend's VPP weight and whether its drop
 * to 0 flushes.
 *
 * | state    | weight                               | flush         |
 * |----------|--------------------------------------|---------------|
 * | up       | cfgWeight in the active pool, else 0 | false         |
 * | down     | 0                                    | flushOnDown   |
 * | disabled | 0                                    | true          |
 * | unknown  | 0                                    | false         |
 * | paused   | 0                                    | false         |
 * | removed  | 0 (and not desired: the AS is deleted with flush) | true |
 */
export function asFromBackend(state: State, placement: AsPlacement): AsWeight {
  switch (state) {
    case "up":
      return placement.poolIdx === placement.activePool
        ? { weight: placement.cfgWeight, flush: false }
        : ZERO;
    case "down":
      return placement.flushOnDown ? ZERO_FLUSH : ZERO;
    case "disabled":
    case "removed":
      return ZERO_FLUSH;
    case "unknown":
    case "paused":
      return ZERO;
  }
}

/** The frontend's VIP on the wire: `address/32` or `address/128`, VPP's protocol, port. */
export function vipOf(
  frontend: Frontend,
): { readonly prefix: string; readonly protocol: number; readonly port: number } {
  return {
    prefix: `${frontend.address}/${frontend.family === 4 ? 32 : 128}`,
    protocol: vipProtocol(frontend.protocol === "tcp" ? PROTO_TCP : PROTO_UDP, frontend.port),
    port: frontend.port,
  };
}

/**
 * The VIP and application servers a frontend should have (spec 6.4).
 * Backends that are removed or unknown to `states` or absent from `backends`
 * are not desired (their ASes get deleted); disabled ones stay with weight 0.
 * A backend listed in several pools appears once: the first pool wins.
 */
export function desiredFromFrontend(
  frontend: Frontend,
  states: FrontendStates,
  backends: Readonly<Record<string, Backend>>,
): DesiredVip {
  const activePool = activePoolIndex(frontend, states);
  const ases = new Map<string, DesiredAs>();
  const seen = new Set<string>();
  let family: 4 | 6 | undefined;
  frontend.pools.forEach((pool, poolIdx) => {
    for (const pb of pool.backends) {
      if (seen.has(pb.name)) continue;
      seen.add(pb.name);
      const backend = backends[pb.name];
      const state = stateOf(states, pb.name);
      if (!backend || state === undefined || state === "removed") continue;
      family ??= backend.family;
      if (ases.has(backend.address)) continue;
      const w = weightOf(states, pb, {
        poolIdx,
        activePool,
        cfgWeight: pb.weight,
        flushOnDown: frontend.flushOnDown,
        state,
      });
      ases.set(backend.address, { weight: w.weight, flush: w.flush, backend: pb.name });
    }
  });
  // Validation keeps one backend family per frontend; without any desired
  // backend the VIP's own family is the natural choice.
  family ??= frontend.family;
  return {
    frontend: frontend.name,
    ...vipOf(frontend),
    encap: family === 4 ? ENCAP_GRE4 : ENCAP_GRE6,
    srcIpSticky: frontend.srcIpSticky,
    flowTableLength: frontend.flowTableLength,
    flowTableLengthAuto: frontend.flowTableLengthAuto,
    ases,
  };
}

/**
 * Pool name → backend name → effective weight (spec 5.2), for
 * `PoolBackendInfo.effective_weight` and metrics; works without VPP.
 * Backends unknown to `states` count as weight 0.
 */
export function effectiveWeights(
  frontend: Frontend,
  states: FrontendStates,
): Map<string, Map<string, number>> {
  const activePool = activePoolIndex(frontend, states);
  const out = new Map<string, Map<string, number>>();
  frontend.pools.forEach((pool, poolIdx) => {
    const m = new Map<string, number>();
    for (const pb of pool.backends) {
      m.set(
        pb.name,
        weightOf(states, pb, {
          poolIdx,
          activePool,
          cfgWeight: pb.weight,
          flushOnDown: frontend.flushOnDown,
          state: stateOf(states, pb.name),
        }).weight,
      );
    }
    out.set(pool.name, m);
  });
  return out;
}

/** Frontend aggregate states (spec 3.1). */
export type FrontendAggregate = "unknown" | "up" | "down";

/**
 * Spec 3.1: `up` when some backend has a non-zero effective weight,
 * `unknown` when every backend is unknown (or there are none), else `down`.
 */
export function frontendState(frontend: Frontend, states: StateSource): FrontendAggregate {
  const activePool = activePoolIndex(frontend, states);
  let allUnknown = true;
  const pools = frontend.pools;
  for (let i = 0; i < pools.length; i++) {
    for (const pb of pools[i].backends) {
      const state = stateOf(states, pb.name) ?? "unknown";
      if (state !== "unknown") allUnknown = false;
      // The active pool has an up backend with weight > 0 exactly when the
      // frontend serves; checked here without building the weight maps.
      if (i === activePool && state === "up" && pb.weight > 0) return "up";
    }
  }
  return allUnknown ? "unknown" : "down";
}

/**
 * The address bytes with its family (4 for IPv4, 16 for IPv6); undefined if
 * invalid. Addresses of one family compare byte by byte, so IPv4 needs no
 * 16-byte form (nor a second parse).
 */
function ipBytes(ip: string): { v6: boolean; bytes: Uint8Array } | undefined {
  const v4 = parseIp4(ip);
  if (v4) return { v6: false, bytes: v4 };
  const v6 = parseIp6(ip);
  return v6 ? { v6: true, bytes: v6 } : undefined;
}

/** A sort key: family rank, then the 16 address bytes; unparsable last. */
interface IpKey {
  readonly text: string;
  readonly parsed: { v6: boolean; bytes: Uint8Array } | undefined;
}

function compareKeys(a: IpKey, b: IpKey): number {
  const pa = a.parsed;
  const pb = b.parsed;
  if (!pa || !pb) {
    if (pa) return -1;
    if (pb) return 1;
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }
  if (pa.v6 !== pb.v6) return pa.v6 ? 1 : -1;
  for (let i = 0; i < pa.bytes.length; i++) {
    const d = pa.bytes[i] - pb.bytes[i];
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Compares two IP addresses numerically, IPv4 before IPv6 (spec 6.5), so
 * that two daemons add ASes to VPP in the same order. Unparsable strings
 * sort last, by text.
 */
export function compareIps(a: string, b: string): number {
  return compareKeys({ text: a, parsed: ipBytes(a) }, { text: b, parsed: ipBytes(b) });
}

/** The addresses in numeric order, IPv4 before IPv6 (`10.0.0.2` before `10.0.0.10`). */
export function sortedIpKeys(ips: Iterable<string>): string[] {
  // Parse once per address, not once per comparison.
  const keys: IpKey[] = [];
  for (const text of ips) keys.push({ text, parsed: ipBytes(text) });
  return keys.sort(compareKeys).map((k) => k.text);
}
