/**
 * The sync engine: the one writer to VPP. Every write (a full sync, a
 * per-VIP sync, `lb_conf`) runs through one queue, so a full sync and a
 * per-VIP sync never overlap, and every plan goes through one
 * execute-and-repair path. It also owns the mirror of VPP's lb state, the
 * flush ledger (a flush at most once per transition that asks for it), the
 * weights adopted from VPP (at start, reload and reconnect), and the
 * per-frontend sync errors.
 * @module
 */
import type { CheckerApi } from "../checker/types.ts";
import type { Frontend } from "../config/types.ts";
import { errorMessage, MaglevError } from "../errors.ts";
import { log } from "../log/mod.ts";
import { type LbConfRequest, VppClosedError, VppTimeoutError } from "../../vpp/mod.ts";
import {
  type Adoption,
  desiredFromFrontend,
  placedWeight,
  vipOf,
  withAdopted,
} from "../weights/mod.ts";
import { ownValue } from "../checker/lookup.ts";
import { type LbClient, type LbState, readLbState, vipKey } from "./lb_state.ts";
import { type DesiredVip, type LbOp, planRemoveVip, planVip, vipRecreate } from "./plan.ts";
import { addStats, emptyStats, executePlan, type Mirror } from "./sync.ts";
import type { SyncStats } from "./types.ts";
import { protocolName } from "../../vpp/names.ts";

/** Where the engine reports what it did (metrics). */
export type SyncObserver = (scope: "all" | "vip", stats: SyncStats) => void;

/** The session the engine writes to; throws `MaglevError("UNAVAILABLE")` when there is none. */
export type SessionSource = () => LbClient;

/** Options of `SyncEngine`. */
export interface SyncEngineOptions {
  readonly checker: CheckerApi;
  readonly session: SessionSource;
  readonly onSync?: SyncObserver;
  /** A second session for the CLI text of a state read; undefined when there is none. */
  readonly textSession?: () => Promise<LbClient | undefined>;
}

/** True for errors that mean VPP is gone or not answering, not that it refused. */
export function isConnectionError(e: unknown): boolean {
  return e instanceof VppClosedError || e instanceof VppTimeoutError;
}

/** `e` as the API should see it: a lost or silent VPP is UNAVAILABLE. */
export function asApiError(e: unknown): unknown {
  if (isConnectionError(e)) {
    return new MaglevError("UNAVAILABLE", `VPP did not answer: ${errorMessage(e)}`);
  }
  return e;
}

/** An AS adopted from VPP at start. */
interface Adopted extends Adoption {
  readonly backend: string;
}

/** What `adoptedWeights` gives for a frontend with nothing adopted: no map a frontend a sync. */
const NONE_ADOPTED: ReadonlyMap<string, Adoption> = new Map();

function asKey(frontend: string, address: string): string {
  return `${frontend}|${address}`;
}

/** The one writer: see the module doc. */
export class SyncEngine {
  readonly #o: SyncEngineOptions;
  #queue: Promise<unknown> = Promise.resolve();
  #mirror: Mirror = new Map();
  #mirrorValid = false;
  /** frontend|address -> the transition time a flush was last accepted for. */
  readonly #flushed = new Map<string, number>();
  /** frontend -> address -> what VPP held at start, while the backend has no result. */
  readonly #adopted = new Map<string, Map<string, Adopted>>();
  #adoptedOnce = false;
  readonly #errors = new Map<string, string>();
  #queuedAll: Promise<SyncStats> | undefined;
  /** Per out-of-queue read, until its sync starts in the queue: the VIP keys written since it began. */
  readonly #reads = new Set<Set<string>>();
  /** The plan being executed now; its VIP keys are built only when a read needs them. */
  #running: readonly LbOp[] = [];

  constructor(options: SyncEngineOptions) {
    this.#o = options;
  }

  /** Runs `job` once every write queued before it has finished. */
  enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The connection is gone: the next write reads VPP again. */
  invalidate(): void {
    this.#mirrorValid = false;
  }

  /** Per-frontend: why VPP does not hold what we want (empty map when it does). */
  syncErrors(): ReadonlyMap<string, string> {
    return this.#errors;
  }

