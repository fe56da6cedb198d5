/**
 * The HTTP/1.1 listener of the metrics endpoint and the dashboard, on
 * `Deno.listen` so that every connection is ours to bound (issue 12.1):
 * `Deno.serve` rejects an unhandled promise and stops listening when
 * `accept()` fails with EMFILE, and has neither a connection cap nor a header
 * timeout. Here an accept error is logged and retried after a pause,
 * connections above the cap are closed at once, a request must arrive whole
 * within the header timeout and each write of its answer be taken within the
 * write timeout. Handlers are Web `Request -> Response` functions.
 *
 * One request per connection (`Connection: close`): a scrape is one request,
 * and a browser opens as many as it needs. An answer is buffered and sent
 * with its length, except a server-sent events stream (`text/event-stream`),
 * which is written as it comes until either side ends it.
 * @module
 */
import { type Clock, realClock, sleep } from "../clock.ts";
import { errorMessage, MaglevError } from "../errors.ts";
import { log } from "../log/mod.ts";
import { parseHead, readRequest } from "./http_request.ts";

/** A request handler. */
export type HttpHandler = (req: Request) => Response | Promise<Response>;

/** Connection bounds of one listener. */
export interface HttpLimits {
  readonly maxConnections: number;
  /** The request line and headers (and a body) must arrive within this. */
  readonly headerTimeoutMs: number;
  /** Each write of the answer must be taken by the client within this. */
  readonly writeTimeoutMs: number;
}

/** Options of {@link listenHttp} and {@link serveHttp}. */
export interface HttpListenOptions {
  readonly limits: HttpLimits;
  readonly clock?: Clock;
  /** Names the listener in logs (its address as configured). */
  readonly name: string;
  /** Prefix of its log events and errors: `metrics`, `dashboard`. */
  readonly what: string;
}

/** A running listener. */
export interface HttpListener {
  readonly addr: Deno.NetAddr;
  /** Connections open now. */
  connections(): number;
  /** Stops accepting, closes every connection; resolves when all are done. */
  close(): Promise<void>;
}

const ACCEPT_RETRY_MS = 100;
const LOG_EVERY_MS = 10_000;

