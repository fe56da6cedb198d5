/**
 * The VPP side of the daemon (spec 6): wires the connection loop, the intake
 * queue (checker events in), the sync engine (the one writer), warmup gating,
 * the periodic drift repair and the counters session. Implements `VppControl`.
 * @module
 */
import { type Clock, realClock, sleep } from "../clock.ts";
import type { CheckerApi, EventSource } from "../checker/types.ts";
import { errorMessage } from "../errors.ts";
import { formatDuration } from "../config/duration.ts";
import { log } from "../log/mod.ts";
import type {
  LbStateView,
  SyncStats,
  SyncTrigger,
  VipCounters,
  VppControl,
  VppInfo,
} from "./types.ts";
import { readLbState, vipKey } from "./lb_state.ts";
import { lookupFrontend, ownValue } from "../checker/lookup.ts";
import { emptyStats, isEmptyStats } from "./sync.ts";
import { runWarmup, WarmupGate } from "./warmup.ts";
import { type Adoption, vipOf } from "../weights/mod.ts";
import { VppClient } from "../../vpp/mod.ts";
import { asApiError, SyncEngine } from "./engine.ts";
import { VppConnection, type VppSession } from "./connection.ts";
import { CountersSession } from "./counters.ts";
import { Intake } from "./intake.ts";

export type { VppSession } from "./connection.ts";

/** Opens a session; injectable for tests. */
export type Connector = (path: string) => Promise<VppSession>;

/** Hooks into metrics without knowing them. */
export interface VppObservers {
  /** Every binary-API message. */
  api?: (ev: { msg: string; direction: "send" | "recv"; ok: boolean }) => void;
  /** Every sync that ran (`maglev_vpp_lbsync_total`). */
  sync?: (scope: "all" | "vip", stats: SyncStats) => void;
  /** Transition (or operator command) to VPP reply. */
  latency?: (trigger: SyncTrigger, seconds: number) => void;
}

/** Settings of the manager. */
export interface VppManagerOptions {
  /** The socket path; "" disables VPP integration. */
  apiAddr: string;
  checker: CheckerApi & EventSource;
  clock?: Clock;
  observers?: VppObservers;
  connect?: Connector;
  /** Monotonic ms of process start (warmup clock). */
  startMs?: number;
  reconnectMs?: number;
  pingMs?: number;
  pollMs?: number;
  countersMs?: number;
  /** Wait before retrying a VPP that lacks messages we need. */
  incompatibleRetryMs?: number;
}

/** The VPP connection manager and reconciler. */
export class VppManager implements VppControl {
  readonly #opts: VppManagerOptions;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  readonly #gate: WarmupGate;
  readonly #conn: VppConnection;
  readonly #engine: SyncEngine;
  readonly #counters: CountersSession;
  readonly #intake = new Intake();
  #lbConfSent = "";
  /**
   * The LB sync loop runs for this connection: set once `onUp` has read VPP
   * and pushed `lb_conf` (spec 6, run loop steps 4-6), so no VIP write
   * reaches a (re)started VPP before its `lb_conf`.
   */
  #syncing = false;
  #tasks: Promise<void>[] = [];

