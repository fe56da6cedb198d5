/**
 * Decodes VPP API message bodies from the declarations in `messages.ts`,
 * walking the same field lists the encoder (`codec.ts`) writes.
 * @module
 */
import { VppDecodeError } from "./errors.ts";
import { formatIp4, formatIp6 } from "./ip.ts";
import { enumOf, FIXED_SIZE, isArrayField, lookup, structOf } from "./layout.ts";
import { type FieldDef, messageByName, type MessageDef } from "./messages.ts";

const textDecoder = new TextDecoder();

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
  // Indexed: a for-of allocates an iterator result a field (see codec.ts).
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
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

type ScalarRead = (v: DataView, at: number) => unknown;

/** Scalar field types: their size and how to read one. */
const SCALARS = new Map<string, [number, ScalarRead]>([
  ["u8", [1, (v, at) => v.getUint8(at)]],
  ["i8", [1, (v, at) => v.getInt8(at)]],
  ["u16", [2, (v, at) => v.getUint16(at)]],
  ["i16", [2, (v, at) => v.getInt16(at)]],
  ["u32", [4, (v, at) => v.getUint32(at)]],
  ["i32", [4, (v, at) => v.getInt32(at)]],
  ["u64", [8, (v, at) => v.getBigUint64(at)]],
  ["i64", [8, (v, at) => v.getBigInt64(at)]],
  ["f64", [8, (v, at) => v.getFloat64(at)]],
  ["bool", [1, (v, at) => v.getUint8(at) !== 0]],
]);

function readValue(r: Reader, path: string, f: FieldDef): unknown {
  const t = f.type;
  const v = r.view;
  const scalar = SCALARS.get(t);
  if (scalar) return scalar[1](v, r.base + r.need(path, f.name, scalar[0]));
  switch (t) {
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
  return decodeBody(lookup(name, VppDecodeError), body);
}

/** `decodeMessage` for a declaration the caller already holds (the client, per reply). */
export function decodeBody(def: MessageDef, body: Uint8Array): Record<string, unknown> {
  const name = def.name;
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

/**
 * The message id (first u16) of the body at `body[at..]`; `VppDecodeError`
 * when fewer than 2 bytes are there.
 */
export function messageIdOf(body: Uint8Array, at = 0): number {
  if (body.length - at < 2) {
    throw new VppDecodeError(`message body of ${body.length - at} byte(s) has no message id`);
  }
  return (body[at] << 8) | body[at + 1];
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

/** Bytes of a body whose layout is a status reply: the u16 id, u32 context, i32 retval. */
export const STATUS_BODY_LENGTH = 10;

/**
 * Whether `def`'s fields are exactly `context` (u32) then `retval` (i32), the
 * layout of every lb write's reply: such a body is read at fixed offsets
 * (`statusContext`, `statusRetval`) instead of decoded into an object.
 */
export function isStatusLayout(def: MessageDef): boolean {
  const f = def.fields;
  return f.length === 2 && f[0].name === "context" && f[0].type === "u32" &&
    f[1].name === "retval" && f[1].type === "i32" && !isArrayField(f[0]) && !isArrayField(f[1]);
}

/** The context of the status-reply body (`isStatusLayout`) at `buf[at..]`. */
export function statusContext(buf: Uint8Array, at: number): number {
  return ((buf[at + 2] << 24) | (buf[at + 3] << 16) | (buf[at + 4] << 8) | buf[at + 5]) >>> 0;
}

/** The retval (signed) of the status-reply body (`isStatusLayout`) at `buf[at..]`. */
export function statusRetval(buf: Uint8Array, at: number): number {
  return (buf[at + 6] << 24) | (buf[at + 7] << 16) | (buf[at + 8] << 8) | buf[at + 9];
}

/** Reads the u32 `context` of a body of message `name`, or undefined when it cannot. */
export function contextOf(name: string, body: Uint8Array): number | undefined {
  const def = messageByName(name);
  if (!def) return undefined;
  const off = contextOffset(def);
  if (off < 0 || off + 4 > body.length) return undefined;
  return new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(off);
}
