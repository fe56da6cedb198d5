/**
 * The VPP side of the daemon (spec 6): the connection manager, the
 * reconciler (the one path from checker events to VPP), periodic drift
 * repair, warmup gating and the counters scrape. Implements `VppControl`.
 * @module
 */
import { type Clock, realClock, sleep } from "../clock.ts";
import type { Frontend } from "../config/types.ts";
import type { CheckerApi, EventSource } from "../checker/types.ts";
import { MaglevError } from "../errors.ts";
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
import { type LbClient, readLbState, vipKey } from "./lb_state.ts";
import {
  type CurrentVip,
  type DesiredVip,
  type LbOp,
  planRemoveVip,
  planVip,
  recreateReason,
} from "./plan.ts";
import { addStats, emptyStats, executePlan, isEmptyStats, type Mirror } from "./sync.ts";
import { WarmupGate } from "./warmup.ts";
import { desiredVip } from "./desired.ts";
import { parseShowVipsVerbose } from "./vip_text.ts";
import { VppClient, VppIncompatibleError } from "../../vpp/mod.ts";

/** A connected session as the manager needs it. */
export interface VppSession extends LbClient {
  close(): Promise<void>;
  readonly closed: Promise<unknown>;
}

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

/** The counters scrape stops when nobody has read them for this long. */
const COUNTERS_IDLE_MS = 60_000;

/** The VPP an operator must run when messages are missing. */
const NEEDED_VPP = "needs VPP with the lb weight API: FDio/vpp master since ca870e99f61 (26.10)";

interface QueuedSync {
  flushFor: Set<string>;
  since: { atMs: number; trigger: SyncTrigger }[];
}

const OPERATOR_CODES = new Set(["paused", "resumed", "disabled", "enabled", "removed", "start"]);

/** The VPP connection manager and reconciler. */
export class VppManager implements VppControl {
  readonly #opts: VppManagerOptions;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  readonly #gate: WarmupGate;
  #session: VppSession | undefined;
  #info: VppInfo | undefined;
  #incompatible: string[] = [];
  #lbConfSent = "";
  #mirror: Mirror = new Map();
  #mirrorValid = false;
  #counters: VipCounters[] = [];
  #countersAt = -Infinity;
  #countersDemandAt = -Infinity;
  #countersRefresh: Promise<void> | undefined;
  #queue = new Map<string, QueuedSync>();
  #queueWake: (() => void) | undefined;
  #lock: Promise<void> = Promise.resolve();
  #tasks: Promise<void>[] = [];
  #warmupLogged = false;
  /** Newest transition time seen per frontend|backend: older ones are replays. */
  #lastTransition = new Map<string, { atMs: number; sig: string }>();