const REASONS: Record<number, string> = {
  200: "OK",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  411: "Length Required",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Logs the first of a burst of the same event, with a count, not one line each. */
function throttled(clock: Clock, event: string): (fields: Record<string, string | number>) => void {
  let count = 0;
  let at = -Infinity;
  return (fields) => {
    count++;
    if (clock.monotonic() - at < LOG_EVERY_MS) return;
    at = clock.monotonic();
    log.warn(event, { ...fields, count });
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function statusLine(res: Response, extra: string[]): Uint8Array {
  const lines = [`HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}`];
  for (const [k, v] of res.headers) {
    if (k !== "content-length" && k !== "connection" && k !== "transfer-encoding") {
      lines.push(`${k}: ${v}`);
    }
  }
  lines.push(...extra, "connection: close", "", "");
  return new TextEncoder().encode(lines.join("\r\n"));
}

/** Closes `conn` after `ms` unless the returned function is called first. */
function deadline(conn: Deno.Conn, ms: number, clock: Clock): () => void {
  const timer = clock.setTimeout(() => closeQuietly(conn), ms);
  return () => clock.clearTimeout(timer);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** Resolves when the peer closes (or the connection is closed under us). */
async function peerGone(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(512);
  try {
    while ((await conn.read(buf)) !== null) { /* a client sends nothing more */ }
  } catch {
    // A reset or a local close: gone either way.
  }
}

interface ServeContext {
  readonly handler: HttpHandler;
  readonly limits: HttpLimits;
  readonly clock: Clock;
  readonly what: string;
}

async function respond(conn: Deno.Conn, res: Response, ctx: ServeContext, method: string) {
  const { limits, clock } = ctx;
  const isHead = method === "HEAD";
  const streaming = !isHead && res.body !== null &&
    (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
  if (!streaming) {
    const body = new Uint8Array(await res.arrayBuffer());
    const top = statusLine(res, [`content-length: ${body.length}`]);
    const cancel = deadline(conn, limits.writeTimeoutMs, clock);
    try {
      await writeAll(conn, top);
      if (!isHead) await writeAll(conn, body);
    } finally {
      cancel();
    }
    return;
  }
  const reader = res.body!.getReader();
  // The page going away is seen as EOF on our side: end its stream.
  peerGone(conn).then(() => reader.cancel().catch(() => {}));
  try {
    let cancel = deadline(conn, limits.writeTimeoutMs, clock);
    await writeAll(conn, statusLine(res, [])).finally(cancel);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      cancel = deadline(conn, limits.writeTimeoutMs, clock);
      await writeAll(conn, value).finally(cancel);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

async function handle(req: Request, ctx: ServeContext): Promise<Response> {
  try {
    return await ctx.handler(req);
  } catch (e) {
    const err = errorMessage(e);
    log.error(`${ctx.what}-handler-error`, { err });
    return new Response(`${ctx.what}: ${err}\n`, { status: 500 });
  }
}

async function serveConn(conn: Deno.Conn, ctx: ServeContext): Promise<void> {
  // The whole request, body included, within the header timeout.
  const cancel = deadline(conn, ctx.limits.headerTimeoutMs, ctx.clock);
  try {
    const head = await parseHead(conn);
    const req = head instanceof Response
      ? head
      : await readRequest(conn, head, { localAddr: conn.localAddr });
    cancel();
    const method = head instanceof Response ? "GET" : head.method;
    const res = req instanceof Response ? req : await handle(req, ctx);
    await respond(conn, res, ctx, method);
  } catch {
    // A peer that went away or a deadline that closed it: nothing to answer.
  } finally {
    cancel();
    closeQuietly(conn);
  }
}

/** Listens on `hostname:port` (throws what `Deno.listen` throws) and serves `handler`. */
export function listenHttp(
  where: { hostname: string; port: number },
  handler: HttpHandler,
  options: HttpListenOptions,
): HttpListener {
  const listener = Deno.listen({ hostname: where.hostname, port: where.port, transport: "tcp" });
  const clock = options.clock ?? realClock;
  const ctx: ServeContext = { handler, limits: options.limits, clock, what: options.what };
  const open = new Map<Deno.Conn, Promise<void>>();
  const acceptError = throttled(clock, `${options.what}-accept-error`);
  const refused = throttled(clock, `${options.what}-connection-refused`);
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (stop.signal.aborted || e instanceof Deno.errors.BadResource) return;
        // EMFILE and friends: the listener survives; retry once fds free up.
        acceptError({ listener: options.name, err: errorMessage(e) });
        await sleep(clock, ACCEPT_RETRY_MS, { signal: stop.signal }).catch(() => {});
        continue;
      }
      if (open.size >= ctx.limits.maxConnections) {
        refused({
          listener: options.name,
          reason: `${ctx.limits.maxConnections} connections open`,
        });
        conn.close();
        continue;
      }
      const done = serveConn(conn, ctx).finally(() => open.delete(conn));
      open.set(conn, done);
    }
  })();
  return {
    addr: listener.addr as Deno.NetAddr,
    connections: () => open.size,
    async close() {
      stop.abort();
      listener.close();
      await loop;
      for (const conn of open.keys()) closeQuietly(conn);
      await Promise.all(open.values());
    },
  };
}

function listenNamed(
  addr: string,
  where: { hostname: string; port: number },
  handler: HttpHandler,
  options: HttpListenOptions,
): HttpListener {
  try {
    return listenHttp(where, handler, options);
  } catch (e) {
    const why = errorMessage(e);
    throw new MaglevError("UNAVAILABLE", `${options.what} address ${JSON.stringify(addr)}: ${why}`);
  }
}

/**
 * Serves `handler` on a parsed listen address (`addr` as given, for errors).
 * An empty host listens on every interface, IPv6 and IPv4 where the host has
 * IPv6, else IPv4 only.
 */
export function serveHttp(
  addr: { text: string; host: string; port: number },
  handler: HttpHandler,
  options: HttpListenOptions,
): HttpListener {
  const { text, host, port } = addr;
  if (host !== "") return listenNamed(text, { hostname: host, port }, handler, options);
  try {
    return listenNamed(text, { hostname: "::", port }, handler, options);
  } catch (e) {
    // Hosts with IPv6 switched off cannot bind "::"; a port in use stays an error.
    if (/in use/i.test(errorMessage(e))) throw e;
    return listenNamed(text, { hostname: "0.0.0.0", port }, handler, options);
  }
}
