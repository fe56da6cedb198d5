/**
 * `maglev.frontends.<name>`: the rules of one frontend and its pools.
 * @module
 */

import { DEFAULTS } from "./defaults.ts";
import { autoFlowTableLength, MAX_FLOW_TABLE_LENGTH, MIN_FLOW_TABLE_LENGTH } from "./flow_table.ts";
import type { PathSegment } from "./locate.ts";
import { familyName, isPowerOfTwo, type SemanticRules } from "./rules.ts";
import type { RawFrontend } from "./schema.ts";
import { didYouMean } from "./suggest.ts";
import type { Backend, Frontend, Pool, PoolBackend } from "./types.ts";
import { weightRangeError } from "./weight.ts";

/** What one frontend's pools must agree on, gathered across its pools. */
interface PoolScan {
  readonly poolIndexByName: Map<string, number>;
  readonly poolOfBackend: Map<string, number>;
  /** VPP keys a VIP's application servers by address: one backend per address. */
  readonly backendByAddress: Map<string, { backend: string; pool: number }>;
  family?: { family: 4 | 6; backend: string };
  weightSum: number;
}

function checkPoolName(
  c: SemanticRules,
  at: { readonly path: readonly PathSegment[]; readonly index: number },
  name: string,
  s: PoolScan,
) {
  const pp = at.path;
  if (name.trim() === "") {
    c.value([...pp, "name"], "must not be empty");
  } else if (s.poolIndexByName.has(name)) {
    c.value(
      [...pp, "name"],
      `duplicate pool name ${JSON.stringify(name)} (also pools[${
        s.poolIndexByName.get(name)
      }]); pool names must be unique within a frontend`,
    );
  } else {
    s.poolIndexByName.set(name, at.index);
  }
}

/** Checks one pool member against the frontend's other members. */
function checkMember(
  c: SemanticRules,
  at: { readonly path: readonly PathSegment[]; readonly pool: number },
  backend: Backend,
  f: RawFrontend,
  s: PoolScan,
): void {
  const { path: bp, pool } = at;
  const name = backend.name;
  const earlier = s.poolOfBackend.get(name);
  if (earlier !== undefined) {
    c.key(
      bp,
      `backend ${JSON.stringify(name)} is already in pool ${
        JSON.stringify(f.pools[earlier].name)
      } (pools[${earlier}]); a backend may be in only one pool of a frontend`,
    );
    return;
  }
  s.poolOfBackend.set(name, pool);
  if (backend.address === "") return;
  const twin = s.backendByAddress.get(backend.address);
  if (twin !== undefined) {
    c.key(
      bp,
      `backend ${JSON.stringify(name)} has the same address ${backend.address} as backend ${
        JSON.stringify(twin.backend)
      } (pools[${twin.pool}]); VPP keys a VIP's servers by address, so one frontend ` +
        `may hold each address once`,
    );
    return;
  }
  s.backendByAddress.set(backend.address, { backend: name, pool });
  if (s.family === undefined) {
    s.family = { family: backend.family, backend: name };
  } else if (s.family.family !== backend.family) {
    c.key(
      bp,
      `backend ${JSON.stringify(name)} is ${familyName(backend.family)} but backend ${
        JSON.stringify(s.family.backend)
      } is ${
        familyName(s.family.family)
      }; all backends of a frontend must share one address family`,
    );
  }
}

function buildPool(
  c: SemanticRules,
  at: { readonly path: readonly PathSegment[]; readonly index: number },
  f: RawFrontend,
  backends: Readonly<Record<string, Backend>>,
  s: PoolScan,
): Pool {
  const pp = at.path;
  const pool = f.pools[at.index];
  checkPoolName(c, at, pool.name, s);
  const names = c.order([...pp, "backends"], Object.keys(pool.backends));
  if (names.length === 0) c.value([...pp, "backends"], "must list at least one backend");
  const members: PoolBackend[] = [];
  for (const b of names) {
    const bp = [...pp, "backends", b];
    const weight = pool.backends[b]?.weight ?? DEFAULTS.weight;
    const outOfRange = weightRangeError(weight);
    if (outOfRange) {
      c.value([...bp, "weight"], outOfRange);
    } else {
      s.weightSum += weight;
    }
    members.push({ name: b, weight });
    const backend = Object.hasOwn(backends, b) ? backends[b] : undefined;
    if (backend === undefined) {
      c.key(bp, `unknown backend ${JSON.stringify(b)}${didYouMean(b, Object.keys(backends))}`);
    } else {
      checkMember(c, { path: bp, pool: at.index }, backend, f, s);
    }
  }
  return { name: pool.name, backends: members };
}

function flowTable(
  c: SemanticRules,
  name: string,
  f: RawFrontend,
  weightSum: number,
  warnings: string[],
): { length: number; auto: boolean } {
  const auto = autoFlowTableLength(weightSum);
  const ftl = f["flow-table-length"] ?? { auto: true };
  if (ftl.auto) return { length: auto, auto: true };
  if (
    !isPowerOfTwo(ftl.value) || ftl.value < MIN_FLOW_TABLE_LENGTH ||
    ftl.value > MAX_FLOW_TABLE_LENGTH
  ) {
    c.value(
      ["maglev", "frontends", name, "flow-table-length"],
      `must be "auto" or a power of two from ${MIN_FLOW_TABLE_LENGTH} to ${MAX_FLOW_TABLE_LENGTH}, got ${ftl.value}`,
    );
  } else if (ftl.value < auto) {
    warnings.push(
      `frontend ${JSON.stringify(name)}: flow-table-length ${ftl.value} is smaller than ${auto} ` +
        `(8 x pool weight sum ${weightSum}); VPP may flatten unequal weights (use "auto")`,
    );
  }
  return { length: ftl.value, auto: false };
}

/** Options of {@linkcode buildFrontend}. */
export interface FrontendOptions {
  /** The validated backends, by name (a null-prototype record). */
  readonly backends: Readonly<Record<string, Backend>>;
  /** Non-fatal findings are appended here. */
  readonly warnings: string[];
}

/** Applies defaults and rules to `maglev.frontends.<name>`. */
export function buildFrontend(
  c: SemanticRules,
  entry: { readonly name: string; readonly raw: RawFrontend },
  opts: FrontendOptions,
): { frontend: Frontend; backendFamily?: 4 | 6; addressOk: boolean } {
  const { name, raw: f } = entry;
  const p = ["maglev", "frontends", name];
  const vip = c.vppAddress([...p, "address"], f.address);
  if (f.port < 0 || f.port > 65535) {
    c.value([...p, "port"], `must be from 0 (all ports) to 65535, got ${f.port}`);
  }
  if (f.pools.length === 0) c.value([...p, "pools"], "must list at least one pool");
  const scan: PoolScan = {
    poolIndexByName: new Map(),
    poolOfBackend: new Map(),
    backendByAddress: new Map(),
    weightSum: 0,
  };
  const pools = f.pools.map((_, index) =>
    buildPool(c, { path: [...p, "pools", index], index }, f, opts.backends, scan)
  );
  const table = flowTable(c, name, f, scan.weightSum, opts.warnings);
  const frontend: Frontend = {
    name,
    address: vip?.address ?? "",
    family: vip?.family ?? 4,
    protocol: f.protocol,
    port: f.port,
    description: f.description ?? "",
    pools,
    srcIpSticky: f["src-ip-sticky"] ?? false,
    flushOnDown: f["flush-on-down"] ?? true,
    flowTableLength: table.length,
    flowTableLengthAuto: table.auto,
  };
  return { frontend, backendFamily: scan.family?.family, addressOk: vip !== undefined };
}
