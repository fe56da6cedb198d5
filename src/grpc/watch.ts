/**
 * WatchEvents: the checker's event stream written to a gRPC server stream,
 * with backpressure that ends in a `resync` rather than in memory that grows
 * with a slow client (issue 12.8).
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import type { WatchRequest } from "../../proto/maglev_pb.ts";
import { MAGLEV_METHODS } from "../../proto/maglev_pb.ts";
import type { EventSource, MaglevEvent } from "../checker/types.ts";
import type { Clock } from "../clock.ts";
import { MaglevError } from "../errors.ts";
import { type Level, LEVELS } from "../log/mod.ts";
import { statusOf } from "./api.ts";
import { encodedEvent } from "./convert.ts";
import type { GrpcMethod, GrpcObserver } from "./observer.ts";

/**
 * Encoded messages a WatchEvents stream may have handed to HTTP/2 and not
 * yet seen written; past it the server stops taking events from the bus
 * (which then resyncs a subscriber that stays behind) instead of buffering
 * without bound for a client that does not read.
 */
export const WATCH_MAX_IN_FLIGHT = 256;

/**
 * Events a WatchEvents subscriber may fall behind by on the bus before it is
 * sent a resync and a fresh snapshot. With the messages in flight, a client
 * is at most 1,024 events behind (the user guide's promise) before its
 * backlog is dropped: the daemon's memory does not depend on how fast a
 * client reads.
 */
export const WATCH_BUFFER_SIZE = 1024 - WATCH_MAX_IN_FLIGHT;

const WATCH_EVENTS_PATH = MAGLEV_METHODS.WatchEvents.path;

const WATCH_METHOD: GrpcMethod = {
  service: WATCH_EVENTS_PATH.split("/")[1],
  method: "WatchEvents",
  type: "server_stream",
};

function parseLevel(level: string): Level {
  if (level === "") return "info";
  if ((LEVELS as readonly string[]).includes(level)) return level as Level;
  throw new MaglevError(
    "INVALID_ARGUMENT",
    `log_level ${JSON.stringify(level)}: want debug, info, warn or error`,
  );
}

function parseSeq(seq: string): number | undefined {
  const n = Number(seq);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Ends a server stream when the client goes away or the server shuts down. */
export interface StreamTracker {
  /** Tracks a stream until `ended` settles. */
  add(abort: AbortController, ended: Promise<void>): void;
  /** Aborts every stream; resolves once each has ended its call. */
  abortAll(): Promise<void>;
  size(): number;
}

function streamTracker(): StreamTracker {
  const streams = new Map<AbortController, Promise<void>>();
  return {
    add(abort, ended) {
      streams.set(abort, ended);
      ended.finally(() => streams.delete(abort));
    },
    abortAll() {
      const ended = [...streams.values()];
      for (const a of streams.keys()) a.abort(new Error("server shutting down"));
      return Promise.all(ended).then(() => {});
    },
    size: () => streams.size,
  };
}

/** The checker's event streams can also hand out everything buffered at once. */
interface BatchedEvents {
  batches(): AsyncIterable<readonly MaglevEvent[]>;
}

/** Batches of `events`: one per wakeup from the checker, one event each otherwise. */
function eventBatches(events: AsyncIterable<MaglevEvent>): AsyncIterable<readonly MaglevEvent[]> {
  const batched = events as Partial<BatchedEvents>;
  if (typeof batched.batches === "function") return batched.batches();
  return singles(events);
}

async function* singles(events: AsyncIterable<MaglevEvent>): AsyncGenerator<MaglevEvent[]> {
  for await (const ev of events) yield [ev];
}

/** Where WatchEvents writes encoded events. */
interface EventSink {
  /** Queues one encoded `Event`; false once the writer should await `drained`. */
  write(bytes: Buffer): boolean;
  /** Resolves when writing may go on, or when `signal` aborts. */
  drained(signal: AbortSignal): Promise<void>;
}

/**
 * Writes straight to the call under grpc-js's stream object. That object
 * (a Writable) keeps one message in flight and waits until HTTP/2 has put it
 * on the socket before taking the next, so a subscriber gets at most one
 * message per socket write: with 100 subscribers at 1,000 events/s, 100,000
 * socket writes a second, which a small machine cannot do. The call below
 * takes any number of messages; HTTP/2 keeps their order and coalesces what
 * is queued into one socket write, so a subscriber that falls behind
 * catches up in a few large writes. In-flight messages are counted to keep
 * backpressure.
 */
function callSink(call: grpc.ServerInterceptingCallInterface): EventSink {
  let inFlight = 0;
  let waiter: (() => void) | undefined;
  const sent = () => {
    inFlight--;
    if (waiter && inFlight <= WATCH_MAX_IN_FLIGHT / 2) waiter();
  };
  return {
    write(bytes) {
      inFlight++;
      call.sendMessage(bytes, sent);
      return inFlight < WATCH_MAX_IN_FLIGHT;
    },
    drained(signal) {
      if (inFlight < WATCH_MAX_IN_FLIGHT || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          waiter = undefined;
          signal.removeEventListener("abort", done);
          resolve();
        };
        waiter = done;
        signal.addEventListener("abort", done, { once: true });
      });
    },
  };
}

