/**
 * Startup warmup (spec 6.7): after a daemon (re)start, VPP keeps the weights
 * the previous instance programmed until we know enough to do better, so a
 * restart never black-holes traffic. This is the gate's state; the sync loop
 * drives it.
 * @module
 */
import { type Clock, sleep } from "../clock.ts";
import { formatDuration } from "../config/duration.ts";
import { log } from "../log/mod.ts";

/** Where the warmup stands. */
export type WarmupPhase = "min-delay" | "release" | "done";

/**
 * The gate. Times are measured on the clock's monotonic time from `startMs`
 * (process start), never reset by reconnects or reloads.
 */
export class WarmupGate {
  readonly #clock: Clock;
  readonly #startMs: number;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #released = new Set<string>();
  #done = false;
  #resolveFinished!: () => void;
  /** Resolves when warmup completes (systemd READY=1, `/ready`). */
  readonly finished: Promise<void> = new Promise((r) => this.#resolveFinished = r);

  /** Delays are latched here; a reload cannot change them. */
  constructor(clock: Clock, options: { minDelayMs: number; maxDelayMs: number; startMs?: number }) {
    this.#clock = clock;
    this.#startMs = options.startMs ?? clock.monotonic();
    this.#minDelayMs = options.minDelayMs;
    this.#maxDelayMs = options.maxDelayMs;
  }

  /** Milliseconds since process start. */
  elapsedMs(): number {
    return this.#clock.monotonic() - this.#startMs;
  }

  get minDelayMs(): number {
    return this.#minDelayMs;
  }

  get maxDelayMs(): number {
    return this.#maxDelayMs;
  }

  /** True when warmup is disabled (`startup-max-delay: 0`). */
  get skipped(): boolean {
    return this.#maxDelayMs === 0;
  }

  phase(): WarmupPhase {
    if (this.#done) return "done";
    return this.elapsedMs() < this.#minDelayMs ? "min-delay" : "release";
  }

  /** Whether writes for `frontend` may go to VPP now. */
  isOpen(frontend: string): boolean {
    return this.#done || this.#released.has(frontend);
  }

  /**
   * Releases `frontend` unless still inside the min-delay window; true when
   * it is (now or already) released or warmup is done. The caller checks
   * that the frontend's backends are all known.
   */
  tryRelease(frontend: string): boolean {
    if (this.#done || this.#released.has(frontend)) return true;
    if (this.phase() === "min-delay") return false;
    this.#released.add(frontend);
    return true;
  }

  /** Frontends released so far. */
  released(): ReadonlySet<string> {
    return this.#released;
  }

  /** Opens every gate. Idempotent. */
  finish(): void {
    this.#done = true;
    this.#resolveFinished();
  }

  get done(): boolean {
    return this.#done;
  }
}

/** What the warmup loop drives. */
export interface WarmupDriver {
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** Poll period of the release phase. */
  readonly pollMs: number;
  /** Configured frontend names. */
  frontends(): string[];
  /** Whether every backend of `frontend` has a state other than unknown. */
  allKnown(frontend: string): boolean;
  /** Syncs a frontend just released (logs its own errors). */
  release(frontend: string, trigger: "poll" | "event"): Promise<void>;
  /** The watchdog's (or a skipped warmup's) full sync (logs its own errors). */
  syncAll(): Promise<void>;
}

/** The warmup loop of spec 6.7: min-delay, per-frontend release, the max-delay watchdog. */
export async function runWarmup(gate: WarmupGate, d: WarmupDriver): Promise<void> {
  const elapsed = () => formatDuration(gate.elapsedMs());
  if (gate.skipped) {
    log.info("vpp-lb-warmup-skipped", { impact: "VPP LB update skipped" });
    gate.finish();
    await d.syncAll();
    return;
  }
  log.info("vpp-lb-warmup-start", {
    "min-delay": formatDuration(gate.minDelayMs),
    "max-delay": formatDuration(gate.maxDelayMs),
    impact: "Gating all VPP LB updates",
  });
  const minLeft = gate.minDelayMs - gate.elapsedMs();
  if (minLeft > 0) await sleep(d.clock, minLeft, { signal: d.signal });
  log.info("vpp-lb-warmup-min-delay-elapsed", {
    elapsed: elapsed(),
    impact: "Ungating VPP LB updates for VIPs with known backend state",
  });
  while (!d.signal.aborted && gate.elapsedMs() < gate.maxDelayMs) {
    const names = d.frontends();
    for (const name of names) {
      if (gate.isOpen(name) || !d.allKnown(name)) continue;
      if (gate.tryRelease(name)) await d.release(name, "poll");
    }
    if (names.every((n) => gate.isOpen(n))) {
      log.info("vpp-lb-warmup-complete", {
        elapsed: elapsed(),
        impact: "Ungating VPP LB updates, all frontends released",
      });
      gate.finish();
      const left = gate.maxDelayMs - gate.elapsedMs();
      if (left > 0) await sleep(d.clock, left, { signal: d.signal });
      log.info("vpp-lb-warmup-max-delay-elapsed", {
        elapsed: elapsed(),
        impact: "Ungating all VPP LB updates",
      });
      return;
    }
    await sleep(d.clock, Math.min(d.pollMs, gate.maxDelayMs - gate.elapsedMs()), {
      signal: d.signal,
    });
  }
  if (d.signal.aborted) return;
  log.info("vpp-lb-warmup-max-delay-elapsed", {
    elapsed: elapsed(),
    impact: "Ungating all VPP LB updates",
  });
  gate.finish();
  await d.syncAll();
}
