/**
 * IP address parsing and canonical text (IPv4 dotted quad, IPv6 RFC 5952),
 * so that the same address written two ways compares equal everywhere.
 * @module
 */

/** A parsed address in canonical text form. */
export interface ParsedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

const V4 = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;

function parseV4Octets(text: string): number[] | undefined {
  const m = V4.exec(text);
  if (m === null) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

function parseV6Groups(text: string): number[] | undefined {
  if (text.includes("%")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const toGroups = (part: string, allowV4: boolean): number[] | undefined => {
    if (part === "") return [];
    const fields = part.split(":");
    const out: number[] = [];
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (allowV4 && i === fields.length - 1 && f.includes(".")) {
        const o = parseV4Octets(f);
        if (o === undefined) return undefined;
        out.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(f)) {
        out.push(parseInt(f, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  if (halves.length === 1) {
    const g = toGroups(halves[0], true);
    return g !== undefined && g.length === 8 ? g : undefined;
  }
  const head = toGroups(halves[0], false);
  const tail = toGroups(halves[1], true);
  if (head === undefined || tail === undefined) return undefined;
  // "::" stands for at least one zero group.
  if (head.length + tail.length > 7) return undefined;
  return [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
}

function formatV6(groups: number[]): string {
  // IPv4-mapped addresses keep the dotted tail (RFC 5952 section 5).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [a, b] = [groups[6], groups[7]];
    return `::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  // A single zero group is never shortened to "::" (RFC 5952 4.2.2).
  if (bestLen < 2) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

/** Parses an IPv4 or IPv6 address (no prefix, no zone); undefined if invalid. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const t = text.trim();
  const v4 = parseV4Octets(t);
  if (v4 !== undefined) return { address: v4.join("."), family: 4 };
  const v6 = parseV6Groups(t);
  if (v6 !== undefined) return { address: formatV6(v6), family: 6 };
  return undefined;
}
