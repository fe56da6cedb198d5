/**
 * The maglevd gRPC server: the `maglev.v1.Maglev` service, server reflection
 * and the standard `grpc.health.v1.Health` service, on a TCP and/or a unix
 * socket listener (spec 0.5, 7).
 *
 * Each listener gets its own grpc-js server, because grpc-js does not tell a
 * handler which listener accepted the call, and mutating RPCs are allowed or
 * refused per listener: refused (PERMISSION_DENIED) on a TCP listener bound
 * to a non-loopback address unless remote admin is allowed.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import * as net from "node:net";
import { lookup } from "node:dns/promises";
import { ReflectionService } from "@grpc/reflection";
import type {
  BackendRequest,
  FrontendInfo,
  GetBackendRequest,
  GetFrontendRequest,
  GetHealthCheckRequest,
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  MaglevMethodTypes,
  SetWeightRequest,
  SyncVPPLBStateRequest,
  WatchRequest,
} from "../../proto/maglev_pb.ts";
import { MAGLEV_METHODS, MAGLEV_SERVICE } from "../../proto/maglev_pb.ts";
import type { CheckerApi, EventSource, MaglevEvent } from "../checker/types.ts";
import { Buffer } from "node:buffer";
import type { ReloadResult } from "../checker/types.ts";
import type { VppControl } from "../reconciler/types.ts";
import {
  backendNotFound,
  errorMessage,
  frontendNotFound,
  healthcheckNotFound,
  MaglevError,
} from "../errors.ts";
import type { ErrorKind } from "../errors.ts";
import { LEVELS, log } from "../log/mod.ts";
import { realClock } from "../clock.ts";
import type { Clock } from "../clock.ts";
import type { Level } from "../log/mod.ts";
import { effectiveWeights, frontendState } from "../weights/mod.ts";
import {
  backendInfo,
  encodedEvent,
  frontendInfo,
  healthCheckInfo,
  lbCounters,
  lbState,
  syncResponse,
  vppInfo,
} from "./convert.ts";
import { healthPackage, healthService, maglevPackage, maglevServerService } from "./proto.ts";
import { GoawayFilteredSocket } from "./goaway_filter.ts";

/** Default TCP listen address (spec 0.5: localhost, not all interfaces). */
export const DEFAULT_GRPC_ADDR = "localhost:9090";

/** Largest request message accepted (bytes); requests are small. */
export const MAX_RECEIVE_BYTES = 64 * 1024;

/**
 * Events a WatchEvents subscriber may fall behind by before it is sent a
 * resync and a fresh snapshot. Larger than the bus default (1,024) because
 * a gRPC subscriber is paced by a network peer: a burst (a reload, a
 * flapping pool, the daemon busy for a moment at 1,000 events/s) must not
 * cost every client a resync. Bounded, because a stuck client must not pin
 * memory: the queue holds references to events shared by every subscriber
 * (8 bytes a slot), so 8,192 costs about 64 KiB per subscriber, and 8 s of
 * slack at 1,000 events/s.
 */
export const WATCH_BUFFER_SIZE = 8192;

/**
 * Encoded messages a WatchEvents stream may have handed to HTTP/2 and not
 * yet seen written; past it the server stops taking events from the bus
 * (which then resyncs a subscriber that stays behind) instead of buffering
 * without bound for a client that does not read.
 */
export const WATCH_MAX_IN_FLIGHT = 1024;

const WATCH_EVENTS_PATH = "/maglev.v1.Maglev/WatchEvents";

/** At shutdown, how long a client may take to close its connection after the server's FIN. */
const SOCKET_CLOSE_GRACE_MS = 1000;

/** Resolves when `p` settles or after `ms`, whichever comes first. */
async function withGrace(p: Promise<unknown>, ms: number, clock: Clock): Promise<void> {
  let timer: number | undefined;
  const grace = new Promise<void>((resolve) => timer = clock.setTimeout(resolve, ms));
  await Promise.race([p.then(() => {}, () => {}), grace]);
  clock.clearTimeout(timer!);
}

