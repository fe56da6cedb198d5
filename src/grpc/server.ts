/**
 * The maglevd gRPC server: the `maglev.v1.Maglev` service, server reflection
 * and the standard `grpc.health.v1.Health` service, on a TCP and/or a unix
 * socket listener (spec 0.5, 7).
 *
 * Each listener gets its own grpc-js server, because grpc-js does not tell a
 * handler which listener accepted the call, and mutating RPCs are allowed or
 * refused per listener: refused (PERMISSION_DENIED) on a TCP listener bound
 * to a non-loopback address unless remote admin is allowed. Which methods
 * mutate, which are unary and which exist at all comes from the generated
 * method table.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import type { Buffer } from "node:buffer";
import type { WatchRequest } from "../../proto/maglev_pb.ts";
import { MAGLEV_METHODS, MAGLEV_SERVICE } from "../../proto/maglev_pb.ts";
import { type Clock, realClock } from "../clock.ts";
import { errorMessage, MaglevError } from "../errors.ts";
import {
  defaultConnectionCap,
  isLoopbackAddress,
  joinHostPort,
  parseListenAddress,
} from "../listen/mod.ts";
import { log } from "../log/mod.ts";
import { type ApiDeps, type CallContext, MaglevApi, statusOf } from "./api.ts";
import { healthHandlers, HealthState } from "./health.ts";
import {
  type ConnectionLimits,
  type Listener,
  listenFiltered,
  removeStaleSocket,
} from "./listen.ts";
import { type GrpcMethod, type GrpcObserver, NOOP_OBSERVER } from "./observer.ts";
import { healthPackage, healthService, maglevPackage, maglevServerService } from "./proto.ts";
import { newStreamTracker, type StreamTracker, watchEvents, watchInterceptor } from "./watch.ts";

/** Default TCP listen address (spec 0.5: localhost, not all interfaces). */
export const DEFAULT_GRPC_ADDR = "localhost:9090";

/** Largest request message accepted (bytes); requests are small. */
export const MAX_RECEIVE_BYTES = 64 * 1024;

/** A connection without a call for this long is closed (GOAWAY); clients reconnect at need. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** A new connection must send its HTTP/2 handshake within this. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** At shutdown, how long a client may take to close its connection after the server's FIN. */
const SOCKET_CLOSE_GRACE_MS = 1000;

/** Where to listen. Without either, `DEFAULT_GRPC_ADDR`. */
export interface ListenOptions {
  /** `host:port`; `:port` means all interfaces; port 0 picks a free one. */
  tcp?: string;
  /** A unix socket path (`unix:` prefix optional). */
  unix?: string;
}

/** Everything the server needs from the daemon. */
export interface GrpcServerOptions extends ApiDeps {
  listen: ListenOptions;
  /** Allow mutating RPCs on non-loopback TCP listeners. */
  allowRemoteAdmin?: boolean;
  /** Serve gRPC server reflection (default true). */
  reflection?: boolean;
  observer?: GrpcObserver;
  /** Request size bound (default `MAX_RECEIVE_BYTES`). */
  maxReceiveBytes?: number;
  /** Connections per listener (default: a quarter of the fd limit). */
  maxConnections?: number;
  /** Default `DEFAULT_IDLE_TIMEOUT_MS`. */
  idleTimeoutMs?: number;
  /** Default `DEFAULT_HANDSHAKE_TIMEOUT_MS`. */
  handshakeTimeoutMs?: number;
  /** Stamps events without their own time, times the shutdown grace (default realClock). */
  clock?: Clock;
}

/** A running server. */
export interface GrpcServerHandle {
  /** Bound addresses: `host:port` with the real port, and `unix:/path`. */
  readonly addresses: readonly string[];
  /** Number of open WatchEvents streams (tests, metrics). */
  activeStreams(): number;
  /** Connections open on all listeners. */
  connections(): number;
  /**
   * Ends every WatchEvents and health Watch stream, waits for calls in
   * flight (at most `graceMs`, default 5000), then closes the listeners.
   */
  shutdown(options?: { graceMs?: number }): Promise<void>;
}

type MethodName = keyof typeof MAGLEV_METHODS;

/** Methods that change state: refused on remote listeners without remote admin. */
export const MUTATING_METHODS: ReadonlySet<string> = new Set(
  (Object.keys(MAGLEV_METHODS) as MethodName[]).filter((name) => MAGLEV_METHODS[name].mutating),
);

