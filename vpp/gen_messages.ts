/**
 * Generates `vpp/messages.ts` from the vppapigen JSON in `vpp/api-json/`:
 * the one declaration of every message maglev uses, as data (drives encode
 * and decode) plus typed interfaces. Run `deno run -A vpp/gen_messages.ts`
 * (`deno task vpp:gen`) after changing the JSON or the message list.
 * @module
 */

/** The messages maglev declares (requests; replies and details follow). */
export const WANTED_REQUESTS: readonly string[] = [
  "sockclnt_create",
  "sockclnt_delete",
  "control_ping",
  "memclnt_keepalive",
  "show_version",
  "cli_inband",
  "lb_conf",
  "lb_conf_get",
  "lb_add_del_vip",
  "lb_add_del_vip_v2",
  "lb_add_del_as",
  "lb_add_del_as_v2",
  "lb_as_set_weight",
  "lb_flush_vip",
  "lb_vip_dump",
  "lb_as_dump",
  "lb_as_v2_dump",
  "lb_add_del_intf_nat4",
  "lb_add_del_intf_nat6",
];

const FILES = ["memclnt", "vpe", "vlib", "lb_types", "ip_types", "lb"];
const SPECIAL = new Set(["address", "prefix", "ip4_address", "ip6_address"]);
const PRIMITIVE = new Set(["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f64", "bool"]);

type JsonField = [string, string, ...unknown[]];
// deno-lint-ignore no-explicit-any
type Json = any;

interface GenField {
  name: string;
  type: string;
  length?: number;
  lengthFrom?: string;
  default?: number | boolean;
}

function bare(t: string): string {
  return t.replace(/^vl_api_/, "").replace(/_t$/, "");
}

/** Enums, aliases, types and messages of the API files, by name. */
interface Api {
  readonly msgs: Map<string, Json[]>;
  readonly aliases: Map<string, Json>;
  readonly enums: Map<string, { size: number; values: [string, number][] }>;
  readonly types: Map<string, Json[]>;
}

function readApi(dir: string): Api {
  const api: Api = { msgs: new Map(), aliases: new Map(), enums: new Map(), types: new Map() };
  for (const f of FILES) {
    const j = JSON.parse(Deno.readTextFileSync(`${dir}/${f}.api.json`));
    for (const m of j.messages) api.msgs.set(m[0], m);
    for (const [k, v] of Object.entries(j.aliases ?? {})) api.aliases.set(k, v);
    for (const e of j.enums ?? []) {
      const opts = e[e.length - 1];
      const size = { u8: 1, u16: 2, u32: 4 }[opts.enumtype as string] ?? 4;
      api.enums.set(e[0], { size, values: e.slice(1, -1) as [string, number][] });
    }
    for (const t of j.types ?? []) api.types.set(t[0], t);
  }
  return api;
}

/** Turns JSON field types into `FieldDef` types, noting the enums and structs used. */
class Resolver {
  readonly usedEnums = new Set<string>();
  readonly usedStructs = new Map<string, GenField[]>();
  constructor(readonly api: Api) {}

  type(jsonType: string): string {
    const { aliases, enums, types } = this.api;
    let t = bare(jsonType);
    for (let i = 0; i < 5 && !SPECIAL.has(t) && aliases.has(t); i++) {
      const a = aliases.get(t);
      if (a.length !== undefined) break;
      t = bare(a.type);
    }
    if (t === "address_with_prefix") t = "prefix";
    if (PRIMITIVE.has(t) || t === "string" || SPECIAL.has(t)) return t;
    if (enums.has(t)) {
      this.usedEnums.add(t);
      return `enum:${t}`;
    }
    if (types.has(t)) {
      if (!this.usedStructs.has(t)) {
        this.usedStructs.set(t, []);
        this.usedStructs.set(t, this.fields(types.get(t)!.slice(1)));
      }
      return `struct:${t}`;
    }
    throw new Error(`gen_messages: cannot resolve type ${jsonType}`);
  }

  fields(raw: Json[]): GenField[] {
    const out: GenField[] = [];
    for (const f of raw) {
      if (!Array.isArray(f)) continue;
      const [jt, name, ...rest] = f as JsonField;
      const g: GenField = { name, type: this.type(jt) };
      for (const r of rest) {
        if (typeof r === "number") g.length = r;
        else if (typeof r === "string") g.lengthFrom = r;
        else if (r && typeof r === "object" && "default" in (r as Json)) {
          const d = (r as Json).default;
          g.default = d === "true" ? true : d === "false" ? false : d;
        }
      }
      out.push(g);
    }
    return out;
  }
}

interface GenMessage {
  readonly name: string;
  readonly crc: string;
  readonly fields: GenField[];
}