/** `grpc_type` of a method, as the metrics label it. */
export type RpcType = "unary" | "server_stream";

/** Hooks for the gRPC server metrics (spec 7.2, 10). */
export interface GrpcObserver {
  started(method: string, type: RpcType): void;
  /** `code` is the status code name, e.g. `OK`, `NOT_FOUND`. */
  handled(method: string, type: RpcType, code: string, seconds: number): void;
  msgReceived(method: string, type: RpcType): void;
  msgSent(method: string, type: RpcType): void;
}

/** What `CheckConfig` reports about the on-disk file. */
export interface CheckConfigResult {
  ok: boolean;
  kind?: "parse" | "semantic";
  error?: string;
}

/** Where to listen. Without either, `DEFAULT_GRPC_ADDR`. */
export interface ListenOptions {
  /** `host:port`; `:port` means all interfaces; port 0 picks a free one. */
  tcp?: string;
  /** A unix socket path (`unix:` prefix optional). */
  unix?: string;
}

/** Everything the server needs from the daemon. */
export interface GrpcServerOptions {
  checker: CheckerApi & EventSource;
  vpp: VppControl;
  checkConfig: () => Promise<CheckConfigResult>;
  reload: () => Promise<ReloadResult>;
  listen: ListenOptions;
  /** Allow mutating RPCs on non-loopback TCP listeners. */
  allowRemoteAdmin?: boolean;
  /** Serve gRPC server reflection (default true). */
  reflection?: boolean;
  observer?: GrpcObserver;
  /** Request size bound (default `MAX_RECEIVE_BYTES`). */
  maxReceiveBytes?: number;
  /** Stamps events without their own time, times the shutdown grace (default realClock). */
  clock?: Clock;
}

/** A running server. */
export interface GrpcServerHandle {
  /** Bound addresses: `host:port` with the real port, and `unix:/path`. */
  readonly addresses: readonly string[];
  /** Number of open WatchEvents streams (tests, metrics). */
  activeStreams(): number;
  /**
   * Ends every WatchEvents and health Watch stream, waits for calls in
   * flight (at most `graceMs`, default 5000), then closes the listeners.
   */
  shutdown(options?: { graceMs?: number }): Promise<void>;
}

/** Methods that change state: refused on remote listeners without remote admin. */
export const MUTATING_METHODS: ReadonlySet<string> = new Set(
  Object.entries(MAGLEV_METHODS).filter(([, m]) => m.mutating).map(([name]) => name),
);

const STATUS_OF_KIND: Record<ErrorKind, grpc.status> = {
  NOT_FOUND: grpc.status.NOT_FOUND,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  INTERNAL: grpc.status.INTERNAL,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
};

/** The gRPC status of anything a handler throws. */
export function statusOf(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof MaglevError) return { code: STATUS_OF_KIND[err.kind], details: err.message };
  const message = errorMessage(err);
  return { code: grpc.status.INTERNAL, details: message };
}

/** True when a host names only loopback addresses. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return h.startsWith("::ffff:127.");
}

/** Splits `host:port` (`[v6]:port`, `:port`); throws a clear error when malformed. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:\[\]]*)):(\d{1,5})$/.exec(addr);
  if (!m) {
    throw new MaglevError(
      "INVALID_ARGUMENT",
      `grpc listen address ${JSON.stringify(addr)}: want host:port, [v6addr]:port or :port`,
    );
  }
  const port = Number(m[3]);
  if (port > 65535) {
    throw new MaglevError(
      "INVALID_ARGUMENT",
      `grpc listen address ${JSON.stringify(addr)}: port ${port} out of range 0..65535`,
    );
  }
  return { host: m[1] ?? m[2], port };
}

function unimplemented(method: string): MaglevError {
  return new MaglevError("UNIMPLEMENTED", `${method} is not implemented yet`);
}

function requireName(name: string, what: string): void {
  if (name === "") throw new MaglevError("INVALID_ARGUMENT", `${what} name is required`);
}

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
interface StreamTracker {
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
function watchInterceptor(
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

/** The Maglev service logic, independent of any listener. */
class MaglevApi {
  constructor(private readonly o: GrpcServerOptions) {}

