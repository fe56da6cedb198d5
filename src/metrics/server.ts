/**
 * The metrics listener on `--metrics-addr`: `/metrics`, `/healthz` (200
 * while the process serves) and `/ready` (200 once warmup is complete and
 * VPP is connected or disabled, else 503 with the reason: Envoy's and
 * Kubernetes' convention), and a small index page.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import { errorMessage, MaglevError } from "../errors.ts";
import {
  defaultConnectionCap,
  joinHostPort,
  type ListenAddress,
  parseListenAddress as parseAddress,
} from "../listen/mod.ts";
import { log } from "../log/mod.ts";
import {
  type HttpLimits,
  type HttpListener,
  type HttpRequest,
  type HttpResponse,
  listenHttp,
} from "./http.ts";

export { serveHttp, type ServeOptions } from "../listen/deno_serve.ts";

/** `--metrics-addr` (and the dashboard's `--listen`): see the listen module's parser. */
export function parseListenAddress(addr: string): ListenAddress {
  return parseAddress(addr, { what: "metrics address" });
}

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
  /** Connections open now. */
  connections(): number;
  /** Stops listening and closes what is open. */
  close(): Promise<void>;
}

/** Options of {@linkcode serveMetrics}. */
export interface MetricsServeOptions {
  /** Why the daemon is not ready, "" when it is (default: always ready). */
  ready?: () => string;
  /** Connection bounds (default: a quarter of the fd limit, 5 s headers, 30 s writes). */
  limits?: Partial<HttpLimits>;
  clock?: Clock;
}

const INDEX_PAGE = `<html>
<head><title>maglevd</title></head>
<body>
<h1>maglevd</h1>
<p><a href="/metrics">Metrics</a></p>
<p><a href="/healthz">Health</a> <a href="/ready">Readiness</a></p>
</body>
</html>
`;

const TEXT = { "content-type": "text/plain; charset=utf-8" };

function router(metrics: Renderable, ready: () => string) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return {
        status: 405,
        headers: { ...TEXT, allow: "GET, HEAD" },
        body: "method not allowed\n",
      };
    }
    switch (req.path) {
      case "/metrics":
        try {
          return {
            status: 200,
            headers: { "content-type": metrics.contentType },
            body: await metrics.render(),
          };
        } catch (e) {
          const err = errorMessage(e);
          log.error("metrics-render-error", { err });
          return { status: 500, headers: TEXT, body: `metrics: ${err}\n` };
        }
      case "/healthz":
        return { status: 200, headers: TEXT, body: "ok\n" };
      case "/ready": {
        const why = ready();
        return why === ""
          ? { status: 200, headers: TEXT, body: "ready\n" }
          : { status: 503, headers: TEXT, body: `not ready: ${why}\n` };
      }
      case "/":
        return {
          status: 200,
          headers: { "content-type": "text/html; charset=utf-8" },
          body: INDEX_PAGE,
        };
      default:
        return { status: 404, headers: TEXT, body: "not found\n" };
    }
  };
}

function listen(
  addr: string,
  hostname: string,
  options: { port: number; serve: (where: { hostname: string; port: number }) => HttpListener },
): HttpListener {
  try {
    return options.serve({ hostname, port: options.port });
  } catch (e) {
    throw new MaglevError(
      "UNAVAILABLE",
      `metrics address ${JSON.stringify(addr)}: ${errorMessage(e)}`,
    );
  }
}

/**
 * Serves the metrics listener on `addr`. Returns null when `addr` is empty
 * (metrics disabled). An address without a host listens on every
 * interface, IPv6 and IPv4 where the host has IPv6, else IPv4 only.
 */
export function serveMetrics(
  addr: string,
  metrics: Renderable,
  options: MetricsServeOptions = {},
): MetricsServer | null {
  if (addr === "") return null;
  const { host, port } = parseListenAddress(addr);
  const limits: HttpLimits = {
    maxConnections: options.limits?.maxConnections ?? defaultConnectionCap(),
    headerTimeoutMs: options.limits?.headerTimeoutMs ?? 5_000,
    writeTimeoutMs: options.limits?.writeTimeoutMs ?? 30_000,
  };
  const handler = router(metrics, options.ready ?? (() => ""));
  const serve = (where: { hostname: string; port: number }) =>
    listenHttp(where, handler, { limits, clock: options.clock ?? realClock, name: addr });
  let server: HttpListener;
  if (host === "") {
    try {
      server = listen(addr, "::", { port, serve });
    } catch (e) {
      // Hosts with IPv6 switched off cannot bind "::"; a port in use stays an error.
      if (/in use/i.test(errorMessage(e))) throw e;
      server = listen(addr, "0.0.0.0", { port, serve });
    }
  } else {
    server = listen(addr, host, { port, serve });
  }
  log.info("metrics-listen", {
    addr: joinHostPort(server.addr.hostname, server.addr.port),
    "max-connections": limits.maxConnections,
  });
  return {
    port: server.addr.port,
    hostname: server.addr.hostname,
    connections: () => server.connections(),
    close: () => server.close(),
  };
}
