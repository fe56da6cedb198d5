/**
 * IP address text <-> bytes, as the VPP API needs them: IPv4 dotted quads,
 * IPv6 in RFC 5952 canonical form on output (any valid form on input).
 * @module
 */

/** An address as the wire carries it: family and 4 or 16 bytes. */
export interface IpAddress {
  /** 4 or 6. */
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

/**
 * Parses a dotted-quad IPv4 address; returns null when `text` is not one.
 * One pass over the characters (no split, no regexp): an initial sync parses
 * every AS address once, 16,000 at 1,000 VIPs.
 */
export function parseIp4(text: string): Uint8Array | null {
  const at = { buf: new Uint8Array(4), pos: 0 };
  return parseIp4Into(text, at) ? at.buf : null;
}

/** Where {@linkcode parseIp4Into} writes: `buf` from `pos` (the codec's Writer is one). */
export interface BytesAt {
  readonly buf: Uint8Array;
  readonly pos: number;
}

/**
 * Parses a dotted-quad IPv4 address into `at.buf[at.pos..at.pos+4]`; false
 * (and the bytes partly written) when `text` is not one. The encoder writes
 * a request's address straight into its frame: no array an address.
 */
export function parseIp4Into(text: string, at: BytesAt): boolean {
  const out = at.buf;
  const offset = at.pos;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // "." closes the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[offset + part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    // A digit; no leading zero ("01"), at most three, at most 255.
    if (c < 48 || c > 57 || (digits === 1 && value === 0) || digits === 3) return false;
    value = value * 10 + (c - 48);
    if (value > 255) return false;
    digits++;
  }
  return part === 4;
}

/** Parses an IPv6 address (with `::` and an optional dotted IPv4 tail); null when invalid. */
export function parseIp6(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > 45) return null;
  let head = text;
  let tail4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) !== -1) {
    tail4 = parseIp4(text.slice(lastColon + 1));
    if (!tail4) return null;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const dbl = head.indexOf("::");
  if (dbl !== -1 && head.indexOf("::", dbl + 1) !== -1) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl === -1) {
    const g = parseGroups(head);
    if (!g || g.length !== 8) return null;
    groups = g;
  } else {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right || left.length + right.length > 7) return null;
    groups = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address; throws a RangeError naming `text` when it is neither. */
export function parseIp(text: string): IpAddress {
  if (typeof text !== "string") {
    throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  }
  const v4 = parseIp4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIp6(text);
  if (v6) return { family: 6, bytes: v6 };
  throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
}

/** Formats 4 bytes as a dotted quad. */
export function formatIp4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * Formats 16 bytes in RFC 5952 form: lower case, longest zero run (>= 2
 * groups) as `::`, IPv4-mapped addresses as `::ffff:a.b.c.d` (section 5).
 */
export function formatIp6(bytes: Uint8Array): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${formatIp4(bytes.subarray(12, 16))}`;
  }
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Formats an address of 4 or 16 bytes. */
export function formatIp(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIp4(bytes) : formatIp6(bytes);
}

/**
 * The 16-byte form VPP uses to order and hash ASes: IPv6 as is, IPv4 as 12
 * zero bytes then the 4 address bytes.
 */
export function ip16(text: string): Uint8Array {
  const a = parseIp(text);
  if (a.family === 6) return a.bytes;
  const out = new Uint8Array(16);
  out.set(a.bytes, 12);
  return out;
}

/** A prefix: address and length. */
export interface IpPrefix {
  /** The address part. */
  address: IpAddress;
  /** Prefix length (0..32 for IPv4, 0..128 for IPv6). */
  len: number;
}

/** Parses `address/len`; throws a RangeError naming `text` when invalid. */
export function parsePrefix(text: string): IpPrefix {
  if (typeof text !== "string") {
    throw new RangeError(`not an IP prefix: ${JSON.stringify(text)}`);
  }
  const slash = text.indexOf("/");
  if (slash === -1) throw new RangeError(`not an IP prefix (no /len): ${JSON.stringify(text)}`);
  const address = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  const len = Number(lenText);
  const max = address.family === 4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(lenText) || len > max) {
    throw new RangeError(`bad prefix length in ${JSON.stringify(text)} (0..${max})`);
  }
  return { address, len };
}
