/**
 * Stage 2 of loading (spec 2.1): applies the defaults of spec 0.2 and checks
 * the semantic rules of spec 2.8 and 0.2, collecting every violation, then
 * builds the typed `Config`. Names are looked up only in Maps and
 * null-prototype records, so `__proto__` or `toString` are ordinary names.
 * @module
 */

import { DEFAULTS } from "./defaults.ts";
import { formatDuration } from "./duration.ts";
import { buildFrontend } from "./frontend.ts";
import { buildHealthCheck } from "./healthcheck.ts";
import type { ConfigIssue } from "./issue.ts";
import type { Locator } from "./locate.ts";
import { familyName, isPowerOfTwo, SemanticRules } from "./rules.ts";
import type { RawFile } from "./schema.ts";
import { didYouMean } from "./suggest.ts";
import type {
  Backend,
  Config,
  Frontend,
  HealthCheck,
  HealthcheckerConfig,
  VppLbConfig,
} from "./types.ts";

/** Options of `buildConfig`. */
export interface BuildOptions {
  /** When true, `vpp.lb.ipv4-src-address` and `ipv6-src-address` are required. */
  readonly vppEnabled: boolean;
}

/** The outcome of stage 2: a config when `issues` is empty. */
export interface BuildResult {
  readonly config?: Config;
  readonly issues: ConfigIssue[];
}

/** Freezes an object graph so no consumer can mutate the running config. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function buildHealthchecker(c: SemanticRules, raw: RawFile): HealthcheckerConfig {
  const base = ["maglev", "healthchecker"];
  const h = raw.maglev.healthchecker ?? {};
  const transitionHistory = h["transition-history"] ?? DEFAULTS.transitionHistory;
  c.atLeast([...base, "transition-history"], transitionHistory, 1);
  const netns = h.netns ?? DEFAULTS.netns;
  if (netns.includes("/") || netns === "." || netns === "..") {
    c.value(
      [...base, "netns"],
      `must be a namespace name (as in /var/run/netns/<name>), got ${JSON.stringify(netns)}`,
    );
  }
  return { transitionHistory, netns };
}

function startupDelays(
  c: SemanticRules,
  lb: NonNullable<NonNullable<RawFile["maglev"]["vpp"]>["lb"]>,
): { startupMinDelayMs: number; startupMaxDelayMs: number } {
  const base = ["maglev", "vpp", "lb"];
  const startupMinDelayMs = lb["startup-min-delay"] ?? DEFAULTS.startupMinDelayMs;
  const startupMaxDelayMs = lb["startup-max-delay"] ?? DEFAULTS.startupMaxDelayMs;
  const nonNegative = (key: string, ms: number) => {
    if (ms < 0) c.value([...base, key], `must not be negative, got ${formatDuration(ms)}`);
    return ms >= 0 && c.bounded([...base, key], ms);
  };
  const minOk = nonNegative("startup-min-delay", startupMinDelayMs);
  const maxOk = nonNegative("startup-max-delay", startupMaxDelayMs);
  if (minOk && maxOk && startupMaxDelayMs > 0 && startupMinDelayMs > startupMaxDelayMs) {
    c.value(
      [...base, "startup-min-delay"],
      `must not exceed startup-max-delay (${formatDuration(startupMaxDelayMs)}), got ${
        formatDuration(startupMinDelayMs)
      }; set startup-max-delay to 0 to disable warmup`,
    );
  }
  return { startupMinDelayMs, startupMaxDelayMs };
}

function buildLb(c: SemanticRules, raw: RawFile, opts: BuildOptions): VppLbConfig {
  const base = ["maglev", "vpp", "lb"];
  const lb = raw.maglev.vpp?.lb ?? {};
  const src = (key: "ipv4-src-address" | "ipv6-src-address", family: 4 | 6): string => {
    const text = lb[key] ?? "";
    if (text !== "") return c.address([...base, key], text, family)?.address ?? "";
    if (opts.vppEnabled) {
      c.value(
        [...base, key],
        `required when VPP integration is enabled (outer source address of ${
          familyName(family)
        } GRE encapsulation)`,
      );
    }
    return "";
  };
  const stickyBucketsPerCore = lb["sticky-buckets-per-core"] ?? DEFAULTS.stickyBucketsPerCore;
  if (!isPowerOfTwo(stickyBucketsPerCore) || stickyBucketsPerCore > 2 ** 31) {
    c.value(
      [...base, "sticky-buckets-per-core"],
      `must be a power of two (e.g. 1024, 65536), got ${stickyBucketsPerCore}`,
    );
  }
  const flowTimeoutMs = lb["flow-timeout"] ?? DEFAULTS.flowTimeoutMs;
  if (flowTimeoutMs % 1000 !== 0 || flowTimeoutMs < 1000 || flowTimeoutMs > 3_600_000) {
    c.value(
      [...base, "flow-timeout"],
      `must be whole seconds from 1s to 1h, got ${formatDuration(flowTimeoutMs)}`,
    );
  }
  let syncIntervalMs = lb["sync-interval"] ?? DEFAULTS.syncIntervalMs;
  // Upstream treats a non-positive period as "use the default" rather than an error.
  if (syncIntervalMs <= 0) syncIntervalMs = DEFAULTS.syncIntervalMs;
  c.bounded([...base, "sync-interval"], syncIntervalMs);
  return {
    ipv4SrcAddress: src("ipv4-src-address", 4),
    ipv6SrcAddress: src("ipv6-src-address", 6),
    stickyBucketsPerCore,
    flowTimeoutS: Math.round(flowTimeoutMs / 1000),
    syncIntervalMs,
    ...startupDelays(c, lb),
  };
}

/** A Map's entries as a record with sorted keys and no prototype. */
function sortedRecord<T>(entries: Map<string, T>): Record<string, T> {
  const out: Record<string, T> = Object.create(null);
  for (const k of [...entries.keys()].sort()) out[k] = entries.get(k) as T;
  return out;
}