/** Every method of the service with its type, for pre-registering metrics. */
export const MAGLEV_RPCS: readonly GrpcMethod[] = (Object.keys(MAGLEV_METHODS) as MethodName[])
  .map((method) => ({
    service: MAGLEV_SERVICE,
    method,
    type: MAGLEV_METHODS[method].responseStream ? "server_stream" : "unary",
  }));

const UNARY_METHODS = (Object.keys(MAGLEV_METHODS) as MethodName[])
  .filter((name): name is Exclude<MethodName, "WatchEvents"> =>
    !MAGLEV_METHODS[name].responseStream
  );

/** Shared between the listeners of one `startGrpcServer`. */
interface ServerContext {
  options: GrpcServerOptions;
  api: MaglevApi;
  observer: GrpcObserver;
  streams: StreamTracker;
  /** The call under each WatchEvents stream object (see watch.ts `callSink`). */
  watchCalls: WeakMap<grpc.Metadata, grpc.ServerInterceptingCallInterface>;
  health: HealthState;
  clock: Clock;
}

/** Whether one listener allows mutations; known once it is bound. */
interface ListenerAccess {
  name: string;
  admin: boolean;
}

function refusal(method: string, listener: string): grpc.ServiceError {
  const details = `${method} refused on listener ${listener}: mutating RPCs are only ` +
    `allowed on loopback or unix socket listeners (start maglevd with ` +
    `--grpc-allow-remote-admin to allow them)`;
  return Object.assign(new Error(details), {
    code: grpc.status.PERMISSION_DENIED,
    details,
    metadata: new grpc.Metadata(),
  });
}

function unaryHandler(ctx: ServerContext, method: MethodName, access: ListenerAccess) {
  const { observer, api } = ctx;
  const m: GrpcMethod = { service: MAGLEV_SERVICE, method, type: "unary" };
  return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    const started = performance.now();
    observer.started(m);
    observer.msgReceived(m);
    const finish = (code: grpc.status) =>
      observer.handled(m, code, (performance.now() - started) / 1000);
    if (MUTATING_METHODS.has(method) && !access.admin) {
      callback(refusal(method, access.name));
      finish(grpc.status.PERMISSION_DENIED);
      return;
    }
    const context: CallContext = { admin: access.admin };
    Promise.resolve()
      // deno-lint-ignore no-explicit-any
      .then(() => (api[method as keyof MaglevApi] as any).call(api, call.request, context))
      .then(
        (response) => {
          observer.msgSent(m);
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

function maglevHandlers(ctx: ServerContext, access: ListenerAccess) {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of UNARY_METHODS) handlers[method] = unaryHandler(ctx, method, access);
  handlers.WatchEvents = (call: grpc.ServerWritableStream<WatchRequest, Buffer>) =>
    watchEvents({
      events: ctx.options.checker,
      observer: ctx.observer,
      streams: ctx.streams,
      watchCalls: ctx.watchCalls,
      clock: ctx.clock,
    }, call);
  return handlers;
}

function newServer(ctx: ServerContext, access: ListenerAccess): grpc.Server {
  const o = ctx.options;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": o.maxReceiveBytes ?? MAX_RECEIVE_BYTES,
    "grpc.max_connection_idle_ms": o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    interceptors: [watchInterceptor(ctx.watchCalls)],
  });
  server.addService(maglevServerService(), maglevHandlers(ctx, access));
  server.addService(healthService(), healthHandlers(ctx.health));
  if (o.reflection ?? true) {
    new ReflectionService({ ...maglevPackage(), ...healthPackage() }).addToServer(server);
  }
  return server;
}

/** Resolves when `p` settles or after `ms`, whichever comes first. */
async function withGrace(p: Promise<unknown>, ms: number, clock: Clock): Promise<void> {
  let timer: number | undefined;
  const grace = new Promise<void>((resolve) => timer = clock.setTimeout(resolve, ms));
  await Promise.race([p.then(() => {}, () => {}), grace]);
  clock.clearTimeout(timer!);
}

interface Bound {
  server: grpc.Server;
  access: ListenerAccess;
  listener: Listener;
  address: string;
  unixPath?: string;
}

