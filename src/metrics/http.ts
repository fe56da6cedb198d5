/**
 * A small HTTP/1.1 server for the metrics listener, on `Deno.listen` so that
 * every connection is ours to bound (issue 12.1): `Deno.serve` rejects an
 * unhandled promise and stops listening when `accept()` fails with EMFILE,
 * and has neither a connection cap nor a header timeout. Here an accept
 * error is logged and retried after a pause, connections above the cap are
 * closed at once, a request must arrive whole within the header timeout and
 * its answer be read within the write timeout. Every answer closes its
 * connection (`Connection: close`): a scrape is one request.
 * @module
 */
import { type Clock, realClock, sleep } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log/mod.ts";

/** A request as the handler sees it. */
export interface HttpRequest {
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
}

/** An answer; `body` is dropped for HEAD. */
export interface HttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Connection bounds of one listener. */
export interface HttpLimits {
  readonly maxConnections: number;
  /** The request line and headers must arrive within this. */
  readonly headerTimeoutMs: number;
  /** The answer must be taken by the client within this. */
  readonly writeTimeoutMs: number;
}

/** A running listener. */
export interface HttpListener {
  readonly addr: Deno.NetAddr;
  /** Connections open now. */
  connections(): number;
  /** Stops accepting, closes every connection; resolves when all are done. */
  close(): Promise<void>;
}

const MAX_HEADER_BYTES = 16 * 1024;
const ACCEPT_RETRY_MS = 100;
const LOG_EVERY_MS = 10_000;

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
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

function indexOfBlankLine(buf: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}

/** Reads up to the end of the headers; undefined when the peer closed or sent too much. */
async function readHead(conn: Deno.Conn): Promise<string | undefined> {
  const buf = new Uint8Array(MAX_HEADER_BYTES);
  let len = 0;
  while (len < buf.length) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) return undefined;
    len += n;
    const end = indexOfBlankLine(buf, len);
    if (end >= 0) return new TextDecoder().decode(buf.subarray(0, end));
  }
  return undefined;
}

function parseRequest(head: string): HttpRequest | undefined {
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(head);
  if (!m) return undefined;
  const q = m[2].indexOf("?");
  return { method: m[1], path: q < 0 ? m[2] : m[2].slice(0, q) };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function encode(res: HttpResponse, head: boolean): Uint8Array {
  const body = new TextEncoder().encode(res.body);
  const lines = [`HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}`];
  for (const [k, v] of Object.entries(res.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  const top = new TextEncoder().encode(lines.join("\r\n"));
  if (head) return top;
  const out = new Uint8Array(top.length + body.length);
  out.set(top);
  out.set(body, top.length);
  return out;
}

/** Closes `conn` after `ms` unless the returned function is called first. */
function deadline(conn: Deno.Conn, ms: number, clock: Clock): () => void {
  const timer = clock.setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }, ms);
  return () => clock.clearTimeout(timer);
}

interface ServeContext {
  readonly handler: (req: HttpRequest) => Promise<HttpResponse>;
  readonly limits: HttpLimits;
  readonly clock: Clock;
}

async function serveConn(conn: Deno.Conn, ctx: ServeContext): Promise<void> {
  const { limits, clock } = ctx;
  let cancel = deadline(conn, limits.headerTimeoutMs, clock);
  try {
    const head = await readHead(conn);
    cancel();
    const req = head === undefined ? undefined : parseRequest(head);
    const res: HttpResponse = req === undefined
      ? { status: head === undefined ? 431 : 400, body: "bad request\n" }
      : await ctx.handler(req);
    cancel = deadline(conn, limits.writeTimeoutMs, clock);
    await writeAll(conn, encode(res, req?.method === "HEAD"));
  } catch {
    // A peer that went away or a deadline that closed it: nothing to answer.
  } finally {
    cancel();
    try {
      conn.close();
    } catch {
      // Closed by the deadline.
    }
  }
}

/** Listens on `hostname:port` (throws what `Deno.listen` throws) and serves `handler`. */
export function listenHttp(
  where: { hostname: string; port: number },
  handler: (req: HttpRequest) => Promise<HttpResponse>,
  options: { limits: HttpLimits; clock?: Clock; name: string },
): HttpListener {
  const listener = Deno.listen({ hostname: where.hostname, port: where.port, transport: "tcp" });
  const ctx: ServeContext = { handler, limits: options.limits, clock: options.clock ?? realClock };
  const open = new Map<Deno.Conn, Promise<void>>();
  const acceptError = throttled(ctx.clock, "metrics-accept-error");
  const refused = throttled(ctx.clock, "metrics-connection-refused");
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
        await sleep(ctx.clock, ACCEPT_RETRY_MS, stop.signal).catch(() => {});
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
      for (const conn of open.keys()) {
        try {
          conn.close();
        } catch {
          // Closed meanwhile.
        }
      }
      await Promise.all(open.values());
    },
  };
}
