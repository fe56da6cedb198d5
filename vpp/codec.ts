/**
 * Encodes and decodes VPP API message bodies (big-endian, packed) from the
 * declarations in `messages.ts`. One interpreter walks the declared fields in
 * both directions, so a layout lives in exactly one place.
 * @module
 */

import { VppDecodeError, VppRequestError } from "./errors.ts";
import { HEADER_SIZE } from "./framing.ts";
import { formatIp4, formatIp6, type IpAddress, type IpPrefix, parseIp, parsePrefix } from "./ip.ts";
import {
  type EnumDef,
  ENUMS,
  type FieldDef,
  messageByName,
  type MessageDef,
  STRUCTS,
} from "./messages.ts";

const FIXED_SIZE: Record<string, number> = {
  u8: 1,
  i8: 1,
  bool: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
  address: 17,
  prefix: 18,
  ip4_address: 4,
  ip6_address: 16,
};

const INT_RANGE: Record<string, [number, number]> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffffffff],
  i8: [-0x80, 0x7f],
  i16: [-0x8000, 0x7fff],
  i32: [-0x80000000, 0x7fffffff],
};

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function lookup(name: string, ErrorClass: typeof VppRequestError | typeof VppDecodeError) {
  const def = messageByName(name);
  if (!def) throw new ErrorClass(`unknown VPP message ${JSON.stringify(name)}`);
  return def;
}

/**
 * A growable output buffer. The client keeps one and encodes every frame
 * into it, so a request costs no buffer of its own.
 */
export class Writer {
  /** The bytes; valid up to `pos`. */
  buf: Uint8Array;
  /** A view of `buf`. */
  view: DataView;
  /** Bytes written. */
  pos = 0;
  /** A writer with `size` bytes of room to start. */
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  /** Appends `b`. */
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** Appends `n` zero bytes. */
  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }
}

const ENUM_OF = new Map<string, EnumDef>();
const STRUCT_OF = new Map<string, readonly FieldDef[]>();

/** The enum of field type `enum:<name>` (looked up once per type). */
function enumOf(type: string): EnumDef {
  let e = ENUM_OF.get(type);
  if (!e) ENUM_OF.set(type, e = ENUMS[type.slice(5)]);
  return e;
}

/** The fields of field type `struct:<name>`. */
function structOf(type: string): readonly FieldDef[] {
  let s = STRUCT_OF.get(type);
  if (!s) STRUCT_OF.set(type, s = STRUCTS[type.slice(7)]);
  return s;
}

function enumValue(parent: string, f: FieldDef, v: unknown): number {
  const e = enumOf(f.type);
  if (typeof v === "string") {
    const n = Object.hasOwn(e.values, v) ? e.values[v] : undefined;
    if (n === undefined) {
      const enumName = f.type.slice(5);
      throw new VppRequestError(
        `${parent}.${f.name}: unknown ${enumName} name ${JSON.stringify(v)} (one of ${
          Object.keys(e.values).join(", ")
        })`,
      );
    }
    return n;
  }
  return checkInt(parent, f, e.size === 1 ? "u8" : e.size === 2 ? "u16" : "u32", v);
}

function checkInt(parent: string, f: FieldDef, type: string, v: unknown): number {
  const [lo, hi] = INT_RANGE[type];
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new VppRequestError(
      `${parent}.${f.name}: expected a ${type} (${lo}..${hi}), got ${show(v)}`,
    );
  }
  return v;
}

function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function zeroOf(f: FieldDef): unknown {
  if (f.type === "bool") return false;
  if (f.type === "u64" || f.type === "i64") return 0n;
  if (f.type === "string") return "";
  if (f.type === "prefix" || f.type === "address") return undefined;
  if (f.type === "ip4_address" || f.type === "ip6_address") return undefined;
  if (f.type.startsWith("struct:")) return {};
  return 0;
}

function isArrayField(f: FieldDef): boolean {
  return f.type !== "string" && (f.lengthFrom !== undefined || (f.length ?? 0) > 0);
}

/** Facts about a field list, computed once: encoding runs per request. */
interface Layout {
  readonly known: ReadonlySet<string>;
  readonly counted: boolean;
}

const LAYOUTS = new WeakMap<readonly FieldDef[], Layout>();

