/**
 * A pipelined batch of requests (`VppClient.requestEach`): items are sent in
 * order with at most `window` unanswered; the answers of one read (or the
 * failures of one timeout or close) free their slots, and the next items go
 * out in one go after them. A request costs one table entry: no promise, no
 * closure, no async continuation of its own (an initial sync sends 17,000).
 * @module
 */

import { REPLY_OF } from "./messages.ts";
import type { Pending } from "./pending.ts";

/** The queue as the batch sees it (the client types it by message: `VppRequestQueue`). */
export interface UntypedQueue {
  /** Queues request `name` for the item being sent; its outcome is the item's. */
  request(name: string, fields: object): void;
}

/**
 * Puts request `name` into the client's next write and registers `entry`
 * for its reply, or returns why it cannot be sent (nothing was sent).
 */
export type Enqueue = (
  name: string,
  fields: object,
  entry: Pending,
) => Error | undefined;

/** One request of a batch waiting for its reply: settles its item. */
class BatchEntry implements Pending {
  readonly details = null;
  readonly checkRetval = true;
  readonly wantsReply = false;
  batch: Pending["batch"] = undefined;
  context: number | undefined = undefined;
  readonly #owner: RequestBatch<unknown>;
  readonly #index: number;
  constructor(
    owner: RequestBatch<unknown>,
    index: number,
    readonly name: string,
    readonly replyName: string,
  ) {
    this.#owner = owner;
    this.#index = index;
  }
  resolve(): void {
    this.#owner.settle(this.#index, undefined);
  }
  reject(e: Error): void {
    this.#owner.settle(this.#index, e);
  }
}

/** Options of a `RequestBatch`. */
export interface RequestBatchOptions<T> {
  /** Builds the request of one item into the queue. */
  send: (q: UntypedQueue, item: T) => void;
  /** The client's way into its next write. */
  enqueue: Enqueue;
  /** Requests unanswered at most at once (at least 1). */
  window: number;
}

/** See the module doc; `done` resolves with each item's error, or undefined, in item order. */
export class RequestBatch<T> implements UntypedQueue {
  /** Resolves once every item is answered or failed; never rejects. */
  readonly done: Promise<(Error | undefined)[]>;
  readonly #items: readonly T[];
  readonly #opts: RequestBatchOptions<T>;
  readonly #window: number;
  readonly #results: (Error | undefined)[];
  #finish!: (r: (Error | undefined)[]) => void;
  #next = 0;
  #current = 0;
  #inFlight = 0;
  #scheduled = false;
  #finished = false;
  /**
   * Sending from a microtask, not from within the answer: the reply path
   * (decode, settle) stays apart from the send path (encode), so neither's
   * optimized code holds the other's, and a read's answers go out as one burst.
   */
  readonly #pumpSoon = () => {
    this.#scheduled = false;
    this.pump();
  };

  /** A batch over `items`; nothing is sent before `pump`. */
  constructor(items: readonly T[], options: RequestBatchOptions<T>) {
    this.#items = items;
    this.#opts = options;
    this.#window = Math.max(1, Math.floor(options.window) || 1);
    this.#results = new Array(items.length).fill(undefined);
    this.done = new Promise((resolve) => (this.#finish = resolve));
  }

  /** The queue `send` writes into: the request answers the item being sent. */
  request(name: string, fields: object): void {
    const i = this.#current;
    const entry = new BatchEntry(
      this as RequestBatch<unknown>,
      i,
      name,
      REPLY_OF[name] ?? "",
    );
    const refused = this.#opts.enqueue(name, fields, entry);
    if (refused === undefined) this.#inFlight++;
    else this.#results[i] = refused;
  }

  /** Sends items while the window has room; resolves `done` after the last answer. */
  pump(): void {
    if (this.#finished) return;
    const items = this.#items;
    while (this.#inFlight < this.#window && this.#next < items.length) {
      const i = this.#next++;
      this.#current = i;
      try {
        this.#opts.send(this, items[i]);
      } catch (e) {
        this.#results[i] = e instanceof Error ? e : new Error(String(e));
      }
    }
    if (this.#inFlight === 0 && this.#next === items.length) {
      this.#finished = true;
      this.#finish(this.#results);
    }
  }

  /** Item `index`'s request was answered (`error` undefined) or failed. */
  settle(index: number, error: Error | undefined): void {
    if (error !== undefined) this.#results[index] = error;
    this.#inFlight--;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#pumpSoon);
    }
  }
}