  private frontend(name: string) {
    requireName(name, "frontend");
    const fe = this.o.checker.config().frontends[name];
    if (!fe) throw frontendNotFound(name);
    return fe;
  }

  frontendInfo(name: string): FrontendInfo {
    const fe = this.frontend(name);
    const { checker } = this.o;
    const backends = checker.config().backends;
    return frontendInfo(fe, {
      effective: effectiveWeights(fe, checker),
      state: frontendState(fe, checker),
      states: checker,
      enabled: (b) => backends[b]?.enabled ?? false,
      address: (b) => backends[b]?.address ?? "",
      vppSyncError: this.o.vpp.lastSyncError?.(fe.name),
    });
  }

  private requireVpp(): VppControl {
    const { vpp } = this.o;
    if (!vpp.enabled()) throw new MaglevError("UNAVAILABLE", "VPP integration is disabled");
    if (!vpp.connected()) throw new MaglevError("UNAVAILABLE", "VPP is not connected");
    return vpp;
  }

  ListFrontends(): MaglevMethodTypes["ListFrontends"]["response"] {
    const names = Object.keys(this.o.checker.config().frontends);
    return { names, frontends: names.map((n) => this.frontendInfo(n)) };
  }

  GetFrontend(req: GetFrontendRequest) {
    return this.frontendInfo(req.name);
  }

  ListBackends(): MaglevMethodTypes["ListBackends"]["response"] {
    const names = this.o.checker.listBackends();
    return { names, backends: names.map((n) => backendInfo(this.o.checker.getBackend(n))) };
  }

  GetBackend(req: GetBackendRequest) {
    requireName(req.name, "backend");
    return backendInfo(this.o.checker.getBackend(req.name));
  }

  PauseBackend(req: BackendRequest) {
    requireName(req.name, "backend");
    return backendInfo(this.o.checker.pause(req.name));
  }

  ResumeBackend(req: BackendRequest) {
    requireName(req.name, "backend");
    return backendInfo(this.o.checker.resume(req.name));
  }

  EnableBackend(req: BackendRequest) {
    requireName(req.name, "backend");
    return backendInfo(this.o.checker.enable(req.name));
  }

  DisableBackend(req: BackendRequest) {
    requireName(req.name, "backend");
    return backendInfo(this.o.checker.disable(req.name));
  }

  ListHealthChecks(): MaglevMethodTypes["ListHealthChecks"]["response"] {
    const hcs = this.o.checker.config().healthchecks;
    const names = Object.keys(hcs).sort();
    return { names, healthchecks: names.map((n) => healthCheckInfo(hcs[n])) };
  }

  GetHealthCheck(req: GetHealthCheckRequest) {
    requireName(req.name, "healthcheck");
    const hc = this.o.checker.config().healthchecks[req.name];
    if (!hc) throw healthcheckNotFound(req.name);
    return healthCheckInfo(hc);
  }

  async SetFrontendPoolBackendWeight(req: SetWeightRequest): Promise<FrontendInfo> {
    const fe = this.frontend(req.frontend);
    requireName(req.pool, "pool");
    requireName(req.backend, "backend");
    const pool = fe.pools.find((p) => p.name === req.pool);
    if (!pool) {
      throw new MaglevError(
        "NOT_FOUND",
        `pool ${JSON.stringify(req.pool)} not found in frontend ${JSON.stringify(fe.name)}`,
      );
    }
    if (!pool.backends.some((b) => b.name === req.backend)) {
      if (!this.o.checker.config().backends[req.backend]) throw backendNotFound(req.backend);
      throw new MaglevError(
        "NOT_FOUND",
        `backend ${JSON.stringify(req.backend)} not found in pool ${JSON.stringify(pool.name)}` +
          ` of frontend ${JSON.stringify(fe.name)}`,
      );
    }
    if (!Number.isInteger(req.weight) || req.weight < 0 || req.weight > 100) {
      throw new MaglevError("INVALID_ARGUMENT", `weight ${req.weight} out of range 0..100`);
    }
    this.o.checker.setWeight(fe.name, pool.name, req.backend, req.weight);
    const { vpp } = this.o;
    if (vpp.enabled() && vpp.connected()) {
      const address = this.o.checker.config().backends[req.backend]?.address;
      try {
        await vpp.sync(fe.name, {
          flushAddress: req.flush ? address : undefined,
          trigger: "operator",
        });
      } catch (err) {
        // The weight is set in memory either way; the periodic sync retries.
        const { details } = statusOf(err);
        throw new MaglevError(
          "UNAVAILABLE",
          `weight set to ${req.weight} in memory, but syncing frontend ` +
            `${JSON.stringify(fe.name)} to VPP failed: ${details}`,
        );
      }
    }
    return this.frontendInfo(fe.name);
  }

