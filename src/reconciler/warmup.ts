/**
 * Startup warmup (spec 6.7): after a daemon (re)start, VPP keeps the weights
 * the previous instance programmed until we know enough to do better, so a
 * restart never black-holes traffic. This is the gate's state; the sync loop
 * drives it.
 * @module
 */
import type { Clock } from "../clock.ts";

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
  }

  get done(): boolean {
    return this.#done;
  }
}
