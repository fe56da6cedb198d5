/**
 * Generates `proto/maglev_pb.ts` from `proto/maglev.proto` and the gRPC
 * health proto: TypeScript interfaces for every message, the service method
 * tables, and the encoded FileDescriptorSets, so the runtime loads the
 * protocol without reading any file (which keeps `deno compile` working).
 *
 * Run: `deno task proto` (`deno run --allow-read=proto --allow-write=proto proto/gen.ts`).
 * `--check` exits 1 when the committed output is stale, instead of writing.
 *
 * Decoding conventions the emitted types describe (and that `src/grpc/proto.ts`
 * passes to proto-loader): field names as in the proto (snake_case), 64-bit
 * integers as decimal strings, enums as their value names, defaults filled in
 * (message fields unset are `null`, oneof members unset are absent and the
 * oneof's own name holds the member that is set).
 * @module
 */
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { Buffer } from "node:buffer";

/** One input proto: its path on disk and its name inside the descriptor. */
interface ProtoFile {
  path: string;
  name: string;
  /** Prefix of the emitted constants, e.g. `MAGLEV`. */
  constant: string;
  /** Prefix of the emitted method-types interface, e.g. `Maglev`. */
  typesPrefix: string;
}

const FILES: ProtoFile[] = [
  { path: "proto/maglev.proto", name: "maglev.proto", constant: "MAGLEV", typesPrefix: "Maglev" },
  {
    path: "proto/grpc/health/v1/health.proto",
    name: "grpc/health/v1/health.proto",
    constant: "HEALTH",
    typesPrefix: "Health",
  },
];

/** Where the generated module goes, relative to the repo root. */
export const OUT = "proto/maglev_pb.ts";

const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const NUMBER_TYPES = new Set([
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
  "double",
  "float",
]);

function setFilename(obj: protobuf.ReflectionObject, filename: string): void {
  obj.filename = filename;
  if (obj instanceof protobuf.Namespace) {
    for (const nested of obj.nestedArray) setFilename(nested, filename);
  }
}

function parseFile(file: ProtoFile): protobuf.Root {
  const root = new protobuf.Root();
  const parsed = protobuf.parse(Deno.readTextFileSync(file.path), root, {
    keepCase: true,
    alternateCommentMode: true,
  });
  if (!parsed.package) throw new Error(`${file.path}: no package`);
  setFilename(root.lookup(parsed.package)!, file.name);
  root.resolveAll();
  return root;
}

function descriptorBase64(root: protobuf.Root): string {
  // deno-lint-ignore no-explicit-any
  const set = (root as any).toDescriptor("proto3");
  // deno-lint-ignore no-explicit-any
  const bytes = (descriptor as any).FileDescriptorSet.encode(set).finish() as Uint8Array;
  return Buffer.from(bytes).toString("base64");
}

function collect(ns: protobuf.NamespaceBase, out: protobuf.ReflectionObject[]): void {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type || obj instanceof protobuf.Enum) out.push(obj);
    if (obj instanceof protobuf.Service) out.push(obj);
    if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type) {
      collect(obj as protobuf.NamespaceBase, out);
    }
  }
}

/** TS name of a message or enum: nested types joined with `_`. */
function tsName(obj: protobuf.ReflectionObject, pkg: string): string {
  const full = obj.fullName.replace(/^\./, "");
  return full.slice(pkg.length + 1).replaceAll(".", "_");
}

function scalarType(type: string, input: boolean): string {
  if (LONG_TYPES.has(type)) return input ? "string | number" : "string";
  if (NUMBER_TYPES.has(type)) return "number";
  if (type === "bool") return "boolean";
  if (type === "string") return "string";
  if (type === "bytes") return input ? "Uint8Array | string" : "Uint8Array";
  throw new Error(`unsupported scalar type ${type}`);
}

function fieldType(field: protobuf.Field, pkg: string, input: boolean): string {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return tsName(resolved, pkg);
  if (resolved instanceof protobuf.Type) return tsName(resolved, pkg) + (input ? "Init" : "");
  return scalarType(field.type, input);
}

function doc(comment: string | null, indent: string): string {
  if (!comment) return "";
  const lines = comment.split("\n").map((l) => l.trimEnd());
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${
    lines.map((l) => `${indent} * ${l}`.trimEnd()).join("\n")
  }\n${indent} */\n`;
}

function emitField(field: protobuf.Field, pkg: string, input: boolean): string {
  let type = fieldType(field, pkg, input);
  if (field instanceof protobuf.MapField) {
    const key = scalarType(field.keyType, false);
    type = `Record<${key === "number" ? "number" : "string"}, ${type}>`;
  } else if (field.repeated) {
    type = type.includes(" ") ? `(${type})[]` : `${type}[]`;
  }
  const isMessage = field.resolvedType instanceof protobuf.Type && !field.repeated &&
    !(field instanceof protobuf.MapField);
  let opt = "";
  if (input || field.partOf) opt = "?";
  else if (isMessage) type = `${type} | null`;
  if (input && isMessage) type = `${type} | null`;
  return `${doc(field.comment, "  ")}  ${field.name}${opt}: ${type};\n`;
}

function emitMessage(type: protobuf.Type, pkg: string): string {
  const name = tsName(type, pkg);
  let out = doc(type.comment ?? `The \`${type.fullName.slice(1)}\` message (decoded form).`, "");
  out += `export interface ${name} {\n`;
  for (const field of type.fieldsArray) out += emitField(field, pkg, false);
  for (const oneof of type.oneofsArray) {
    const members = oneof.fieldsArray.map((f) => JSON.stringify(f.name)).join(" | ");
    out += `  /** Which member of the \`${oneof.name}\` oneof is set. */\n`;
    out += `  ${oneof.name}?: ${members};\n`;
  }
  out += "}\n\n";
  out += `/** What may be sent as a \`${type.fullName.slice(1)}\`: every field optional. */\n`;
  out += `export interface ${name}Init {\n`;
  for (const field of type.fieldsArray) out += emitField(field, pkg, true);
  out += "}\n\n";
  return out;
}