  async CheckConfig(): Promise<MaglevMethodTypes["CheckConfig"]["response"]> {
    const r = await this.o.checkConfig();
    return {
      ok: r.ok,
      parse_error: !r.ok && r.kind === "parse" ? r.error ?? "" : "",
      semantic_error: !r.ok && r.kind !== "parse" ? r.error ?? "" : "",
    };
  }

  async ReloadConfig(): Promise<MaglevMethodTypes["ReloadConfig"]["response"]> {
    const r = await this.o.reload();
    if (r.ok) return { ok: true, parse_error: "", semantic_error: "", plan: null };
    return {
      ok: false,
      parse_error: r.kind === "parse" ? r.error : "",
      semantic_error: r.kind === "semantic" ? r.error : "",
      plan: null,
    };
  }

  GetVPPInfo() {
    const vpp = this.requireVpp();
    return vppInfo(vpp.info(), vpp.incompatible());
  }

  async GetVPPLBState() {
    return lbState(await this.requireVpp().lbState());
  }

  async SyncVPPLBState(req: SyncVPPLBStateRequest) {
    const vpp = this.requireVpp();
    const frontend = req.frontend === "" ? undefined : this.frontend(req.frontend).name;
    return syncResponse(await vpp.sync(frontend, { trigger: "operator" }));
  }

  GetStatus(): never {
    throw unimplemented("GetStatus");
  }

  GetConfig(): never {
    throw unimplemented("GetConfig");
  }

  DiffConfig(): never {
    throw unimplemented("DiffConfig");
  }

  PreviewChange(): never {
    throw unimplemented("PreviewChange");
  }

  async GetVPPLBCounters() {
    const vpp = this.requireVpp();
    return lbCounters(vpp.freshCounters ? await vpp.freshCounters() : vpp.counters());
  }
}

type UnaryName = Exclude<keyof MaglevMethodTypes, "WatchEvents">;

const UNARY_METHODS = (Object.keys(MAGLEV_METHODS) as (keyof typeof MAGLEV_METHODS)[])
  .filter((name): name is UnaryName => !MAGLEV_METHODS[name].responseStream);

/** Every method of the service with its type, for pre-registering metrics. */
export const MAGLEV_RPCS: readonly { method: string; type: RpcType }[] = Object.entries(
  MAGLEV_METHODS,
).map(([method, m]) => ({ method, type: m.responseStream ? "server_stream" : "unary" }));

const NOOP_OBSERVER: GrpcObserver = {
  started() {},
  handled() {},
  msgReceived() {},
  msgSent() {},
};

/** Shared between the listeners of one `startGrpcServer`. */
interface ServerContext {
  options: GrpcServerOptions;
  api: MaglevApi;
  observer: GrpcObserver;
  streams: StreamTracker;
  /** The call under each WatchEvents stream object (see `callSink`). */
  watchCalls: WeakMap<grpc.Metadata, grpc.ServerInterceptingCallInterface>;
  /** Health Watch streams: told NOT_SERVING and ended at shutdown. */
  healthWatchers: Set<(status: HealthCheckResponse_ServingStatus) => void>;
  serving: boolean;
}