  constructor(options: VppManagerOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? realClock;
    const lb = options.checker.config().vpp.lb;
    this.#gate = new WarmupGate(this.#clock, {
      minDelayMs: lb.startupMinDelayMs,
      maxDelayMs: lb.startupMaxDelayMs,
      startMs: options.startMs,
    });
  }

  /** The warmup gate (read-only use). */
  get gate(): WarmupGate {
    return this.#gate;
  }

  enabled(): boolean {
    return this.#opts.apiAddr !== "";
  }

  connected(): boolean {
    return this.#session !== undefined && this.#info !== undefined;
  }

  incompatible(): readonly string[] {
    return this.#incompatible;
  }

  info(): VppInfo {
    this.#requireConnected();
    return this.#info!;
  }

  counters(): readonly VipCounters[] {
    this.#countersDemandAt = this.#clock.monotonic();
    if (this.#countersStale()) void this.#refreshCounters();
    return this.#counters;
  }

  async freshCounters(): Promise<readonly VipCounters[]> {
    this.#requireConnected();
    this.#countersDemandAt = this.#clock.monotonic();
    if (this.#countersStale()) await this.#refreshCounters();
    return this.#counters;
  }

  #countersStale(): boolean {
    return this.#clock.monotonic() - this.#countersAt >= (this.#opts.countersMs ?? 5000);
  }

  /** One scrape at a time; concurrent callers share it. */
  #refreshCounters(): Promise<void> {
    this.#countersRefresh ??= this.#scrapeCounters().finally(() => {
      this.#countersRefresh = undefined;
    });
    return this.#countersRefresh;
  }

  async #scrapeCounters(): Promise<void> {
    const session = this.#session;
    if (!session || !this.#info) return;
    try {
      const r = await session.request("cli_inband", { cmd: "show lb vips verbose" });
      const byKey = this.#frontendsByKey();
      this.#counters = parseShowVipsVerbose(String(r.reply ?? ""))
        .filter((v) => !v.removed)
        .map((v) => ({
          frontend: byKey.get(vipKey(v.prefix, v.protocol, v.port))?.name ?? "",
          prefix: v.prefix,
          protocol: v.protocol,
          port: v.port,
          ...v.counters,
        }));
      this.#countersAt = this.#clock.monotonic();
    } catch (e) {
      log.debug("vpp-lb-counters-failed", { err: (e as Error).message });
    }
  }

  /** Starts the connection loop, the reconciler, warmup and the periodic sync. */
  start(): void {
    if (!this.enabled()) return;
    const run = (p: Promise<void>) =>
      this.#tasks.push(p.catch((e) => {
        if (!this.#abort.signal.aborted) log.error("vpp-internal-error", { err: String(e) });
      }));
    run(this.#connectionLoop());
    run(this.#reconcilerLoop());
    run(this.#queueLoop());
    run(this.#warmupLoop());
    run(this.#periodicLoop());
    run(this.#countersLoop());
  }

  /** Stops every loop and deletes the VPP session. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error("shutting down"));
    this.#queueWake?.();
    const s = this.#session;
    this.#session = undefined;
    if (s) await s.close().catch(() => {});
    await Promise.allSettled(this.#tasks);
  }

  /** Called after a valid reload: push lb_conf if it changed, then sync all. */
  async configApplied(): Promise<void> {
    if (!this.connected()) return;
    const started = this.#clock.now();
    await this.#pushLbConf().catch(() => {});
    if (!this.#gate.done) return;
    try {
      const stats = await this.#syncAll();
      if (!isEmptyStats(stats)) {
        this.#opts.observers?.latency?.("reload", (this.#clock.now() - started) / 1000);
      }
    } catch (e) {
      log.warn("vpp-lbsync-error", { err: (e as Error).message });
    }
  }

  async lbState(): Promise<LbStateView> {
    const session = this.#requireConnected();
    const state = await readLbState(session);
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
        frontend: byKey.get(key)?.name ?? "",
        ases: v.rows,
      })),
    };
  }

  async sync(
    frontend?: string,
    options: { flushAddress?: string; trigger?: SyncTrigger } = {},
  ): Promise<SyncStats> {
    this.#requireConnected();
    const trigger = options.trigger ?? "operator";
    const started = this.#clock.now();
    if (frontend === undefined || frontend === "") {
      if (!this.#gate.done) {
        // Warmup: only frontends already released may be written.
        const total = emptyStats();
        for (const f of this.#gate.released()) addStats(total, await this.#syncVip(f, {}));
        return total;
      }
      return await this.#syncAll();
    }
    const fe = this.#opts.checker.config().frontends[frontend];
    if (!fe) throw new MaglevError("NOT_FOUND", `frontend ${JSON.stringify(frontend)} not found`);
    if (!this.#gate.isOpen(frontend)) {
      log.debug("vpp-lb-sync-suppressed", { frontend, reason: "warmup" });
      return emptyStats();
    }
    const stats = await this.#syncVip(frontend, { forceFlush: options.flushAddress });
    if (!isEmptyStats(stats)) {
      this.#opts.observers?.latency?.(trigger, (this.#clock.now() - started) / 1000);
    }
    return stats;
  }

  #requireConnected(): VppSession {
    if (!this.enabled()) throw new MaglevError("UNAVAILABLE", "VPP integration is disabled");
    if (!this.#session || !this.#info) {
      const why = this.#incompatible.length
        ? `VPP is incompatible: missing ${this.#incompatible.join(", ")} (${NEEDED_VPP})`
        : "VPP is not connected";
      throw new MaglevError("UNAVAILABLE", why);
    }
    return this.#session;
  }

  #frontendsByKey(): Map<string, Frontend> {
    const m = new Map<string, Frontend>();
    for (const fe of Object.values(this.#opts.checker.config().frontends)) {
      const d = desiredVip(fe, this.#opts.checker.config(), this.#opts.checker);
      m.set(vipKey(d.prefix, d.protocol, d.port), fe);
    }
    return m;
  }

  /** Runs `fn` alone: syncs never interleave, so plans see a consistent mirror. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.then(() => {}, () => {});
    return run;
  }

  async #ensureMirror(session: VppSession): Promise<void> {
    if (this.#mirrorValid) return;
    const state = await readLbState(session);
    this.#mirror = new Map(state.vips);
    this.#mirrorValid = true;
  }

  #syncVip(
    frontend: string,
    options: { flushFor?: ReadonlySet<string>; forceFlush?: string },
  ): Promise<SyncStats> {
    return this.#exclusive(async () => {
      const session = this.#requireConnected();
      const cfg = this.#opts.checker.config();
      const fe = cfg.frontends[frontend];
      if (!fe) return emptyStats();
      const desired = desiredVip(fe, cfg, this.#opts.checker);
      const stats = await this.#reconcileOne(session, desired, options);
      this.#opts.observers?.sync?.("vip", stats);
      return stats;
    });
  }

  async #reconcileOne(
    session: VppSession,
    desired: DesiredVip,
    options: { flushFor?: ReadonlySet<string>; forceFlush?: string },
  ): Promise<SyncStats> {
    await this.#ensureMirror(session);
    const key = vipKey(desired.prefix, desired.protocol, desired.port);
    const ops = this.#planLogged(this.#mirror.get(key), desired, options);
    if (ops.length === 0) return emptyStats();
    const result = await executePlan(session, ops, this.#mirror);
    if (result.errors.length) {
      // Our picture of this VIP was wrong (or VPP refused): read it again and
      // try once more from the truth.
      this.#mirrorValid = false;
      await this.#ensureMirror(session);
      // Flushes VPP already took are not sent again.
      const retryOptions = {
        flushFor: new Set([...(options.flushFor ?? [])].filter((a) => !result.touched.has(a))),
        forceFlush: options.forceFlush && !result.touched.has(options.forceFlush)
          ? options.forceFlush
          : undefined,
      };
      const again = this.#planLogged(this.#mirror.get(key), desired, retryOptions);
      const retry = await executePlan(session, again, this.#mirror);
      addStats(result.stats as SyncStats, retry.stats);
      if (retry.errors.length) this.#mirrorValid = false;
    }
    return result.stats;
  }

  /** `planVip`, logging a recreate and its reason. */
  #planLogged(
    cur: CurrentVip | undefined,
    desired: DesiredVip,
    options: { flushFor?: ReadonlySet<string>; forceFlush?: string },
  ): LbOp[] {
    const reason = cur ? recreateReason(cur, desired) : "";
    if (reason) {
      log.info("vpp-lb-vip-recreate", { frontend: desired.frontend, vip: desired.prefix, reason });
    }
    return planVip(cur, desired, options);
  }

  #syncAll(): Promise<SyncStats> {
    return this.#exclusive(async () => {
      const session = this.#requireConnected();
      // A full sync always starts from what VPP really has: drift repair.
      this.#mirrorValid = false;
      await this.#ensureMirror(session);
      const cfg = this.#opts.checker.config();
      const desired = Object.keys(cfg.frontends).sort().map((name) =>
        desiredVip(cfg.frontends[name], cfg, this.#opts.checker)
      );
      // Every VIP's calls go out in one pipeline: VPP answers in order, so a
      // VIP's create still precedes its ASes, and 1,000 VIPs cost one round
      // trip instead of 1,000.
      const plan = () => {
        const ops: LbOp[] = [];
        const wanted = new Set<string>();
        for (const d of desired) {
          const key = vipKey(d.prefix, d.protocol, d.port);
          wanted.add(key);
          ops.push(...this.#planLogged(this.#mirror.get(key), d, {}));
        }
        for (const [key, cur] of this.#mirror) {
          if (!wanted.has(key)) ops.push(...planRemoveVip(cur));
        }
        return ops;
      };
      const total = emptyStats();
      const first = await executePlan(session, plan(), this.#mirror);
      addStats(total, first.stats);
      if (first.errors.length) {
        // Something was not as we thought: read VPP again and finish from the truth.
        this.#mirrorValid = false;
        await this.#ensureMirror(session);
        const again = await executePlan(session, plan(), this.#mirror);
        addStats(total, again.stats);
        if (again.errors.length) this.#mirrorValid = false;
      }
      this.#opts.observers?.sync?.("all", total);
      return total;
    });
  }

  async #syncAllLogged(why: string): Promise<void> {
    try {
      await this.#syncAll();
    } catch (e) {
      log.warn(why === "warmup" ? "vpp-lb-sync-error" : "vpp-lbsync-error", {
        err: (e as Error).message,
      });
    }
  }

  async #pushLbConf(): Promise<void> {
    const session = this.#requireConnected();
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
      await session.request("lb_conf", fields);
      this.#lbConfSent = key;
    } catch (e) {
      log.warn("vpp-lb-conf-set-failed", { err: (e as Error).message });
      throw e;
    }
  }

  async #connect(): Promise<VppSession> {
    if (this.#opts.connect) return await this.#opts.connect(this.#opts.apiAddr);
    const client = await VppClient.connect(this.#opts.apiAddr, {
      clientName: "vpp-maglev",
      observer: this.#opts.observers?.api,
      signal: this.#abort.signal,
    });
    return client as unknown as VppSession;
  }

  async #connectionLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const o = this.#opts;
    while (!signal.aborted) {
      let session: VppSession;
      try {
        session = await this.#connect();
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof VppIncompatibleError || (e as Error).name === "VppIncompatibleError") {
          const missing = [...((e as { missing?: string[] }).missing ?? [])];
          if (missing.join() !== this.#incompatible.join()) {
            log.error("vpp-incompatible", {
              missing: missing.join(", "),
              need: NEEDED_VPP,
            });
          }
          this.#incompatible = missing;
          await sleep(this.#clock, o.incompatibleRetryMs ?? 60_000, signal).catch(() => {});
        } else {
          log.debug("vpp-connect-failed", { err: (e as Error).message });
          await sleep(this.#clock, o.reconnectMs ?? 5000, signal).catch(() => {});
        }
        continue;
      }
      this.#incompatible = [];
      try {
        await this.#onConnected(session);
        await this.#monitor(session);
      } catch (e) {
        if (!signal.aborted) log.debug("vpp-session-error", { err: (e as Error).message });
      }
      this.#session = undefined;
      this.#info = undefined;
      this.#lbConfSent = "";
      this.#mirrorValid = false;
      this.#counters = [];
      this.#countersAt = -Infinity;
      await session.close().catch(() => {});
      if (signal.aborted) return;
      log.warn("vpp-disconnect", { msg: "connection lost, reconnecting" });
      await sleep(this.#clock, o.reconnectMs ?? 5000, signal).catch(() => {});
    }
  }

  async #onConnected(session: VppSession): Promise<void> {
    const [version, ping] = await Promise.all([
      session.request("show_version", {}),
      session.request("control_ping", {}),
    ]);
    this.#session = session;
    this.#info = {
      version: String(version.version ?? ""),
      buildDate: String(version.build_date ?? ""),
      buildDirectory: String(version.build_directory ?? ""),
      pid: Number(ping.vpe_pid ?? 0),
      bootTimeMs: 0,
      connectedAtMs: this.#clock.now(),
    };
    log.info("vpp-connect", {
      version: this.#info.version,
      "build-date": this.#info.buildDate,
      pid: this.#info.pid,
      api: this.#opts.apiAddr,
    });
    try {
      const state = await readLbState(session);
      this.#mirror = new Map(state.vips);
      this.#mirrorValid = true;
      let ases = 0;
      for (const v of state.vips.values()) ases += v.ases.size;
      log.info("vpp-lb-state", {
        vips: state.vips.size,
        "application-servers": ases,
        "sticky-buckets-per-core": state.conf.stickyBucketsPerCore,
        "flow-timeout": state.conf.flowTimeout,
      });
    } catch (e) {
      log.warn("vpp-lb-read-failed", { err: (e as Error).message });
    }
    await this.#pushLbConf().catch(() => {});
    // A (re)connect after warmup rebuilds everything (VPP may have restarted);
    // during warmup only the frontends already released are written.
    if (this.#gate.done) await this.#syncAllLogged("connect");
    else {
      for (const f of this.#gate.released()) {
        await this.#syncVip(f, {}).catch((e) =>
          log.warn("vpp-lb-warmup-release-error", { frontend: f, err: (e as Error).message })
        );
      }
    }
  }

  async #monitor(session: VppSession): Promise<void> {
    const signal = this.#abort.signal;
    let closed = false;
    session.closed.then(() => closed = true, () => closed = true);
    while (!signal.aborted && !closed) {
      const ended = await Promise.race([
        sleep(this.#clock, this.#opts.pingMs ?? 10_000, signal).then(() => false, () => true),
        session.closed.then(() => true, () => true),
      ]);
      if (ended || closed || signal.aborted) return;
      try {
        await session.request("control_ping", {});
      } catch (e) {
        log.debug("vpp-ping-failed", { err: (e as Error).message });
        return;
      }
    }
  }

  #allBackendsKnown(fe: Frontend): boolean {
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
    if (!this.connected()) return;
    try {
      await this.#syncVip(frontend, {});
    } catch (e) {
      log.warn("vpp-lb-warmup-release-error", { frontend, err: (e as Error).message });
    }
  }

  async #warmupLoop(): Promise<void> {
    const gate = this.#gate;
    const signal = this.#abort.signal;
    const elapsed = () => formatDuration(gate.elapsedMs());
    if (gate.skipped) {
      log.info("vpp-lb-warmup-skipped", { impact: "VPP LB update skipped" });
      gate.finish();
      if (this.connected()) await this.#syncAllLogged("warmup");
      return;
    }
    if (!this.#warmupLogged) {
      this.#warmupLogged = true;
      log.info("vpp-lb-warmup-start", {
        "min-delay": formatDuration(gate.minDelayMs),
        "max-delay": formatDuration(gate.maxDelayMs),
        impact: "Gating all VPP LB updates",
      });
    }
    const minLeft = gate.minDelayMs - gate.elapsedMs();
    if (minLeft > 0) await sleep(this.#clock, minLeft, signal);
    log.info("vpp-lb-warmup-min-delay-elapsed", {
      elapsed: elapsed(),
      impact: "Ungating VPP LB updates for VIPs with known backend state",
    });
    const pollMs = this.#opts.pollMs ?? 250;
    while (!signal.aborted && gate.elapsedMs() < gate.maxDelayMs) {
      const cfg = this.#opts.checker.config();
      const names = Object.keys(cfg.frontends).sort();
      for (const name of names) {
        if (gate.isOpen(name) || !this.#allBackendsKnown(cfg.frontends[name])) continue;
        if (gate.tryRelease(name)) await this.#release(name, "poll");
      }
      if (names.every((n) => gate.isOpen(n))) {
        log.info("vpp-lb-warmup-complete", {
          elapsed: elapsed(),
          impact: "Ungating VPP LB updates, all frontends released",
        });
        gate.finish();
        const left = gate.maxDelayMs - gate.elapsedMs();
        if (left > 0) await sleep(this.#clock, left, signal);
        log.info("vpp-lb-warmup-max-delay-elapsed", {
          elapsed: elapsed(),
          impact: "Ungating all VPP LB updates",
        });
        return;
      }
      await sleep(this.#clock, Math.min(pollMs, gate.maxDelayMs - gate.elapsedMs()), signal);
    }
    if (signal.aborted) return;
    log.info("vpp-lb-warmup-max-delay-elapsed", {
      elapsed: elapsed(),
      impact: "Ungating all VPP LB updates",
    });
    gate.finish();
    if (this.connected()) await this.#syncAllLogged("warmup");
  }

  async #periodicLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const interval = this.#opts.checker.config().vpp.lb.syncIntervalMs || 30_000;
      await sleep(this.#clock, interval, signal);
      if (this.#gate.done && this.connected()) await this.#syncAllLogged("periodic");
    }
  }

  async #countersLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      await sleep(this.#clock, this.#opts.countersMs ?? 5000, signal);
      // Only while someone reads the counters (metrics scrapes, the API).
      if (this.#clock.monotonic() - this.#countersDemandAt > COUNTERS_IDLE_MS) continue;
      await this.#refreshCounters();
    }
  }

  /** Checker events → per-frontend sync requests (coalesced while one runs). */
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
        if (this.#gate.done && this.connected()) void this.#syncAllLogged("resync");
        continue;
      }
      if (ev.kind !== "backend") continue;
      const frontend = ev.frontend;
      if (!this.#gate.isOpen(frontend)) {
        const fe = checker.config().frontends[frontend];
        if (
          fe && this.#gate.phase() === "release" && this.#allBackendsKnown(fe) &&
          this.#gate.tryRelease(frontend)
        ) {
          await this.#release(frontend, "event");
        } else {
          log.debug("vpp-lb-sync-suppressed", { frontend, backend: ev.backend, reason: "warmup" });
        }
        continue;
      }
      let q = this.#queue.get(frontend);
      if (!q) this.#queue.set(frontend, q = { flushFor: new Set(), since: [] });
      // A replayed transition (re-emitted after a reload or a resync) is
      // synced but neither flushed again nor timed: the flush belongs to the
      // original transition, and its latency would measure the reload.
      const key = `${frontend}|${ev.backend}`;
      const t = ev.transition;
      const sig = `${t.atMs}|${t.from}|${t.to}|${t.code}`;
      const seen = this.#lastTransition.get(key);
      if (!seen || (t.atMs >= seen.atMs && sig !== seen.sig)) {
        this.#lastTransition.set(key, { atMs: t.atMs, sig });
        q.flushFor.add(ev.address);
        q.since.push({
          atMs: ev.transition.atMs,
          trigger: OPERATOR_CODES.has(ev.transition.code) ? "operator" : "probe",
        });
      }
      this.#queueWake?.();
    }
  }

  async #queueLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      if (this.#queue.size === 0) {
        await new Promise<void>((r) => this.#queueWake = r);
        this.#queueWake = undefined;
        continue;
      }
      const [frontend, q] = this.#queue.entries().next().value as [string, QueuedSync];
      this.#queue.delete(frontend);
      if (!this.connected()) continue;
      try {
        const stats = await this.#syncVip(frontend, { flushFor: q.flushFor });
        if (!isEmptyStats(stats)) {
          const now = this.#clock.now();
          for (const s of q.since) {
            this.#opts.observers?.latency?.(s.trigger, Math.max(0, now - s.atMs) / 1000);
          }
        }
      } catch (e) {
        log.warn("vpp-lbsync-error", { frontend, err: (e as Error).message });
      }
    }
  }
}
