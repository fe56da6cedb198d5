/**
 * The gRPC listeners: sockets we accept ourselves (TCP or unix) and hand to
 * grpc-js through a connection injector, with a connection cap and a
 * handshake deadline, and a shutdown that lets queued frames reach the peer.
 *
 * Accept errors: Deno's `node:net` retries a failed `accept()` (EMFILE,
 * ENFILE) with a back-off and never surfaces it, so a full fd table cannot
 * kill the listener; the cap keeps us from filling it in the first place.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import * as net from "node:net";
import { lookup } from "node:dns/promises";
import type { Clock } from "../clock.ts";
import { formatDuration } from "../config/duration.ts";
import { MaglevError } from "../errors.ts";
import { log } from "../log/mod.ts";
import { GoawayFilteredSocket } from "./goaway_filter.ts";

/** Client connection preface (24 bytes) plus the header of its SETTINGS frame. */
const HANDSHAKE_BYTES = 24 + 9;

/** How a listener treats its connections. */
export interface ConnectionLimits {
  /** Connections held at once; one more is closed at accept. */
  readonly maxConnections: number;
  /**
   * Milliseconds a new connection has to send the HTTP/2 preface and its
   * SETTINGS header; a slow or silent client is closed after it.
   */
  readonly handshakeTimeoutMs: number;
}

/** A socket we listen on ourselves and hand to grpc-js through an injector. */
export interface Listener {
  /** The bound port (0 for a unix socket). */
  port: number;
  /** The bound addresses (IP literals), empty for a unix socket. */
  hosts: string[];
  /** Connections open now. */
  connections(): number;
  /**
   * Stops accepting and closes the connections left: ends them (what was
   * written still reaches the peer) and destroys those still open after
   * `graceMs` (default 0: at once). Resolves once all are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/** Resolves when `p` settles or after `ms`, whichever comes first. */
async function within(p: Promise<unknown>, ms: number, clock: Clock): Promise<void> {
  let timer: number | undefined;
  const grace = new Promise<void>((resolve) => timer = clock.setTimeout(resolve, ms));
  await Promise.race([p, grace]);
  clock.clearTimeout(timer!);
}

/**
 * Closes the sockets of a listener whose HTTP/2 sessions were closed: first
 * waits (half of `graceMs`) for each peer to close, which a client does once
 * it has read its streams' ends and the GOAWAY; then ends ours, and destroys
 * what is left after the other half. Ending at once would race HTTP/2
 * frames not yet written (a stream's trailers: "Connection dropped" to the
 * client), since Deno's node:http2 reports a session closed before its last
 * frames reach the socket.
 */
async function closeSockets(sockets: Set<net.Socket>, graceMs: number, clock: Clock) {
  if (sockets.size === 0) return;
  const all = [...sockets];
  if (graceMs <= 0) {
    for (const socket of all) socket.destroy();
    return;
  }
  const closed = Promise.all(all.map((socket) =>
    new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once("close", () => resolve());
    })
  ));
  await within(closed, graceMs / 2, clock);
  for (const socket of all) if (!socket.destroyed) socket.end();
  await within(closed, graceMs / 2, clock);
  for (const socket of all) socket.destroy();
  await closed;
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

/** Closes `socket` unless it sends the HTTP/2 handshake within the deadline. */
function guardHandshake(socket: net.Socket, ms: number, clock: Clock, listener: string): void {
  let seen = 0;
  const timer = clock.setTimeout(() => {
    socket.off("data", onData);
    log.warn("grpc-connection-closed", {
      listener,
      peer: socket.remoteAddress ?? "unix",
      reason: `no HTTP/2 handshake within ${formatDuration(ms)}`,
    });
    socket.destroy();
  }, ms);
  const onData = (chunk: Uint8Array) => {
    seen += chunk.length;
    if (seen < HANDSHAKE_BYTES) return;
    clock.clearTimeout(timer);
    socket.off("data", onData);
  };
  socket.on("data", onData);
  socket.once("close", () => clock.clearTimeout(timer));
}

/** Counts refusals and logs the first of each burst, not one line per connection. */
function refusalLogger(listener: string, clock: Clock): (limit: number) => void {
  let refused = 0;
  let loggedAt = -Infinity;
  return (limit) => {
    refused++;
    const now = clock.monotonic();
    if (now - loggedAt < 10_000) return;
    loggedAt = now;
    log.warn("grpc-connection-refused", { listener, reason: `${limit} connections open`, refused });
  };
}

/** Where and how to listen. */
export interface ListenTarget {
  /** A TCP host (IP literal or name) and port, or a unix socket path. */
  readonly where: { host: string; port: number } | { path: string };
  readonly limits: ConnectionLimits;
  /** For logs: the listener's address as given. */
  readonly name: string;
}

/**
 * Listens on `target.where` and passes every connection to `server`, with
 * the client's GOAWAY frames filtered out (see goaway_filter.ts: Deno's
 * node:http2 crashes the process on them, denoland/deno#36788). This is
 * why we do not use `server.bindAsync`.
 */
export async function listenFiltered(
  server: grpc.Server,
  target: ListenTarget,
  clock: Clock,
): Promise<Listener> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const sockets = new Set<net.Socket>();
  const netServers: net.Server[] = [];
  const { limits, name } = target;
  const refused = refusalLogger(name, clock);
  const newNetServer = () => {
    const s = net.createServer((socket) => {
      if (sockets.size >= limits.maxConnections) {
        refused(limits.maxConnections);
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      socket.on("error", () => {});
      guardHandshake(socket, limits.handshakeTimeoutMs, clock, name);
      injector.injectConnection(new GoawayFilteredSocket(socket));
    });
    s.on("error", (err) => log.error("grpc-accept-error", { listener: name, err: err.message }));
    netServers.push(s);
    return s;
  };
  const close = async (graceMs = 0) => {
    const closed = netServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await closeSockets(sockets, graceMs, clock);
    await Promise.all(closed);
    injector.destroy();
  };
  const connections = () => sockets.size;
  try {
    const { where } = target;
    if ("path" in where) {
      await listenOnce(newNetServer(), { path: where.path });
      return { port: 0, hosts: [], connections, close };
    }
    // Like grpc-js: a name binds every address it resolves to, on one port.
    const hosts = net.isIP(where.host) !== 0
      ? [where.host]
      : (await lookup(where.host, { all: true })).map((a) => a.address);
    const first = newNetServer();
    await listenOnce(first, { host: hosts[0], port: where.port });
    const port = (first.address() as net.AddressInfo).port;
    const bound = [hosts[0]];
    for (const host of hosts.slice(1)) {
      const extra = newNetServer();
      await listenOnce(extra, { host, port }).then(() => bound.push(host), () => netServers.pop());
    }
    return { port, hosts: bound, connections, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Removes a unix socket left by a crashed run; refuses one in use or not a socket. */
export async function removeStaleSocket(path: string): Promise<void> {
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
