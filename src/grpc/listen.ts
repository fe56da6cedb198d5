/**
 * The gRPC listeners: sockets we accept ourselves (TCP or unix) and hand to
 * grpc-js through a connection injector, with a connection cap and a
 * handshake deadline, and a shutdown that lets queued frames reach the peer.
 *
 * Accept errors: under Deno 2.9.6, `node:net` neither surfaces a failed
 * `accept()` (EMFILE, ENFILE) nor retries it: the listener stays bound and
 * never accepts again, however many fds come back. So a watchdog proves
 * every listener still accepts (see `watchAccepts`) and listens again on the
 * same address when it does not. The cap keeps us from filling the fd table
 * in the first place.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import * as net from "node:net";
import { lookup } from "node:dns/promises";
import type { Clock } from "../clock.ts";
import { formatDuration } from "../config/duration.ts";
import { errorMessage, MaglevError } from "../errors.ts";
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

/** How often the watchdog looks whether each listener still accepts. */
export const ACCEPT_WATCH_MS = 5_000;
/** Probe connections left unaccepted, one per look, before listening again. */
const ACCEPT_MISSES = 2;
/** A probe's connect on loopback takes microseconds unless the backlog is full. */
const PROBE_CONNECT_MS = 1_000;

/** One bound address: its socket (replaced when it stops accepting) and its accepts. */
interface Slot {
  options: net.ListenOptions;
  server: net.Server | undefined;
  accepts: number;
}

/** Where the watchdog connects to reach `options`: a wildcard bind is reached on loopback. */
function probeTarget(options: net.ListenOptions): net.NetConnectOpts {
  if (options.path !== undefined) return { path: options.path };
  const host = options.host === "0.0.0.0"
    ? "127.0.0.1"
    : options.host === "::"
    ? "::1"
    : options.host;
  return { host, port: options.port! };
}

/**
 * Connects to `slot` and closes at once: the kernel queues the connection
 * whether or not we accept it, so only the accept counter tells. A connect
 * still pending after `PROBE_CONNECT_MS` means a full backlog, which a
 * listener that accepts does not have: probed too. Resolves false when the
 * probe could not connect (our own fd table full): no verdict then.
 */
function sendProbe(slot: Slot, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (probed: boolean) => {
      clock.clearTimeout(timer);
      socket.destroy();
      resolve(probed);
    };
    const socket = net.connect(probeTarget(slot.options), () => done(true));
    socket.once("error", () => done(false));
    const timer = clock.setTimeout(() => done(true), PROBE_CONNECT_MS);
  });
}

/**
 * Every `ACCEPT_WATCH_MS`, on a slot that accepted nothing since the last
 * look, sends a probe connection; when `ACCEPT_MISSES` probes in a row were
 * not accepted, calls `relisten`. A busy listener needs no probe: its
 * counter moves. Returns the stop function.
 */
function watchAccepts(
  slots: readonly Slot[],
  relisten: (slot: Slot) => Promise<void>,
  clock: Clock,
): () => void {
  const state = slots.map((slot) => ({ slot, seen: slot.accepts, probed: false, misses: 0 }));
  let timer: number | undefined;
  let stopped = false;
  const look = async () => {
    for (const s of state) {
      if (s.slot.server === undefined) {
        // The last bind failed: try again.
        await relisten(s.slot);
        Object.assign(s, { seen: s.slot.accepts, probed: false, misses: 0 });
        continue;
      }
      if (s.slot.accepts !== s.seen) {
        Object.assign(s, { seen: s.slot.accepts, probed: false, misses: 0 });
        continue;
      }
      if (s.probed && ++s.misses >= ACCEPT_MISSES) {
        s.misses = 0;
        await relisten(s.slot);
        s.seen = s.slot.accepts;
      }
      s.probed = s.slot.server !== undefined && await sendProbe(s.slot, clock);
    }
    if (!stopped) timer = clock.setTimeout(look, ACCEPT_WATCH_MS);
  };
  timer = clock.setTimeout(look, ACCEPT_WATCH_MS);
  return () => {
    stopped = true;
    clock.clearTimeout(timer!);
  };
}

/**
 * Closes `slot`'s socket that stopped accepting (the connections it
 * accepted stay) and binds `fresh()` on the same address. When that fails,
 * the slot is left unbound and the watchdog tries again at its next look.
 */
async function bindAgain(
  slot: Slot,
  fresh: () => net.Server,
  options: { name: string; closing: () => boolean },
): Promise<void> {
  const { name, closing } = options;
  if (closing()) return;
  if (slot.server !== undefined) {
    log.error("grpc-accept-error", {
      listener: name,
      err: `accept() stalled: ${ACCEPT_MISSES} probe connections not accepted; listening again`,
    });
    slot.server.close();
    slot.server = undefined;
  }
  if (slot.options.path !== undefined) await Deno.remove(slot.options.path).catch(() => {});
  const server = fresh();
  try {
    await listenOnce(server, slot.options);
    // Shut down meanwhile: close() did not see this socket.
    if (closing()) return void server.close();
    log.info("grpc-listen", { addr: name, reason: "accept() stalled" });
  } catch (err) {
    server.close();
    slot.server = undefined;
    log.error("grpc-accept-error", { listener: name, err: errorMessage(err) });
  }
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
  { clock }: { readonly clock: Clock },
): Promise<Listener> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const sockets = new Set<net.Socket>();
  const slots: Slot[] = [];
  const { limits, name } = target;
  const refused = refusalLogger(name, clock);
  const newNetServer = (slot: Slot) => {
    const s = net.createServer((socket) => {
      slot.accepts++;
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
    slot.server = s;
    return s;
  };
  const bind = async (options: net.ListenOptions) => {
    const slot: Slot = { options, server: undefined, accepts: 0 };
    const s = newNetServer(slot);
    await listenOnce(s, options).catch((err) => {
      s.close();
      throw err;
    });
    slots.push(slot);
    return slot;
  };
  let closing = false;
  const relisten = (slot: Slot) =>
    bindAgain(slot, () => newNetServer(slot), { name, closing: () => closing });
  let stopWatch = () => {};
  const close = async (graceMs = 0) => {
    closing = true;
    stopWatch();
    const closed = slots.flatMap(({ server: s }) =>
      s ? [new Promise<void>((resolve) => s.close(() => resolve()))] : []
    );
    await closeSockets(sockets, graceMs, clock);
    await Promise.all(closed);
    injector.destroy();
  };
  const connections = () => sockets.size;
  try {
    const { where } = target;
    if ("path" in where) {
      await bind({ path: where.path });
      stopWatch = watchAccepts(slots, relisten, clock);
      return { port: 0, hosts: [], connections, close };
    }
    // Like grpc-js: a name binds every address it resolves to, on one port.
    const hosts = net.isIP(where.host) !== 0
      ? [where.host]
      : (await lookup(where.host, { all: true })).map((a) => a.address);
    const first = await bind({ host: hosts[0], port: where.port });
    const port = (first.server!.address() as net.AddressInfo).port;
    // The watchdog listens again on this port, not on a new one.
    first.options = { host: hosts[0], port };
    const bound = [hosts[0]];
    for (const host of hosts.slice(1)) {
      await bind({ host, port }).then(() => bound.push(host), () => {});
    }
    stopWatch = watchAccepts(slots, relisten, clock);
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
