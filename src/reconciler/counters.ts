/**
 * The counters session: `show lb vips verbose` is a large CLI reply that VPP
 * builds in its main thread, so it runs on its own API session and never
 * queues in front of a sync's writes. Scrapes run only while someone reads
 * the counters (metrics scrapes, the API); concurrent readers share one.
 * @module
 */
import { errorMessage } from "../errors.ts";
import type { Clock } from "../clock.ts";
import { log } from "../log/mod.ts";
import type { VipCounters } from "./types.ts";
import { parseShowVipsVerbose } from "./vip_text.ts";
import type { LbClient } from "./lb_state.ts";

/** A session as the counters need it. */
export interface CountersSessionLike extends LbClient {
  close(): Promise<void>;
  readonly closed: Promise<unknown>;
}

/** Options of `CountersSession`. */
export interface CountersOptions {
  readonly clock: Clock;
  /** Opens a new session to VPP (the sync session is never used). */
  readonly open: () => Promise<CountersSessionLike>;
  /** Labels a scrape: returns VIP (prefix, protocol, port) -> frontend name. */
  readonly labeller: () => (prefix: string, protocol: number, port: number) => string;
  /** A snapshot older than this is refreshed on read. */
  readonly maxAgeMs: number;
}

/** The counters scrape stops when nobody has read them for this long. */
export const COUNTERS_IDLE_MS = 60_000;

/** Counters on their own session; see the module doc. */
export class CountersSession {
  readonly #o: CountersOptions;
  #session: Promise<CountersSessionLike> | undefined;
  #counters: VipCounters[] = [];
  #at = -Infinity;
  #demandAt = -Infinity;
  #refresh: Promise<void> | undefined;
  /** Bumped when VPP's VIP set changed: a scrape begun before then is not fresh. */
  #generation = 0;
  #refreshGeneration = -1;

  constructor(options: CountersOptions) {
    this.#o = options;
  }

  /** The latest snapshot; a stale one is refreshed in the background. */
  snapshot(): readonly VipCounters[] {
    this.#demandAt = this.#o.clock.monotonic();
    if (this.#stale()) void this.refresh();
    return this.#counters;
  }

  /** A snapshot at most `maxAgeMs` old, scraping now if needed. */
  async fresh(): Promise<readonly VipCounters[]> {
    this.#demandAt = this.#o.clock.monotonic();
    if (this.#stale()) await this.refresh();
    return this.#counters;
  }

  /** Whether someone read the counters in the last minute. */
  wanted(): boolean {
    return this.#o.clock.monotonic() - this.#demandAt <= COUNTERS_IDLE_MS;
  }

  /**
   * One scrape at a time; concurrent callers share it, unless it began
   * before the VIP set changed: then a new one follows it.
   */
  refresh(): Promise<void> {
    const generation = this.#generation;
    if (this.#refresh && this.#refreshGeneration === generation) return this.#refresh;
    const before = this.#refresh ?? Promise.resolve();
    const run: Promise<void> = before.then(() => this.#scrape(generation)).finally(() => {
      if (this.#refresh === run) this.#refresh = undefined;
    });
    this.#refresh = run;
    this.#refreshGeneration = generation;
    return run;
  }

  /**
   * A sync added or removed VIPs: the snapshot no longer lists what VPP
   * holds, so the next read scrapes again (the old numbers stay until then).
   */
  invalidate(): void {
    this.#generation++;
    this.#at = -Infinity;
  }

  /** VPP went away: forget the snapshot and close the session. */
  async reset(): Promise<void> {
    this.#counters = [];
    this.#at = -Infinity;
    const s = this.#session;
    this.#session = undefined;
    if (s) await s.then((c) => c.close(), () => {}).catch(() => {});
  }

  #stale(): boolean {
    return this.#o.clock.monotonic() - this.#at >= this.#o.maxAgeMs;
  }

  /** The counters session (opened on first use), also lent to state reads. */
  session(): Promise<CountersSessionLike> {
    return this.#open();
  }

  #open(): Promise<CountersSessionLike> {
    if (!this.#session) {
      const s = this.#o.open();
      this.#session = s;
      s.then((c) => c.closed.then(() => this.#session === s && (this.#session = undefined)))
        .catch(() => this.#session === s && (this.#session = undefined));
    }
    return this.#session;
  }

  async #scrape(generation: number): Promise<void> {
    try {
      const session = await this.#open();
      const r = await session.request("cli_inband", { cmd: "show lb vips verbose" });
      const frontendOf = this.#o.labeller();
      this.#counters = parseShowVipsVerbose(r.reply)
        .filter((v) => !v.removed)
        .map((v) => ({
          frontend: frontendOf(v.prefix, v.protocol, v.port),
          prefix: v.prefix,
          protocol: v.protocol,
          port: v.port,
          ...v.counters,
        }));
      if (generation === this.#generation) this.#at = this.#o.clock.monotonic();
    } catch (e) {
      log.debug("vpp-lb-counters-failed", { err: errorMessage(e) });
    }
  }
}
