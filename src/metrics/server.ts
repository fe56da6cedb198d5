/**
 * The metrics listener on `--metrics-addr`: `/metrics`, `/healthz` (200
 * while the process serves) and `/ready` (200 once warmup is complete and
 * VPP is connected or disabled, else 503 with the reason: Envoy's and
 * Kubernetes' convention), and a small index page.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import {
  defaultConnectionCap,
  joinHostPort,
  type ListenAddress,
  parseListenAddress as parseAddress,
} from "../listen/mod.ts";
import { type HttpLimits, type HttpListener, serveHttp } from "../listen/http.ts";
import { log } from "../log/mod.ts";

/** Parses `--metrics-addr` with the listen module's parser, naming it in errors. */
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

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { ...TEXT, ...headers } });
}

function router(metrics: Renderable, ready: () => string) {
  return async (req: Request): Promise<Response> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, "method not allowed\n", { allow: "GET, HEAD" });
    }
    switch (new URL(req.url).pathname) {
      case "/metrics":
        try {
          const body = await metrics.render();
          return new Response(body, { headers: { "content-type": metrics.contentType } });
        } catch (e) {
          const err = errorMessage(e);
          log.error("metrics-render-error", { err });
          return text(500, `metrics: ${err}\n`);
        }
      case "/healthz":
        return text(200, "ok\n");
      case "/ready": {
        const why = ready();
        return why === "" ? text(200, "ready\n") : text(503, `not ready: ${why}\n`);
      }
      case "/":
        return new Response(INDEX_PAGE, {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      default:
        return text(404, "not found\n");
    }
  };
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
  const server: HttpListener = serveHttp(
    { text: addr, host, port },
    router(metrics, options.ready ?? (() => "")),
    {
      limits,
      clock: options.clock ?? realClock,
      name: addr,
      what: "metrics",
    },
  );
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
