/**
 * Health check equality: decides whether a reload may keep a backend's
 * worker (and its state) or must restart it (spec 3.7).
 * @module
 */

import type { HealthCheck, HttpParams, TcpParams } from "./types.ts";

function httpEqual(a: HttpParams | undefined, b: HttpParams | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.path === b.path && a.host === b.host && a.responseCodeMin === b.responseCodeMin &&
    a.responseCodeMax === b.responseCodeMax && a.responseRegexp === b.responseRegexp &&
    a.serverName === b.serverName && a.insecureSkipVerify === b.insecureSkipVerify;
}

function tcpEqual(a: TcpParams | undefined, b: TcpParams | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.ssl === b.ssl && a.serverName === b.serverName &&
    a.insecureSkipVerify === b.insecureSkipVerify;
}

/**
 * True when two health checks probe the same way: spec 2.4's fields plus
 * `port` and the probe source addresses, which upstream forgot (a changed
 * port must restart the worker, or it keeps probing the old port). The name
 * is not compared: a backend's worker is keyed by backend, not check name.
 */
export function healthCheckEqual(a: HealthCheck, b: HealthCheck): boolean {
  return a.type === b.type && a.port === b.port && a.intervalMs === b.intervalMs &&
    a.fastIntervalMs === b.fastIntervalMs && a.downIntervalMs === b.downIntervalMs &&
    a.timeoutMs === b.timeoutMs && a.rise === b.rise && a.fall === b.fall &&
    a.probeIpv4Src === b.probeIpv4Src && a.probeIpv6Src === b.probeIpv6Src &&
    httpEqual(a.http, b.http) && tcpEqual(a.tcp, b.tcp);
}
