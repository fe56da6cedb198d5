/**
 * Stage 2 of loading (spec 2.1): applies the defaults of spec 0.2 and checks
 * the semantic rules of spec 2.8 and 0.2, collecting every violation, then
 * builds the typed `Config`.
 * @module
 */

import { parseAddress } from "./address.ts";
import { formatDuration } from "./duration.ts";
import { autoFlowTableLength, MAX_FLOW_TABLE_LENGTH, MIN_FLOW_TABLE_LENGTH } from "./flow_table.ts";
import type { ConfigIssue } from "./issue.ts";
import { compileResponseRegexp } from "./regexp.ts";
import { formatPath, type Locator, type PathSegment } from "./locate.ts";
import type { RawFile, RawFrontend, RawHealthCheck } from "./schema.ts";
import { didYouMean } from "./suggest.ts";
import type {
  Backend,
  Config,
  Frontend,
  HealthCheck,
  HealthcheckerConfig,
  HttpParams,
  Pool,
  PoolBackend,
  TcpParams,
  VppLbConfig,
} from "./types.ts";

/** Defaults of spec 0.2, in one place so the guide and the code agree. */
export const DEFAULTS = {
  transitionHistory: 5,
  netns: "",
  stickyBucketsPerCore: 1024,
  flowTimeoutMs: 40_000,
  syncIntervalMs: 30_000,
  startupMinDelayMs: 5_000,
  startupMaxDelayMs: 30_000,
  intervalMs: 2_000,
  timeoutMs: 1_000,
  rise: 2,
  fall: 3,
  httpPath: "/",
  responseCodeMin: 200,
  responseCodeMax: 399,
  weight: 100,
} as const;

/** Which `params` keys each health check type accepts (spec 0.2). */
export const PARAMS_BY_TYPE: Readonly<Record<HealthCheck["type"], readonly string[]>> = {
  icmp: [],
  tcp: ["ssl", "server-name", "insecure-skip-verify"],
  http: ["path", "host", "response-code", "response-regexp"],
  https: [
    "path",
    "host",
    "response-code",
    "response-regexp",
    "server-name",
    "insecure-skip-verify",
  ],
};

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

const familyName = (f: 4 | 6) => `IPv${f}`;

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Freezes an object graph so no consumer can mutate the running config. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Collects issues with positions from the YAML document. */
class Checker {
  readonly issues: ConfigIssue[] = [];
  readonly #loc: Locator;

  constructor(loc: Locator) {
    this.#loc = loc;
  }

  /** An error about the value at `path`. */
  value(path: readonly PathSegment[], message: string): void {
    const pos = this.#loc.valuePos(path);
    this.issues.push({ path: formatPath(path), line: pos.line, column: pos.column, message });
  }

  /** An error about the entry (key) at `path`, e.g. a name that refers to nothing. */
  key(path: readonly PathSegment[], message: string): void {
    const pos = this.#loc.keyPos(path);
    this.issues.push({ path: formatPath(path), line: pos.line, column: pos.column, message });
  }

  /** Names of the map at `path` in YAML order (falls back to `fallback`'s order). */
  order(path: readonly PathSegment[], fallback: readonly string[]): string[] {
    const fromYaml = this.#loc.keysInOrder(path).filter((k) => fallback.includes(k));
    return fromYaml.length === fallback.length ? fromYaml : [...fallback];
  }

  /**
   * Parses an address at `path`; when `family` is given it must match.
   * Reports and returns undefined when invalid.
   */
  address(
    path: readonly PathSegment[],
    text: string,
    family?: 4 | 6,
  ): { address: string; family: 4 | 6 } | undefined {
    const a = parseAddress(text);
    if (a === undefined) {
      const hint = text.includes("/") ? " (write the address without a prefix length)" : "";
      const what = family === undefined ? "IP" : familyName(family);
      this.value(path, `invalid ${what} address ${JSON.stringify(text)}${hint}`);
      return undefined;
    }
    if (family !== undefined && a.family !== family) {
      this.value(
        path,
        `must be an ${familyName(family)} address, got ${familyName(a.family)} address ${
          JSON.stringify(text)
        }`,
      );
      return undefined;
    }
    return a;
  }