function layoutOf(fields: readonly FieldDef[]): Layout {
  let l = LAYOUTS.get(fields);
  if (!l) {
    l = {
      known: new Set([...fields.map((f) => f.name), "_vl_msg_id"]),
      counted: fields.some((f) => f.lengthFrom !== undefined),
    };
    LAYOUTS.set(fields, l);
  }
  return l;
}

/** `client_index` and `context` the client puts into a request, over its fields. */
interface Stamp {
  clientIndex: number;
  context: number;
}

function writeFields(
  w: Writer,
  path: string,
  fields: readonly FieldDef[],
  values: Record<string, unknown>,
  stamp?: Stamp,
): void {
  if (values === null || typeof values !== "object" || Array.isArray(values)) {
    throw new VppRequestError(`${path}: expected an object of fields, got ${show(values)}`);
  }
  const layout = layoutOf(fields);
  for (const k in values) {
    if (!layout.known.has(k) && values[k] !== undefined && Object.hasOwn(values, k)) {
      throw new VppRequestError(`${path}: unknown field ${JSON.stringify(k)}`);
    }
  }
  if (!layout.counted) {
    for (const f of fields) {
      let v = stamp && f.name === "context"
        ? stamp.context
        : stamp && f.name === "client_index"
        ? stamp.clientIndex
        : values[f.name];
      if (v === undefined) v = f.default ?? zeroOf(f);
      if (isArrayField(f)) writeArray(w, path, f, v);
      else writeValue(w, path, f, v);
    }
    return;
  }
  // A count field given no value takes the length of the array it counts.
  const counts = new Map<string, number>();
  for (const f of fields) {
    if (f.lengthFrom === undefined) continue;
    const arr = values[f.name] ?? [];
    if (!Array.isArray(arr)) {
      throw new VppRequestError(`${path}.${f.name}: expected an array, got ${show(arr)}`);
    }
    counts.set(f.lengthFrom, arr.length);
  }
  for (const f of fields) {
    let v = values[f.name];
    if (v === undefined) v = counts.get(f.name) ?? f.default ?? zeroOf(f);
    else if (counts.has(f.name) && v !== counts.get(f.name)) {
      throw new VppRequestError(
        `${path}.${f.name}: is ${show(v)} but the array it counts has ${
          counts.get(f.name)
        } entries`,
      );
    }
    if (isArrayField(f)) writeArray(w, path, f, v);
    else writeValue(w, path, f, v);
  }
}

function writeArray(w: Writer, parent: string, f: FieldDef, v: unknown): void {
  const fp = `${parent}.${f.name}`;
  const arr = (v ?? []) as unknown[];
  if (!Array.isArray(arr)) {
    throw new VppRequestError(`${fp}: expected an array, got ${show(v)}`);
  }
  if (f.lengthFrom === undefined && arr.length > f.length!) {
    throw new VppRequestError(`${fp}: at most ${f.length} entries, got ${arr.length}`);
  }
  const n = f.lengthFrom === undefined ? f.length! : arr.length;
  for (let i = 0; i < n; i++) {
    const elem: FieldDef = { name: `${f.name}[${i}]`, type: f.type };
    writeValue(w, parent, elem, i < arr.length ? arr[i] : zeroOf(elem));
  }
}

/** Parsed addresses and prefixes, by text: requests repeat the same few. */
const PARSED = new Map<string, IpAddress | IpPrefix>();
const PARSED_MAX = 65_536;

function parsedIp(text: unknown): IpAddress {
  const hit = typeof text === "string" ? PARSED.get(text) : undefined;
  if (hit && "family" in hit) return hit;
  const a = parseIp(text as string);
  remember(text as string, a);
  return a;
}

function parsedPrefix(text: unknown): IpPrefix {
  const hit = typeof text === "string" ? PARSED.get(text) : undefined;
  if (hit && "len" in hit) return hit;
  const p = parsePrefix(text as string);
  remember(text as string, p);
  return p;
}

function remember(text: string, v: IpAddress | IpPrefix): void {
  if (PARSED.size >= PARSED_MAX) PARSED.clear();
  PARSED.set(text, v);
}

