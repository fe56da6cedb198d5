/**
 * The protocol as grpc-js sees it: package definitions built from the
 * descriptors embedded in `proto/maglev_pb.ts` (no file is read at run time,
 * so `deno compile` works), and the decoding options the generated types
 * describe.
 * @module
 */
import { Buffer } from "node:buffer";
import * as protoLoader from "@grpc/proto-loader";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { HEALTH_DESCRIPTOR_B64, MAGLEV_DESCRIPTOR_B64 } from "../../proto/maglev_pb.ts";
import type { Event } from "../../proto/maglev_pb.ts";

/**
 * Decoding options matching the generated types: proto field names, int64 as
 * decimal strings, enums as names, defaults filled in, oneof discriminators.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

let maglevDef: protoLoader.PackageDefinition | undefined;
let healthDef: protoLoader.PackageDefinition | undefined;

/** The `maglev.v1` package definition (built once). */
export function maglevPackage(): protoLoader.PackageDefinition {
  maglevDef ??= protoLoader.loadFileDescriptorSetFromBuffer(
    Buffer.from(MAGLEV_DESCRIPTOR_B64, "base64"),
    LOADER_OPTIONS,
  );
  return maglevDef;
}

/** The `grpc.health.v1` package definition (built once). */
export function healthPackage(): protoLoader.PackageDefinition {
  healthDef ??= protoLoader.loadFileDescriptorSetFromBuffer(
    Buffer.from(HEALTH_DESCRIPTOR_B64, "base64"),
    LOADER_OPTIONS,
  );
  return healthDef;
}

/** The `maglev.v1.Maglev` service definition for grpc-js. */
export function maglevService(): ServiceDefinition {
  return maglevPackage()["maglev.v1.Maglev"] as ServiceDefinition;
}

/** The `grpc.health.v1.Health` service definition for grpc-js. */
export function healthService(): ServiceDefinition {
  return healthPackage()["grpc.health.v1.Health"] as ServiceDefinition;
}

/** Serializes an `Event` message (the schema's own encoder, built once). */
export function encodeEvent(message: Event): Buffer {
  eventSerialize ??= maglevService().WatchEvents.responseSerialize as (m: Event) => Buffer;
  return eventSerialize(message);
}

let eventSerialize: ((m: Event) => Buffer) | undefined;
let serverDef: ServiceDefinition | undefined;

/**
 * The service definition the server registers: as `maglevService()`, except
 * that `WatchEvents` writes already-encoded `Event` bytes (see
 * `encodeEvent`) unchanged, so an event fanned out to many subscribers is
 * encoded once, not once per subscriber.
 */
export function maglevServerService(): ServiceDefinition {
  if (serverDef) return serverDef;
  const def = maglevService();
  serverDef = {
    ...def,
    WatchEvents: { ...def.WatchEvents, responseSerialize: passBytes },
  };
  return serverDef;
}

function passBytes(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
