/**
 * The diff between what VPP has and what we want, as an ordered list of lb
 * operations (spec 6.5 and 0.3). Pure: the sync code sends what this returns.
 * @module
 */
import { type DesiredVip, sortedIpKeys } from "../weights/mod.ts";
import { encapName } from "../../vpp/names.ts";

export type { DesiredAs, DesiredVip } from "../weights/mod.ts";

/** One live AS (used flag set) as VPP has it. */
export interface CurrentAs {
  readonly weight: number;
}

/**
 * The `CurrentAs` of each weight VPP can hold (a u8), shared: the mirror of
 * an initial sync holds 16,000 ASes and gets no object an AS.
 */
const CURRENT_AS: readonly CurrentAs[] = Array.from(
  { length: 256 },
  (_, weight) => Object.freeze({ weight }),
);

/** The (shared, frozen) `CurrentAs` of an AS VPP holds at `weight`. */
export function currentAs(weight: number): CurrentAs {
  return CURRENT_AS[weight] ?? { weight };
}

/** One VIP as VPP has it. */
export interface CurrentVip {
  readonly prefix: string;
  readonly protocol: number;
  readonly port: number;
  readonly encap: number;
  /** Undefined when VPP could not tell us (no `show lb vips verbose`). */
  readonly srcIpSticky?: boolean;
  readonly flowTableLength: number;
  readonly ases: ReadonlyMap<string, CurrentAs>;
}

/** The identity of a VIP on the wire. */
export interface VipId {
  readonly prefix: string;
  readonly protocol: number;
  readonly port: number;
}

/** One lb plugin call, with the names the mutation logs need. */
export type LbOp =
  | {
    readonly op: "vip-add";
    readonly vip: VipId;
    readonly frontend: string;
    readonly encap: number;
    readonly srcIpSticky: boolean;
    readonly flowTableLength: number;
  }
  | { readonly op: "vip-del"; readonly vip: VipId; readonly frontend: string }
  | {
    readonly op: "as-add";
    readonly vip: VipId;
    readonly frontend: string;
    readonly backend: string;
    readonly address: string;
    readonly weight: number;
  }
  | {
    readonly op: "as-del";
    readonly vip: VipId;
    readonly frontend: string;
    readonly backend: string;
    readonly address: string;
    readonly flush: boolean;
  }
  | {
    readonly op: "as-weight";
    readonly vip: VipId;
    readonly frontend: string;
    readonly backend: string;
    readonly address: string;
    readonly weight: number;
    readonly flush: boolean;
  };

/** Why a VIP must be deleted and created again. */
export interface Recreate {
  readonly reason: string;
  /**
   * True when no VIP setting changed and only the weights asked for it (an
   * `auto` table that must grow): the operator did not ask for the flows to
   * break, so it is worth a warning.
   */
  readonly byWeights: boolean;
}

/**
 * Whether VPP's copy of a VIP must be deleted and created again (it drops
 * every established and sticky flow of the VIP), and why; undefined when the
 * VIP can be updated in place.
 *
 * An `auto` table length follows the weights, so a weight-only reload could
 * move it across a power of two. A table at least as long as the weights
 * need never flattens them, so it is kept; only a table too short for the
 * weights is recreated. An explicit length is the operator's: any change
 * recreates.
 */
export function vipRecreate(cur: CurrentVip, desired: DesiredVip): Recreate | undefined {
  if (cur.encap !== desired.encap) {
    return {
      reason: `encap ${encapName(cur.encap)} -> ${encapName(desired.encap)}`,
      byWeights: false,
    };
  }
  if (cur.srcIpSticky !== undefined && cur.srcIpSticky !== desired.srcIpSticky) {
    return {
      reason: `src-ip-sticky ${cur.srcIpSticky} -> ${desired.srcIpSticky}`,
      byWeights: false,
    };
  }
  const from = cur.flowTableLength;
  const to = desired.flowTableLength;
  if (keptFlowTableLength(from, desired) === from) return undefined;
  if (desired.flowTableLengthAuto) {
    return {
      reason: `flow-table-length ${from} -> ${to} (auto: the weights need the larger table, ` +
        `a ${from}-bucket table would flatten them)`,
      byWeights: true,
    };
  }
  return { reason: `flow-table-length ${from} -> ${to}`, byWeights: false };
}

/**
 * The flow-table length VPP holds for `desired` once it is synced, given the
 * length `held` VPP holds now (undefined: VPP has no such VIP). The owner of
 * the keep rule of {@linkcode vipRecreate}: an `auto` table at least as long
 * as the weights need is kept, anything else takes the desired length.
 * Whatever tells what VPP hashes with (the fingerprint, the table length
 * shown, a preview) asks this, not the config.
 */
export function keptFlowTableLength(
  held: number | undefined,
  desired: Pick<DesiredVip, "flowTableLength" | "flowTableLengthAuto">,
): number {
  if (held === undefined) return desired.flowTableLength;
  return desired.flowTableLengthAuto && held >= desired.flowTableLength
    ? held
    : desired.flowTableLength;
}

