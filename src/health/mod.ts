/**
 * The per-backend health state machine (spec 3.1 to 3.3 and 0.3): a pure
 * object with no timers and no I/O. The checker feeds it probe results and
 * operator actions and asks it how long to sleep.
 *
 * Counter model (HAProxy): `counter` lies in `[0, max]` with
 * `max = rise + fall - 1`; the backend is up when `counter >= rise`. A pass
 * that lifts the counter to `rise` makes the backend up and sets the counter
 * to `max`; a failure that drops it below `rise` makes it down and sets it to
 * 0. Both hysteresis promises of spec 3.2 hold exactly: a backend that just
 * came up needs `fall` consecutive failures to go down, a fully down one
 * needs `rise` consecutive passes to come up.
 * @module
 */
import type { ProbeRecord, ProbeResult, State, Transition } from "./types.ts";

import { OperatorCode } from "./codes.ts";

export type { ProbeRecord, ProbeResult, State, Transition } from "./types.ts";
export { isOperatorCode, isProbeCode, layerOf, OperatorCode, probeResult } from "./codes.ts";

/** Probe results kept per backend (spec 0.3). */
export const PROBE_RING_SIZE = 20;

/** Construction parameters of a {@linkcode HealthMachine}. */
export interface HealthOptions {
  /** Consecutive passes to go up (>= 1). */
  rise: number;
  /** Consecutive failures to go down (>= 1). */
  fall: number;
  /** Transitions kept, newest first (`healthchecker.transition-history`, >= 1). */
  historyLimit: number;
}

/** The three intervals `nextInterval` picks from (a `HealthCheck` fits). */
export interface Intervals {
  readonly intervalMs: number;
  readonly fastIntervalMs: number;
  readonly downIntervalMs: number;
}

