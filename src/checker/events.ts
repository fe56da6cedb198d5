/**
 * The event bus (spec 0.3): numbered events, a replay ring for resuming,
 * per-subscriber buffers, and resync instead of silent loss.
 *
 * Sequence numbers: every backend or frontend event published takes the next
 * number. Synthetic snapshot events, `resync` notices and streamed log
 * records do not take a number of their own; they carry the number of the
 * newest published event, so a client that remembers the last `seq` it saw
 * and resumes with `afterSeq` gets exactly the events it has not seen.
 * @module
 */
import type {
  BackendEvent,
  FrontendEvent,
  LogEvent,
  MaglevEvent,
  ResyncEvent,
  SubscribeOptions,
} from "./types.ts";
import { addLogListener, levelAtLeast, log, type LogRecord } from "../log/mod.ts";

const PLACEHOLDER: MaglevEvent = { kind: "resync", seq: 0, reason: "" };

/** Events kept for `afterSeq` resumption. */
export const REPLAY_RING_SIZE = 4096;
/**
 * Default per-subscriber buffer: live events a subscriber may fall behind by
 * before it is told to resync.
 */
export const DEFAULT_BUFFER_SIZE = 1024;

/** A backend or frontend event before the bus numbers it. */
export type Unnumbered =
  | Omit<BackendEvent, "seq">
  | Omit<FrontendEvent, "seq">;

/** Builds the synthetic snapshot; every event gets `seq`. */
export type SnapshotFn = (seq: number) => (BackendEvent | FrontendEvent)[];

interface Subscriber {
  readonly backend: boolean;
  readonly frontend: boolean;
  readonly log: boolean;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  readonly bufferSize: number;
  queue: MaglevEvent[];
  head: number;
  /** Live events waiting in `queue`; bounded by `bufferSize`. */
  live: number;
  /** Snapshot, resync and replayed events at the front of `queue`. */
  catchUp: number;
  /** Set on overflow: the queue was dropped; a resync and snapshot are owed. */
  resyncReason: string;
  wake: (() => void) | undefined;
  done: boolean;
}

/**
 * One registered subscription as its stream reads it. `wait` resolves once
 * something is queued or the subscription ended; `close` unregisters.
 */
export interface EventFeed {
  ended(): boolean;
  next(): MaglevEvent | undefined;
  drain(): MaglevEvent[];
  wait(): Promise<void>;
  close(): void;
}

/**
 * A subscription's events. Iterate it for one event at a time, or read
 * `batches()` to get everything buffered per wakeup at once (the gRPC server
 * does: one promise per wakeup instead of one per event). Either way the
 * subscription is registered when iteration starts and freed when it ends.
 */
export class EventStream implements AsyncIterable<MaglevEvent> {
  readonly #open: () => EventFeed | undefined;

  /** `open` registers the subscription; undefined when it cannot start. */
  constructor(open: () => EventFeed | undefined) {
    this.#open = open;
  }

  /** One event at a time. */
  [Symbol.asyncIterator](): AsyncIterator<MaglevEvent> {
    return this.#events();
  }

  async *#events(): AsyncGenerator<MaglevEvent> {
    const feed = this.#open();
    if (!feed) return;
    try {
      for (;;) {
        if (feed.ended()) return;
        const ev = feed.next();
        if (ev !== undefined) {
          yield ev;
          continue;
        }
        await feed.wait();
      }
    } finally {
      feed.close();
    }
  }

  /** Non-empty batches of every event buffered at each wakeup, in order. */
  batches(): AsyncIterable<readonly MaglevEvent[]> {
    return this.#batches();
  }

  async *#batches(): AsyncGenerator<readonly MaglevEvent[]> {
    const feed = this.#open();
    if (!feed) return;
    try {
      for (;;) {
        if (feed.ended()) return;
        const batch = feed.drain();
        if (batch.length > 0) {
          yield batch;
          continue;
        }
        await feed.wait();
      }
    } finally {
      feed.close();
    }
  }
}

function wants(sub: Subscriber, ev: MaglevEvent): boolean {
  switch (ev.kind) {
    case "backend":
      return sub.backend;
    case "frontend":
      return sub.frontend;
    case "log":
      return sub.log && levelAtLeast(ev.level, sub.logLevel);
    case "resync":
      return true;
  }
}

/**
 * Fan-out of checker events to any number of subscribers. Publishing is
 * O(subscribers); a subscriber that does not keep up loses its buffered
 * events but is told so with a `resync` event and given a fresh snapshot.
 */
