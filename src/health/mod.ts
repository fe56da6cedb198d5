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

/** Numbers per ring slot: atMs, durationMs, and pass bit, code and detail index packed. */
const RING_FIELDS = 3;
const CODE_MASK = 0x3f;
const DETAIL_SHIFT = 7;
/** Codes seen in rings, each once (the probe codes, and any other a caller records). */
const ringCodes: string[] = [];
const ringCodeIndex = new Map<string, number>();

function ringCode(code: string): number {
  let i = ringCodeIndex.get(code);
  if (i === undefined) {
    // Past the mask the code would alias another; probe codes are 13, so this is a caller's bug.
    if (ringCodes.length > CODE_MASK) throw new RangeError(`too many probe codes: ${code}`);
    i = ringCodes.push(code) - 1;
    ringCodeIndex.set(code, i);
  }
  return i;
}

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
  /**
   * Oldest first; replaced, never pushed to: a pushed-to array keeps room
   * for 17, which at 50,000 backends is megabytes for nothing. Transitions
   * are rare and the history short, so the copy is cheap.
   */
  #history: readonly Transition[] = [];
  /**
   * The ring, allocated on the first probe: {@linkcode RING_FIELDS} numbers
   * per slot in one plain array (a typed array costs its buffer's headers
   * too), and the distinct details the slots point at (a backend answers
   * with the same few). At 50,000 backends twenty record objects each would
   * cost about 100 MB, this about 25. `#ringNext` is where the next record goes.
   */
  #ring: number[] | undefined;
  #details: string[] | undefined;
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
    const ring = this.#ring!;
    for (let i = 1; i <= this.#ringCount; i++) {
      const at = RING_FIELDS * ((this.#ringNext - i + PROBE_RING_SIZE) % PROBE_RING_SIZE);
      const packed = ring[at + 2];
      out.push({
        atMs: ring[at],
        ok: (packed & 1) === 1,
        code: ringCodes[(packed >> 1) & CODE_MASK],
        detail: this.#details![packed >> DETAIL_SHIFT],
        durationMs: ring[at + 1],
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
    this.#ringRecord(result, atMs);

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

  #ringRecord(result: ProbeResult, atMs: number): void {
    const ring = this.#ring ??= new Array<number>(RING_FIELDS * PROBE_RING_SIZE).fill(0);
    const at = RING_FIELDS * this.#ringNext;
    ring[at] = atMs;
    ring[at + 1] = result.durationMs;
    ring[at + 2] = (result.ok ? 1 : 0) | (ringCode(result.code) << 1) |
      (this.#detailIndex(result.detail) << DETAIL_SHIFT);
    this.#ringNext = (this.#ringNext + 1) % PROBE_RING_SIZE;
    if (this.#ringCount < PROBE_RING_SIZE) this.#ringCount++;
  }

  /** Where `detail` is in `#details`; a full list first keeps only what the ring uses. */
  #detailIndex(detail: string): number {
    let details = this.#details;
    // A literal, not a push: most rings see one detail, and a push would make room for 17.
    if (!details) {
      this.#details = [detail];
      return 0;
    }
    const i = details.indexOf(detail);
    if (i >= 0) return i;
    if (details.length >= 2 * PROBE_RING_SIZE) details = this.#compactDetails();
    return details.push(detail) - 1;
  }

  #compactDetails(): string[] {
    const ring = this.#ring!;
    const old = this.#details!;
    const kept: string[] = [];
    // The slot about to be overwritten is dropped too (it is not read again).
    for (let i = 1; i < this.#ringCount; i++) {
      const at = RING_FIELDS * ((this.#ringNext - i + PROBE_RING_SIZE) % PROBE_RING_SIZE) + 2;
      const d = old[ring[at] >> DETAIL_SHIFT];
      let j = kept.indexOf(d);
      if (j < 0) j = kept.push(d) - 1;
      ring[at] = (ring[at] & ((1 << DETAIL_SHIFT) - 1)) | (j << DETAIL_SHIFT);
    }
    this.#details = kept;
    return kept;
  }

  #enterUnknown(atMs: number, code: string, detail: string): Transition {
    this.#counter = this.rise - 1;
    return this.#push(this.#state, "unknown", atMs, code, detail);
  }

  #push(from: State, to: State, atMs: number, code: string, detail: string): Transition {
    this.#state = to;
    const t: Transition = Object.freeze({ from, to, atMs, code, detail });
    this.#history = this.#history.concat(t);
    this.#trim();
    return t;
  }

  #trim(): void {
    const excess = this.#history.length - this.#historyLimit;
    if (excess > 0) this.#history = this.#history.slice(excess);
  }
}
