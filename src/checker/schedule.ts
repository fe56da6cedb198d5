/**
 * The checker's one timer for every probe schedule (issue 15): a binary heap
 * of due times over a single {@linkcode Clock} timer. At 10,000 probes/s one
 * runtime timer per backend costs about a tenth of a core in timer
 * bookkeeping alone; the heap costs a few array moves per probe.
 *
 * `slackMs` lets due times that fall close together share one wakeup: after
 * a wakeup the timer is armed no sooner than `slackMs` later, so a callback
 * runs at most `slackMs` late and never early. The daemon uses a few ms;
 * tests use 0 and see exact times.
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";

/** A heap of callbacks by due time (ties in scheduling order), with one clock timer. */
export class Schedule {
  readonly #clock: Clock;
  readonly #slackMs: number;
  // Parallel arrays: no object per scheduled callback.
  readonly #at: number[] = [];
  readonly #token: number[] = [];
  readonly #fn: (() => void)[] = [];
  /** Tokens scheduled and neither run nor cancelled. */
  readonly #live = new Set<number>();
  readonly #cancelled = new Set<number>();
  #next = 1;
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  #lastWake = -Infinity;
  readonly #onTimer = () => this.#wake();

  /** Callbacks run on `clock`; see the module doc for `slackMs`. */
  constructor(clock: Clock, slackMs = 0) {
    this.#clock = clock;
    this.#slackMs = slackMs;
  }

  /** Callbacks waiting (cancelled ones excluded). */
  get size(): number {
    return this.#live.size;
  }

  /** Runs `fn` once after `delayMs`; returns a token for {@linkcode cancel}. */
  add(fn: () => void, delayMs: number): number {
    const token = this.#next++;
    const at = this.#clock.monotonic() + Math.max(0, delayMs);
    this.#push(at, token, fn);
    this.#live.add(token);
    if (at < this.#timerAt) this.#arm();
    return token;
  }

  /** Cancels a callback that has not run; unknown or spent tokens are ignored. */
  cancel(token: number): void {
    if (!this.#live.delete(token)) return;
    // Left in the heap and skipped when it comes up; dropped with the rest when idle.
    this.#cancelled.add(token);
    if (this.#live.size === 0) this.#clear();
  }

  #clear(): void {
    this.#at.length = 0;
    this.#token.length = 0;
    this.#fn.length = 0;
    this.#cancelled.clear();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(): void {
    if (this.#at.length === 0) return;
    const at = Math.max(this.#at[0], this.#lastWake + this.#slackMs);
    if (this.#timer !== undefined) {
      if (at >= this.#timerAt) return;
      this.#clock.clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(
      this.#onTimer,
      Math.max(0, at - this.#clock.monotonic()),
    );
  }

  #wake(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.monotonic();
    this.#lastWake = now;
    while (this.#at.length > 0 && this.#at[0] <= now) {
      const token = this.#token[0];
      const fn = this.#fn[0];
      this.#pop();
      if (this.#cancelled.delete(token)) continue;
      this.#live.delete(token);
      try {
        fn();
      } catch {
        // A callback's own error handling logs; the schedule goes on.
      }
    }
    this.#arm();
  }

  #push(at: number, token: number, fn: () => void): void {
    const a = this.#at, t = this.#token, f = this.#fn;
    let i = a.length;
    a.push(at);
    t.push(token);
    f.push(fn);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] < at || (a[p] === at && t[p] < token)) break;
      a[i] = a[p];
      t[i] = t[p];
      f[i] = f[p];
      i = p;
    }
    a[i] = at;
    t[i] = token;
    f[i] = fn;
  }

  #pop(): void {
    const a = this.#at, t = this.#token, f = this.#fn;
    const lastAt = a.pop()!, lastToken = t.pop()!, lastFn = f.pop()!;
    const n = a.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (a[c + 1] < a[c] || (a[c + 1] === a[c] && t[c + 1] < t[c]))) c++;
      if (lastAt < a[c] || (lastAt === a[c] && lastToken < t[c])) break;
      a[i] = a[c];
      t[i] = t[c];
      f[i] = f[c];
      i = c;
    }
    a[i] = lastAt;
    t[i] = lastToken;
    f[i] = lastFn;
  }
}