  /** A duration that must be > 0. */
  positive(path: readonly PathSegment[], ms: number): void {
    if (!(ms > 0)) this.value(path, `must be greater than 0, got ${formatDuration(ms)}`);
  }

  /** An integer that must be >= min. */
  atLeast(path: readonly PathSegment[], n: number, min: number): void {
    if (n < min) this.value(path, `must be at least ${min}, got ${n}`);
  }
}

function buildHealthchecker(c: Checker, raw: RawFile): HealthcheckerConfig {
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

function buildLb(c: Checker, raw: RawFile, opts: BuildOptions): VppLbConfig {
  const base = ["maglev", "vpp", "lb"];
  const lb = raw.maglev.vpp?.lb ?? {};
  const src = (key: "ipv4-src-address" | "ipv6-src-address", family: 4 | 6): string => {
    const text = lb[key] ?? "";
    if (text === "") {
      if (opts.vppEnabled) {
        c.value(
          [...base, key],
          `required when VPP integration is enabled (outer source address of ${
            familyName(family)
          } GRE encapsulation)`,
        );
      }
      return "";
    }
    return c.address([...base, key], text, family)?.address ?? "";
  };
  const ipv4SrcAddress = src("ipv4-src-address", 4);
  const ipv6SrcAddress = src("ipv6-src-address", 6);

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

  const startupMinDelayMs = lb["startup-min-delay"] ?? DEFAULTS.startupMinDelayMs;
  const startupMaxDelayMs = lb["startup-max-delay"] ?? DEFAULTS.startupMaxDelayMs;
  if (startupMinDelayMs < 0) {
    c.value(
      [...base, "startup-min-delay"],
      `must not be negative, got ${formatDuration(startupMinDelayMs)}`,
    );
  }
  if (startupMaxDelayMs < 0) {
    c.value(
      [...base, "startup-max-delay"],
      `must not be negative, got ${formatDuration(startupMaxDelayMs)}`,
    );
  } else if (startupMaxDelayMs > 0 && startupMinDelayMs > startupMaxDelayMs) {
    c.value(
      [...base, "startup-min-delay"],
      `must not exceed startup-max-delay (${formatDuration(startupMaxDelayMs)}), got ${
        formatDuration(startupMinDelayMs)
      }; set startup-max-delay to 0 to disable warmup`,
    );
  }
  return {
    ipv4SrcAddress,
    ipv6SrcAddress,
    stickyBucketsPerCore,
    flowTimeoutS: Math.round(flowTimeoutMs / 1000),
    syncIntervalMs,
    startupMinDelayMs,
    startupMaxDelayMs,
  };
}

function buildHealthCheck(
  c: Checker,
  name: string,
  h: RawHealthCheck,
): HealthCheck {
  const p = ["maglev", "healthchecks", name];
  const type = h.type;
  let port = 0;
  if (type === "icmp") {
    if (h.port !== undefined) {
      c.value([...p, "port"], "not allowed for type icmp (ICMP has no ports)");
    }
  } else if (h.port === undefined) {
    c.value([...p, "port"], `required for type ${type}`);
  } else if (h.port < 1 || h.port > 65535) {
    c.value([...p, "port"], `must be from 1 to 65535, got ${h.port}`);
  } else {
    port = h.port;
  }

  const intervalMs = h.interval ?? DEFAULTS.intervalMs;
  c.positive([...p, "interval"], intervalMs);
  const fastIntervalMs = h["fast-interval"] ?? intervalMs;
  c.positive([...p, "fast-interval"], fastIntervalMs);
  const downIntervalMs = h["down-interval"] ?? intervalMs;
  c.positive([...p, "down-interval"], downIntervalMs);
  // The 1s default shrinks to a shorter interval, so `interval: 200ms` alone is valid.
  const timeoutMs = h.timeout ?? Math.min(DEFAULTS.timeoutMs, intervalMs);
  if (!(timeoutMs > 0)) {
    c.positive([...p, "timeout"], timeoutMs);
  } else if (intervalMs > 0 && timeoutMs > intervalMs) {
    c.value(
      [...p, "timeout"],
      `must not exceed interval (${formatDuration(intervalMs)}), got ${formatDuration(timeoutMs)}`,
    );
  }
  const rise = h.rise ?? DEFAULTS.rise;
  c.atLeast([...p, "rise"], rise, 1);
  const fall = h.fall ?? DEFAULTS.fall;
  c.atLeast([...p, "fall"], fall, 1);

  const probeSrc = (key: "probe-ipv4-src" | "probe-ipv6-src", family: 4 | 6): string => {
    const text = h[key] ?? "";
    return text === "" ? "" : c.address([...p, key], text, family)?.address ?? "";
  };
  const probeIpv4Src = probeSrc("probe-ipv4-src", 4);
  const probeIpv6Src = probeSrc("probe-ipv6-src", 6);

  const params = h.params ?? {};
  const allowed = PARAMS_BY_TYPE[type];
  for (const [key, v] of Object.entries(params)) {
    if (v === undefined || allowed.includes(key)) continue;
    const tail = allowed.length === 0
      ? "icmp health checks take no params"
      : `allowed for ${type}: ${allowed.join(", ")}`;
    c.key([...p, "params", key], `not allowed for type ${type} (${tail})`);
  }

  let http: HttpParams | undefined;
  let tcp: TcpParams | undefined;
  if (type === "http" || type === "https") {
    const path = params.path ?? DEFAULTS.httpPath;
    if (!path.startsWith("/")) {
      c.value([...p, "params", "path"], `must start with "/", got ${JSON.stringify(path)}`);
    }
    const code = params["response-code"] ??
      { min: DEFAULTS.responseCodeMin, max: DEFAULTS.responseCodeMax };
    if (code.min < 100 || code.max > 599 || code.min > code.max) {
      c.value(
        [...p, "params", "response-code"],
        `must be a status code or range within 100-599 with min <= max, got ${code.min}-${code.max}`,
      );
    }
    const responseRegexp = params["response-regexp"] ?? "";
    if (responseRegexp !== "") {
      try {
        compileResponseRegexp(responseRegexp);
      } catch (e) {
        c.value(
          [...p, "params", "response-regexp"],
          `is not a valid RE2 expression: ${(e as Error).message}`,
        );
      }
    }
    http = {
      path,
      host: params.host ?? "",
      responseCodeMin: code.min,
      responseCodeMax: code.max,
      responseRegexp,
      serverName: type === "https" ? params["server-name"] ?? "" : "",
      insecureSkipVerify: type === "https" ? params["insecure-skip-verify"] ?? false : false,
    };
  } else if (type === "tcp") {
    tcp = {
      ssl: params.ssl ?? false,
      serverName: params["server-name"] ?? "",
      insecureSkipVerify: params["insecure-skip-verify"] ?? false,
    };
  }
  const hc: HealthCheck = {
    name,
    type,
    port,
    intervalMs,
    fastIntervalMs,
    downIntervalMs,
    timeoutMs,
    rise,
    fall,
    probeIpv4Src,
    probeIpv6Src,
    ...(http ? { http } : {}),
    ...(tcp ? { tcp } : {}),
  };
  return hc;
}

function buildFrontend(
  c: Checker,
  name: string,
  f: RawFrontend,
  backends: Readonly<Record<string, Backend>>,
  warnings: string[],
): { frontend: Frontend; backendFamily?: 4 | 6; addressOk: boolean } {
  const p = ["maglev", "frontends", name];
  const vip = c.address([...p, "address"], f.address);
  if (f.port < 0 || f.port > 65535) {
    c.value([...p, "port"], `must be from 0 (all ports) to 65535, got ${f.port}`);
  }
  if (f.pools.length === 0) c.value([...p, "pools"], "must list at least one pool");

  const poolIndexByName = new Map<string, number>();
  const poolOfBackend = new Map<string, number>();
  let family: { family: 4 | 6; backend: string } | undefined;
  let weightSum = 0;
  const pools: Pool[] = [];
  f.pools.forEach((pool, i) => {
    const pp = [...p, "pools", i];
    if (pool.name.trim() === "") {
      c.value([...pp, "name"], "must not be empty");
    } else if (poolIndexByName.has(pool.name)) {
      c.value(
        [...pp, "name"],
        `duplicate pool name ${JSON.stringify(pool.name)} (also pools[${
          poolIndexByName.get(pool.name)
        }]); pool names must be unique within a frontend`,
      );
    } else {
      poolIndexByName.set(pool.name, i);
    }
    const names = c.order([...pp, "backends"], Object.keys(pool.backends));
    if (names.length === 0) c.value([...pp, "backends"], "must list at least one backend");
    const members: PoolBackend[] = [];
    for (const b of names) {
      const bp = [...pp, "backends", b];
      const weight = pool.backends[b]?.weight ?? DEFAULTS.weight;
      if (weight < 0 || weight > 100) {
        c.value([...bp, "weight"], `weight ${weight} out of range [0, 100]`);
      } else {
        weightSum += weight;
      }
      members.push({ name: b, weight });
      const backend = backends[b];
      if (backend === undefined) {
        c.key(bp, `unknown backend ${JSON.stringify(b)}${didYouMean(b, Object.keys(backends))}`);
        continue;
      }
      const earlier = poolOfBackend.get(b);
      if (earlier !== undefined) {
        c.key(
          bp,
          `backend ${JSON.stringify(b)} is already in pool ${
            JSON.stringify(f.pools[earlier].name)
          } (pools[${earlier}]); a backend may be in only one pool of a frontend`,
        );
        continue;
      }
      poolOfBackend.set(b, i);
      if (backend.address === "") continue;
      if (family === undefined) {
        family = { family: backend.family, backend: b };
      } else if (family.family !== backend.family) {
        c.key(
          bp,
          `backend ${JSON.stringify(b)} is ${familyName(backend.family)} but backend ${
            JSON.stringify(family.backend)
          } is ${
            familyName(family.family)
          }; all backends of a frontend must share one address family`,
        );
      }
    }
    pools.push({ name: pool.name, backends: members });
  });

  const auto = autoFlowTableLength(weightSum);
  const ftl = f["flow-table-length"] ?? { auto: true };
  let flowTableLength = auto;
  if (!ftl.auto) {
    flowTableLength = ftl.value;
    if (
      !isPowerOfTwo(ftl.value) || ftl.value < MIN_FLOW_TABLE_LENGTH ||
      ftl.value > MAX_FLOW_TABLE_LENGTH
    ) {
      c.value(
        [...p, "flow-table-length"],
        `must be "auto" or a power of two from ${MIN_FLOW_TABLE_LENGTH} to ${MAX_FLOW_TABLE_LENGTH}, got ${ftl.value}`,
      );
    } else if (ftl.value < auto) {
      warnings.push(
        `frontend ${
          JSON.stringify(name)
        }: flow-table-length ${ftl.value} is smaller than ${auto} ` +
          `(8 x pool weight sum ${weightSum}); VPP may flatten unequal weights (use "auto")`,
      );
    }
  }

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
    flowTableLength,
    flowTableLengthAuto: ftl.auto,
  };
  return { frontend, backendFamily: family?.family, addressOk: vip !== undefined };
}