/** Writes one value of field `f` of `parent`; errors name `parent.f`. */
function writeValue(w: Writer, parent: string, f: FieldDef, v: unknown): void {
  const t = f.type;
  switch (t) {
    case "u8":
    case "i8": {
      const n = checkInt(parent, f, t, v);
      w.ensure(1);
      w.view.setUint8(w.pos, n & 0xff);
      w.pos += 1;
      return;
    }
    case "u16":
    case "i16": {
      const n = checkInt(parent, f, t, v);
      w.ensure(2);
      w.view.setUint16(w.pos, n & 0xffff);
      w.pos += 2;
      return;
    }
    case "u32":
    case "i32": {
      const n = checkInt(parent, f, t, v);
      w.ensure(4);
      w.view.setUint32(w.pos, n >>> 0);
      w.pos += 4;
      return;
    }
    case "u64":
    case "i64": {
      let b: bigint;
      if (typeof v === "bigint") b = v;
      else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
      else {throw new VppRequestError(
          `${parent}.${f.name}: expected a ${t} (bigint), got ${show(v)}`,
        );}
      const ok = t === "u64"
        ? b >= 0n && b <= 0xffffffffffffffffn
        : b >= -0x8000000000000000n && b <= 0x7fffffffffffffffn;
      if (!ok) throw new VppRequestError(`${parent}.${f.name}: ${show(v)} out of range for ${t}`);
      w.ensure(8);
      w.view.setBigUint64(w.pos, BigInt.asUintN(64, b));
      w.pos += 8;
      return;
    }
    case "f64": {
      if (typeof v !== "number") {
        throw new VppRequestError(`${parent}.${f.name}: expected a number, got ${show(v)}`);
      }
      w.ensure(8);
      w.view.setFloat64(w.pos, v);
      w.pos += 8;
      return;
    }
    case "bool": {
      if (v !== true && v !== false && v !== 0 && v !== 1) {
        throw new VppRequestError(`${parent}.${f.name}: expected a boolean, got ${show(v)}`);
      }
      w.ensure(1);
      w.view.setUint8(w.pos, v ? 1 : 0);
      w.pos += 1;
      return;
    }
    case "string": {
      if (typeof v !== "string") {
        throw new VppRequestError(`${parent}.${f.name}: expected a string, got ${show(v)}`);
      }
      const bytes = textEncoder.encode(v);
      const len = f.length ?? 0;
      if (len === 0) {
        w.ensure(4);
        w.view.setUint32(w.pos, bytes.length);
        w.pos += 4;
        w.bytes(bytes);
      } else {
        if (bytes.length > len) {
          throw new VppRequestError(
            `${parent}.${f.name}: string of ${bytes.length} bytes does not fit in ${len}`,
          );
        }
        w.bytes(bytes);
        w.zeros(len - bytes.length);
      }
      return;
    }
    case "address": {
      if (v === undefined) return w.zeros(17);
      const a = wrapRange(parent, f, () => parsedIp(v));
      w.ensure(17);
      w.buf[w.pos] = a.family === 4 ? 0 : 1;
      w.pos += 1;
      w.bytes(a.bytes);
      w.zeros(16 - a.bytes.length);
      return;
    }
    case "prefix": {
      if (v === undefined) return w.zeros(18);
      const p = wrapRange(parent, f, () => parsedPrefix(v));
      w.ensure(18);
      w.buf[w.pos] = p.address.family === 4 ? 0 : 1;
      w.pos += 1;
      w.bytes(p.address.bytes);
      w.zeros(16 - p.address.bytes.length);
      w.buf[w.pos] = p.len;
      w.pos += 1;
      return;
    }
    case "ip4_address":
    case "ip6_address": {
      const want = t === "ip4_address" ? 4 : 6;
      if (v === undefined) return w.zeros(want === 4 ? 4 : 16);
      const a = wrapRange(parent, f, () => parsedIp(v));
      if (a.family !== want) {
        throw new VppRequestError(
          `${parent}.${f.name}: expected an IPv${want} address, got ${show(v)}`,
        );
      }
      w.bytes(a.bytes);
      return;
    }
  }
  if (t.startsWith("enum:")) {
    const e = enumOf(t);
    const n = enumValue(parent, f, v);
    w.ensure(e.size);
    if (e.size === 1) w.view.setUint8(w.pos, n);
    else if (e.size === 2) w.view.setUint16(w.pos, n);
    else w.view.setUint32(w.pos, n);
    w.pos += e.size;
    return;
  }
  if (t.startsWith("struct:")) {
    writeFields(w, `${parent}.${f.name}`, structOf(t), v as Record<string, unknown>);
    return;
  }
  throw new VppRequestError(`${parent}.${f.name}: unsupported field type ${t}`);
}