function maglevHandlers(ctx: ServerContext, adminAllowed: boolean, listener: string) {
  const { observer, api } = ctx;
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of UNARY_METHODS) {
    handlers[method] = (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const started = performance.now();
      observer.started(method, "unary");
      observer.msgReceived(method, "unary");
      const finish = (code: grpc.status) =>
        observer.handled(method, "unary", grpc.status[code], (performance.now() - started) / 1000);
      if (MUTATING_METHODS.has(method) && !adminAllowed) {
        const details = `${method} refused on listener ${listener}: mutating RPCs are only ` +
          `allowed on loopback or unix socket listeners (start maglevd with ` +
          `--grpc-allow-remote-admin to allow them)`;
        callback({ code: grpc.status.PERMISSION_DENIED, details });
        finish(grpc.status.PERMISSION_DENIED);
        return;
      }
      Promise.resolve()
        // deno-lint-ignore no-explicit-any
        .then(() => (api[method] as (req: any) => unknown).call(api, call.request))
        .then(
          (response) => {
            observer.msgSent(method, "unary");
            callback(null, response);
            finish(grpc.status.OK);
          },
          (err) => {
            const status = statusOf(err);
            if (status.code === grpc.status.INTERNAL) {
              log.error("grpc-internal-error", { method, err: status.details });
            }
            callback(status);
            finish(status.code);
          },
        );
    };
  }
  handlers.WatchEvents = (call: grpc.ServerWritableStream<WatchRequest, Buffer>) =>
    watchEvents(ctx, call);
  return handlers;
}

function watchEvents(
  ctx: ServerContext,
  call: grpc.ServerWritableStream<WatchRequest, Buffer>,
): Promise<void> {
  const abort = new AbortController();
  const ended = streamEvents(ctx, call, abort);
  ctx.streams.add(abort, ended);
  return ended;
}

async function streamEvents(
  ctx: ServerContext,
  call: grpc.ServerWritableStream<WatchRequest, Buffer>,
  abort: AbortController,
): Promise<void> {
  const method = "WatchEvents";
  const started = performance.now();
  const { observer } = ctx;
  observer.started(method, "server_stream");
  observer.msgReceived(method, "server_stream");
  const onCancel = () => abort.abort(new Error("client went away"));
  call.on("cancelled", onCancel);
  call.on("close", onCancel);
  let code = grpc.status.OK;
  let failed = false;
  const clock = ctx.options.clock ?? realClock;
  try {
    const req = call.request;
    const logLevel = parseLevel(req.log_level);
    const none = !req.log && !req.backend && !req.frontend;
    const below = ctx.watchCalls.get(call.metadata);
    ctx.watchCalls.delete(call.metadata);
    const sink = below ? callSink(below) : writableSink(call);
    const events = ctx.options.checker.subscribe({
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
        observer.msgSent(method, "server_stream");
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
    observer.handled(
      method,
      "server_stream",
      grpc.status[code],
      (performance.now() - started) / 1000,
    );
  }
}

function healthStatusFor(ctx: ServerContext, service: string): HealthCheckResponse_ServingStatus {
  if (service !== "" && service !== MAGLEV_SERVICE) return "SERVICE_UNKNOWN";
  return ctx.serving ? "SERVING" : "NOT_SERVING";
}

function healthHandlers(ctx: ServerContext): grpc.UntypedServiceImplementation {
  return {
    Check(
      call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: grpc.sendUnaryData<HealthCheckResponse>,
    ) {
      const status = healthStatusFor(ctx, call.request.service);
      if (status === "SERVICE_UNKNOWN") {
        callback({
          code: grpc.status.NOT_FOUND,
          details: `unknown service ${JSON.stringify(call.request.service)}`,
        });
      } else {
        callback(null, { status });
      }
    },
    Watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const service = call.request.service;
      const send = (status: HealthCheckResponse_ServingStatus) => {
        if (!call.cancelled && call.writable) call.write({ status });
      };
      const watcher = (status: HealthCheckResponse_ServingStatus) => {
        send(status);
        stop();
        if (!call.cancelled) call.end();
      };
      const stop = () => {
        ctx.healthWatchers.delete(watcher);
        call.off("cancelled", stop);
      };
      send(healthStatusFor(ctx, service));
      if (!ctx.serving) {
        call.end();
        return;
      }
      ctx.healthWatchers.add(
        service === "" || service === MAGLEV_SERVICE ? watcher : () => {
          stop();
          if (!call.cancelled) call.end();
        },
      );
      call.on("cancelled", stop);
    },
  };
}

/** A socket we listen on ourselves and hand to grpc-js through an injector. */
interface Listener {
  /** The bound port (0 for a unix socket). */
  port: number;
  /**
   * Stops accepting and closes the connections left: ends them (what was
   * written still reaches the peer) and destroys those still open after
   * `graceMs` (default 0: at once). Resolves once all are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Ends each socket, then destroys what is left after `graceMs`. Destroying
 * at once would drop bytes still queued: the trailers that end a
 * WatchEvents stream, which the client then sees as "Connection dropped".
 */
async function closeSockets(sockets: Set<net.Socket>, graceMs: number, clock: Clock) {
  if (sockets.size === 0) return;
  if (graceMs <= 0) {
    for (const socket of sockets) socket.destroy();
    return;
  }
  const all = [...sockets];
  const closed = all.map((socket) =>
    new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once("close", () => resolve());
      socket.end();
    })
  );
  let timer: number | undefined;
  const grace = new Promise<void>((resolve) => timer = clock.setTimeout(resolve, graceMs));
  await Promise.race([Promise.all(closed), grace]);
  clock.clearTimeout(timer!);
  for (const socket of all) socket.destroy();
  await Promise.all(closed);
}

