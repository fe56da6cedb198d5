/**
 * What the encoder and the decoder share about the declared layouts: fixed
 * sizes, enum and struct lookups, which fields are arrays.
 * @module
 */
import { VppDecodeError, VppRequestError } from "./errors.ts";
import { type EnumDef, ENUMS, type FieldDef, messageByName, STRUCTS } from "./messages.ts";

/** Bytes of each fixed-size field type. */
export const FIXED_SIZE: Record<string, number> = {
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

/** The declaration of `name`, or `ErrorClass` naming it. */
export function lookup(name: string, ErrorClass: typeof VppRequestError | typeof VppDecodeError) {
  const def = messageByName(name);
  if (!def) throw new ErrorClass(`unknown VPP message ${JSON.stringify(name)}`);
  return def;
}

const ENUM_OF = new Map<string, EnumDef>();
const STRUCT_OF = new Map<string, readonly FieldDef[]>();

/** The enum of field type `enum:<name>` (looked up once per type). */
export function enumOf(type: string): EnumDef {
  let e = ENUM_OF.get(type);
  if (!e) ENUM_OF.set(type, e = ENUMS[type.slice(5)]);
  return e;
}

/** The fields of field type `struct:<name>`. */
export function structOf(type: string): readonly FieldDef[] {
  let s = STRUCT_OF.get(type);
  if (!s) STRUCT_OF.set(type, s = STRUCTS[type.slice(7)]);
  return s;
}

/** A field holding an array (fixed or counted), not a string. */
export function isArrayField(f: FieldDef): boolean {
  return f.type !== "string" && (f.lengthFrom !== undefined || (f.length ?? 0) > 0);
}
