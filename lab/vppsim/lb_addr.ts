/**
 * ip46 addresses as the VPP double keeps them (32 hex digits, so equality and
 * memcmp order come from string comparison) and their text forms, API and
 * CLI, quirks included.
 * @module
 */
import { formatIp4, formatIp6 } from "../../vpp/ip.ts";

// An ip46_address_t as 32 lower-case hex digits: equality and memcmp order
// then come for free from string comparison.
/** An ip46_address_t as 32 hex digits. */
export type Ip46 = string;
/** The 12 zero bytes before an IPv4 address in an ip46. */
export const IP4_PAD = "0".repeat(24);

/** Bytes as lower-case hex. */
export function hexOf(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Hex as bytes. */
export function bytesOf(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** True when an ip46 holds an IPv4 address (the 12 zero bytes first). */
export function ip46IsIp4(a: Ip46): boolean {
  return a.startsWith(IP4_PAD);
}

/** True when a prefix is an IPv4 one in ip46 form (length >= 96). */
export function prefixIsIp4(a: Ip46, plen: number): boolean {
  return plen >= 96 && ip46IsIp4(a);
}

/** ip46_prefix_normalize, including its x86 shift behaviour for lengths above 128. */
export function normalize(a: Ip46, plen: number): Ip46 {
  const b = bytesOf(a);
  const hi = new DataView(b.buffer);
  let w0 = hi.getBigUint64(0);
  let w1 = hi.getBigUint64(8);
  const all = 0xffffffffffffffffn;
  if (plen === 0) {
    w0 = 0n;
    w1 = 0n;
  } else if (plen <= 64) {
    w0 &= (all << BigInt(64 - plen)) & all;
    w1 = 0n;
  } else {
    w1 &= (all << BigInt((128 - plen) & 63)) & all;
  }
  hi.setBigUint64(0, w0);
  hi.setBigUint64(8, w1);
  return hexOf(b);
}

/** The address as the API encodes it (`ip_address_encode` with IP46_TYPE_ANY). */
export function apiAddressText(a: Ip46): string {
  const b = bytesOf(a);
  return ip46IsIp4(a) ? formatIp4(b.subarray(12)) : formatIp6(b);
}

/** VPP's own `format_ip6_address`, quirks included, for CLI text. */
export function vppIp6Text(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i] << 8) | b[2 * i + 1]);
  let iMax = 8;
  let maxZeros = 0;
  let iFirst = 8;
  let nZeros = 0;
  for (let i = 0; i < 8; i++) {
    const isZero = g[i] === 0 ? 1 : 0;
    if (isZero && iFirst >= 8) {
      iFirst = i;
      nZeros = 0;
    }
    nZeros += isZero;
    if ((!isZero && nZeros > maxZeros) || (i + 1 >= 8 && nZeros > maxZeros)) {
      iMax = iFirst;
      maxZeros = nZeros;
      iFirst = 8;
      nZeros = 0;
    }
  }
  let s = "";
  let lastDouble = false;
  for (let i = 0; i < 8; i++) {
    if (i === iMax && maxZeros > 1) {
      s += "::";
      i += maxZeros - 1;
      lastDouble = true;
    } else {
      s += (lastDouble || i === 0 ? "" : ":") + g[i].toString(16);
      lastDouble = false;
    }
  }
  return s;
}

/** format_ip46_address with IP46_TYPE_ANY. */
export function cliAddressText(a: Ip46): string {
  const b = bytesOf(a);
  return ip46IsIp4(a) ? formatIp4(b.subarray(12)) : vppIp6Text(b);
}

/** format_ip46_prefix with IP46_TYPE_ANY. */
export function cliPrefixText(a: Ip46, plen: number): string {
  const b = bytesOf(a);
  return prefixIsIp4(a, plen)
    ? `${formatIp4(b.subarray(12))}/${plen - 96}`
    : `${vppIp6Text(b)}/${plen}`;
}

/** clib_net_to_host_u16. */
export function bswap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** vppinfra is_pow2: true for 0 as well, which VPP relies on. */
export function isPow2(x: number): boolean {
  // vppinfra's is_pow2 on a u32: 0 counts as a power of two.
  return ((x & (x - 1)) >>> 0) === 0;
}

/** clib_u32_loop_gt: true when a >= b on a wrapping u32 clock. */
export function loopGt(a: number, b: number): boolean {
  return ((a - b) >>> 0) < 0x7fffffff;
}
