/**
 * The client's requests in flight: contexts, and timeouts kept in batches.
 * Every request sent in one flush shares one timer per timeout value (their
 * deadlines differ by microseconds), so a pipelined request costs a map
 * entry, not a timer of its own.
 * @module
 */

/** Timer functions the client uses; `src/clock.ts`'s `Clock` fits. */
export interface VppTimers {
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): number;
  /** Cancels a timer. */
  clearTimeout(id: number): void;
}

/** The runtime's timers, the client's default. */
export const RUNTIME_TIMERS: VppTimers = {
  // Deno returns the timer id; the Node typings in scope call it a Timeout.
  setTimeout: (fn, ms) => Number(setTimeout(fn, ms)),
  clearTimeout: (id) => clearTimeout(id),
};

/** One request waiting for its answer. */
export interface Pending {
  /** Request name, for errors. */
  readonly name: string;
  /** The reply (or, for a dump, details) message that answers it. */
  readonly replyName: string;
  /** Details collected so far; null for a plain request. */
  readonly details: unknown[] | null;
  /** Whether a negative retval rejects (`request`) or resolves (`requestRaw`). */
  readonly checkRetval: boolean;
  /** Whether `resolve` takes the decoded reply (a batch's entries take nothing). */
  readonly wantsReply: boolean;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  /** Set by the table. */
  batch?: Batch;
  /** Set by the table. */
  context?: number;
}

/** Requests of one flush with one timeout: their entries point here, the ring holds them. */
interface Batch {
  readonly ms: number;
  left: number;
  timer: number;
}

/**
 * A filled (not holey) array: V8 keeps a large holey one as a dictionary.
 * Pushed, not `Array.from` with a callback: one call per slot was most of a
 * ring doubling's cost.
 */
function emptySlots(n: number): (Pending | undefined)[] {
  const slots: (Pending | undefined)[] = [];
  for (let i = 0; i < n; i++) slots.push(undefined);
  return slots;
}

/** The table of requests in flight; see the module doc. */
export class PendingTable {
  readonly #timers: VppTimers;
  readonly #timedOut: (p: Pending, ms: number) => Error;
  /**
   * Requests by context, in a power-of-two ring: contexts are handed out in
   * sequence, so those in flight fall on distinct slots and a lookup is an
   * array index, not a hash (40,000 pipelined requests made a Map the cost).
   * A slot taken by another context doubles the ring.
   */
  #slots: (Pending | undefined)[] = emptySlots(1024);
  /** Batches still taking requests (until the next `seal`), by timeout. */
  readonly #open = new Map<number, Batch>();
  #mask = 1023;
  #next = 1;

  /** `timedOut` builds the error a request gets when its batch's timer fires. */
  constructor(timers: VppTimers, timedOut: (p: Pending, ms: number) => Error) {
    this.#timers = timers;
    this.#timedOut = timedOut;
  }

  /** A context no request in flight uses. */
  nextContext(): number {
    for (;;) {
      const c = this.#next;
      this.#next = c >= 0xffffffff ? 1 : c + 1;
      if (this.#slots[c & this.#mask]?.context !== c) return c;
    }
  }

  #grow(): void {
    const slots = emptySlots(this.#slots.length * 2);
    const mask = slots.length - 1;
    // Two contexts apart by a multiple of the new length were already apart
    // by a multiple of the old one, so no two land on one slot.
    for (const p of this.#slots) if (p) slots[p.context! & mask] = p;
    this.#slots = slots;
    this.#mask = mask;
  }

  /** Registers `p` under `context`, timing out after `ms`. */
  add(context: number, p: Pending, ms: number): void {
    let batch = this.#open.get(ms);
    if (!batch) {
      const b: Batch = { ms, left: 0, timer: 0 };
      b.timer = this.#timers.setTimeout(() => this.#expire(b), ms);
      this.#open.set(ms, batch = b);
    }
    batch.left++;
    p.batch = batch;
    p.context = context;
    while (this.#slots[context & this.#mask] !== undefined) this.#grow();
    this.#slots[context & this.#mask] = p;
  }

  /** Requests registered from now on start new batches (called when a flush goes out). */
  seal(): void {
    this.#open.clear();
  }

  /** The request waiting under `context`. */
  get(context: number): Pending | undefined {
    const p = this.#slots[context & this.#mask];
    return p?.context === context ? p : undefined;
  }

  #remove(context: number): void {
    this.#slots[context & this.#mask] = undefined;
  }

  /** Removes the request under `context` (answered or failed); its timer may end. */
  take(context: number): Pending | undefined {
    const p = this.get(context);
    if (!p) return undefined;
    this.#remove(context);
    const b = p.batch!;
    if (--b.left === 0) {
      this.#timers.clearTimeout(b.timer);
      if (this.#open.get(b.ms) === b) this.#open.delete(b.ms);
    }
    return p;
  }

  /** Removes every request and returns them (the connection ended). */
  drain(): Pending[] {
    const all = this.#held(() => true);
    for (const p of all) {
      const b = p.batch!;
      if (b.left > 0) {
        b.left = 0;
        this.#timers.clearTimeout(b.timer);
      }
    }
    this.#slots = emptySlots(this.#slots.length);
    this.#open.clear();
    return all;
  }

  /** The requests in the ring that `keep` selects, oldest first (as they were sent). */
  #held(keep: (p: Pending) => boolean): Pending[] {
    const all = this.#slots.filter((p): p is Pending => p !== undefined && keep(p));
    return all.sort((a, b) => a.context! - b.context!);
  }

  #expire(b: Batch): void {
    if (this.#open.get(b.ms) === b) this.#open.delete(b.ms);
    // Found in the ring, not in a list a batch keeps: a timeout is rare, a
    // request is not (no array to grow per flush).
    for (const p of this.#held((p) => p.batch === b)) {
      this.#remove(p.context!);
      p.reject(this.#timedOut(p, b.ms));
    }
    b.left = 0;
  }
}