/** Writes through grpc-js's stream object (when the call below is not ours to use). */
function writableSink(call: grpc.ServerWritableStream<WatchRequest, Buffer>): EventSink {
  return {
    write: (bytes) => call.write(bytes),
    drained: (signal) => drained(call, signal),
  };
}

/**
 * Remembers, per WatchEvents call, the call below grpc-js's stream object,
 * keyed by the request metadata that both see. Only grpc-js's own base call
 * qualifies: another interceptor's call allows one message in flight.
 */
export function watchInterceptor(
  calls: WeakMap<grpc.Metadata, grpc.ServerInterceptingCallInterface>,
): grpc.ServerInterceptor {
  return (method, next) => {
    if (method.path !== WATCH_EVENTS_PATH || next instanceof grpc.ServerInterceptingCall) {
      return new grpc.ServerInterceptingCall(next);
    }
    return new grpc.ServerInterceptingCall(next, {
      start: (go) =>
        go({
          onReceiveMetadata: (metadata, pass) => {
            calls.set(metadata, next);
            pass(metadata);
          },
        }),
    });
  };
}

/** Resolves when the stream can take more, or when `signal` aborts. */
function drained(call: grpc.ServerWritableStream<unknown, unknown>, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.on("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** What WatchEvents needs from the server. */
export interface WatchContext {
  readonly events: EventSource;
  readonly observer: GrpcObserver;
  readonly streams: StreamTracker;
  /** The call under each WatchEvents stream object (see `callSink`). */
  readonly watchCalls: WeakMap<grpc.Metadata, grpc.ServerInterceptingCallInterface>;
  readonly clock: Clock;
}

/** A tracker for the server's open streams. */
export function newStreamTracker(): StreamTracker {
  return streamTracker();
}

/** The WatchEvents handler. */
export function watchEvents(
  ctx: WatchContext,
  call: grpc.ServerWritableStream<WatchRequest, Buffer>,
): Promise<void> {
  const abort = new AbortController();
  const ended = streamEvents(ctx, call, abort);
  ctx.streams.add(abort, ended);
  return ended;
}

async function streamEvents(
  ctx: WatchContext,
  call: grpc.ServerWritableStream<WatchRequest, Buffer>,
  abort: AbortController,
): Promise<void> {
  const method = WATCH_METHOD;
  const started = performance.now();
  const { observer } = ctx;
  observer.started(method);
  observer.msgReceived(method);
  const onCancel = () => abort.abort(new Error("client went away"));
  call.on("cancelled", onCancel);
  call.on("close", onCancel);
  let code = grpc.status.OK;
  let failed = false;
  const { clock } = ctx;
  try {
    const req = call.request;
    const logLevel = parseLevel(req.log_level);
    const none = !req.log && !req.backend && !req.frontend;
    const below = ctx.watchCalls.get(call.metadata);
    ctx.watchCalls.delete(call.metadata);
    const sink = below ? callSink(below) : writableSink(call);
    const events = ctx.events.subscribe({
      backend: none || req.backend,
      frontend: none || req.frontend,
      log: req.log,
      logLevel,
      afterSeq: parseSeq(req.after_seq),
      bufferSize: WATCH_BUFFER_SIZE,
      signal: abort.signal,
    });
    // Everything buffered per wakeup is written at once; HTTP/2 coalesces it.
    for await (const batch of eventBatches(events)) {
      if (abort.signal.aborted) break;
      const now = clock.now();
      let more = true;
      for (const ev of batch) {
        more = sink.write(encodedEvent(ev, now));
        observer.msgSent(method);
      }
      // Backpressure: stop pulling so the bus sees a slow subscriber (and
      // sends it a resync) instead of this process buffering without bound.
      if (!more) await sink.drained(abort.signal);
    }
  } catch (err) {
    // An aborted subscription may end by throwing; that is a normal end.
    if (!abort.signal.aborted) {
      const status = statusOf(err);
      code = status.code;
      failed = true;
      if (!call.cancelled) call.emit("error", status);
    }
  }
  try {
    if (call.cancelled) code = grpc.status.CANCELLED;
    else if (!failed) call.end();
  } finally {
    abort.abort(new Error("stream ended"));
    call.off("cancelled", onCancel);
    call.off("close", onCancel);
    observer.handled(method, code, (performance.now() - started) / 1000);
  }
}