  constructor(options: VppManagerOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? realClock;
    const lb = options.checker.config().vpp.lb;
    this.#gate = new WarmupGate(this.#clock, {
      minDelayMs: lb.startupMinDelayMs,
      maxDelayMs: lb.startupMaxDelayMs,
      startMs: options.startMs,
    });
    this.#conn = new VppConnection({
      apiAddr: options.apiAddr,
      clock: this.#clock,
      signal: this.#abort.signal,
      open: () => this.#open(),
      reconnectMs: options.reconnectMs,
      pingMs: options.pingMs,
      incompatibleRetryMs: options.incompatibleRetryMs,
      onUp: (s) => this.#onUp(s),
      onDown: () => this.#onDown(),
    });
    this.#engine = new SyncEngine({
      checker: options.checker,
      session: () => this.#conn.session(),
      onSync: (scope, stats) => {
        if (stats.vipAdded > 0 || stats.vipRemoved > 0) this.#counters.invalidate();
        options.observers?.sync?.(scope, stats);
      },
      // A state read's big CLI reply goes on the counters session, not in front of writes.
      textSession: () => this.#counters.session().catch(() => undefined),
    });
    this.#counters = new CountersSession({
      clock: this.#clock,
      open: () => this.#open(),
      labeller: () => {
        const byKey = this.#frontendsByKey();
        return (prefix, protocol, port) => byKey.get(vipKey(prefix, { protocol, port })) ?? "";
      },
      maxAgeMs: options.countersMs ?? 5000,
    });
  }

  /** The warmup gate (read-only use). */
  get gate(): WarmupGate {
    return this.#gate;
  }

  enabled(): boolean {
    return this.#conn.enabled();
  }

  connected(): boolean {
    return this.#conn.connected();
  }

  incompatible(): readonly string[] {
    return this.#conn.incompatible();
  }

  info(): VppInfo {
    return this.#conn.info();
  }

  counters(): readonly VipCounters[] {
    if (!this.connected()) return [];
    return this.#counters.snapshot();
  }

  async freshCounters(): Promise<readonly VipCounters[]> {
    this.#conn.session();
    return await this.#counters.fresh();
  }

  lastSyncError(frontend: string): string {
    return this.#engine.syncErrors().get(frontend) ?? "";
  }

  heldTableLength(frontend: string): number | undefined {
    if (!this.connected()) return undefined;
    return this.#engine.heldTableLength(frontend);
  }

  adoptedWeights(frontend: string): ReadonlyMap<string, Adoption> | undefined {
    if (!this.connected()) return undefined;
    return this.#engine.adoptedWeights(frontend);
  }

  /** Starts the connection loop, the reconciler, warmup and the periodic sync. */
  start(): void {
    if (!this.enabled()) return;
    const run = (p: Promise<void>) =>
      this.#tasks.push(p.catch((e) => {
        if (!this.#abort.signal.aborted) log.error("vpp-internal-error", { err: String(e) });
      }));
    run(this.#conn.run());
    run(this.#reconcilerLoop());
    run(this.#intakeLoop());
    run(this.#warmupLoop());
    run(this.#periodicLoop());
    run(this.#countersLoop());
  }

  /** Stops every loop and deletes the VPP session. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error("shutting down"));
    await this.#conn.close();
    await this.#counters.reset();
    await Promise.allSettled(this.#tasks);
  }

  /** Called after a valid reload: push lb_conf if it changed, then sync all. */
  async configApplied(): Promise<void> {
    if (!this.#canSync()) return;
    // Before anything awaits: the reload's replayed transitions sync after this.
    this.#engine.adoptRestarted();
    const started = this.#clock.now();
    await this.#pushLbConf().catch(() => {});
    if (!this.#gate.done) return;
    try {
      const stats = await this.#engine.syncAll();
      if (!isEmptyStats(stats)) {
        this.#opts.observers?.latency?.("reload", (this.#clock.now() - started) / 1000);
      }
    } catch (e) {
      log.warn("vpp-lbsync-error", { err: errorMessage(e) });
    }
  }

  async lbState(): Promise<LbStateView> {
    const session = this.#conn.session();
    const state = await readLbState(session).catch((e) => Promise.reject(asApiError(e)));
    const byKey = this.#frontendsByKey();
    return {
      ip4SrcAddress: state.conf.ip4SrcAddress,
      ip6SrcAddress: state.conf.ip6SrcAddress,
      stickyBucketsPerCore: state.conf.stickyBucketsPerCore,
      flowTimeout: state.conf.flowTimeout,
      vips: [...state.vips.entries()].map(([key, v]) => ({
        prefix: v.prefix,
        protocol: v.protocol,
        port: v.port,
        encap: v.encap,
        srcIpSticky: v.srcIpSticky ?? false,
        flowTableLength: v.flowTableLength,
        index: v.index,
        frontend: byKey.get(key) ?? "",
        ases: v.rows,
      })),
    };
  }

  async sync(
    frontend?: string,
    options: { flushAddress?: string; trigger?: SyncTrigger } = {},
  ): Promise<SyncStats> {
    this.#conn.session();
    if (frontend) lookupFrontend(this.#opts.checker.config(), frontend);
    if (!this.#canSync()) {
      // The connect still reads VPP and pushes lb_conf; its own full sync covers this.
      log.debug("vpp-lb-sync-suppressed", { frontend: frontend ?? "", reason: "connecting" });
      return emptyStats();
    }
    const trigger = options.trigger ?? "operator";
    const started = this.#clock.now();
    try {
      if (frontend === undefined || frontend === "") {
        // Warmup: only frontends already released may be written.
        return await this.#engine.syncAll(
          this.#gate.done ? {} : { only: new Set(this.#gate.released()) },
        );
      }
      if (!this.#gate.isOpen(frontend)) {
        log.debug("vpp-lb-sync-suppressed", { frontend, reason: "warmup" });
        return emptyStats();
      }
      const stats = await this.#engine.syncVip(frontend, { forceFlush: options.flushAddress });
      if (!isEmptyStats(stats)) {
        this.#opts.observers?.latency?.(trigger, (this.#clock.now() - started) / 1000);
      }
      return stats;
    } catch (e) {
      throw asApiError(e);
    }
  }

  /** VIP key -> configured frontend name. */
  #frontendsByKey(): Map<string, string> {
    const m = new Map<string, string>();
    const cfg = this.#opts.checker.config();
    for (const fe of Object.values(cfg.frontends)) {
      const v = vipOf(fe);
      m.set(vipKey(v.prefix, v), fe.name);
    }
    return m;
  }

  async #open(): Promise<VppSession> {
    if (this.#opts.connect) return await this.#opts.connect(this.#opts.apiAddr);
    return await VppClient.connect(this.#opts.apiAddr, {
      clientName: "vpp-maglev",
      observer: this.#opts.observers?.api,
      signal: this.#abort.signal,
    });
  }

  async #syncAllLogged(why: string): Promise<void> {
    if (!this.#canSync()) return;
    try {
      await this.#engine.syncAll(this.#gate.done ? {} : { only: new Set(this.#gate.released()) });
    } catch (e) {
      const event = why === "warmup" ? "vpp-lb-sync-error" : "vpp-lbsync-error";
      log.warn(event, { err: errorMessage(e) });
    }
  }

  async #pushLbConf(): Promise<void> {
    const lb = this.#opts.checker.config().vpp.lb;
    const fields = {
      ip4_src_address: lb.ipv4SrcAddress,
      ip6_src_address: lb.ipv6SrcAddress,
      sticky_buckets_per_core: lb.stickyBucketsPerCore,
      flow_timeout: lb.flowTimeoutS,
    };
    const key = JSON.stringify(fields);
    if (key === this.#lbConfSent) return;
    try {
      await this.#engine.writeLbConf(fields);
      this.#lbConfSent = key;
    } catch (e) {
      log.warn("vpp-lb-conf-set-failed", { err: errorMessage(e) });
      throw e;
    }
  }

  async #onUp(session: VppSession): Promise<void> {
    try {
      const state = await readLbState(session);
      this.#engine.connected(state);
      let ases = 0;
      for (const v of state.vips.values()) ases += v.ases.size;
      log.info("vpp-lb-state", {
        vips: state.vips.size,
        "application-servers": ases,
        "sticky-buckets-per-core": state.conf.stickyBucketsPerCore,
        "flow-timeout": state.conf.flowTimeout,
      });
    } catch (e) {
      log.warn("vpp-lb-read-failed", { err: errorMessage(e) });
    }
    await this.#pushLbConf().catch(() => {});
    this.#syncing = true;
    // A (re)connect after warmup rebuilds everything (VPP may have restarted);
    // during warmup only the frontends already released are written.
    await this.#syncAllLogged("connect");
    // The first metrics scrape after start then already has every VIP's series.
    void this.#counters.refresh();
  }

  /** Connected, and `lb_conf` went out first: VIP writes may follow. */
  #canSync(): boolean {
    return this.#syncing && this.connected();
  }

  async #onDown(): Promise<void> {
    this.#syncing = false;
    this.#engine.invalidate();
    this.#lbConfSent = "";
    await this.#counters.reset();
  }

  #allBackendsKnown(frontend: string): boolean {
    const fe = ownValue(this.#opts.checker.config().frontends, frontend);
    if (!fe) return false;
    for (const pool of fe.pools) {
      for (const b of pool.backends) {
        const s = this.#opts.checker.backendState(b.name);
        if (s === undefined || s === "unknown") return false;
      }
    }
    return true;
  }

  async #release(frontend: string, trigger: "poll" | "event"): Promise<void> {
    log.info("vpp-lb-warmup-release", {
      frontend,
      trigger,
      elapsed: formatDuration(this.#gate.elapsedMs()),
    });
    if (!this.#canSync()) return;
    try {
      await this.#engine.syncVip(frontend);
    } catch (e) {
      log.warn("vpp-lb-warmup-release-error", { frontend, err: errorMessage(e) });
    }
  }

  #warmupLoop(): Promise<void> {
    return runWarmup(this.#gate, {
      clock: this.#clock,
      signal: this.#abort.signal,
      pollMs: this.#opts.pollMs ?? 250,
      frontends: () => Object.keys(this.#opts.checker.config().frontends).sort(),
      allKnown: (name) => this.#allBackendsKnown(name),
      release: (name, trigger) => this.#release(name, trigger),
      syncAll: () => this.#syncAllLogged("warmup"),
    });
  }

  async #periodicLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const interval = this.#opts.checker.config().vpp.lb.syncIntervalMs || 30_000;
      await sleep(this.#clock, interval, { signal });
      if (this.#gate.done) await this.#syncAllLogged("periodic");
    }
  }

  async #countersLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      await sleep(this.#clock, this.#opts.countersMs ?? 5000, { signal });
      // Only while someone reads the counters (metrics scrapes, the API).
      if (this.connected() && this.#counters.wanted()) await this.#counters.refresh();
    }
  }

  /** Checker events -> the intake queue (or a warmup release). */
  async #reconcilerLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const checker = this.#opts.checker;
    const events = checker.subscribe({
      backend: true,
      frontend: false,
      log: false,
      afterSeq: checker.lastSeq(),
      bufferSize: 65536,
      signal,
    });
    for await (const ev of events) {
      if (signal.aborted) return;
      if (ev.kind === "resync") {
        // We missed events: the only safe answer is a full look.
        if (this.#gate.done) void this.#syncAllLogged("resync");
        continue;
      }
      if (ev.kind !== "backend") continue;
      const frontend = ev.frontend;
      if (this.#gate.isOpen(frontend)) {
        this.#intake.add(ev);
      } else if (
        this.#gate.phase() === "release" && this.#allBackendsKnown(frontend) &&
        this.#gate.tryRelease(frontend)
      ) {
        await this.#release(frontend, "event");
      } else {
        log.debug("vpp-lb-sync-suppressed", { frontend, backend: ev.backend, reason: "warmup" });
      }
    }
  }

  /** Syncs the queued frontends one by one, timing each original transition. */
  async #intakeLoop(): Promise<void> {
    const signal = this.#abort.signal;
    for (;;) {
      const next = await this.#intake.next(signal);
      if (!next) return;
      const [frontend, waiting] = next;
      if (!this.#canSync()) {
        // The connect's full sync, once lb_conf is pushed, covers this frontend.
        log.debug("vpp-lb-sync-suppressed", { frontend, reason: "connecting" });
        continue;
      }
      try {
        const stats = await this.#engine.syncVip(frontend);
        if (isEmptyStats(stats)) continue;
        const now = this.#clock.now();
        for (const w of waiting) {
          this.#opts.observers?.latency?.(w.trigger, Math.max(0, now - w.atMs) / 1000);
        }
      } catch (e) {
        log.warn("vpp-lbsync-error", { frontend, err: errorMessage(e) });
      }
    }
  }
}
