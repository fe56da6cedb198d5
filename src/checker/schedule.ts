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
 *
 * It holds {@linkcode Task} objects, not closures: at 10,000 backends a
 * wakeup that calls `task.run()` on the backend's own object touches one
 * object where a bound closure touched three (closure, context, backend),
 * and at that size each is a cache miss.
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";

/** Tokens are 1 .. 2^30 - 1. */
const TOKEN_MASK = 2 ** 30 - 1;

/** What the schedule runs: one object per caller, scheduled again and again. */
export interface Task {
  /** Called once per {@linkcode Schedule.add}, when it is due. */
  run(): void;
}

/** Marks a cancelled callback's heap slot. */
const CANCELLED: Task = Object.freeze({ run(): void {} });

/** True when token `a` was handed out before `b` (wrapped order: the token after 2^30 - 1 is 1). */
export function tokenBefore(a: number, b: number): boolean {
  return ((a - b) << 2) < 0;
}

/** A heap of tasks by due time (ties in scheduling order), with one clock timer. */
export class Schedule {
  readonly #clock: Clock;
  readonly #slackMs: number;
  // Parallel arrays: no object per scheduled callback.
  readonly #at: number[] = [];
  readonly #token: number[] = [];
  readonly #task: Task[] = [];
  /** Callbacks scheduled and neither run nor cancelled. */
  #live = 0;
  // Tokens wrap below 2^30 so they stay V8 small integers; ties compare by
  // wrapped difference, right while fewer than 2^29 callbacks wait.
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
    return this.#live;
  }

  /** Runs `task` once after `delayMs`; returns a token for {@linkcode cancel}. */
  add(task: Task, delayMs: number): number {
    const token = this.#next;
    this.#next = (token + 1) & TOKEN_MASK || 1;
    const at = this.#clock.monotonic() + Math.max(0, delayMs);
    this.#push(at, token, task);
    this.#live++;
    if (at < this.#timerAt) this.#arm();
    return token;
  }

  /** Cancels a callback that has not run; unknown or spent tokens are ignored. */
  cancel(token: number): void {
    // A linear search, not a Set kept on every add and run: cancels are rare
    // (a backend leaves or stops), probes are 10,000 a second.
    const i = this.#token.indexOf(token);
    if (i < 0 || this.#task[i] === CANCELLED) return;
    // Left in the heap and skipped when it comes up; dropped with the rest when idle.
    this.#task[i] = CANCELLED;
    if (--this.#live === 0) this.clear();
  }

  /** Cancels every callback at once (a checker stopping), without a search per token. */
  clear(): void {
    this.#live = 0;
    this.#at.length = 0;
    this.#token.length = 0;
    this.#task.length = 0;
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
      const task = this.#task[0];
      this.#pop();
      if (task === CANCELLED) continue;
      this.#live--;
      try {
        task.run();
      } catch {
        // A callback's own error handling logs; the schedule goes on.
      }
    }
    this.#arm();
  }

  #push(at: number, token: number, task: Task): void {
    const a = this.#at, t = this.#token, f = this.#task;
    let i = a.length;
    a.push(at);
    t.push(token);
    f.push(task);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] < at || (a[p] === at && tokenBefore(t[p], token))) break;
      a[i] = a[p];
      t[i] = t[p];
      f[i] = f[p];
      i = p;
    }
    a[i] = at;
    t[i] = token;
    f[i] = task;
  }

  #pop(): void {
    const a = this.#at, t = this.#token, f = this.#task;
    const lastAt = a.pop()!, lastToken = t.pop()!, lastTask = f.pop()!;
    const n = a.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (a[c + 1] < a[c] || (a[c + 1] === a[c] && tokenBefore(t[c + 1], t[c])))) c++;
      if (lastAt < a[c] || (lastAt === a[c] && tokenBefore(lastToken, t[c]))) break;
      a[i] = a[c];
      t[i] = t[c];
      f[i] = f[c];
      i = c;
    }
    a[i] = lastAt;
    t[i] = lastToken;
    f[i] = lastTask;
  }
}