  /** The table length of `frontend`'s VIP in the mirror of VPP; undefined when VPP holds none. */
  heldTableLength(frontend: string): number | undefined {
    const fe = ownValue(this.#o.checker.config().frontends, frontend);
    return fe ? this.#mirror.get(this.#vipKeyOf(fe))?.flowTableLength : undefined;
  }

  /**
   * Takes VPP's state as read at connect. Every AS of a configured frontend
   * whose backend has no result yet is adopted: it keeps VPP's weight until
   * that backend's first result decides. On a reconnect an adoption stands
   * while VPP holds its weight or what the engine wrote since; where VPP
   * holds something else (changed on its own CLI, or a restarted VPP) the
   * engine adopts that, as at start, so a backend without a result is never
   * written by a reconnect either.
   */
  connected(state: LbState): void {
    this.#mirror = new Map(state.vips);
    this.#mirrorValid = true;
    const cfg = this.#o.checker.config();
    if (this.#adoptedOnce) {
      for (const [name, held] of this.#adopted) {
        const fe = ownValue(cfg.frontends, name);
        const vip = this.#mirror.get(this.#vipKeyOf(fe));
        const written = fe ? this.#desired(fe).ases : undefined;
        for (const [address, a] of held) {
          // VPP holds what it held, or what the engine wrote since (an operator's weight).
          const has = vip?.ases.get(address)?.weight;
          if (has !== a.weight && has !== written?.get(address)?.weight) held.delete(address);
        }
      }
    }
    this.#adoptUnknown(this.#adoptedOnce ? "reconnect" : "start");
    this.#adoptedOnce = true;
  }

  /**
   * After a reload: an AS that VPP holds for a backend whose probe the
   * reload restarted (no result yet) keeps VPP's weight until that
   * backend's first result, as at start. Changing a health check then never
   * drains a serving backend while its new probe has not spoken. Call it
   * right after the checker applied the config, before any sync runs.
   */
  adoptRestarted(): void {
    if (this.#mirrorValid) this.#adoptUnknown("reload");
  }

  /** Adopts, per configured frontend, every AS VPP holds whose backend is `unknown`. */
  #adoptUnknown(reason: "start" | "reload" | "reconnect"): void {
    const cfg = this.#o.checker.config();
    // A VPP that holds no VIP (a fresh dataplane) has nothing to adopt: no
    // key built a frontend.
    if (this.#mirror.size === 0) return;
    for (const fe of Object.values(cfg.frontends)) {
      const vip = this.#mirror.get(this.#vipKeyOf(fe));
      if (!vip) continue;
      const held = this.#adopted.get(fe.name) ?? new Map<string, Adopted>();
      const added: Adopted[] = [];
      // forEach: a for-of over the Map builds an entry a step (see plan.ts).
      desiredFromFrontend(fe, this.#o.checker, cfg).ases.forEach((d, address) => {
        const cur = vip.ases.get(address);
        if (!cur || held.has(address) || this.#o.checker.backendState(d.backend) !== "unknown") {
          return;
        }
        const a = {
          backend: d.backend,
          weight: cur.weight,
          cfgWeight: placedWeight(fe, d.backend) ?? 0,
        };
        held.set(address, a);
        added.push(a);
      });
      if (added.length === 0) continue;
      this.#adopted.set(fe.name, held);
      log.info("vpp-lb-adopt", {
        frontend: fe.name,
        vip: vip.prefix,
        reason,
        kept: added.map((a) => `${a.backend}=${a.weight}`).join(","),
      });
    }
  }

  /** Syncs one frontend's VIP (never removes other VIPs). */
  syncVip(frontend: string, options: { forceFlush?: string } = {}): Promise<SyncStats> {
    return this.enqueue(async () => {
      const fe = ownValue(this.#o.checker.config().frontends, frontend);
      if (!fe) return emptyStats();
      return await this.#run("vip", [frontend], (flushed) => {
        const force = options.forceFlush;
        return this.#plan(fe, { forceFlush: force && !flushed.has(force) ? force : undefined }).ops;
      });
    });
  }

