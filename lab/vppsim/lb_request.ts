/**
 * Request normalisation for the VPP double: decoded objects or hand-written
 * ones get every field, checked against the message definitions, and address
 * and prefix texts decode as VPP's api.c decodes them.
 * @module
 */
import { parseIp } from "../../vpp/ip.ts";
import { ENUMS, type FieldDef, messageByName } from "../../vpp/messages.ts";
import { hexOf, type Ip46, IP4_PAD } from "./lb_addr.ts";

/** The JSON default of a field the request left out. */
function zeroOf(f: FieldDef): unknown {
  switch (f.type) {
    case "bool":
      return false;
    case "prefix":
      return "0.0.0.0/0";
    case "address":
    case "ip4_address":
      return "0.0.0.0";
    case "ip6_address":
      return "::";
    case "string":
      return "";
  }
  if (f.type.startsWith("struct:")) return {};
  return 0;
}

/** Widths of the unsigned integer types. */
const INT_BITS: Record<string, number> = { u8: 8, u16: 16, u32: 32 };

/** Checks one field value against its definition; throws a TypeError naming it. */
function checkField(msg: string, f: FieldDef, v: unknown): unknown {
  const where = `${msg}.${f.name}`;
  if (f.type.startsWith("enum:")) {
    const def = ENUMS[f.type.slice(5)];
    if (typeof v === "string") {
      const n = def?.values[v];
      if (n === undefined) throw new TypeError(`${where}: unknown enum name ${JSON.stringify(v)}`);
      return n;
    }
    const bits = (def?.size ?? 4) * 8;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= 2 ** bits) {
      throw new TypeError(`${where}: expected a u${bits} enum value, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  if (f.type in INT_BITS) {
    const bits = INT_BITS[f.type];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= 2 ** bits) {
      throw new TypeError(`${where}: expected a ${f.type}, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  if (f.type === "bool") {
    if (typeof v !== "boolean" && v !== 0 && v !== 1) {
      throw new TypeError(`${where}: expected a boolean, got ${JSON.stringify(v)}`);
    }
    return Boolean(v);
  }
  if (f.type.startsWith("struct:")) {
    if (typeof v !== "object" || v === null) {
      throw new TypeError(`${where}: expected an object, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  if (typeof v !== "string") {
    throw new TypeError(`${where}: expected ${f.type} text, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A request with every field present and checked (omitted ones take the JSON default). */
export function normalizeRequest(
  msg: string,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  const def = messageByName(msg);
  if (!def) throw new TypeError(`unknown VPP message ${JSON.stringify(msg)}`);
  if (typeof fields !== "object" || fields === null) {
    throw new TypeError(`${msg}: fields must be an object`);
  }
  const known = new Set(def.fields.map((f) => f.name));
  for (const k of Object.keys(fields)) {
    if (!known.has(k)) throw new TypeError(`${msg}: unknown field ${JSON.stringify(k)}`);
  }
  const out: Record<string, unknown> = {};
  for (const f of def.fields) {
    if (f.name === "client_index" || f.name === "context") continue;
    const v = fields[f.name] ?? f.default ?? zeroOf(f);
    out[f.name] = checkField(msg, f, v);
  }
  return out;
}

/** ip_address_decode: an address text -> ip46 and the wire family (0 = IPv4). */
export function decodeAddress(where: string, text: string): { a: Ip46; af: number; raw: Ip46 } {
  let parsed;
  try {
    parsed = parseIp(text);
  } catch {
    throw new TypeError(`${where}: not an IP address: ${JSON.stringify(text)}`);
  }
  if (parsed.family === 4) {
    const h = hexOf(parsed.bytes);
    // `raw` is the 16-byte union as sent: IPv4 bytes first, then zeros.
    return { a: IP4_PAD + h, af: 0, raw: h + IP4_PAD };
  }
  const h = hexOf(parsed.bytes);
  return { a: h, af: 1, raw: h };
}

/** ip_prefix_decode plus api.c: a prefix text -> ip46 and the plugin's length. */
export function decodePrefix(where: string, text: string): { a: Ip46; plen: number; raw: Ip46 } {
  const slash = text.lastIndexOf("/");
  const lenText = slash === -1 ? "" : text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) > 255) {
    throw new TypeError(`${where}: not an IP prefix: ${JSON.stringify(text)}`);
  }
  const { a, af, raw } = decodeAddress(where, text.slice(0, slash));
  // api.c: plen = pfx.len + (af == IPv4 ? 96 : 0), in a u8.
  return { a, plen: (Number(lenText) + (af === 0 ? 96 : 0)) & 0xff, raw };
}