function wrapRange<T>(parent: string, f: FieldDef, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new VppRequestError(`${parent}.${f.name}: ${(e as Error).message}`);
  }
}

/**
 * Encodes message `name` with id `msgId`: the body, starting with the u16 id.
 * Missing fields take the JSON default, else zero; enums take the number or
 * the name. Throws `VppRequestError` naming the field on a bad value.
 */
export function encodeMessage(
  name: string,
  msgId: number,
  fields: Record<string, unknown>,
): Uint8Array {
  const def = lookup(name, VppRequestError);
  const w = new Writer(64);
  writeValue(w, name, MSG_ID, msgId);
  writeFields(w, name, def.fields, fields);
  return w.buf.slice(0, w.pos);
}

const MSG_ID: FieldDef = { name: "_vl_msg_id", type: "u16" };

/**
 * Appends one whole frame (header and body) of request `def` to `w`, with
 * the client's `client_index` and `context` in place of the fields' own.
 * On a bad value it throws `VppRequestError` and leaves `w` as it was.
 */
export function encodeFrameInto(
  w: Writer,
  def: MessageDef,
  msgId: number,
  fields: Record<string, unknown>,
  stamp: Stamp,
): void {
  const start = w.pos;
  try {
    w.zeros(HEADER_SIZE);
    writeValue(w, def.name, MSG_ID, msgId);
    writeFields(w, def.name, def.fields, fields, stamp);
  } catch (e) {
    w.pos = start;
    throw e;
  }
  w.view.setUint32(start + 8, w.pos - start - HEADER_SIZE);
}

/** One view per underlying buffer: the client decodes many bodies from one. */
let lastBuffer: ArrayBufferLike | undefined;
let lastView: DataView | undefined;

function viewOf(buffer: ArrayBufferLike): DataView {
  if (buffer !== lastBuffer) {
    lastBuffer = buffer;
    lastView = new DataView(buffer);
  }
  return lastView!;
}