  /**
   * Syncs every frontend and removes VIPs no frontend wants; with `only`,
   * syncs just those frontends and removes nothing (warmup). Always starts
   * from a fresh read of VPP (drift repair). A full sync asked for while one
   * is still queued shares it.
   */
  syncAll(options: { only?: ReadonlySet<string> } = {}): Promise<SyncStats> {
    if (options.only) return this.enqueue(() => this.#syncAll(options.only, false));
    this.#queuedAll ??= this.#readThenSyncAll().finally(() => this.#queuedAll = undefined);
    return this.#queuedAll;
  }

  /**
   * A full sync's read of VPP is not a write: it runs outside the queue, so
   * transitions' syncs queued meanwhile need not wait for a read of 1,000
   * VIPs. VIPs written while it ran keep the mirror's (newer) picture.
   */
  async #readThenSyncAll(): Promise<SyncStats> {
    // Writes still in flight may reach VPP after the text session's reply.
    const touched = vipKeysOf(this.#running);
    this.#reads.add(touched);
    let state: LbState;
    try {
      const session = this.#o.session();
      state = await readLbState(session, { text: await this.#o.textSession?.() });
    } catch (e) {
      this.#reads.delete(touched);
      throw e;
    }
    return await this.enqueue(() => {
      // Jobs queued ahead of this one wrote after the read returned: they
      // count as touched until here, or the stale read would hide them.
      this.#reads.delete(touched);
      // Without a trusted mirror for the touched VIPs, read again in the queue.
      const fresh = this.#mirrorValid;
      if (fresh) {
        const mirror: Mirror = new Map(state.vips);
        for (const key of touched) {
          const cur = this.#mirror.get(key);
          if (cur) mirror.set(key, cur);
          else mirror.delete(key);
        }
        this.#mirror = mirror;
      }
      return this.#syncAll(undefined, fresh);
    });
  }

  /** Sends `lb_conf` (the one write that is not part of a plan) through the queue. */
  writeLbConf(fields: LbConfRequest): Promise<void> {
    return this.enqueue(async () => {
      await this.#o.session().request("lb_conf", fields);
    });
  }

  #syncAll(only: ReadonlySet<string> | undefined, freshlyRead: boolean): Promise<SyncStats> {
    // A full sync always works from a fresh read of VPP: drift repair.
    if (!freshlyRead) this.#mirrorValid = false;
    const cfg = this.#o.checker.config();
    const names = Object.keys(cfg.frontends).sort().filter((n) => !only || only.has(n));
    // Every VIP's calls go out in one pipeline: VPP answers in order, so a
    // VIP's create still precedes its ASes, and 1,000 VIPs cost one round
    // trip instead of 1,000.
    return this.#run("all", names, () => {
      const ops: LbOp[] = [];
      const wanted = new Set<string>();
      for (let i = 0; i < names.length; i++) {
        wanted.add(this.#plan(cfg.frontends[names[i]], { into: ops }).key);
      }
      if (only) return ops;
      this.#mirror.forEach((cur, key) => {
        if (!wanted.has(key)) ops.push(...planRemoveVip(cur));
      });
      return ops;
    });
  }

  /**
   * The one execute-and-repair path: plan, send, and when VPP refused
   * something (our picture was wrong), read VPP again and plan once more from
   * the truth. `plan` gets the addresses already flushed in this run.
   */
  async #run(
    scope: "all" | "vip",
    frontends: readonly string[],
    plan: (flushed: ReadonlySet<string>) => LbOp[],
  ): Promise<SyncStats> {
    const session = this.#o.session();
    const total = emptyStats();
    const flushed = new Set<string>();
    let errors: { op: LbOp; error: Error }[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      await this.#ensureMirror(session);
      const ops = plan(flushed);
      if (ops.length === 0) {
        errors = [];
        break;
      }
      const marks = this.#flushMarks(ops);
      this.#running = ops;
      if (this.#reads.size > 0) {
        const keys = vipKeysOf(ops);
        for (const touched of this.#reads) for (const key of keys) touched.add(key);
      }
      const r = await executePlan(session, ops, { mirror: this.#mirror }).finally(() => {
        this.#running = [];
      });
      addStats(total, r.stats);
      for (const op of r.accepted) {
        if (!flushesFor(op)) continue;
        flushed.add(op.address);
        const at = marks.get(op.address);
        if (at !== undefined) this.#flushed.set(asKey(op.frontend, op.address), at);
      }
      errors = [...r.errors];
      if (errors.length === 0) break;
      this.#mirrorValid = false;
      const lost = errors.find((e) => isConnectionError(e.error));
      if (lost) throw lost.error;
    }
    this.#recordErrors(frontends, errors);
    this.#o.onSync?.(scope, total);
    return total;
  }

  async #ensureMirror(session: LbClient): Promise<void> {
    if (this.#mirrorValid) return;
    // Inside the queue nothing is in flight: the CLI text may come from the other session.
    const state = await readLbState(session, { text: await this.#o.textSession?.() });
    this.#mirror = new Map(state.vips);
    this.#mirrorValid = true;
  }

  /**
   * The frontend's VIP key and the calls that bring VPP's copy of it to what
   * we want (appended to `options.into` when given).
   */
  #plan(
    fe: Frontend,
    options: { forceFlush?: string; into?: LbOp[] },
  ): { key: string; ops: LbOp[] } {
    const desired = this.#desired(fe);
    const key = vipKey(desired.prefix, desired);
    const cur = this.#mirror.get(key);
    const recreate = cur ? vipRecreate(cur, desired) : undefined;
    if (recreate) {
      (recreate.byWeights ? log.warn : log.info)("vpp-lb-vip-recreate", {
        frontend: fe.name,
        vip: desired.prefix,
        protocol: protocolName(desired.protocol),
        port: desired.port,
        reason: recreate.reason,
      });
    }
    const ops = planVip(cur, desired, {
      into: options.into,
      forceFlush: options.forceFlush,
      flushDue: (address) => {
        const at = this.#o.checker.lastTransitionAt(desired.ases.get(address)?.backend ?? "");
        return at !== undefined && this.#flushed.get(asKey(fe.name, address)) !== at;
      },
    });
    return { key, ops };
  }

  /**
   * Backends of `frontend` adopted from VPP (name -> what VPP held), while
   * they have no result. The first result decides: from then on the
   * backend's state rules and the adoption is dropped. Operator actions
   * decide too (`weights/mod.ts` `weightOf`).
   */
  adoptedWeights(frontend: string): ReadonlyMap<string, Adoption> {
    const held = this.#adopted.get(frontend);
    if (!held) return NONE_ADOPTED;
    const waiting = new Map<string, Adoption>();
    const checker = this.#o.checker;
    for (const [address, a] of held) {
      if (checker.backendState(a.backend) === "unknown") waiting.set(a.backend, a);
      else held.delete(address);
    }
    if (held.size === 0) this.#adopted.delete(frontend);
    return waiting;
  }

  /** The frontend's desired VIP, adopted weights included (see `withAdopted`). */
  #desired(fe: Frontend): DesiredVip {
    const states = withAdopted(this.#o.checker, this.adoptedWeights(fe.name));
    return desiredFromFrontend(fe, states, this.#o.checker.config());
  }

  /** Flush ops of a plan (see `flushesFor`) -> the transition each flush is for. */
  #flushMarks(ops: readonly LbOp[]): Map<string, number> {
    const marks = new Map<string, number>();
    for (const op of ops) {
      if (!flushesFor(op)) continue;
      const at = this.#o.checker.lastTransitionAt(op.backend);
      if (at !== undefined) marks.set(op.address, at);
    }
    return marks;
  }

  #vipKeyOf(fe: Frontend | undefined): string {
    if (!fe) return "";
    const v = vipOf(fe);
    return vipKey(v.prefix, v);
  }

  #recordErrors(frontends: readonly string[], errors: readonly { op: LbOp; error: Error }[]) {
    for (let i = 0; i < frontends.length; i++) this.#errors.delete(frontends[i]);
    for (const { op, error } of errors) {
      if (this.#errors.has(op.frontend) || op.frontend === "") continue;
      const what = "address" in op ? `${op.op} ${op.address}` : op.op;
      this.#errors.set(op.frontend, `VPP refused ${what}: ${error.message}`);
    }
  }
}

/**
 * Whether VPP accepting `op` leaves the AS with no flows of the backend's
 * latest transition: a weight call with flush, or an add at weight 0 (a new
 * AS has nothing to flush, so its add is the flush a down or disable asks
 * for; a later sync must not send one with no transition beside it).
 */
function flushesFor(op: LbOp): op is Extract<LbOp, { op: "as-weight" | "as-add" }> {
  return op.op === "as-weight" ? op.flush : op.op === "as-add" && op.weight === 0;
}

/** The VIP keys `ops` touch; a VIP's calls share one `vip` object, so each key is built once. */
function vipKeysOf(ops: readonly LbOp[]): Set<string> {
  const keys = new Set<string>();
  let last: LbOp["vip"] | undefined;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op.vip === last) continue;
    last = op.vip;
    keys.add(vipKey(op.vip.prefix, op.vip));
  }
  return keys;
}