/** The wanted requests and their replies, in order, and request -> reply. */
function collect(api: Api, r: Resolver): { defs: GenMessage[]; replyOf: [string, string][] } {
  const order: string[] = [];
  const replyOf: [string, string][] = [];
  for (const req of WANTED_REQUESTS) {
    if (!api.msgs.has(req)) throw new Error(`gen_messages: no message ${req} in the JSON`);
    order.push(req);
    const reply = req.endsWith("_dump") ? req.replace(/_dump$/, "_details") : `${req}_reply`;
    if (!api.msgs.has(reply)) throw new Error(`gen_messages: no message ${reply} in the JSON`);
    order.push(reply);
    replyOf.push([req, reply]);
  }
  const defs = order.map((name) => {
    const m = api.msgs.get(name)!;
    const opts = m[m.length - 1];
    const fields = r.fields(m.slice(1)).filter((f) => f.name !== "_vl_msg_id");
    return { name, crc: opts.crc as string, fields };
  });
  return { defs, replyOf };
}

const PREAMBLE =
  "// Code generated by vpp/gen_messages.ts from vpp/api-json/. DO NOT EDIT.\n// Regenerate with `deno task vpp:gen`.\n/**\n * Every VPP API message maglev uses, declared once as data: the codec\n * encodes and decodes from these tables, and the interfaces type them.\n * @module\n */\n\n/** One field of a message or struct, after `_vl_msg_id`. */\nexport interface FieldDef {\n  /** Field name as in the vppapigen JSON. */\n  readonly name: string;\n  /** `u8`..`i64`, `f64`, `bool`, `string`, `address`, `prefix`, `ip4_address`, `ip6_address`, `enum:<name>` or `struct:<name>`. */\n  readonly type: string;\n  /** Fixed array/string length; 0 = variable length. */\n  readonly length?: number;\n  /** For variable arrays: the field holding the element count. */\n  readonly lengthFrom?: string;\n  /** The JSON default a client sends when it has no value. */\n  readonly default?: number | boolean;\n}\n\n/** A message: name, CRC and fields (without `_vl_msg_id`). */\nexport interface MessageDef {\n  /** Message name, e.g. `lb_as_set_weight`. */\n  readonly name: string;\n  /** CRC as in the JSON, e.g. `0x2d89bdbd`. */\n  readonly crc: string;\n  /** VPP's message table key: `${name}_${crc without 0x}`. */\n  readonly key: string;\n  /** The fields after `_vl_msg_id`, in wire order. */\n  readonly fields: readonly FieldDef[];\n}\n\n/** An enum: its wire size and named values. */\nexport interface EnumDef {\n  /** Bytes on the wire (1, 2 or 4). */\n  readonly size: 1 | 2 | 4;\n  /** Name -> value. */\n  readonly values: Readonly<Record<string, number>>;\n}\n";

const LOOKUPS =
  "const BY_NAME = new Map<string, MessageDef>(MESSAGES.map((m) => [m.name, m]));\nconst BY_KEY = new Map<string, MessageDef>(MESSAGES.map((m) => [m.key, m]));\n\n/** The declaration of message `name`, or undefined when maglev does not declare it. */\nexport function messageByName(name: string): MessageDef | undefined {\n  return BY_NAME.get(name);\n}\n\n/** The declaration for a message table key `name_crc`, or undefined. */\nexport function messageByKey(key: string): MessageDef | undefined {\n  return BY_KEY.get(key);\n}\n";

function fieldLit(f: GenField): string {
  const parts = [`name: ${JSON.stringify(f.name)}`, `type: ${JSON.stringify(f.type)}`];
  if (f.length !== undefined) parts.push(`length: ${f.length}`);
  if (f.lengthFrom !== undefined) parts.push(`lengthFrom: ${JSON.stringify(f.lengthFrom)}`);
  if (f.default !== undefined) parts.push(`default: ${JSON.stringify(f.default)}`);
  return `{ ${parts.join(", ")} }`;
}

function byName<T>(m: Map<string, T>): [string, T][] {
  return [...m].sort((a, b) => a[0].localeCompare(b[0]));
}

/** The data half: ENUMS, STRUCTS, MESSAGES, REPLY_OF and the lookups. */
function emitTables(
  L: string[],
  api: Api,
  r: Resolver,
  c: ReturnType<typeof collect>,
): void {
  L.push("/** Enums used by the declared messages, by bare name (`lb_encap_type`). */");
  L.push("export const ENUMS: Readonly<Record<string, EnumDef>> = {");
  for (const e of [...r.usedEnums].sort()) {
    const d = api.enums.get(e)!;
    L.push(`  ${e}: {`, `    size: ${d.size},`, `    values: {`);
    for (const [k, v] of d.values) L.push(`      ${k}: ${v},`);
    L.push(`    },`, `  },`);
  }
  L.push("};", "");
  L.push("/** Structs used by the declared messages, by bare name (`lb_vip`). */");
  L.push("export const STRUCTS: Readonly<Record<string, readonly FieldDef[]>> = {");
  for (const [s, fields] of byName(r.usedStructs)) {
    L.push(`  ${s}: [`, ...fields.map((f) => `    ${fieldLit(f)},`), `  ],`);
  }
  L.push("};", "");
  L.push("/** Every declared message, each request followed by its reply or details. */");
  L.push("export const MESSAGES: readonly MessageDef[] = [");
  for (const d of c.defs) {
    L.push(`  {`, `    name: ${JSON.stringify(d.name)},`, `    crc: ${JSON.stringify(d.crc)},`);
    L.push(`    key: ${JSON.stringify(`${d.name}_${d.crc.replace(/^0x/, "")}`)},`, `    fields: [`);
    for (const f of d.fields) L.push(`      ${fieldLit(f)},`);
    L.push(`    ],`, `  },`);
  }
  L.push("];", "");
  L.push("/** Request name -> the name of its reply (or, for a dump, its details). */");
  L.push("export const REPLY_OF: Readonly<Record<string, string>> = {");
  for (const [a, b] of c.replyOf) L.push(`  ${a}: ${JSON.stringify(b)},`);
  L.push("};", "", LOOKUPS);
}

