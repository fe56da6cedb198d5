/**
 * Building probe results and turning socket errors into short operator text.
 * @module
 */

export { isProbeCode, probeResult } from "../health/codes.ts";

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
  EADDRNOTAVAIL: "cannot assign requested address",
  EADDRINUSE: "address already in use",
  ETIMEDOUT: "connection timed out",
  EPIPE: "broken pipe",
  EINVAL: "invalid argument",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
};

/** Short text for a socket error from Deno or node:net, without stack or noise. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    // Own keys only: a code such as "constructor" must not answer with a prototype's member.
    if (typeof code === "string" && Object.hasOwn(ERRNO_TEXT, code)) return ERRNO_TEXT[code];
    if (err instanceof Deno.errors.ConnectionRefused) return "connection refused";
    if (err instanceof Deno.errors.ConnectionReset) return "connection reset by peer";
    if (err instanceof Deno.errors.AddrNotAvailable) return "cannot assign requested address";
    // Deno appends "(os error N)"; the errno name is already in the text.
    return err.message.replace(/\s*\(os error \d+\)$/, "").split("\n")[0];
  }
  return String(err);
}

/** `addr:port`, with IPv6 in brackets. */
export function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