/** `desired` with the table length VPP keeps for it (see {@linkcode keptFlowTableLength}). */
export function asProgrammed(desired: DesiredVip, held: number | undefined): DesiredVip {
  const flowTableLength = keptFlowTableLength(held, desired);
  return flowTableLength === desired.flowTableLength ? desired : { ...desired, flowTableLength };
}

/** The reason of {@linkcode vipRecreate}, or "" when the VIP is kept. */
export function recreateReason(cur: CurrentVip, desired: DesiredVip): string {
  return vipRecreate(cur, desired)?.reason ?? "";
}

/** Options of `planVip`. */
export interface PlanOptions {
  /**
   * Whether the latest transition of the backend at `address` still owes its
   * flush: then it is flushed even when its weight is already 0 (spec 5.3).
   * The caller's ledger makes that once per transition.
   */
  readonly flushDue?: (address: string) => boolean;
  /** An operator-requested flush for one address (`set ... weight N flush`). */
  readonly forceFlush?: string;
  /**
   * The list the calls are appended to (and returned); a new one when
   * absent. A full sync plans its 1,000 VIPs into one list, not a list a VIP.
   */
  readonly into?: LbOp[];
}

function vipId(v: VipId): VipId {
  return { prefix: v.prefix, protocol: v.protocol, port: v.port };
}

/** Appends to `ops` the calls that create `desired`: the VIP, then its ASes in address order. */
function createOps(desired: DesiredVip, ops: LbOp[]): LbOp[] {
  const vip = vipId(desired);
  ops.push({
    op: "vip-add",
    vip,
    frontend: desired.frontend,
    encap: desired.encap,
    srcIpSticky: desired.srcIpSticky,
    flowTableLength: desired.flowTableLength,
  });
  const addresses = sortedIpKeys(desired.ases.keys());
  // Indexed: a for-of allocates an iterator result a step until optimized.
  for (let i = 0; i < addresses.length; i++) {
    const address = addresses[i];
    const d = desired.ases.get(address)!;
    ops.push({
      op: "as-add",
      vip,
      frontend: desired.frontend,
      backend: d.backend,
      address,
      weight: d.weight,
    });
  }
  return ops;
}

/** Operations that delete a VIP: its ASes first (with flush), then the VIP. */
export function planRemoveVip(
  cur: CurrentVip,
  options: { frontend?: string; backendOf?: (address: string) => string } = {},
): LbOp[] {
  const vip = vipId(cur);
  const frontend = options.frontend ?? "";
  const ops: LbOp[] = sortedIpKeys(cur.ases.keys()).map((address) => ({
    op: "as-del",
    vip,
    frontend,
    backend: options.backendOf?.(address) ?? "",
    address,
    flush: true,
  }));
  ops.push({ op: "vip-del", vip, frontend });
  return ops;
}

/**
 * Operations that turn `cur` (undefined = absent) into `desired`, AS calls in
 * numeric address order so that every instance builds the same table.
 */
export function planVip(
  cur: CurrentVip | undefined,
  desired: DesiredVip,
  options: PlanOptions = {},
): LbOp[] {
  const ops = options.into ?? [];
  if (!cur) return createOps(desired, ops);
  if (recreateReason(cur, desired)) {
    const backendOf = (a: string) => desired.ases.get(a)?.backend ?? "";
    for (const op of planRemoveVip(cur, { frontend: desired.frontend, backendOf })) ops.push(op);
    return createOps(desired, ops);
  }
  // Find what differs first and sort only that: a periodic sync of 1,000
  // VIPs where nothing changed then parses and sorts no address at all.
  // forEach, not for-of: Map iteration builds an entry and a result a step
  // under the daemon's V8 flags, and a periodic sync walks 16,000 ASes.
  const changed: string[] = [];
  cur.ases.forEach((_, address) => {
    if (!desired.ases.has(address)) changed.push(address);
  });
  desired.ases.forEach((d, address) => {
    const c = cur.ases.get(address);
    if (!c || c.weight !== d.weight || options.forceFlush === address || d.weight === 0) {
      changed.push(address);
    }
  });
  const vip = vipId(desired);
  const sorted = sortedIpKeys(changed);
  for (let i = 0; i < sorted.length; i++) {
    const address = sorted[i];
    const op = asOp(vip, desired, cur.ases.get(address), address, options);
    if (op) ops.push(op);
  }
  return ops;
}

/** The call that brings one AS from `c` (undefined = absent) to what `desired` wants. */
function asOp(
  vip: VipId,
  desired: DesiredVip,
  c: CurrentAs | undefined,
  address: string,
  options: PlanOptions,
): LbOp | undefined {
  const d = desired.ases.get(address);
  const frontend = desired.frontend;
  if (!d) return { op: "as-del", vip, frontend, backend: "", address, flush: true };
  if (!c) return { op: "as-add", vip, frontend, backend: d.backend, address, weight: d.weight };
  const forced = options.forceFlush === address;
  // A flush belongs to the transition that asked for it: when the weight
  // drops to 0 now, or when that transition has not been flushed for yet.
  const flush = forced ||
    (d.flush && d.weight === 0 && (c.weight > 0 || (options.flushDue?.(address) ?? false)));
  if (c.weight === d.weight && !flush) return undefined;
  return { op: "as-weight", vip, frontend, backend: d.backend, address, weight: d.weight, flush };
}
