/**
 * Name lookups in the running config, owned by the checker (issue 13): the
 * gRPC layer and the checker's own operator actions resolve frontends,
 * pools, backends and health checks here, with one set of NOT_FOUND texts.
 *
 * Names are data, not property keys (issue 12.6): `__proto__`,
 * `constructor` and `toString` are ordinary names. Lookups read own
 * properties only, and records the checker rebuilds have no prototype.
 * @module
 */
import type { Backend, Config, Frontend, HealthCheck, Pool } from "../config/types.ts";
import { healthCheckEqual } from "../config/mod.ts";
import { backendNotFound, frontendNotFound, healthcheckNotFound, MaglevError } from "../errors.ts";

/** `record[name]` when `name` is an own key; never a prototype's member. */
export function ownValue<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/** A frozen copy of `record` without a prototype, with `name` set to `value`. */
export function withEntry<T>(
  record: Readonly<Record<string, T>>,
  [name, value]: readonly [string, T],
): Readonly<Record<string, T>> {
  const out: Record<string, T> = Object.create(null);
  for (const k of Object.keys(record)) out[k] = record[k];
  // On a record without a prototype, "__proto__" is an ordinary key.
  out[name] = value;
  return Object.freeze(out);
}

/** The frontend `name`; NOT_FOUND `frontend "x" not found`. */
export function lookupFrontend(cfg: Config, name: string): Frontend {
  const fe = ownValue(cfg.frontends, name);
  if (!fe) throw frontendNotFound(name);
  return fe;
}

/** The backend `name`; NOT_FOUND `backend "x" not found`. */
export function lookupBackend(cfg: Config, name: string): Backend {
  const b = ownValue(cfg.backends, name);
  if (!b) throw backendNotFound(name);
  return b;
}

/** The health check `name`; NOT_FOUND `healthcheck "x" not found`. */
export function lookupHealthCheck(cfg: Config, name: string): HealthCheck {
  const hc = ownValue(cfg.healthchecks, name);
  if (!hc) throw healthcheckNotFound(name);
  return hc;
}

/** Where a backend sits in a frontend's pool. */
export interface PoolBackendRef {
  readonly frontend: Frontend;
  readonly poolIndex: number;
  readonly pool: Pool;
  readonly backendIndex: number;
}

/**
 * Backend `backend` in pool `pool` of frontend `frontend`. NOT_FOUND names
 * what is missing: the frontend, the pool in it, the backend at all, or the
 * backend in that pool.
 */
export function lookupPoolBackend(
  cfg: Config,
  names: { readonly frontend: string; readonly pool: string; readonly backend: string },
): PoolBackendRef {
  const fe = lookupFrontend(cfg, names.frontend);
  const poolIndex = fe.pools.findIndex((p) => p.name === names.pool);
  if (poolIndex < 0) {
    throw new MaglevError(
      "NOT_FOUND",
      `pool ${JSON.stringify(names.pool)} not found in frontend ${JSON.stringify(fe.name)}`,
    );
  }
  const pool = fe.pools[poolIndex];
  const backendIndex = pool.backends.findIndex((b) => b.name === names.backend);
  if (backendIndex < 0) {
    lookupBackend(cfg, names.backend);
    throw new MaglevError(
      "NOT_FOUND",
      `backend ${JSON.stringify(names.backend)} not found in pool ${JSON.stringify(pool.name)}` +
        ` of frontend ${JSON.stringify(fe.name)}`,
    );
  }
  return { frontend: fe, poolIndex, pool, backendIndex };
}

/** `cfg` with `patch` over it, frozen. */
export function frozenConfig(cfg: Config, patch: Partial<Config>): Config {
  return Object.freeze({ ...cfg, ...patch });
}

/** Backend name → sorted names of the frontends whose pools list it. */
export function referencingFrontends(cfg: Config): Map<string, string[]> {
  const refs = new Map<string, string[]>();
  for (const feName of Object.keys(cfg.frontends).sort()) {
    for (const pool of cfg.frontends[feName].pools) {
      for (const pb of pool.backends) {
        const list = refs.get(pb.name);
        // A literal first: most backends have one frontend, and a push would make room for 17.
        if (!list) refs.set(pb.name, [feName]);
        else if (list[list.length - 1] !== feName) list.push(feName);
      }
    }
  }
  return refs;
}

/** True when two (possibly absent) health checks probe the same way. */
export function sameHealthCheck(a: HealthCheck | undefined, b: HealthCheck | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return healthCheckEqual(a, b);
}
