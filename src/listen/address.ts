/**
 * Listen addresses of the daemon's two listeners (gRPC and metrics): one
 * parser, and the loopback rule judged by the address a socket is bound to.
 * @module
 */
import { parseIp4, parseIp6 } from "../../vpp/ip.ts";
import { MaglevError } from "../errors.ts";

/** A parsed `host:port`. */
export interface ListenAddress {
  /** Empty means every interface. */
  readonly host: string;
  readonly port: number;
}

/**
 * Parses a listen address the way Go's net.Listen reads it: `:9091` (every
 * interface), `host:port`, `[v6]:port`. Throws INVALID_ARGUMENT naming
 * `what` (e.g. `grpc listen address`) and the address when it is none of those.
 */
export function parseListenAddress(addr: string, options: { what: string }): ListenAddress {
  const bad = (why: string) =>
    new MaglevError("INVALID_ARGUMENT", `${options.what} ${JSON.stringify(addr)}: ${why}`);
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

/** `host:port` with an IPv6 host in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * True when `address` (an IP literal a socket is bound to) is a loopback
 * address: 127/8, ::1, or ::ffff:127/104. Names are not accepted: what
 * counts is where the socket listens, not what a name was said to mean.
 */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, "");
  const v4 = parseIp4(a);
  if (v4) return v4[0] === 127;
  const v6 = parseIp6(a);
  if (!v6) return false;
  const zeros = (from: number, to: number) => v6.slice(from, to).every((b) => b === 0);
  if (zeros(0, 15) && v6[15] === 1) return true;
  return zeros(0, 10) && v6[10] === 0xff && v6[11] === 0xff && v6[12] === 127;
}