class Reader {
  /** A view of the whole underlying buffer: read at `base + offset`. */
  view: DataView;
  base: number;
  pos: number;
  constructor(readonly name: string, readonly buf: Uint8Array, start: number) {
    this.view = viewOf(buf.buffer);
    this.base = buf.byteOffset;
    this.pos = start;
  }
  need(parent: string, name: string, n: number): number {
    if (this.pos + n > this.buf.length) {
      throw new VppDecodeError(
        `${this.name}: truncated at ${parent}.${name} (needs ${n} bytes at offset ${this.pos}, body has ${this.buf.length})`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
}

function readAddress(r: Reader, parent: string, name: string): string {
  const at = r.need(parent, name, 17);
  const af = r.buf[at];
  if (af === 0) return formatIp4(r.buf.subarray(at + 1, at + 5));
  if (af === 1) return formatIp6(r.buf.subarray(at + 1, at + 17));
  throw new VppDecodeError(
    `${r.name}: ${parent}.${name} has address family ${af} (expected 0 or 1)`,
  );
}

function readFields(
  r: Reader,
  path: string,
  fields: readonly FieldDef[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (isArrayField(f)) {
      const fp = `${path}.${f.name}`;
      let n: number;
      if (f.lengthFrom !== undefined) {
        const c = out[f.lengthFrom];
        if (typeof c !== "number") {
          throw new VppDecodeError(`${r.name}: ${fp} counted by missing ${f.lengthFrom}`);
        }
        n = c;
      } else n = f.length!;
      const arr: unknown[] = [];
      for (let i = 0; i < n; i++) {
        arr.push(readValue(r, path, { name: `${f.name}[${i}]`, type: f.type }));
      }
      out[f.name] = arr;
    } else {
      out[f.name] = readValue(r, path, f);
    }
  }
  return out;
}

function readValue(r: Reader, path: string, f: FieldDef): unknown {
  const t = f.type;
  const v = r.view;
  switch (t) {
    case "u8":
      return v.getUint8(r.base + r.need(path, f.name, 1));
    case "i8":
      return v.getInt8(r.base + r.need(path, f.name, 1));
    case "u16":
      return v.getUint16(r.base + r.need(path, f.name, 2));
    case "i16":
      return v.getInt16(r.base + r.need(path, f.name, 2));
    case "u32":
      return v.getUint32(r.base + r.need(path, f.name, 4));
    case "i32":
      return v.getInt32(r.base + r.need(path, f.name, 4));
    case "u64":
      return v.getBigUint64(r.base + r.need(path, f.name, 8));
    case "i64":
      return v.getBigInt64(r.base + r.need(path, f.name, 8));
    case "f64":
      return v.getFloat64(r.base + r.need(path, f.name, 8));
    case "bool":
      return v.getUint8(r.base + r.need(path, f.name, 1)) !== 0;
    case "string": {
      const len = f.length ?? 0;
      if (len === 0) {
        const n = v.getUint32(r.base + r.need(path, f.name, 4));
        const at = r.need(path, f.name, n);
        let end = at + n;
        while (end > at && r.buf[end - 1] === 0) end--;
        return textDecoder.decode(r.buf.subarray(at, end));
      }
      const at = r.need(path, f.name, len);
      const nul = r.buf.subarray(at, at + len).indexOf(0);
      return textDecoder.decode(r.buf.subarray(at, nul === -1 ? at + len : at + nul));
    }
    case "address":
      return readAddress(r, path, f.name);
    case "prefix": {
      const a = readAddress(r, path, f.name);
      return `${a}/${v.getUint8(r.base + r.need(path, f.name, 1))}`;
    }
    case "ip4_address":
      return formatIp4(r.buf.subarray(r.need(path, f.name, 4)));
    case "ip6_address": {
      const at = r.need(path, f.name, 16);
      return formatIp6(r.buf.subarray(at, at + 16));
    }
  }
  if (t.startsWith("enum:")) {
    const size = enumOf(t).size;
    const at = r.base + r.need(path, f.name, size);
    return size === 1 ? v.getUint8(at) : size === 2 ? v.getUint16(at) : v.getUint32(at);
  }
  if (t.startsWith("struct:")) return readFields(r, `${path}.${f.name}`, structOf(t));
  throw new VppDecodeError(`${r.name}: ${path}.${f.name} has unsupported type ${t}`);
}

/**
 * Decodes a body of message `name` (starting with its u16 id) into its fields
 * without `_vl_msg_id`. Throws `VppDecodeError` on truncated input, trailing
 * bytes or an invalid value; never anything else.
 */
export function decodeMessage(name: string, body: Uint8Array): Record<string, unknown> {
  const def = lookup(name, VppDecodeError);
  if (!(body instanceof Uint8Array)) throw new VppDecodeError(`${name}: body is not bytes`);
  const r = new Reader(name, body, 0);
  r.need(name, "_vl_msg_id", 2);
  const out = readFields(r, name, def.fields);
  if (r.pos !== body.length) {
    throw new VppDecodeError(
      `${name}: ${
        body.length - r.pos
      } trailing byte(s) after the last field (expected ${r.pos} bytes, got ${body.length})`,
    );
  }
  return out;
}

/** The message id (first u16) of a body; `VppDecodeError` when shorter than 2 bytes. */
export function messageIdOf(body: Uint8Array): number {
  if (body.length < 2) {
    throw new VppDecodeError(`message body of ${body.length} byte(s) has no message id`);
  }
  return (body[0] << 8) | body[1];
}

/**
 * The byte offset of `context` in a body of `def` (after `_vl_msg_id` and any
 * fixed fields before it), or -1 when the message has no context field.
 */
export function contextOffset(def: MessageDef): number {
  let off = 2;
  for (const f of def.fields) {
    if (f.name === "context") return off;
    const size = FIXED_SIZE[f.type];
    if (size === undefined || isArrayField(f)) return -1;
    off += size;
  }
  return -1;
}

/** Reads the u32 `context` of a body of message `name`, or undefined when it cannot. */
export function contextOf(name: string, body: Uint8Array): number | undefined {
  const def = messageByName(name);
  if (!def) return undefined;
  const off = contextOffset(def);
  if (off < 0 || off + 4 > body.length) return undefined;
  return new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(off);
}