function sortedRecord<T>(entries: Map<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of [...entries.keys()].sort()) out[k] = entries.get(k) as T;
  return out;
}

/** Applies defaults and semantic rules to a structurally valid file. */
export function buildConfig(raw: RawFile, loc: Locator, opts: BuildOptions): BuildResult {
  const c = new Checker(loc);
  const warnings: string[] = [];
  const healthchecker = buildHealthchecker(c, raw);
  const lb = buildLb(c, raw, opts);

  const emptyName = (section: string, names: string[]) => {
    for (const n of names) {
      if (n.trim() === "") c.key(["maglev", section, n], `${section} names must not be empty`);
    }
  };

  const rawHcs = raw.maglev.healthchecks ?? {};
  emptyName("healthchecks", Object.keys(rawHcs));
  const hcs = new Map<string, HealthCheck>();
  for (const name of Object.keys(rawHcs)) hcs.set(name, buildHealthCheck(c, name, rawHcs[name]));

  const rawBackends = raw.maglev.backends ?? {};
  emptyName("backends", Object.keys(rawBackends));
  const backends = new Map<string, Backend>();
  for (const name of Object.keys(rawBackends)) {
    const b = rawBackends[name];
    const p = ["maglev", "backends", name];
    const addr = c.address([...p, "address"], b.address);
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
  const backendRecord = sortedRecord(backends);

  const rawFrontends = raw.maglev.frontends ?? {};
  emptyName("frontends", Object.keys(rawFrontends));
  const frontends = new Map<string, Frontend>();
  const byTuple = new Map<string, string>();
  const byVip = new Map<string, { frontend: string; family: 4 | 6 }>();
  // Per VIP address: one all-port frontend, or any number of per-port ones.
  const portKind = new Map<string, { frontend: string; allPort: boolean }>();
  for (const name of c.order(["maglev", "frontends"], Object.keys(rawFrontends))) {
    const built = buildFrontend(c, name, rawFrontends[name], backendRecord, warnings);
    const f = built.frontend;
    frontends.set(name, f);
    if (!built.addressOk) continue;
    // VPP forces protocol "any" on an all-port VIP (port 0), so two of them on
    // one address are the same VIP whatever their protocol.
    const tuple = `${f.address}|${f.port === 0 ? "any" : f.protocol}|${f.port}`;
    const kind = portKind.get(f.address);
    if (kind === undefined) portKind.set(f.address, { frontend: name, allPort: f.port === 0 });
    else if (kind.allPort !== (f.port === 0)) {
      c.key(
        ["maglev", "frontends", name],
        `${f.port === 0 ? "an all-port VIP (port 0)" : `port ${f.port}`} on ${f.address}, ` +
          `where frontend ${JSON.stringify(kind.frontend)} is ${
            kind.allPort ? "an all-port VIP" : "a per-port VIP"
          }; VPP allows either one all-port VIP or per-port VIPs on an address`,
      );
    }
    const same = byTuple.get(tuple);
    if (same !== undefined) {
      c.key(
        ["maglev", "frontends", name],
        f.port === 0
          ? `a second all-port VIP (port 0, any protocol) on ${f.address}, as frontend ${
            JSON.stringify(same)
          }`
          : `same address, protocol and port (${f.address} ${f.protocol} ${f.port}) as frontend ${
            JSON.stringify(same)
          }`,
      );
    } else {
      byTuple.set(tuple, name);
    }
    if (built.backendFamily === undefined) continue;
    const other = byVip.get(f.address);
    if (other === undefined) {
      byVip.set(f.address, { frontend: name, family: built.backendFamily });
    } else if (other.family !== built.backendFamily) {
      c.key(
        ["maglev", "frontends", name],
        `shares VIP address ${f.address} with frontend ${
          JSON.stringify(other.frontend)
        }, whose backends are ${familyName(other.family)}, but its backends are ${
          familyName(built.backendFamily)
        }; VPP needs one encapsulation type per VIP address`,
      );
    }
  }

  if (c.issues.length > 0) return { issues: c.issues };
  const config: Config = {
    healthchecker,
    vpp: { lb },
    healthchecks: sortedRecord(hcs),
    backends: backendRecord,
    frontends: sortedRecord(frontends),
    warnings,
  };
  return { config: deepFreeze(config), issues: [] };
}
