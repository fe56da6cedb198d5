/**
 * A typed client of the maglev gRPC API, used by the CLI and the tests.
 *
 * Every unary RPC is a promise method taking the request message; failures
 * reject with `RpcError`, which carries the gRPC status code and the
 * server's own message (no "13 INTERNAL:" boilerplate).
 * @module
 */
import { errorMessage } from "../errors.ts";
import * as grpc from "@grpc/grpc-js";
import type {
  BackendInfo,
  BackendRequestInit,
  CheckConfigResponse,
  Event,
  FrontendInfo,
  GetBackendRequestInit,
  GetFrontendRequestInit,
  GetHealthCheckRequestInit,
  HealthCheckInfo,
  ListBackendsResponse,
  ListFrontendsResponse,
  ListHealthChecksResponse,
  MaglevMethodTypes,
  ReloadConfigResponse,
  SetWeightRequestInit,
  SyncVPPLBStateRequestInit,
  SyncVPPLBStateResponse,
  VPPInfo,
  VPPLBCounters,
  VPPLBState,
  WatchRequestInit,
} from "../../proto/maglev_pb.ts";
import { maglevService } from "./proto.ts";

/** A failed RPC: the status code and the server's message. */
export class RpcError extends Error {
  /** The numeric gRPC status code (`grpc.status`). */
  readonly code: number;
  /** The code's name, e.g. `NOT_FOUND`. */
  readonly codeName: string;

  constructor(code: number, message: string) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    this.codeName = grpc.status[code] ?? `CODE_${code}`;
  }
}

/** Per-call options. */
export interface CallOptions {
  /** Give up after this many milliseconds (DEADLINE_EXCEEDED). */
  timeoutMs?: number;
}

/** A running `WatchEvents` stream: iterate it, cancel it when done. */
export interface EventStream extends AsyncIterable<Event> {
  /** Ends the stream; a pending iteration finishes without an error. */
  cancel(): void;
}

/** Unary method names of the service. */
export type UnaryMethod = Exclude<keyof MaglevMethodTypes, "WatchEvents">;

/** The typed maglev client. */
export interface MaglevClient {
  /** The target this client dials (`host:port` or `unix:/path`). */
  readonly target: string;
  /** Calls any unary method by name (what the CLI dispatches through). */
  call<M extends UnaryMethod>(
    method: M,
    request: MaglevMethodTypes[M]["requestInit"],
    options?: CallOptions,
  ): Promise<MaglevMethodTypes[M]["response"]>;
  listFrontends(options?: CallOptions): Promise<ListFrontendsResponse>;
  getFrontend(request: GetFrontendRequestInit, options?: CallOptions): Promise<FrontendInfo>;
  listBackends(options?: CallOptions): Promise<ListBackendsResponse>;
  getBackend(request: GetBackendRequestInit, options?: CallOptions): Promise<BackendInfo>;
  pauseBackend(request: BackendRequestInit, options?: CallOptions): Promise<BackendInfo>;
  resumeBackend(request: BackendRequestInit, options?: CallOptions): Promise<BackendInfo>;
  enableBackend(request: BackendRequestInit, options?: CallOptions): Promise<BackendInfo>;
  disableBackend(request: BackendRequestInit, options?: CallOptions): Promise<BackendInfo>;
  listHealthChecks(options?: CallOptions): Promise<ListHealthChecksResponse>;
  getHealthCheck(
    request: GetHealthCheckRequestInit,
    options?: CallOptions,
  ): Promise<HealthCheckInfo>;
  setFrontendPoolBackendWeight(
    request: SetWeightRequestInit,
    options?: CallOptions,
  ): Promise<FrontendInfo>;
  checkConfig(options?: CallOptions): Promise<CheckConfigResponse>;
  reloadConfig(options?: CallOptions): Promise<ReloadConfigResponse>;
  getVPPInfo(options?: CallOptions): Promise<VPPInfo>;
  getVPPLBState(options?: CallOptions): Promise<VPPLBState>;
  syncVPPLBState(
    request: SyncVPPLBStateRequestInit,
    options?: CallOptions,
  ): Promise<SyncVPPLBStateResponse>;
  getVPPLBCounters(options?: CallOptions): Promise<VPPLBCounters>;
  /** Opens `WatchEvents`: snapshot first (unless resuming), then live events. */
  watchEvents(request: WatchRequestInit): EventStream;
  /** Closes the channel; calls in flight fail with CANCELLED/UNAVAILABLE. */
  close(): void;
}

