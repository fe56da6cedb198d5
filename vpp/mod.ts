/**
 * maglev's VPP binary-API client: codec, framing, session and the lb
 * new-flow table, over VPP's unix API socket. Imports nothing from `src/`.
 * @module
 */

export * from "./client.ts";
export * from "./codec.ts";
export * from "./errors.ts";
export * from "./framing.ts";
export * from "./ip.ts";
export * from "./maglev_table.ts";
export * from "./messages.ts";
export * from "./names.ts";
