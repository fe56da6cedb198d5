/**
 * `Deno.serve` on a parsed listen address, for listeners that stream
 * (the dashboard's server-sent events). The daemon's own listeners do not
 * use it: `Deno.serve` stops on an accept error (see metrics/http.ts).
 * @module
 */
import { errorMessage, MaglevError } from "../errors.ts";

/** Where and what to serve. */
export interface ServeOptions {
  /** From `parseListenAddress`: an empty host is every interface. */
  host?: string;
  port: number;
  handler: Deno.ServeHandler;
  /** What listens, for the error (`dashboard address ":8080": ...`). */
  what?: string;
}

function denoListen(
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

/** Serves `options.handler` on `addr` (every interface, IPv6 and IPv4, without a host). */
export function serveHttp(addr: string, options: ServeOptions): Deno.HttpServer<Deno.NetAddr> {
  if (options.host) return denoListen(addr, options.host, options);
  try {
    return denoListen(addr, "::", options);
  } catch (e) {
    // Hosts with IPv6 switched off cannot bind "::"; a port in use stays an error.
    if (/in use/i.test(errorMessage(e))) throw e;
    return denoListen(addr, "0.0.0.0", options);
  }
}
