/**
 * The `/metrics` HTTP endpoint on `--metrics-addr`.
 * @module
 */
import { errorMessage } from "../errors.ts";
import { MaglevError } from "../errors.ts";
import { log } from "../log/mod.ts";

/** What the server needs from {@link Metrics}. */
export interface Renderable {
  render(): Promise<string>;
  readonly contentType: string;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The bound port (useful when the address asked for port 0). */
  readonly port: number;
  /** The bound host. */
  readonly hostname: string;
  /** Stops listening and finishes requests in flight. */
  close(): Promise<void>;
}

/** A parsed listen address. */
export interface ListenAddress {
  /** Empty means every interface. */
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `--metrics-addr` the way Go's net.Listen reads it: `:9091` (every
 * interface), `host:port`, `[v6]:port`. Throws INVALID_ARGUMENT naming the
 * address when it is none of those.
 */
export function parseListenAddress(addr: string): ListenAddress {
  const bad = (why: string) =>
    new MaglevError("INVALID_ARGUMENT", `metrics address ${JSON.stringify(addr)}: ${why}`);
  let host: string;
  let portText: string;
  if (addr.startsWith("[")) {
    const close = addr.indexOf("]");
    if (close < 0 || addr[close + 1] !== ":") throw bad("want [ipv6]:port");
    host = addr.slice(1, close);
    portText = addr.slice(close + 2);
  } else {
    const colon = addr.lastIndexOf(":");
    if (colon < 0) throw bad("missing port (want host:port or :port)");
    host = addr.slice(0, colon);
    portText = addr.slice(colon + 1);
    if (host.includes(":")) throw bad("an IPv6 host must be in brackets, e.g. [::1]:9091");
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw bad(`port ${JSON.stringify(portText)} is not a number 0..65535`);
  }
  return { host, port: Number(portText) };
}

const INDEX_PAGE = `<html>
<head><title>maglevd</title></head>
<body>
<h1>maglevd</h1>
<p><a href="/metrics">Metrics</a></p>
</body>
</html>
`;

function listen(
  addr: string,
  hostname: string,
  options: ServeOptions,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({
      hostname,
      port: options.port,
      handler: options.handler,
      onListen: () => {},
    });
  } catch (e) {
    const why = errorMessage(e);
    const what = options.what ?? "metrics";
    throw new MaglevError("UNAVAILABLE", `${what} address ${JSON.stringify(addr)}: ${why}`);
  }
}

/** Options of {@link serveHttp}. */
export interface ServeOptions {
  /** From {@link parseListenAddress}: an empty host is every interface. */
  host?: string;
  port: number;
  handler: Deno.ServeHandler;
  /** What listens, for the error (`metrics address ":9091": ...`). */
  what?: string;
}

/**
 * Listens on a parsed address (`addr` is its text, for errors). An address
 * without a host listens on every interface, IPv6 and IPv4 where the host
 * has IPv6, else IPv4 only.
 */
export function serveHttp(addr: string, options: ServeOptions): Deno.HttpServer<Deno.NetAddr> {
  if (options.host) return listen(addr, options.host, options);
  try {
    return listen(addr, "::", options);
  } catch (e) {
    // Hosts with IPv6 switched off cannot bind "::"; a port in use stays an error.
    if (/in use/i.test(errorMessage(e))) throw e;
    return listen(addr, "0.0.0.0", options);
  }
}

/**
 * Serves `/metrics` (and a small index page at `/`) on `addr`. Returns null
 * when `addr` is empty (metrics disabled); see {@link serveHttp} for an
 * address without a host.
 */
export function serveMetrics(addr: string, metrics: Renderable): MetricsServer | null {
  if (addr === "") return null;
  const { host, port } = parseListenAddress(addr);

  async function handler(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (path === "/metrics") {
      try {
        const body = await metrics.render();
        return new Response(body, { headers: { "content-type": metrics.contentType } });
      } catch (e) {
        const err = errorMessage(e);
        log.error("metrics-render-error", { err });
        return new Response(`metrics: ${err}\n`, { status: 500 });
      }
    }
    if (path === "/") {
      return new Response(INDEX_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    return new Response("not found\n", { status: 404 });
  }

  const server = serveHttp(addr, { host, port, handler });
  log.info("metrics-listen", { addr: `${server.addr.hostname}:${server.addr.port}` });
  return {
    port: server.addr.port,
    hostname: server.addr.hostname,
    close: () => server.shutdown(),
  };
}
