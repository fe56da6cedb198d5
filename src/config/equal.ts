/**
 * Health check equality: decides whether a reload may keep a backend's
 * worker (and its state) or must restart it (spec 3.7).
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import type { HealthCheck } from "./types.ts";

/**
 * True when two health checks probe the same way: every field (port and the
 * probe source addresses included, which upstream forgot) except the name,
 * since a backend's worker is keyed by backend, not by check name. Compared
 * structurally so that a field added later cannot be forgotten here.
 */
export function healthCheckEqual(a: HealthCheck, b: HealthCheck): boolean {
  return isDeepStrictEqual({ ...a, name: "" }, { ...b, name: "" });
}
