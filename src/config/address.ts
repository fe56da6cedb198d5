/**
 * IP address parsing and canonical text (IPv4 dotted quad, IPv6 RFC 5952),
 * so that the same address written two ways compares equal everywhere.
 * @module
 */
import { formatIp4, formatIp6, parseIp4, parseIp6 } from "../../vpp/ip.ts";

/** A parsed address in canonical text form. */
export interface ParsedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Parses an IPv4 or IPv6 address (no prefix, no zone); undefined if invalid. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const t = text.trim();
  const v4 = parseIp4(t);
  if (v4) return { address: formatIp4(v4), family: 4 };
  const v6 = parseIp6(t);
  if (v6) return { address: formatIp6(v6), family: 6 };
  return undefined;
}

/**
 * True for an IPv6 address inside `::/96` (such as `::1`): VPP's ip46 type
 * reads those as IPv4 and refuses them as IPv6 application servers.
 */
export function isV4CompatibleRange(address: string): boolean {
  const v6 = parseIp6(address.trim());
  return v6 !== null && v6.subarray(0, 12).every((b) => b === 0);
}