export class EventBus {
  #seq = 0;
  #ring: (BackendEvent | FrontendEvent)[] = new Array(REPLAY_RING_SIZE);
  #ringNext = 0;
  #ringCount = 0;
  #subs = new Set<Subscriber>();
  #logSubs = 0;
  #removeLogListener: (() => void) | undefined;
  #snapshot: SnapshotFn;
  #closed = false;
  #inLog = false;

  /** `snapshot` builds the current state as synthetic `from == to` events. */
  constructor(snapshot: SnapshotFn) {
    this.#snapshot = snapshot;
  }

  /** The sequence number of the newest published event (0 before any). */
  lastSeq(): number {
    return this.#seq;
  }

  /** True when a subscriber streams log records at `level`. */
  wantsLog(level: "debug" | "info" | "warn" | "error"): boolean {
    if (this.#logSubs === 0) return false;
    for (const sub of this.#subs) if (sub.log && levelAtLeast(level, sub.logLevel)) return true;
    return false;
  }

  /** Number of live subscriptions. */
  get subscribers(): number {
    return this.#subs.size;
  }

  /** Numbers an event, keeps it for replay and hands it to every subscriber. */
  publish(event: Unnumbered): BackendEvent | FrontendEvent {
    const ev = { ...event, seq: ++this.#seq } as BackendEvent | FrontendEvent;
    this.#ring[this.#ringNext] = ev;
    this.#ringNext = (this.#ringNext + 1) % REPLAY_RING_SIZE;
    if (this.#ringCount < REPLAY_RING_SIZE) this.#ringCount++;
    for (const sub of this.#subs) this.#deliver(sub, ev);
    return ev;
  }

  /**
   * A stream of events: a snapshot, then live events (or, with `afterSeq`,
   * the kept events after it, then live events). Ends when `signal` aborts,
   * when the consumer stops iterating, or when the bus closes. Nothing is
   * registered until iteration starts.
   */
  subscribe(options: SubscribeOptions = {}): EventStream {
    return new EventStream(() => this.#open(options));
  }

  /** Ends every subscription. */
  close(): void {
    this.#closed = true;
    for (const sub of this.#subs) this.#finish(sub);
  }

  #open(options: SubscribeOptions): EventFeed | undefined {
    const signal = options.signal;
    if (this.#closed || signal?.aborted) return undefined;
    const sub: Subscriber = {
      backend: options.backend ?? true,
      frontend: options.frontend ?? true,
      log: options.log ?? false,
      logLevel: options.logLevel ?? "info",
      bufferSize: Math.max(1, options.bufferSize ?? DEFAULT_BUFFER_SIZE),
      queue: [],
      head: 0,
      live: 0,
      catchUp: 0,
      resyncReason: "",
      wake: undefined,
      done: false,
    };
    this.#start(sub, options.afterSeq);
    this.#subs.add(sub);
    if (sub.log) this.#addLogSub();
    const onAbort = () => this.#finish(sub);
    signal?.addEventListener("abort", onAbort, { once: true });
    let closed = false;
    return {
      ended: () => sub.done,
      next: () => this.#takeOne(sub),
      drain: () => this.#takeAll(sub),
      wait: () => {
        if (sub.done || sub.resyncReason || sub.head < sub.queue.length) return Promise.resolve();
        return new Promise<void>((resolve) => sub.wake = resolve);
      },
      close: () => {
        if (closed) return;
        closed = true;
        sub.done = true;
        sub.wake = undefined;
        signal?.removeEventListener("abort", onAbort);
        this.#subs.delete(sub);
        if (sub.log) this.#removeLogSub();
        sub.queue = [];
        sub.head = 0;
      },
    };
  }

  /** The next queued event, or undefined when none is queued (or ended). */
  #takeOne(sub: Subscriber): MaglevEvent | undefined {
    // Once ended (abort, close), nothing more is handed out.
    if (sub.done) return undefined;
    if (sub.resyncReason) this.#resync(sub);
    if (sub.head >= sub.queue.length) return undefined;
    const ev = sub.queue[sub.head];
    // Release the reference at once: a long queue must not pin old events.
    sub.queue[sub.head++] = PLACEHOLDER;
    if (sub.head === sub.queue.length) {
      sub.queue = [];
      sub.head = 0;
      sub.live = 0;
      sub.catchUp = 0;
    } else {
      if (sub.catchUp > 0) sub.catchUp--;
      else sub.live--;
      // A consumer that keeps pace never drains the queue completely;
      // compact now and then so the array does not grow forever.
      if (sub.head >= 1024 && sub.head * 2 >= sub.queue.length) {
        sub.queue = sub.queue.slice(sub.head);
        sub.head = 0;
      }
    }
    return ev;
  }

  /** Every queued event, in order; empty when none is queued (or ended). */
  #takeAll(sub: Subscriber): MaglevEvent[] {
    if (sub.done) return [];
    if (sub.resyncReason) this.#resync(sub);
    if (sub.head >= sub.queue.length) return [];
    const out = sub.head === 0 ? sub.queue : sub.queue.slice(sub.head);
    sub.queue = [];
    sub.head = 0;
    sub.live = 0;
    sub.catchUp = 0;
    return out;
  }

  /** Fills a new subscriber's queue: replay from the ring, or a snapshot. */
  #start(sub: Subscriber, afterSeq: number | undefined): void {
    if (afterSeq === undefined) {
      this.#pushSnapshot(sub);
      sub.catchUp = sub.queue.length;
      return;
    }
    const first = this.#seq - this.#ringCount + 1;
    if (!Number.isInteger(afterSeq) || afterSeq < first - 1 || afterSeq > this.#seq) {
      sub.queue.push(this.#resyncEvent(
        afterSeq > this.#seq
          ? `sequence ${afterSeq} is ahead of the newest event ${this.#seq} (daemon restarted?)`
          : `sequence ${afterSeq} is no longer kept (oldest kept is ${first})`,
      ));
      this.#pushSnapshot(sub);
      sub.catchUp = sub.queue.length;
      return;
    }
    for (let seq = afterSeq + 1; seq <= this.#seq; seq++) {
      const ev = this.#ring[
        (this.#ringNext - (this.#seq - seq) - 1 + REPLAY_RING_SIZE) %
        REPLAY_RING_SIZE
      ];
      if (wants(sub, ev)) sub.queue.push(ev);
    }
    sub.catchUp = sub.queue.length;
  }

  #pushSnapshot(sub: Subscriber): void {
    for (const ev of this.#snapshot(this.#seq)) {
      if (wants(sub, ev)) sub.queue.push(ev);
    }
  }

  #resyncEvent(reason: string): ResyncEvent {
    return { kind: "resync", seq: this.#seq, reason };
  }

  /** Replaces a lagging subscriber's queue with a resync notice and a snapshot. */
  #resync(sub: Subscriber): void {
    const reason = sub.resyncReason;
    sub.resyncReason = "";
    sub.queue = [this.#resyncEvent(reason)];
    sub.head = 0;
    sub.live = 0;
    this.#pushSnapshot(sub);
    sub.catchUp = sub.queue.length;
  }

  #deliver(sub: Subscriber, ev: MaglevEvent): void {
    if (sub.done || sub.resyncReason || !wants(sub, ev)) return;
    if (sub.live >= sub.bufferSize) {
      // Dropping the queue is safe: the owed snapshot covers everything in it.
      sub.queue = [];
      sub.head = 0;
      sub.live = 0;
      sub.catchUp = 0;
      sub.resyncReason = `subscriber fell more than ${sub.bufferSize} events behind`;
      if (!this.#inLog) log.warn("event-resync", { buffer: sub.bufferSize, seq: this.#seq });
    } else {
      sub.queue.push(ev);
      sub.live++;
    }
    sub.wake?.();
  }

  #finish(sub: Subscriber): void {
    sub.done = true;
    sub.wake?.();
  }

  #addLogSub(): void {
    if (this.#logSubs++ === 0) {
      this.#removeLogListener = addLogListener((r) => this.#onLog(r));
    }
  }

  #removeLogSub(): void {
    if (--this.#logSubs === 0) {
      this.#removeLogListener?.();
      this.#removeLogListener = undefined;
    }
  }

  #onLog(record: LogRecord): void {
    if (this.#inLog) return;
    this.#inLog = true;
    try {
      const ev: LogEvent = {
        kind: "log",
        seq: this.#seq,
        atMs: record.atMs,
        level: record.level,
        msg: record.msg,
        attrs: record.attrs,
      };
      for (const sub of this.#subs) if (sub.log) this.#deliver(sub, ev);
    } finally {
      this.#inLog = false;
    }
  }
}