function listenOnce(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * Listens on `where` and passes every connection to `server`, with the
 * client's GOAWAY frames filtered out (see goaway_filter.ts: Deno's
 * node:http2 crashes the process on them, denoland/deno#36788). This is
 * why we do not use `server.bindAsync`.
 */
async function listenFiltered(
  server: grpc.Server,
  where: { host: string; port: number } | { path: string },
  clock: Clock,
): Promise<Listener> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const sockets = new Set<net.Socket>();
  const netServers: net.Server[] = [];
  const newNetServer = () => {
    const s = net.createServer((socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      injector.injectConnection(new GoawayFilteredSocket(socket));
    });
    netServers.push(s);
    return s;
  };
  const close = async (graceMs = 0) => {
    const closed = netServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await closeSockets(sockets, graceMs, clock);
    await Promise.all(closed);
    injector.destroy();
  };
  try {
    if ("path" in where) {
      await listenOnce(newNetServer(), { path: where.path });
      return { port: 0, close };
    }
    // Like grpc-js: a name binds every address it resolves to, on one port.
    const hosts = net.isIP(where.host) !== 0
      ? [where.host]
      : (await lookup(where.host, { all: true })).map((a) => a.address);
    const first = newNetServer();
    await listenOnce(first, { host: hosts[0], port: where.port });
    const port = (first.address() as net.AddressInfo).port;
    for (const host of hosts.slice(1)) {
      const extra = newNetServer();
      await listenOnce(extra, { host, port }).catch(() => netServers.pop());
    }
    return { port, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return;
  }
  if (!info.isSocket) {
    throw new MaglevError(
      "INVALID_ARGUMENT",
      `grpc socket ${JSON.stringify(path)}: exists and is not a socket`,
    );
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
  } catch {
    // Nobody listens: a leftover of a crashed run.
    await Deno.remove(path);
    return;
  }
  throw new MaglevError(
    "UNAVAILABLE",
    `grpc socket ${JSON.stringify(path)}: another process is listening on it`,
  );
}

function newServer(ctx: ServerContext, adminAllowed: boolean, listener: string): grpc.Server {
  const max = ctx.options.maxReceiveBytes ?? MAX_RECEIVE_BYTES;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": max,
    interceptors: [watchInterceptor(ctx.watchCalls)],
  });
  server.addService(maglevServerService(), maglevHandlers(ctx, adminAllowed, listener));
  server.addService(healthService(), healthHandlers(ctx));
  if (ctx.options.reflection ?? true) {
    new ReflectionService({ ...maglevPackage(), ...healthPackage() }).addToServer(server);
  }
  return server;
}