/**
 * The grpc-js target for a `--server` value: a path starting with `/` or a
 * `unix:` prefix is a unix socket, anything else `host:port`.
 */
export function grpcTarget(server: string): string {
  if (server.startsWith("/")) return `unix:${server}`;
  return server;
}

/** Turns a grpc-js error (or anything thrown) into an `RpcError`. */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e?.code === "number") {
    return new RpcError(e.code, e.details || stripBoilerplate(String(e.message ?? "")));
  }
  return new RpcError(grpc.status.UNKNOWN, errorMessage(err));
}

/** Removes grpc-js's `<code> <NAME>: ` prefix from an error message. */
export function stripBoilerplate(message: string): string {
  return message.replace(/^\d+ [A-Z_]+: /, "");
}

function deadline(options?: CallOptions): grpc.CallOptions {
  return options?.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

type UnaryCall = <M extends UnaryMethod>(
  method: M,
  request: MaglevMethodTypes[M]["requestInit"],
  options?: CallOptions,
) => Promise<MaglevMethodTypes[M]["response"]>;

/** A unary call of any method over `channel`, rejecting with `RpcError`. */
function unaryCaller(channel: grpc.Client): UnaryCall {
  const service = maglevService();
  return function call<M extends UnaryMethod>(
    method: M,
    request: MaglevMethodTypes[M]["requestInit"],
    options?: CallOptions,
  ): Promise<MaglevMethodTypes[M]["response"]> {
    const def = service[method];
    return new Promise((resolve, reject) => {
      channel.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        deadline(options),
        (err, value) => {
          if (err) reject(toRpcError(err));
          else resolve(value as MaglevMethodTypes[M]["response"]);
        },
      );
    });
  };
}

/** Opens `WatchEvents` over `channel`; a cancel ends the iteration without an error. */
function openEventStream(channel: grpc.Client, request: WatchRequestInit): EventStream {
  const def = maglevService().WatchEvents;
  const stream = channel.makeServerStreamRequest(
    def.path,
    def.requestSerialize,
    def.responseDeserialize,
    request,
    new grpc.Metadata(),
    {},
  );
  let cancelled = false;
  // Without a listener, a cancel before iteration starts would surface as
  // an unhandled 'error' event.
  stream.on("error", () => {});
  async function* iterate(): AsyncGenerator<Event> {
    try {
      for await (const event of stream) yield event as Event;
    } catch (err) {
      if (cancelled && (err as grpc.ServiceError).code === grpc.status.CANCELLED) return;
      throw toRpcError(err);
    } finally {
      if (!cancelled) {
        cancelled = true;
        stream.cancel();
      }
    }
  }
  const iterator = iterate();
  return {
    [Symbol.asyncIterator]: () => iterator,
    cancel() {
      if (cancelled) return;
      cancelled = true;
      stream.cancel();
    },
  };
}

/** Dials a maglevd (`host:port`, `/path` or `unix:/path`); connects lazily. */
export function createClient(server: string): MaglevClient {
  const target = grpcTarget(server);
  const channel = new grpc.Client(target, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  });
  const call = unaryCaller(channel);
  return {
    target,
    call,
    listFrontends: (o) => call("ListFrontends", {}, o),
    getFrontend: (r, o) => call("GetFrontend", r, o),
    listBackends: (o) => call("ListBackends", {}, o),
    getBackend: (r, o) => call("GetBackend", r, o),
    pauseBackend: (r, o) => call("PauseBackend", r, o),
    resumeBackend: (r, o) => call("ResumeBackend", r, o),
    enableBackend: (r, o) => call("EnableBackend", r, o),
    disableBackend: (r, o) => call("DisableBackend", r, o),
    listHealthChecks: (o) => call("ListHealthChecks", {}, o),
    getHealthCheck: (r, o) => call("GetHealthCheck", r, o),
    setFrontendPoolBackendWeight: (r, o) => call("SetFrontendPoolBackendWeight", r, o),
    checkConfig: (o) => call("CheckConfig", {}, o),
    reloadConfig: (o) => call("ReloadConfig", {}, o),
    getVPPInfo: (o) => call("GetVPPInfo", {}, o),
    getVPPLBState: (o) => call("GetVPPLBState", {}, o),
    syncVPPLBState: (r, o) => call("SyncVPPLBState", r, o),
    getVPPLBCounters: (o) => call("GetVPPLBCounters", {}, o),
    watchEvents: (r) => openEventStream(channel, r),
    close: () => channel.close(),
  };
}