async function bindTcp(ctx: ServerContext, addr: string, limits: ConnectionLimits): Promise<Bound> {
  const { host, port } = parseListenAddress(addr, { what: "grpc listen address" });
  // Go's ":9090" means every interface.
  const bindHost = host === "" ? "0.0.0.0" : host;
  const access: ListenerAccess = { name: addr, admin: false };
  const server = newServer(ctx, access);
  try {
    const listener = await listenFiltered(server, {
      where: { host: bindHost, port },
      limits,
      name: addr,
    }, { clock: ctx.clock });
    // Judged by what the socket is bound to, not by the name it was given.
    access.admin = (ctx.options.allowRemoteAdmin ?? false) ||
      listener.hosts.every((h) => isLoopbackAddress(h));
    const address = joinHostPort(bindHost, listener.port);
    access.name = address;
    return { server, access, listener, address };
  } catch (err) {
    server.forceShutdown();
    throw new MaglevError(
      "UNAVAILABLE",
      `grpc listen ${JSON.stringify(addr)}: ${errorMessage(err)}`,
    );
  }
}

async function bindUnix(
  ctx: ServerContext,
  socket: string,
  limits: ConnectionLimits,
): Promise<Bound> {
  const path = socket.replace(/^unix:(\/\/)?/, "");
  if (!path.startsWith("/")) {
    throw new MaglevError(
      "INVALID_ARGUMENT",
      `grpc socket ${JSON.stringify(socket)}: want an absolute path`,
    );
  }
  await removeStaleSocket(path);
  const address = `unix:${path}`;
  const access: ListenerAccess = { name: address, admin: true };
  const server = newServer(ctx, access);
  try {
    const listener = await listenFiltered(
      server,
      { where: { path }, limits, name: address },
      { clock: ctx.clock },
    );
    return { server, access, listener, address, unixPath: path };
  } catch (err) {
    server.forceShutdown();
    throw new MaglevError(
      "UNAVAILABLE",
      `grpc socket ${JSON.stringify(path)}: ${errorMessage(err)}`,
    );
  }
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
    streams: newStreamTracker(),
    watchCalls: new WeakMap(),
    health: new HealthState(),
    clock,
  };
  const listen = options.listen.tcp === undefined && options.listen.unix === undefined
    ? { tcp: DEFAULT_GRPC_ADDR }
    : options.listen;
  const limits: ConnectionLimits = {
    maxConnections: options.maxConnections ?? defaultConnectionCap(),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
  };
  const bound: Bound[] = [];
  try {
    if (listen.tcp !== undefined) bound.push(await bindTcp(ctx, listen.tcp, limits));
    if (listen.unix !== undefined) bound.push(await bindUnix(ctx, listen.unix, limits));
  } catch (err) {
    await closeAll(bound);
    throw err;
  }
  for (const b of bound) {
    log.info("grpc-listen", {
      addr: b.address,
      mutations: b.access.admin ? "allowed" : "refused",
      "max-connections": limits.maxConnections,
    });
  }

  let stopped: Promise<void> | undefined;
  async function shutdown(opts: { graceMs?: number } = {}): Promise<void> {
    const deadline = clock.now() + (opts.graceMs ?? 5000);
    const left = () => Math.max(0, deadline - clock.now());
    // Every stream ends its call (OK trailers) before grpc-js starts closing
    // sessions: a stream cut by the close is "Connection dropped" to its client.
    await withGrace(
      Promise.all([ctx.health.stopServing(), ctx.streams.abortAll()]),
      left(),
      clock,
    );
    await Promise.all(bound.map(({ server }) =>
      new Promise<void>((resolve) => {
        const timer = clock.setTimeout(() => server.forceShutdown(), left());
        server.tryShutdown(() => {
          clock.clearTimeout(timer);
          resolve();
        });
      })
    ));
    // Closed sessions may still have their last frames queued on the socket.
    await Promise.all(
      bound.map((b) => b.listener.close(Math.min(left(), SOCKET_CLOSE_GRACE_MS))),
    );
    for (const b of bound) if (b.unixPath) await Deno.remove(b.unixPath).catch(() => {});
  }

  return {
    addresses: bound.map((b) => b.address),
    activeStreams: () => ctx.streams.size(),
    connections: () => bound.reduce((n, b) => n + b.listener.connections(), 0),
    shutdown(opts) {
      stopped ??= shutdown(opts);
      return stopped;
    },
  };
}

async function closeAll(bound: Bound[]): Promise<void> {
  for (const b of bound) b.server.forceShutdown();
  await Promise.all(bound.map((b) => b.listener.close()));
  for (const b of bound) if (b.unixPath) await Deno.remove(b.unixPath).catch(() => {});
}
