/**
 * Executes a plan against VPP: every call of one sync is sent at once
 * (pipelined; VPP answers a client's requests in order), results are logged
 * with the spec's mutation event names, and the mirror of VPP's state is kept
 * in step with what VPP accepted.
 * @module
 */
import { log } from "../log/mod.ts";
import type { SyncStats } from "./types.ts";
import type { LbClient } from "./lb_state.ts";
import { type CurrentAs, currentAs, type CurrentVip, type LbOp, type VipId } from "./plan.ts";
import { vipKey } from "./lb_state.ts";
import { encapName, protocolName, type VppRequestQueue } from "../../vpp/mod.ts";

/** A fresh zero `SyncStats`. */
export function emptyStats(): SyncStats {
  return { vipAdded: 0, vipRemoved: 0, asAdded: 0, asRemoved: 0, asWeightUpdated: 0 };
}

/** Adds `b` into `a`. */
export function addStats(a: SyncStats, b: SyncStats): void {
  a.vipAdded += b.vipAdded;
  a.vipRemoved += b.vipRemoved;
  a.asAdded += b.asAdded;
  a.asRemoved += b.asRemoved;
  a.asWeightUpdated += b.asWeightUpdated;
}

/** True when nothing was written. */
export function isEmptyStats(s: SyncStats): boolean {
  return s.vipAdded + s.vipRemoved + s.asAdded + s.asRemoved + s.asWeightUpdated === 0;
}

/** What VPP is believed to have, updated by each accepted call. */
export type Mirror = Map<string, CurrentVip>;

/** Outcome of executing a plan. */
export interface ExecResult {
  readonly stats: SyncStats;
  /** Failed calls (their error messages carry the VNET error name). */
  readonly errors: readonly { op: LbOp; error: Error }[];
  /** The calls VPP accepted, in plan order. */
  readonly accepted: readonly LbOp[];
}

function vipText(v: VipId): string {
  return `${v.prefix} ${protocolName(v.protocol)}/${v.port}`;
}

/**
 * Queues the one lb plugin call `op` stands for into a batch. Each request
 * is one literal (no spread of a shared VIP part): 17,000 of them in an
 * initial sync.
 */
function send(client: VppRequestQueue, op: LbOp): void {
  const v = op.vip;
  switch (op.op) {
    case "vip-add":
      return client.request("lb_add_del_vip_v2", {
        pfx: v.prefix,
        protocol: v.protocol,
        port: v.port,
        encap: op.encap,
        new_flows_table_length: op.flowTableLength,
        src_ip_sticky: op.srcIpSticky,
        is_del: false,
      });
    case "vip-del":
      // The length is ignored on delete, but 0 would be refused by the client.
      return client.request("lb_add_del_vip_v2", {
        pfx: v.prefix,
        protocol: v.protocol,
        port: v.port,
        new_flows_table_length: 1024,
        is_del: true,
      });
    case "as-add":
      return client.request("lb_add_del_as_v2", {
        pfx: v.prefix,
        protocol: v.protocol,
        port: v.port,
        as_address: op.address,
        weight: op.weight,
        is_del: false,
        is_flush: false,
      });
    case "as-del":
      return client.request("lb_add_del_as_v2", {
        pfx: v.prefix,
        protocol: v.protocol,
        port: v.port,
        as_address: op.address,
        weight: 0,
        is_del: true,
        is_flush: op.flush,
      });
    case "as-weight":
      return client.request("lb_as_set_weight", {
        pfx: v.prefix,
        protocol: v.protocol,
        port: v.port,
        as_address: op.address,
        weight: op.weight,
        is_flush: op.flush,
      });
  }
}

function applyToMirror(mirror: Mirror, op: LbOp, key: string): void {
  const cur = mirror.get(key);
  switch (op.op) {
    case "vip-add":
      mirror.set(key, {
        prefix: op.vip.prefix,
        protocol: op.vip.protocol,
        port: op.vip.port,
        encap: op.encap,
        srcIpSticky: op.srcIpSticky,
        flowTableLength: op.flowTableLength,
        ases: new Map(),
      });
      return;
    case "vip-del":
      mirror.delete(key);
      return;
    case "as-add":
    case "as-weight":
      if (cur) (cur.ases as Map<string, CurrentAs>).set(op.address, currentAs(op.weight));
      return;
    case "as-del":
      if (cur) (cur.ases as Map<string, CurrentAs>).delete(op.address);
      return;
  }
}