function pascal(s: string): string {
  return s.split("_").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
}

function tsType(f: GenField, input: boolean): string {
  let t: string;
  if (f.type === "u64" || f.type === "i64") t = input ? "bigint | number" : "bigint";
  else if (f.type === "bool") t = "boolean";
  else if (f.type === "string" || SPECIAL.has(f.type)) t = "string";
  else if (f.type.startsWith("enum:")) {
    t = input ? `number | ${pascal(f.type.slice(5))}Name` : "number";
  } else if (f.type.startsWith("struct:")) {
    t = `${pascal(f.type.slice(7))}${input ? "Input" : ""}`;
  } else t = "number";
  const isArray = f.type !== "string" && (f.lengthFrom !== undefined || (f.length ?? 0) > 0);
  return isArray ? `${t.includes("|") ? `(${t})` : t}[]` : t;
}

/** An interface named `name` with one line per field. */
function iface(L: string[], doc: string, name: string, fields: GenField[], input: boolean) {
  L.push(doc, `export interface ${name} {`);
  for (const f of fields) L.push(`  ${f.name}${input ? "?" : ""}: ${tsType(f, input)};`);
  L.push("}", "");
}

/** The types half: enum names, structs, messages, requests and the name maps. */
function emitTypes(L: string[], api: Api, r: Resolver, c: ReturnType<typeof collect>): void {
  for (const e of [...r.usedEnums].sort()) {
    const d = api.enums.get(e)!;
    L.push(`/** Names of enum \`${e}\` (the codec also takes the number). */`);
    L.push(`export type ${pascal(e)}Name =`);
    d.values.forEach(([k], i) =>
      L.push(`  | ${JSON.stringify(k)}${i === d.values.length - 1 ? ";" : ""}`)
    );
    L.push("");
  }
  for (const [s, fields] of byName(r.usedStructs)) {
    iface(L, `/** Struct \`${s}\` as decoded. */`, pascal(s), fields, false);
    const doc = `/** Struct \`${s}\` as the encoder takes it (missing fields take defaults). */`;
    iface(L, doc, `${pascal(s)}Input`, fields, true);
  }
  for (const d of c.defs) {
    iface(L, `/** \`${d.name}\` (CRC ${d.crc}) as decoded. */`, pascal(d.name), d.fields, false);
  }
  for (const [req] of c.replyOf) {
    const d = c.defs.find((x) => x.name === req)!;
    const doc =
      `/** \`${req}\` fields a caller gives (client_index and context are the client's; missing fields take defaults). */`;
    const own = d.fields.filter((f) => f.name !== "client_index" && f.name !== "context");
    if (own.length > 0) iface(L, doc, `${pascal(req)}Request`, own, true);
    else L.push(doc, `export type ${pascal(req)}Request = Record<string, never>;`, "");
  }
  L.push("/** Request name -> the fields it takes. */", "export interface RequestTypes {");
  for (const [req] of c.replyOf) L.push(`  ${req}: ${pascal(req)}Request;`);
  L.push("}", "");
  L.push("/** Request name -> what the client resolves with (a dump: the list of details). */");
  L.push("export interface ReplyTypes {");
  for (const [req, rep] of c.replyOf) {
    L.push(`  ${req}: ${pascal(rep)}${req.endsWith("_dump") ? "[]" : ""};`);
  }
  L.push("}", "", "/** Message name -> its decoded form. */", "export interface MessageTypes {");
  for (const d of c.defs) L.push(`  ${d.name}: ${pascal(d.name)};`);
  L.push("}", "");
}

/** Builds the source text of `messages.ts` from the JSON files in `dir`. */
export function generate(dir: string): string {
  const api = readApi(dir);
  const r = new Resolver(api);
  const c = collect(api, r);
  const L: string[] = [PREAMBLE];
  emitTables(L, api, r, c);
  emitTypes(L, api, r, c);
  return L.join("\n");
}

if (import.meta.main) {
  const here = new URL(".", import.meta.url).pathname;
  const text = generate(`${here}api-json`);
  Deno.writeTextFileSync(`${here}messages.ts`, text);
  const fmt = new Deno.Command(Deno.execPath(), { args: ["fmt", `${here}messages.ts`] });
  const r = fmt.outputSync();
  if (!r.success) console.error(new TextDecoder().decode(r.stderr));
  console.log(`wrote ${here}messages.ts`);
}
