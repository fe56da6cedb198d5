/**
 * Time as a dependency: production code uses `realClock`, tests a `FakeClock`
 * they advance by hand, so no test waits on a real timer.
 * @module
 */

/** An opaque timer handle. */
export type TimerId = number;

/** The operations on time that the daemon needs. */
export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  /** Monotonic milliseconds, for measuring durations. */
  monotonic(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a timer; unknown ids are ignored. */
  clearTimeout(id: TimerId): void;
}

/** The longest delay a runtime timer holds; above it, timers fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The runtime's timer calls, as `boundedTimers` uses them. */
export interface NativeTimers {
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

/**
 * Timers that honour any delay: one above {@linkcode MAX_TIMER_MS} is chained
 * through timers of at most that length under one stable id, so a bad value
 * that slipped past the config's bounds waits (too long) instead of firing
 * at once and looping hot.
 */
export function boundedTimers(native: NativeTimers): Pick<Clock, "setTimeout" | "clearTimeout"> {
  // Chained timers get negative ids, which the runtime never hands out.
  const chained = new Map<number, number>();
  let nextChainId = -1;
  return {
    setTimeout(fn, ms) {
      if (!(ms > MAX_TIMER_MS)) return native.setTimeout(fn, ms);
      const id = nextChainId--;
      const step = (left: number) => {
        const now = Math.min(left, MAX_TIMER_MS);
        chained.set(
          id,
          native.setTimeout(() => {
            if (left > now) return step(left - now);
            chained.delete(id);
            fn();
          }, now),
        );
      };
      step(ms);
      return id;
    },
    clearTimeout(id) {
      const current = chained.get(id);
      chained.delete(id);
      native.clearTimeout(current ?? id);
    },
  };
}

const runtimeTimers = boundedTimers({
  // Deno returns a number at run time; the Node typings say Timeout.
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as number,
  clearTimeout: (id) => clearTimeout(id as unknown as ReturnType<typeof setTimeout>),
});

/** The wall clock and the runtime's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: runtimeTimers.setTimeout,
  clearTimeout: runtimeTimers.clearTimeout,
};

/** Resolves after `ms` on `clock`; rejects with the signal's reason on abort. */
export function sleep(
  clock: Clock,
  ms: number,
  { signal }: { readonly signal?: AbortSignal } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(id);
      reject(signal?.reason);
    };
    const id = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface FakeTimer {
  id: TimerId;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. `advance` fires due timers in time
 * order and lets promise callbacks run between them, so async loops driven by
 * the clock make progress as they would in real time.
 */
export class FakeClock implements Clock {
  #now: number;
  #mono = 0;
  #nextId = 1;
  #timers: FakeTimer[] = [];

  /** Starts at `startMs` unix milliseconds. */
  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#mono + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due. */
  async advance(ms: number): Promise<void> {
    const target = this.#mono + ms;
    await flushMicrotasks();
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.#timers[0];
      if (!next || next.at > target) break;
      this.#timers.shift();
      this.#now += next.at - this.#mono;
      this.#mono = next.at;
      next.fn();
      await flushMicrotasks();
    }
    this.#now += target - this.#mono;
    this.#mono = target;
    await flushMicrotasks();
  }
}

/** Lets pending promise callbacks (and their follow-ups) run. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
  await new Promise<void>((r) => setTimeout(r, 0));
}
