/**
 * Encodes VPP API message bodies (big-endian, packed) from the declarations
 * in `messages.ts`; `decode.ts` walks the same declarations the other way, so
 * a layout lives in exactly one place. Exports both directions.
 * @module
 */

import { errorMessage, VppRequestError } from "./errors.ts";
import { HEADER_SIZE } from "./framing.ts";
import { type IpAddress, type IpPrefix, parseIp, parseIp4Into, parsePrefix } from "./ip.ts";
import { enumOf, FIXED_SIZE, isArrayField, lookup, structOf } from "./layout.ts";
import type { FieldDef, MessageDef } from "./messages.ts";

export {
  contextOf,
  contextOffset,
  decodeBody,
  decodeMessage,
  isStatusLayout,
  messageIdOf,
  STATUS_BODY_LENGTH,
  statusContext,
  statusRetval,
} from "./decode.ts";

const INT_RANGE: Record<string, [number, number]> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffffffff],
  i8: [-0x80, 0x7f],
  i16: [-0x8000, 0x7fff],
  i32: [-0x80000000, 0x7fffffff],
};

const textEncoder = new TextEncoder();

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
    const b = this.buf;
    // Most runs are a few bytes (address padding, the header): a loop beats fill's call.
    if (n <= 16) { for (let i = this.pos, end = i + n; i < end; i++) b[i] = 0; }
    else b.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }
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
  // Indexed, not destructured: a destructuring runs the iterator protocol,
  // and this runs for every integer field of every request.
  const range = INT_RANGE[type];
  if (typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1]) {
    throw new VppRequestError(
      `${parent}.${f.name}: expected a ${type} (${range[0]}..${range[1]}), got ${show(v)}`,
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

/** How a field is written; resolved once a field (see `Step`). */
const K_INT = 0;
const K_BIG = 1;
const K_F64 = 2;
const K_BOOL = 3;
const K_STRING = 4;
const K_ADDRESS = 5;
const K_ENUM = 6;
const K_STRUCT = 7;
const K_UNSUPPORTED = 8;

function kindOf(t: string): number {
  switch (t) {
    case "u8":
    case "i8":
    case "u16":
    case "i16":
    case "u32":
    case "i32":
      return K_INT;
    case "u64":
    case "i64":
      return K_BIG;
    case "f64":
      return K_F64;
    case "bool":
      return K_BOOL;
    case "string":
      return K_STRING;
    case "address":
    case "prefix":
    case "ip4_address":
    case "ip6_address":
      return K_ADDRESS;
  }
  if (t.startsWith("enum:")) return K_ENUM;
  return t.startsWith("struct:") ? K_STRUCT : K_UNSUPPORTED;
}

/** The stamp value a field takes when the client encodes a request. */
const STAMP_NONE = 0;
const STAMP_CONTEXT = 1;
const STAMP_CLIENT_INDEX = 2;

/**
 * One field with what encoding it needs, resolved once: a request then
 * switches on a number, not on its type's text, and looks nothing up.
 */
interface Step {
  readonly f: FieldDef;
  readonly kind: number;
  /** Bytes of a fixed-size value (ints). */
  readonly size: number;
  /** The value sent when the fields give none: the JSON default, else zero. */
  readonly zero: unknown;
  readonly array: boolean;
  readonly stamp: number;
}

function stepOf(f: FieldDef): Step {
  return {
    f,
    kind: kindOf(f.type),
    size: FIXED_SIZE[f.type] ?? 0,
    zero: f.default ?? zeroOf(f),
    array: isArrayField(f),
    stamp: f.name === "context"
      ? STAMP_CONTEXT
      : f.name === "client_index"
      ? STAMP_CLIENT_INDEX
      : STAMP_NONE,
  };
}

/** Facts about a field list, computed once: encoding runs per request. */
interface Layout {
  readonly known: ReadonlySet<string>;
  readonly counted: boolean;
  readonly steps: readonly Step[];
}

const LAYOUTS = new WeakMap<readonly FieldDef[], Layout>();

function layoutOf(fields: readonly FieldDef[]): Layout {
  let l = LAYOUTS.get(fields);
  if (!l) {
    l = {
      known: new Set([...fields.map((f) => f.name), "_vl_msg_id"]),
      counted: fields.some((f) => f.lengthFrom !== undefined),
      steps: fields.map(stepOf),
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
  // Indexed loops: a for-of allocates an iterator result a step in the
  // daemon's V8 (--optimize-for-size), 8 steps a request.
  const steps = layout.steps;
  if (!layout.counted) {
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i];
      if (stamp !== undefined && s.stamp !== STAMP_NONE) {
        // The client's own u32s: nothing to check, and no number boxed on the way.
        writeInt(w, s.stamp === STAMP_CONTEXT ? stamp.context : stamp.clientIndex, s.size);
        continue;
      }
      let v = values[s.f.name];
      if (v === undefined) v = s.zero;
      if (s.array) writeArray(w, path, s.f, v);
      else writeValue(w, path, s, v);
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
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const f = s.f;
    let v = values[f.name];
    if (v === undefined) v = counts.get(f.name) ?? s.zero;
    else if (counts.has(f.name) && v !== counts.get(f.name)) {
      throw new VppRequestError(
        `${path}.${f.name}: is ${show(v)} but the array it counts has ${
          counts.get(f.name)
        } entries`,
      );
    }
    if (s.array) writeArray(w, path, f, v);
    else writeValue(w, path, s, v);
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
    const elem = stepOf({ name: `${f.name}[${i}]`, type: f.type });
    writeValue(w, parent, elem, i < arr.length ? arr[i] : elem.zero);
  }
}

/** Parsed addresses and prefixes, by text: requests repeat the same few. */
const PARSED = new Map<string, IpAddress | IpPrefix>();
const PARSED_MAX = 65_536;

function parsedIp(text: unknown): IpAddress {
  return cachedParse(text, "family", parseIp);
}

function parsedPrefix(text: unknown): IpPrefix {
  return cachedParse(text, "len", parsePrefix);
}

/** `parse(text)`, from the cache when it holds a value of the kind that has `key`. */
function cachedParse<T extends IpAddress | IpPrefix>(
  text: unknown,
  key: "family" | "len",
  parse: (text: string) => T,
): T {
  const hit = typeof text === "string" ? PARSED.get(text) : undefined;
  if (hit && key in hit) return hit as T;
  const v = parse(text as string);
  remember(text as string, v);
  return v;
}

function remember(text: string, v: IpAddress | IpPrefix): void {
  if (PARSED.size >= PARSED_MAX) PARSED.clear();
  PARSED.set(text, v);
}

/** Writes one value of field `s.f` of `parent`; errors name `parent.f`. */
function writeValue(w: Writer, parent: string, s: Step, v: unknown): void {
  const f = s.f;
  switch (s.kind) {
    case K_INT:
      return writeInt(w, checkInt(parent, f, f.type, v), s.size);
    case K_BIG:
      return writeBig(w, parent, f, v);
    case K_F64:
      if (typeof v !== "number") {
        throw new VppRequestError(`${parent}.${f.name}: expected a number, got ${show(v)}`);
      }
      w.ensure(8);
      w.view.setFloat64(w.pos, v);
      w.pos += 8;
      return;
    case K_BOOL:
      if (v !== true && v !== false && v !== 0 && v !== 1) {
        throw new VppRequestError(`${parent}.${f.name}: expected a boolean, got ${show(v)}`);
      }
      return writeInt(w, v ? 1 : 0, 1);
    case K_STRING:
      return writeString(w, parent, f, v);
    case K_ADDRESS:
      return writeAddress(w, parent, f, v);
    case K_ENUM:
      return writeInt(w, enumValue(parent, f, v), enumOf(f.type).size);
    case K_STRUCT:
      return writeFields(w, `${parent}.${f.name}`, structOf(f.type), v as Record<string, unknown>);
  }
  throw new VppRequestError(`${parent}.${f.name}: unsupported field type ${f.type}`);
}

/** An integer already range-checked, in `size` bytes. */
function writeInt(w: Writer, n: number, size: number): void {
  w.ensure(size);
  if (size === 1) w.view.setUint8(w.pos, n & 0xff);
  else if (size === 2) w.view.setUint16(w.pos, n & 0xffff);
  else w.view.setUint32(w.pos, n >>> 0);
  w.pos += size;
}

function writeBig(w: Writer, parent: string, f: FieldDef, v: unknown): void {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
  else {throw new VppRequestError(
      `${parent}.${f.name}: expected a ${f.type} (bigint), got ${show(v)}`,
    );}
  const ok = f.type === "u64"
    ? b >= 0n && b <= 0xffffffffffffffffn
    : b >= -0x8000000000000000n && b <= 0x7fffffffffffffffn;
  if (!ok) throw new VppRequestError(`${parent}.${f.name}: ${show(v)} out of range for ${f.type}`);
  w.ensure(8);
  w.view.setBigUint64(w.pos, BigInt.asUintN(64, b));
  w.pos += 8;
}

function writeString(w: Writer, parent: string, f: FieldDef, v: unknown): void {
  if (typeof v !== "string") {
    throw new VppRequestError(`${parent}.${f.name}: expected a string, got ${show(v)}`);
  }
  const bytes = textEncoder.encode(v);
  const len = f.length ?? 0;
  if (len === 0) {
    writeInt(w, bytes.length, 4);
    w.bytes(bytes);
    return;
  }
  if (bytes.length > len) {
    throw new VppRequestError(
      `${parent}.${f.name}: string of ${bytes.length} bytes does not fit in ${len}`,
    );
  }
  w.bytes(bytes);
  w.zeros(len - bytes.length);
}

/** `address` and `prefix` carry an af byte (0 IPv4, 1 IPv6) and 16 bytes; ip4/ip6 are bare. */
function writeAddress(w: Writer, parent: string, f: FieldDef, v: unknown): void {
  const t = f.type;
  if (v === undefined) return w.zeros(FIXED_SIZE[t]);
  // An IPv4 address goes straight into the frame: every AS address of an
  // initial sync is a new text (16,000 at 1,000 VIPs), so a cache would miss.
  if (t === "address" && typeof v === "string") {
    w.ensure(17);
    if (parseIp4Into(v, w.buf, w.pos + 1)) {
      w.buf[w.pos] = 0;
      w.pos += 5;
      return w.zeros(12);
    }
  }
  if (t === "prefix" && v === lastPrefix.text) {
    w.ensure(PREFIX_SIZE);
    const b = w.buf;
    const from = lastPrefix.bytes;
    for (let i = 0, at = w.pos; i < PREFIX_SIZE; i++) b[at + i] = from[i];
    w.pos += PREFIX_SIZE;
    return;
  }
  let a: IpAddress;
  let len = -1;
  try {
    if (t === "prefix") {
      const p = parsedPrefix(v);
      a = p.address;
      len = p.len;
    } else a = parsedIp(v);
  } catch (e) {
    throw new VppRequestError(`${parent}.${f.name}: ${errorMessage(e)}`);
  }
  if (t === "ip4_address" || t === "ip6_address") {
    const want = t === "ip4_address" ? 4 : 6;
    if (a.family !== want) {
      throw new VppRequestError(
        `${parent}.${f.name}: expected an IPv${want} address, got ${show(v)}`,
      );
    }
    return w.bytes(a.bytes);
  }
  writeInt(w, a.family === 4 ? 0 : 1, 1);
  w.bytes(a.bytes);
  w.zeros(16 - a.bytes.length);
  if (len < 0) return;
  writeInt(w, len, 1);
  lastPrefix.text = v as string;
  lastPrefix.bytes.set(w.buf.subarray(w.pos - PREFIX_SIZE, w.pos));
}

const PREFIX_SIZE = 18;

/**
 * The last prefix written and its bytes: a VIP's calls follow each other
 * and repeat its prefix (17 calls a VIP in an initial sync), so all but the
 * first are a copy, with no parse and no lookup.
 */
const lastPrefix = {
  text: undefined as string | undefined,
  bytes: new Uint8Array(PREFIX_SIZE),
};

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

const MSG_ID: Step = stepOf({ name: "_vl_msg_id", type: "u16" });

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