/** Jitter applied to every interval: +-10% (spec 0.3). */
export const JITTER = 0.1;

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${what} must be an integer >= 1, got ${n}`);
  }
}

/** States in which probe results are rejected. */
function inactive(state: State): boolean {
  return state === "paused" || state === "disabled" || state === "removed";
}

/**
 * One backend's health: state, rise/fall counter, transition history and
 * probe-result ring. Starts in `unknown` with an empty history; call
 * {@linkcode HealthMachine.start} to record the `start` transition.
 */
export class HealthMachine {
  readonly rise: number;
  readonly fall: number;
  #state: State = "unknown";
  #counter: number;
  #historyLimit: number;
  /** Oldest first; trimmed from the front. Small, so shifting is cheap. */
  #history: Transition[] = [];
  /**
   * The ring as parallel arrays, allocated on the first probe: at 50,000
   * backends twenty record objects each would cost about 100 MB; this costs
   * a fifth of that. `#ringNext` is where the next record goes.
   */
  #ringTimes: Float64Array | undefined; // atMs, durationMs per slot
  #ringCodes: string[] | undefined;
  #ringDetails: string[] | undefined;
  #ringOk = 0; // bit i: slot i passed
  #ringNext = 0;
  #ringCount = 0;

  constructor(options: HealthOptions) {
    checkCount("rise", options.rise);
    checkCount("fall", options.fall);
    checkCount("transition-history", options.historyLimit);
    this.rise = options.rise;
    this.fall = options.fall;
    this.#historyLimit = options.historyLimit;
    this.#counter = options.rise - 1;
  }

  /** The current state. */
  get state(): State {
    return this.#state;
  }

  /** The rise/fall counter, in `[0, max]`. */
  get counter(): number {
    return this.#counter;
  }

  /** `rise + fall - 1`. */
  get max(): number {
    return this.rise + this.fall - 1;
  }

  /** How many transitions are kept. */
  get historyLimit(): number {
    return this.#historyLimit;
  }

  /** Changes the history bound (a reload may change it); trims at once. */
  setHistoryLimit(limit: number): void {
    checkCount("transition-history", limit);
    this.#historyLimit = limit;
    this.#trim();
  }

  /** Transitions, newest first. */
  transitions(): Transition[] {
    return this.#history.slice().reverse();
  }

  /** The newest transition, if any. */
  lastTransition(): Transition | undefined {
    return this.#history[this.#history.length - 1];
  }

  /** The probe-result ring, newest first (at most {@linkcode PROBE_RING_SIZE}). */
  probes(): ProbeRecord[] {
    const out: ProbeRecord[] = [];
    const times = this.#ringTimes!;
    for (let i = 1; i <= this.#ringCount; i++) {
      const idx = (this.#ringNext - i + PROBE_RING_SIZE) % PROBE_RING_SIZE;
      out.push({
        atMs: times[2 * idx],
        ok: (this.#ringOk & (1 << idx)) !== 0,
        code: this.#ringCodes![idx],
        detail: this.#ringDetails![idx],
        durationMs: times[2 * idx + 1],
      });
    }
    return out;
  }

  /**
   * Records one probe result at `atMs`. Returns true when the state changed
   * (a Transition with the probe's code and detail was appended). Results
   * arriving while paused, disabled or removed are ignored (false).
   */
  record(result: ProbeResult, atMs: number): boolean {
    const state = this.#state;
    if (inactive(state)) return false;
    const slot = this.#ringNext;
    const times = this.#ringTimes ??= new Float64Array(2 * PROBE_RING_SIZE);
    times[2 * slot] = atMs;
    times[2 * slot + 1] = result.durationMs;
    (this.#ringCodes ??= new Array(PROBE_RING_SIZE).fill(""))[slot] = result.code;
    (this.#ringDetails ??= new Array(PROBE_RING_SIZE).fill(""))[slot] = result.detail;
    this.#ringOk = result.ok ? this.#ringOk | (1 << slot) : this.#ringOk & ~(1 << slot);
    this.#ringNext = (this.#ringNext + 1) % PROBE_RING_SIZE;
    if (this.#ringCount < PROBE_RING_SIZE) this.#ringCount++;

    let next: State = state;
    if (result.ok) {
      if (this.#counter < this.max) this.#counter++;
      if (this.#counter >= this.rise) {
        next = "up";
        if (state !== "up") this.#counter = this.max;
      }
    } else if (state === "unknown") {
      // Fast path: a new or restarted backend that fails is down at once.
      this.#counter = 0;
      next = "down";
    } else {
      if (this.#counter > 0) this.#counter--;
      if (this.#counter < this.rise) {
        this.#counter = 0;
        next = "down";
      }
    }
    if (next === state) return false;
    this.#push(state, next, atMs, result.code, result.detail);
    return true;
  }

  /** Enters `unknown` with code `start` (counter preset to rise - 1). */
  start(atMs: number, detail = ""): Transition | undefined {
    if (this.#state === "removed") return undefined;
    return this.#enterUnknown(atMs, OperatorCode.start, detail);
  }

  /** `unknown`/`up`/`down` → `paused`; otherwise no change (undefined). */
  pause(atMs: number, detail = ""): Transition | undefined {
    if (inactive(this.#state)) return undefined;
    return this.#push(this.#state, "paused", atMs, OperatorCode.paused, detail);
  }

  /** `paused` → `unknown` (counter rise - 1); otherwise no change. */
  resume(atMs: number, detail = ""): Transition | undefined {
    if (this.#state !== "paused") return undefined;
    return this.#enterUnknown(atMs, OperatorCode.resumed, detail);
  }

  /** Any state but `disabled`/`removed` → `disabled`; otherwise no change. */
  disable(atMs: number, detail = ""): Transition | undefined {
    if (this.#state === "disabled" || this.#state === "removed") return undefined;
    return this.#push(this.#state, "disabled", atMs, OperatorCode.disabled, detail);
  }

  /** `disabled` → `unknown` (counter rise - 1); otherwise no change. */
  enable(atMs: number, detail = ""): Transition | undefined {
    if (this.#state !== "disabled") return undefined;
    return this.#enterUnknown(atMs, OperatorCode.enabled, detail);
  }

  /** Any state → `removed` (final); no change when already removed. */
  remove(atMs: number, detail = ""): Transition | undefined {
    if (this.#state === "removed") return undefined;
    return this.#push(this.#state, "removed", atMs, OperatorCode.removed, detail);
  }

  /**
   * How long to sleep before the next probe (spec 0.3): `interval` when up
   * and fully healthy, `down-interval` when down and fully down,
   * `fast-interval` otherwise; then a uniform +-10% jitter from `random`
   * (a `Math.random`-like function returning [0, 1)).
   */
  nextInterval(intervals: Intervals, random: () => number = Math.random): number {
    let base = intervals.fastIntervalMs;
    if (this.#state === "up" && this.#counter === this.max) base = intervals.intervalMs;
    else if (this.#state === "down" && this.#counter === 0) base = intervals.downIntervalMs;
    const factor = 1 + JITTER * (2 * random() - 1);
    return Math.max(1, Math.round(base * factor));
  }

  #enterUnknown(atMs: number, code: string, detail: string): Transition {
    this.#counter = this.rise - 1;
    return this.#push(this.#state, "unknown", atMs, code, detail);
  }

  #push(from: State, to: State, atMs: number, code: string, detail: string): Transition {
    this.#state = to;
    const t: Transition = Object.freeze({ from, to, atMs, code, detail });
    this.#history.push(t);
    this.#trim();
    return t;
  }

  #trim(): void {
    const excess = this.#history.length - this.#historyLimit;
    if (excess > 0) this.#history.splice(0, excess);
  }
}