function emitEnum(en: protobuf.Enum, pkg: string): string {
  const name = tsName(en, pkg);
  const values = Object.keys(en.values).map((v) => JSON.stringify(v)).join(" | ");
  return `${doc(en.comment ?? `The \`${en.fullName.slice(1)}\` enum.`, "")}` +
    `export type ${name} = ${values};\n\n`;
}

/**
 * A method is mutating unless the proto declares it free of side effects
 * (`option idempotency_level = NO_SIDE_EFFECTS`), so a new method is refused
 * on remote listeners until someone says it only reads.
 */
function mutating(m: protobuf.Method): boolean {
  return m.options?.["idempotency_level"] !== "NO_SIDE_EFFECTS";
}

function emitService(service: protobuf.Service, pkg: string, file: ProtoFile): string {
  const prefix = file.constant;
  const full = service.fullName.slice(1);
  let table = doc(
    service.comment ?? `Methods of \`${full}\`: path, message type names and streaming.`,
    "",
  );
  table += `export const ${prefix}_METHODS = {\n`;
  let types = `/** Request and response types of each \`${full}\` method. */\n`;
  types += `export interface ${file.typesPrefix}MethodTypes {\n`;
  for (const m of service.methodsArray) {
    m.resolve();
    const req = tsName(m.resolvedRequestType!, pkg);
    const res = tsName(m.resolvedResponseType!, pkg);
    table += `  ${m.name}: {\n` +
      `    path: "/${full}/${m.name}",\n` +
      `    requestType: "${m.resolvedRequestType!.fullName.slice(1)}",\n` +
      `    responseType: "${m.resolvedResponseType!.fullName.slice(1)}",\n` +
      `    requestStream: ${!!m.requestStream},\n` +
      `    responseStream: ${!!m.responseStream},\n` +
      `    mutating: ${mutating(m)},\n` +
      `  },\n`;
    types += `${doc(m.comment, "  ")}  ${m.name}: { request: ${req}; requestInit: ${req}Init; ` +
      `response: ${res} };\n`;
  }
  table += "} as const;\n\n";
  types += "}\n\n";
  return table + types +
    `/** Fully qualified name of the \`${service.name}\` service. */\n` +
    `export const ${prefix}_SERVICE = "${full}";\n\n`;
}

/** The text of `proto/maglev_pb.ts` for the protos on disk (run from the repo root). */
export function generate(): string {
  let out = "// Code generated by proto/gen.ts (deno task proto). DO NOT EDIT.\n" +
    "// Sources: " + FILES.map((f) => f.path).join(", ") + "\n" +
    "// deno-fmt-ignore-file\n" +
    "// deno-lint-ignore-file\n\n" +
    "/**\n * Types, method tables and embedded descriptors of the maglev gRPC API\n" +
    " * (`maglev.v1`) and of the gRPC health service (`grpc.health.v1`).\n" +
    " * Decoded messages use proto field names, int64 as decimal strings, enums\n" +
    " * as names, and defaults filled in.\n * @module\n */\n\n";
  for (const file of FILES) {
    const root = parseFile(file);
    const pkgName = findPackage(root);
    out += `// ---------------------------------------------------------------- ${pkgName}\n\n`;
    out +=
      `/** Encoded FileDescriptorSet (base64) of \`${file.name}\`, package \`${pkgName}\`. */\n` +
      `export const ${file.constant}_DESCRIPTOR_B64 =\n  "${descriptorBase64(root)}";\n\n`;
    const objs: protobuf.ReflectionObject[] = [];
    collect(root.lookup(pkgName) as protobuf.Namespace, objs);
    for (const obj of objs) {
      if (obj instanceof protobuf.Type) out += emitMessage(obj, pkgName);
      else if (obj instanceof protobuf.Enum) out += emitEnum(obj, pkgName);
    }
    for (const obj of objs) {
      if (obj instanceof protobuf.Service) out += emitService(obj, pkgName, file);
    }
  }
  return out;
}

function findPackage(root: protobuf.Root): string {
  // The package is the deepest namespace chain that holds no types.
  let ns: protobuf.NamespaceBase = root;
  const parts: string[] = [];
  while (
    ns.nestedArray.length === 1 && ns.nestedArray[0] instanceof protobuf.Namespace &&
    !(ns.nestedArray[0] instanceof protobuf.Type) &&
    !(ns.nestedArray[0] instanceof protobuf.Service)
  ) {
    ns = ns.nestedArray[0] as protobuf.Namespace;
    parts.push(ns.name);
  }
  if (!parts.length) throw new Error("proto without a package");
  return parts.join(".");
}

if (import.meta.main) {
  const text = generate();
  if (Deno.args.includes("--check")) {
    const current = await Deno.readTextFile(OUT).catch(() => "");
    if (current !== text) {
      console.error(`${OUT} is stale: run deno task proto`);
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(OUT, text);
    console.log(`wrote ${OUT}`);
  }
}