function emptyNames(c: SemanticRules, section: string, names: readonly string[]): void {
  for (const n of names) {
    if (n.trim() === "") c.key(["maglev", section, n], `${section} names must not be empty`);
  }
}

function buildBackends(
  c: SemanticRules,
  raw: RawFile,
  hcs: ReadonlyMap<string, HealthCheck>,
): Map<string, Backend> {
  const rawBackends = raw.maglev.backends ?? {};
  emptyNames(c, "backends", Object.keys(rawBackends));
  const backends = new Map<string, Backend>();
  for (const [name, b] of Object.entries(rawBackends)) {
    const p = ["maglev", "backends", name];
    const addr = c.vppAddress([...p, "address"], b.address);
    const healthcheck = b.healthcheck ?? "";
    if (healthcheck !== "" && !hcs.has(healthcheck)) {
      c.value(
        [...p, "healthcheck"],
        `unknown healthcheck ${JSON.stringify(healthcheck)}${
          didYouMean(healthcheck, [...hcs.keys()])
        }`,
      );
    }
    backends.set(name, {
      name,
      address: addr?.address ?? "",
      family: addr?.family ?? 4,
      healthcheck,
      enabled: b.enabled ?? true,
      description: b.description ?? "",
    });
  }
  return backends;
}

/** Rules between frontends that share a VIP address (VPP's view of one address). */
class VipRules {
  readonly #byTuple = new Map<string, string>();
  readonly #byVip = new Map<string, { frontend: string; family: 4 | 6 }>();
  // Per VIP address: one all-port frontend, or any number of per-port ones.
  readonly #portKind = new Map<string, { frontend: string; allPort: boolean }>();
  readonly #c: SemanticRules;

  constructor(c: SemanticRules) {
    this.#c = c;
  }

