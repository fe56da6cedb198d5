/**
 * Pool failover and effective weights (spec 5): the one place that maps
 * backend states to VPP application-server weights. Pure functions over the
 * config and a {@linkcode StateSource}; used by the reconciler (desired VPP
 * state), the gRPC server and metrics (effective weights, frontend state).
 * @module
 */
import type { Backend, Frontend, PoolBackend } from "../config/types.ts";
import type { State, StateSource } from "../health/types.ts";
import { MAX_WEIGHT } from "../config/weight.ts";

import { parseIp4Into, parseIp6 } from "../../vpp/ip.ts";

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
 * An {@linkcode AsPlacement} with the backend's state, writable: one per
 * frontend, filled in per backend.
 */
interface PlacementSlot {
  poolIdx: number;
  activePool: number;
  cfgWeight: number;
  flushOnDown: boolean;
  state: State | undefined;
}

/** The frontend's slot: its active pool and flush rule; pool and backend fields to fill. */
function placementOf(frontend: Frontend, states: FrontendStates): PlacementSlot {
  return {
    poolIdx: 0,
    activePool: activePoolIndex(frontend, states),
    cfgWeight: 0,
    flushOnDown: frontend.flushOnDown,
    state: undefined,
  };
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
  placement: AsPlacement & { readonly state: State | undefined },
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
  const pools = frontend.pools;
  for (let i = 0; i < pools.length; i++) {
    const list = pools[i].backends;
    for (let j = 0; j < list.length; j++) if (list[j].name === name) return list[j].weight;
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
    const list = pools[i].backends;
    for (let j = 0; j < list.length; j++) {
      const pb = list[j];
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
 * The `up` weights, one frozen object per valid pool weight: an initial sync
 * asks for 16,000 of them and gets no object an AS.
 */
const UP_WEIGHTS: readonly AsWeight[] = Array.from(
  { length: MAX_WEIGHT + 1 },
  (_, weight) => Object.freeze({ weight, flush: false }),
);

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
        ? (UP_WEIGHTS[placement.cfgWeight] ??
          { weight: placement.cfgWeight, flush: false })
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
  const ases = new Map<string, DesiredAs>();
  // One placement a frontend, filled in per AS: no object an AS for the
  // 16,000 of an initial sync. weightOf reads it before the next fill.
  const placement = placementOf(frontend, states);
  let family: 4 | 6 | undefined;
  const pools = frontend.pools;
  for (let poolIdx = 0; poolIdx < pools.length; poolIdx++) {
    placement.poolIdx = poolIdx;
    // Indexed: a for-of allocates an iterator result a step until the loop
    // is optimized, and a fresh process plans 16,000 ASes before it is.
    const list = pools[poolIdx].backends;
    for (let j = 0; j < list.length; j++) {
      const pb = list[j];
      // A backend listed again (a later pool) finds what its first listing
      // found: the same missing backend or state, or its address taken.
      const backend = backends[pb.name];
      const state = stateOf(states, pb.name);
      if (!backend || state === undefined || state === "removed") continue;
      family ??= backend.family;
      if (ases.has(backend.address)) continue;
      placement.cfgWeight = pb.weight;
      placement.state = state;
      const w = weightOf(states, pb, placement);
      ases.set(backend.address, { weight: w.weight, flush: w.flush, backend: pb.name });
    }
  }
  // Validation keeps one backend family per frontend; without any desired
  // backend the VIP's own family is the natural choice.
  family ??= frontend.family;
  const vip = vipOf(frontend);
  return {
    frontend: frontend.name,
    prefix: vip.prefix,
    protocol: vip.protocol,
    port: vip.port,
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
  const out = new Map<string, Map<string, number>>();
  const placement = placementOf(frontend, states);
  const pools = frontend.pools;
  for (let poolIdx = 0; poolIdx < pools.length; poolIdx++) {
    placement.poolIdx = poolIdx;
    const m = new Map<string, number>();
    const list = pools[poolIdx].backends;
    for (let j = 0; j < list.length; j++) {
      const pb = list[j];
      placement.cfgWeight = pb.weight;
      placement.state = stateOf(states, pb.name);
      m.set(pb.name, weightOf(states, pb, placement).weight);
    }
    out.set(pools[poolIdx].name, m);
  }
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
    const list = pools[i].backends;
    for (let j = 0; j < list.length; j++) {
      const pb = list[j];
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
 * A sort key of one address, built once per address: IPv4 as one number
 * (no 4-byte array an address: 16,000 ASes at an initial sync), IPv6 as its
 * 16 bytes, unparsable by text.
 */
interface IpKey {
  readonly text: string;
  /** 0 IPv4, 1 IPv6, 2 unparsable: the order of the families. */
  readonly rank: 0 | 1 | 2;
  /** The IPv4 address as an unsigned 32-bit number; 0 otherwise. */
  readonly v4: number;
  /** The IPv6 bytes; undefined otherwise. */
  readonly v6: Uint8Array | undefined;
}

/** Scratch for {@linkcode ip4Number}: read at once, so one buffer serves every call. */
const IP4_SCRATCH = new Uint8Array(4);

/** The IPv4 address `text` as an unsigned 32-bit number; -1 when it is not one. */
function ip4Number(text: string): number {
  if (!parseIp4Into(text, IP4_SCRATCH, 0)) return -1;
  const b = IP4_SCRATCH;
  // Multiplication, not `<<`: the top byte would turn the number negative.
  return b[0] * 0x1000000 + ((b[1] << 16) | (b[2] << 8) | b[3]);
}

function ipKey(text: string): IpKey {
  const v4 = ip4Number(text);
  if (v4 >= 0) return { text, rank: 0, v4, v6: undefined };
  const v6 = parseIp6(text) ?? undefined;
  return { text, rank: v6 ? 1 : 2, v4: 0, v6 };
}

function compareKeys(a: IpKey, b: IpKey): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.rank === 0) return a.v4 - b.v4;
  if (a.rank === 2) return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  const x = a.v6!;
  const y = b.v6!;
  for (let i = 0; i < 16; i++) {
    const d = x[i] - y[i];
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
  return compareKeys(ipKey(a), ipKey(b));
}

/** The addresses in numeric order, IPv4 before IPv6 (`10.0.0.2` before `10.0.0.10`). */
export function sortedIpKeys(ips: Iterable<string>): string[] {
  const texts = Array.isArray(ips) ? ips as readonly string[] : Array.from(ips);
  return sortedIp4(texts) ?? sortedByKeys(texts);
}

/** Index bits of a {@linkcode sortedIp4} key: `v4 * IP4_INDEXES + index`, exact below 2^53. */
const IP4_INDEXES = 0x10000;

/** Scratch of {@linkcode sortedIp4}, grown when a list is longer. */
let ip4SortScratch = new Float64Array(64);

/**
 * The all-IPv4 case (a VIP's 16 ASes), as {@linkcode sortedByKeys} orders it:
 * each address one number, address then position (the same ties as a stable
 * sort), sorted by the typed array's numeric sort: no key object an address,
 * no comparator call. Undefined when some address is not IPv4.
 */
function sortedIp4(texts: readonly string[]): string[] | undefined {
  const n = texts.length;
  if (n >= IP4_INDEXES) return undefined;
  if (ip4SortScratch.length < n) ip4SortScratch = new Float64Array(n * 2);
  const keys = ip4SortScratch.subarray(0, n);
  for (let i = 0; i < n; i++) {
    const v4 = ip4Number(texts[i]);
    if (v4 < 0) return undefined;
    keys[i] = v4 * IP4_INDEXES + i;
  }
  keys.sort();
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = texts[keys[i] % IP4_INDEXES];
  return out;
}

/** The general order: parse once per address, not once per comparison. */
function sortedByKeys(texts: readonly string[]): string[] {
  const keys: IpKey[] = [];
  for (let i = 0; i < texts.length; i++) keys.push(ipKey(texts[i]));
  keys.sort(compareKeys);
  const out = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = keys[i].text;
  return out;
}