/**
 * Starts the gRPC server on the listeners of `options.listen` (the TCP
 * default when neither is given). Rejects, with nothing left listening, when
 * any listener cannot be bound.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const clock = options.clock ?? realClock;
  const ctx: ServerContext = {
    options,
    api: new MaglevApi(options),
    observer: options.observer ?? NOOP_OBSERVER,
    streams: streamTracker(),
    watchCalls: new WeakMap(),
    healthWatchers: new Set(),
    serving: true,
  };
  const listen = options.listen.tcp === undefined && options.listen.unix === undefined
    ? { tcp: DEFAULT_GRPC_ADDR }
    : options.listen;
  const servers: grpc.Server[] = [];
  const listeners: Listener[] = [];
  const addresses: string[] = [];
  let unixPath: string | undefined;
  try {
    if (listen.tcp !== undefined) {
      const { host, port } = splitHostPort(listen.tcp);
      // Go's ":9090" means every interface.
      const bindHost = host === "" ? "0.0.0.0" : host;
      const admin = (options.allowRemoteAdmin ?? false) || isLoopbackHost(bindHost);
      const hostPart = bindHost.includes(":") ? `[${bindHost}]` : bindHost;
      const server = newServer(ctx, admin, `${hostPart}:${port}`);
      servers.push(server);
      const listener = await listenFiltered(server, { host: bindHost, port }, clock).catch(
        (err) => {
          throw new MaglevError(
            "UNAVAILABLE",
            `grpc listen ${JSON.stringify(listen.tcp)}: ${errorMessage(err)}`,
          );
        },
      );
      listeners.push(listener);
      addresses.push(`${hostPart}:${listener.port}`);
    }
    if (listen.unix !== undefined) {
      const path = listen.unix.replace(/^unix:(\/\/)?/, "");
      if (!path.startsWith("/")) {
        throw new MaglevError(
          "INVALID_ARGUMENT",
          `grpc socket ${JSON.stringify(listen.unix)}: want an absolute path`,
        );
      }
      await removeStaleSocket(path);
      const server = newServer(ctx, true, `unix:${path}`);
      servers.push(server);
      const listener = await listenFiltered(server, { path }, clock).catch((err) => {
        throw new MaglevError(
          "UNAVAILABLE",
          `grpc socket ${JSON.stringify(path)}: ${errorMessage(err)}`,
        );
      });
      listeners.push(listener);
      unixPath = path;
      addresses.push(`unix:${path}`);
    }
  } catch (err) {
    for (const s of servers) s.forceShutdown();
    await Promise.all(listeners.map((l) => l.close()));
    if (unixPath) await Deno.remove(unixPath).catch(() => {});
    throw err;
  }

  let stopped: Promise<void> | undefined;
  async function shutdown(opts: { graceMs?: number } = {}): Promise<void> {
    ctx.serving = false;
    for (const w of [...ctx.healthWatchers]) w("NOT_SERVING");
    const grace = opts.graceMs ?? 5000;
    const deadline = clock.now() + grace;
    const left = () => Math.max(0, deadline - clock.now());
    // Every WatchEvents handler ends its call (call.end(): OK trailers)
    // before grpc-js starts closing sessions.
    await withGrace(ctx.streams.abortAll(), left(), clock);
    await Promise.all(servers.map((server) =>
      new Promise<void>((resolve) => {
        const timer = clock.setTimeout(() => server.forceShutdown(), left());
        server.tryShutdown(() => {
          clock.clearTimeout(timer);
          resolve();
        });
      })
    ));
    // Closed sessions may still have their last frames queued on the socket.
    await Promise.all(listeners.map((l) => l.close(Math.min(left(), SOCKET_CLOSE_GRACE_MS))));
    if (unixPath) await Deno.remove(unixPath).catch(() => {});
  }

  return {
    addresses,
    activeStreams: () => ctx.streams.size(),
    shutdown(opts) {
      stopped ??= shutdown(opts);
      return stopped;
    },
  };
}