  add(f: Frontend, backendFamily: 4 | 6 | undefined): void {
    const at = ["maglev", "frontends", f.name];
    const kind = this.#portKind.get(f.address);
    if (kind === undefined) {
      this.#portKind.set(f.address, { frontend: f.name, allPort: f.port === 0 });
    } else if (kind.allPort !== (f.port === 0)) {
      this.#c.key(
        at,
        `${f.port === 0 ? "an all-port VIP (port 0)" : `port ${f.port}`} on ${f.address}, ` +
          `where frontend ${JSON.stringify(kind.frontend)} is ${
            kind.allPort ? "an all-port VIP" : "a per-port VIP"
          }; VPP allows either one all-port VIP or per-port VIPs on an address`,
      );
    }
    // VPP forces protocol "any" on an all-port VIP (port 0), so two of them on
    // one address are the same VIP whatever their protocol.
    const tuple = `${f.address}|${f.port === 0 ? "any" : f.protocol}|${f.port}`;
    const same = this.#byTuple.get(tuple);
    if (same !== undefined) {
      this.#c.key(
        at,
        f.port === 0
          ? `a second all-port VIP (port 0, any protocol) on ${f.address}, as frontend ${
            JSON.stringify(same)
          }`
          : `same address, protocol and port (${f.address} ${f.protocol} ${f.port}) as frontend ${
            JSON.stringify(same)
          }`,
      );
    } else {
      this.#byTuple.set(tuple, f.name);
    }
    if (backendFamily !== undefined) this.#family(f, backendFamily);
  }

  #family(f: Frontend, family: 4 | 6): void {
    const other = this.#byVip.get(f.address);
    if (other === undefined) {
      this.#byVip.set(f.address, { frontend: f.name, family });
    } else if (other.family !== family) {
      this.#c.key(
        ["maglev", "frontends", f.name],
        `shares VIP address ${f.address} with frontend ${
          JSON.stringify(other.frontend)
        }, whose backends are ${familyName(other.family)}, but its backends are ${
          familyName(family)
        }; VPP needs one encapsulation type per VIP address`,
      );
    }
  }
}

/**
 * Issue 16.2: a health check whose `interval x rise` exceeds
 * `startup-max-delay` cannot bring its backends up before warmup ends, so a
 * restart may write weights for them before their first results decide.
 * Only checks that some backend uses are named.
 */
function warmupWarnings(
  lb: VppLbConfig,
  hcs: ReadonlyMap<string, HealthCheck>,
  backends: Readonly<Record<string, Backend>>,
): string[] {
  if (lb.startupMaxDelayMs <= 0) return [];
  const used = new Set(Object.values(backends).map((b) => b.healthcheck));
  const out: string[] = [];
  for (const [name, hc] of [...hcs].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
    const needed = hc.intervalMs * hc.rise;
    if (!used.has(name) || needed <= lb.startupMaxDelayMs) continue;
    out.push(
      `healthcheck ${JSON.stringify(name)}: interval x rise (${
        formatDuration(hc.intervalMs)
      } x ${hc.rise} = ${formatDuration(needed)}) exceeds vpp.lb.startup-max-delay (${
        formatDuration(lb.startupMaxDelayMs)
      }); ` +
        "after a restart its backends may still be unknown when warmup ends",
    );
  }
  return out;
}

/** Applies defaults and semantic rules to a structurally valid file. */
export function buildConfig(raw: RawFile, loc: Locator, opts: BuildOptions): BuildResult {
  const c = new SemanticRules(loc);
  const warnings: string[] = [];
  const healthchecker = buildHealthchecker(c, raw);
  const lb = buildLb(c, raw, opts);

  const rawHcs = raw.maglev.healthchecks ?? {};
  emptyNames(c, "healthchecks", Object.keys(rawHcs));
  const hcs = new Map<string, HealthCheck>();
  for (const e of Object.entries(rawHcs)) hcs.set(e[0], buildHealthCheck(c, e));
  const backends = sortedRecord(buildBackends(c, raw, hcs));

  const rawFrontends = raw.maglev.frontends ?? {};
  emptyNames(c, "frontends", Object.keys(rawFrontends));
  const frontends = new Map<string, Frontend>();
  const vips = new VipRules(c);
  for (const name of c.order(["maglev", "frontends"], Object.keys(rawFrontends))) {
    const built = buildFrontend(c, { name, raw: rawFrontends[name] }, { backends, warnings });
    frontends.set(name, built.frontend);
    if (built.addressOk) vips.add(built.frontend, built.backendFamily);
  }

  if (c.issues.length > 0) return { issues: c.issues };
  warnings.push(...warmupWarnings(lb, hcs, backends));
  const config: Config = {
    healthchecker,
    vpp: { lb },
    healthchecks: sortedRecord(hcs),
    backends,
    frontends: sortedRecord(frontends),
    warnings,
  };
  return { config: deepFreeze(config), issues: [] };
}