function logOp(op: LbOp, vip: string): void {
  switch (op.op) {
    case "vip-add":
      log.info("vpp-lb-vip-add", {
        frontend: op.frontend,
        vip,
        encap: encapName(op.encap),
        "src-ip-sticky": op.srcIpSticky,
        "flow-table-length": op.flowTableLength,
      });
      return;
    case "vip-del":
      log.info("vpp-lb-vip-del", { frontend: op.frontend, vip });
      return;
    case "as-add":
      log.info("vpp-lb-as-add", {
        frontend: op.frontend,
        vip,
        backend: op.backend,
        address: op.address,
        weight: op.weight,
        flush: false,
      });
      return;
    case "as-del":
      log.info("vpp-lb-as-del", {
        frontend: op.frontend,
        vip,
        backend: op.backend,
        address: op.address,
        weight: 0,
        flush: op.flush,
      });
      return;
    case "as-weight":
      log.info("vpp-lb-as-weight", {
        frontend: op.frontend,
        vip,
        backend: op.backend,
        address: op.address,
        weight: op.weight,
        flush: op.flush,
      });
      return;
  }
}

function count(stats: SyncStats, op: LbOp): void {
  if (op.op === "vip-add") stats.vipAdded++;
  else if (op.op === "vip-del") stats.vipRemoved++;
  else if (op.op === "as-add") stats.asAdded++;
  else if (op.op === "as-del") stats.asRemoved++;
  else stats.asWeightUpdated++;
}

/**
 * Calls in flight at once. Enough to keep VPP busy without a round trip per
 * call, few enough that a slow VPP answers each within the per-request
 * timeout (which starts when the request is sent).
 */
export const PIPELINE_WINDOW = 256;

/** Sends every call of `ops` pipelined (`PIPELINE_WINDOW` in flight) and waits for all replies. */
export async function executePlan(
  client: LbClient,
  ops: readonly LbOp[],
  { mirror }: { readonly mirror: Mirror },
): Promise<ExecResult> {
  // In op order, so VPP (which answers in order) sees the plan's order; the
  // replies carry nothing a plan needs: an error or nothing per call.
  const failures = await client.requestEach(ops, send, { window: PIPELINE_WINDOW });
  const s: Settling = { ops, failures, mirror, stats: emptyStats(), errors: [] };
  for (let i = 0; i < ops.length;) i = settleVip(s, i);
  // Without a refusal (the rule) the plan is what VPP accepted: no copy of 17,000 calls.
  const accepted = s.errors.length === 0 ? ops : ops.filter((_, i) => failures[i] === undefined);
  return { stats: s.stats, errors: s.errors, accepted };
}

/** What `executePlan` gathers while it settles the replies. */
interface Settling {
  readonly ops: readonly LbOp[];
  readonly failures: readonly (Error | undefined)[];
  readonly mirror: Mirror;
  readonly stats: SyncStats;
  readonly errors: { op: LbOp; error: Error }[];
}

/**
 * Settles, in op order, the calls from `start` on that share its `vip`
 * object (the planner makes one per VIP, so its key and text are built once
 * a VIP): the mirror, log line and stats of each accepted call, the error of
 * each refused one. Returns the index after them. A call a VIP, not one loop
 * over 17,000 calls: a fresh process compiles this function once and runs
 * the compiled code for the VIPs left, where the long loop was compiled on
 * the stack (OSR) only as it ended.
 */
function settleVip(s: Settling, start: number): number {
  const ops = s.ops;
  const vip = ops[start].vip;
  const key = vipKey(vip.prefix, vip);
  const text = vipText(vip);
  let i = start;
  for (; i < ops.length && ops[i].vip === vip; i++) {
    const op = ops[i];
    const error = s.failures[i];
    if (error === undefined) {
      applyToMirror(s.mirror, op, key);
      logOp(op, text);
      count(s.stats, op);
    } else {
      s.errors.push({ op, error });
      log.warn("vpp-lbsync-error", {
        frontend: op.frontend,
        vip: text,
        op: op.op,
        address: "address" in op ? op.address : undefined,
        err: error.message,
      });
    }
  }
  return i;
}
