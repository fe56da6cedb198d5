import { strict as assert } from "node:assert";
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import type { WatchRequest } from "../../proto/maglev_pb.ts";
import type { EventSource, MaglevEvent, SubscribeOptions } from "../checker/types.ts";
import { FakeClock } from "../clock.ts";
import type { GrpcObserver } from "./observer.ts";
import {
  newStreamTracker,
  WATCH_BUFFER_SIZE,
  WATCH_MAX_IN_FLIGHT,
  type WatchContext,
  watchEvents,
} from "./watch.ts";

/** The parts of a grpc-js server stream that WatchEvents uses. */
class FakeCall extends EventEmitter {
  readonly metadata = new grpc.Metadata();
  cancelled = false;
  writes = 0;
  ended = false;
  errors: { code: number; details?: string }[] = [];
  /** What `write` answers: false asks the writer to await "drain". */
  accept = true;
  constructor(readonly request: WatchRequest) {
    super();
    this.on("error", (e) => this.errors.push(e));
  }
  write(): boolean {
    this.writes++;
    return this.accept;
  }
  end(): void {
    this.ended = true;
  }
}

/** Events the test pushes; the subscribe options WatchEvents asked for. */
class FakeSource implements EventSource {
  options: SubscribeOptions | undefined;
  readonly #queue: MaglevEvent[][] = [];
  readonly #waiters: (() => void)[] = [];
  #closed = false;
  subscribe(options?: SubscribeOptions): AsyncIterable<MaglevEvent> {
    this.options = options;
    options?.signal?.addEventListener("abort", () => this.close());
    const batches = () => this.#batches();
    const singles = async function* () {
      for await (const batch of batches()) yield* batch;
    };
    return this.batched
      ? { [Symbol.asyncIterator]: singles, batches } as AsyncIterable<MaglevEvent>
      : { [Symbol.asyncIterator]: singles };
  }
  lastSeq(): number {
    return 0;
  }
  /** With `batched`, the source hands out each push as one batch, as the checker's bus does. */
  batched = false;
  async *#batches(): AsyncGenerator<MaglevEvent[]> {
    for (;;) {
      while (this.#queue.length > 0) yield this.#queue.shift()!;
      if (this.#closed) return;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }
  push(...events: MaglevEvent[]): void {
    this.#queue.push(events);
    this.#wakeAll();
  }
  #wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
  close(): void {
    this.#closed = true;
    this.#wakeAll();
  }
}

function resync(seq: number): MaglevEvent {
  return { kind: "resync", seq, reason: "test" };
}

function request(over: Partial<WatchRequest> = {}): WatchRequest {
  return { log: false, log_level: "", backend: false, frontend: false, after_seq: "", ...over };
}

function context(source: EventSource) {
  const handled: [number, number][] = [];
  let sent = 0;
  const observer: GrpcObserver = {
    started() {},
    msgReceived() {},
    msgSent: () => void sent++,
    handled: (_m, code, seconds) => void handled.push([code, seconds]),
  };
  const ctx: WatchContext = {
    events: source,
    observer,
    streams: newStreamTracker(),
    watchCalls: new WeakMap(),
    clock: new FakeClock(),
  };
  return { ctx, handled, sent: () => sent };
}

function run(ctx: WatchContext, call: FakeCall): Promise<void> {
  return watchEvents(ctx, call as unknown as grpc.ServerWritableStream<WatchRequest, never>);
}

/** Resolves once `cond` holds, checking after each macrotask (no fixed sleep). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 0));
}

Deno.test("watch: the request maps to subscribe options (no filter means both kinds)", async () => {
  const cases: [Partial<WatchRequest>, Partial<SubscribeOptions>][] = [
    [{}, { backend: true, frontend: true, log: false, logLevel: "info", afterSeq: undefined }],
    [{ log: true }, { backend: false, frontend: false, log: true }],
    [{ frontend: true, log_level: "warn" }, { backend: false, frontend: true, logLevel: "warn" }],
    [{ after_seq: "42" }, { afterSeq: 42 }],
    // Not a positive safe integer: start with a snapshot.
    [{ after_seq: "0" }, { afterSeq: undefined }],
    [{ after_seq: "-3" }, { afterSeq: undefined }],
    [{ after_seq: "1.5" }, { afterSeq: undefined }],
    [{ after_seq: "9007199254740993" }, { afterSeq: undefined }],
    [{ after_seq: "abc" }, { afterSeq: undefined }],
  ];
  for (const [req, want] of cases) {
    const source = new FakeSource();
    const { ctx } = context(source);
    const call = new FakeCall(request(req));
    const done = run(ctx, call);
    await until(() => source.options !== undefined);
    const got = source.options!;
    for (const [k, v] of Object.entries(want)) {
      assert.equal(got[k as keyof SubscribeOptions], v, `${JSON.stringify(req)}: ${k}`);
    }
    assert.equal(got.bufferSize, WATCH_BUFFER_SIZE);
    source.close();
    await done;
    assert.equal(call.ended, true);
  }
});

Deno.test("watch: a bad log level is INVALID_ARGUMENT naming it, and subscribes nothing", async () => {
  const source = new FakeSource();
  const { ctx, handled } = context(source);
  const call = new FakeCall(request({ log: true, log_level: "loud" }));
  await run(ctx, call);
  assert.equal(source.options, undefined);
  assert.deepEqual(
    call.errors.map((e) => [e.code, e.details]),
    [[grpc.status.INVALID_ARGUMENT, 'log_level "loud": want debug, info, warn or error']],
  );
  assert.equal(call.ended, false);
  assert.deepEqual(handled.map(([code]) => code), [grpc.status.INVALID_ARGUMENT]);
});

Deno.test("watch: a stream object that asks to wait is written again after drain", async () => {
  const source = new FakeSource();
  const { ctx, sent } = context(source);
  const call = new FakeCall(request());
  call.accept = false;
  const done = run(ctx, call);
  // A source without batches hands out one event per batch: each write waits for the drain.
  source.push(resync(1), resync(2), resync(3));
  await until(() => call.writes === 1);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(call.writes, 1, "no write before drain");
  call.emit("drain");
  await until(() => call.writes === 2);
  call.accept = true;
  call.emit("drain");
  await until(() => call.writes === 3);
  assert.equal(sent(), 3);
  source.close();
  await done;
});

Deno.test("watch: the call below keeps at most WATCH_MAX_IN_FLIGHT messages unsent", async () => {
  const source = new FakeSource();
  source.batched = true;
  const { ctx } = context(source);
  const call = new FakeCall(request());
  const callbacks: (() => void)[] = [];
  const below = { sendMessage: (_b: unknown, cb: () => void) => void callbacks.push(cb) };
  ctx.watchCalls.set(call.metadata, below as unknown as grpc.ServerInterceptingCallInterface);
  const done = run(ctx, call);
  const events = Array.from({ length: WATCH_MAX_IN_FLIGHT + 10 }, (_, i) => resync(i + 1));
  source.push(...events);
  await until(() => callbacks.length === events.length);
  assert.equal(call.writes, 0, "the stream object is bypassed");
  source.push(resync(999));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(callbacks.length, events.length, "waits while the batch is in flight");
  // Writing resumes once half the window is sent.
  for (const cb of callbacks.splice(0, events.length - WATCH_MAX_IN_FLIGHT / 2 - 1)) cb();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(callbacks.length, WATCH_MAX_IN_FLIGHT / 2 + 1);
  callbacks.shift()!();
  await until(() => callbacks.length === WATCH_MAX_IN_FLIGHT / 2 + 1);
  assert.equal(ctx.watchCalls.has(call.metadata), false, "the entry is used once");
  source.close();
  await done;
});

Deno.test("watch: a client that goes away ends the stream CANCELLED; the tracker forgets it", async () => {
  const source = new FakeSource();
  const { ctx, handled } = context(source);
  const call = new FakeCall(request());
  const done = run(ctx, call);
  await until(() => source.options !== undefined);
  assert.equal(ctx.streams.size(), 1);
  call.cancelled = true;
  call.emit("cancelled");
  await done;
  assert.equal(source.options!.signal!.aborted, true);
  assert.deepEqual([call.ended, call.errors, handled.map(([c]) => c)], [false, [], [
    grpc.status.CANCELLED,
  ]]);
  await until(() => ctx.streams.size() === 0);
});

Deno.test("watch: abortAll ends every stream and resolves when each has ended", async () => {
  const source = new FakeSource();
  const { ctx, handled } = context(source);
  const calls = [new FakeCall(request()), new FakeCall(request({ log: true }))];
  const runs = calls.map((c) => run(ctx, c));
  await until(() => ctx.streams.size() === 2);
  await ctx.streams.abortAll();
  await Promise.all(runs);
  assert.deepEqual(calls.map((c) => c.ended), [true, true]);
  assert.deepEqual(handled.map(([c]) => c), [grpc.status.OK, grpc.status.OK]);
});
