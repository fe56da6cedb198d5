/**
 * `CliBackend` over the typed gRPC client: the only client module that knows
 * the generated message shapes. Converts them to the client's views
 * (nanosecond strings to milliseconds, snake_case to camelCase).
 * @module
 */
import type {
  BackendInfo,
  BucketShare,
  Event,
  FrontendInfo,
  HealthCheckInfo,
  PreviewChangeResponse,
  ReloadPlan,
  StateCount,
  StatusInfo,
} from "../../proto/maglev_pb.ts";
import type { BackendSnapshot } from "../checker/types.ts";
import type { HealthCheck, HealthCheckType } from "../config/types.ts";
import type { State } from "../health/types.ts";
import { status as grpcStatus } from "@grpc/grpc-js";
import { formatDuration } from "../config/duration.ts";
import { DEFAULT_TIMEOUT_MS } from "../flags.ts";
import { createClient, type MaglevClient, toRpcError } from "../grpc/client.ts";
import type {
  BackendAction,
  BucketShareView,
  CliBackend,
  EventView,
  FrontendView,
  PlanView,
  PreviewView,
  StatusView,
  WatchRequest,
} from "./backend.ts";

/** Nanoseconds (int64 as decimal text) to milliseconds. */
export function nsToMs(ns: string | number): number {
  const n = typeof ns === "number" ? ns : Number(ns || "0");
  return Number.isFinite(n) ? n / 1e6 : 0;
}

/** FrontendInfo as the client's view. */
export function frontendView(f: FrontendInfo): FrontendView {
  return {
    name: f.name,
    address: f.address,
    protocol: f.protocol,
    port: f.port,
    srcIpSticky: f.src_ip_sticky,
    flushOnDown: f.flush_on_down,
    description: f.description,
    state: f.state,
    activePool: f.active_pool,
    fingerprint: f.fingerprint ?? "",
    warning: f.warning ?? "",
    vppSyncError: f.vpp_sync_error,
    pools: f.pools.map((p) => ({
      name: p.name,
      backends: p.backends.map((b) => ({
        name: b.name,
        weight: b.weight,
        effectiveWeight: b.effective_weight,
        enabled: b.enabled,
        adopted: b.adopted ?? false,
      })),
    })),
  };
}

/** ReloadPlan as the client's view. */
export function planView(p: ReloadPlan): PlanView {
  return {
    ok: p.ok,
    parseError: p.parse_error,
    semanticError: p.semantic_error,
    changed: p.changed,
    frontendsAdded: p.frontends_added,
    frontendsRemoved: p.frontends_removed,
    frontendsChanged: p.frontends_changed,
    backendsAdded: p.backends_added,
    backendsRemoved: p.backends_removed,
    healthchecksAdded: p.healthchecks_added,
    healthchecksRemoved: p.healthchecks_removed,
    probesRestarted: p.probes_restarted.map((r) => ({ backend: r.backend, reason: r.reason })),
    vipsRecreated: p.vips_recreated.map((v) => ({
      frontend: v.frontend,
      address: v.address,
      protocol: v.protocol,
      port: v.port,
      reason: v.reason,
      flows: v.flows,
      applicationServers: v.application_servers,
    })),
    weightsChanged: p.weights_changed.map((w) => ({
      frontend: w.frontend,
      pool: w.pool,
      backend: w.backend,
      weightFrom: w.weight_from,
      weightTo: w.weight_to,
      effectiveFrom: w.effective_from,
      effectiveTo: w.effective_to,
    })),
  };
}

function counts(xs: readonly StateCount[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x.state] = x.count;
  return out;
}

/** StatusInfo as the client's view. */
export function statusView(s: StatusInfo): StatusView {
  return {
    version: s.version,
    commit: s.commit,
    buildDate: s.build_date,
    startTimeMs: nsToMs(s.start_time_ns),
    uptimeMs: nsToMs(s.uptime_ns),
    configPath: s.config_path,
    configHash: s.config_hash,
    lastReload: {
      atMs: nsToMs(s.last_reload?.at_ns ?? "0"),
      ok: s.last_reload?.ok ?? false,
      error: s.last_reload?.error ?? "",
    },
    warmup: s.warmup,
    vpp: {
      state: s.vpp?.state ?? "",
      apiSocket: s.vpp?.api_socket ?? "",
      version: s.vpp?.version ?? "",
      sinceMs: nsToMs(s.vpp?.since_ns ?? "0"),
      missingMessages: s.vpp?.missing_messages ?? [],
      error: s.vpp?.error ?? "",
    },
    backends: counts(s.backends),
    frontends: counts(s.frontends),
  };
}

function shareView(b: BucketShare): BucketShareView {
  return {
    backend: b.backend,
    address: b.address,
    effectiveWeight: b.effective_weight,
    buckets: b.buckets,
  };
}

/** PreviewChangeResponse as the client's view. */
export function previewView(p: PreviewChangeResponse): PreviewView {
  return {
    frontend: p.frontend,
    tableLength: p.table_length,
    bucketsMoved: p.buckets_moved,
    moves: p.moves.map((m) => ({ from: m.from, to: m.to, buckets: m.buckets })),
    before: p.before.map(shareView),
    after: p.after.map(shareView),
    fingerprintBefore: p.fingerprint_before,
    fingerprintAfter: p.fingerprint_after,
  };
}

/** BackendInfo as the checker's snapshot shape. */
export function backendView(b: BackendInfo): BackendSnapshot {
  return {
    name: b.name,
    address: b.address,
    description: b.description,
    state: b.state as State,
    enabled: b.enabled,
    healthcheck: b.healthcheck,
    health: b.health,
    healthMax: b.health_max,
    transitions: b.transitions.map((t) => ({
      from: t.from as State,
      to: t.to as State,
      atMs: nsToMs(t.at_ns),
      code: t.code,
      detail: t.detail,
    })),
    probes: b.probes.map((p) => ({
      atMs: nsToMs(p.at_ns),
      ok: p.ok,
      code: p.code,
      detail: p.detail,
      durationMs: nsToMs(p.duration_ns),
    })),
  };
}

/** HealthCheckInfo as the config's shape. */
export function healthCheckView(h: HealthCheckInfo): HealthCheck {
  const hc: HealthCheck = {
    name: h.name,
    type: h.type as HealthCheckType,
    port: h.port,
    intervalMs: nsToMs(h.interval_ns),
    fastIntervalMs: nsToMs(h.fast_interval_ns),
    downIntervalMs: nsToMs(h.down_interval_ns),
    timeoutMs: nsToMs(h.timeout_ns),
    rise: h.rise,
    fall: h.fall,
    probeIpv4Src: h.probe_ipv4_src,
    probeIpv6Src: h.probe_ipv6_src,
  };
  const http = h.http === null || h.http === undefined ? undefined : {
    path: h.http.path,
    host: h.http.host,
    responseCodeMin: h.http.response_code_min,
    responseCodeMax: h.http.response_code_max,
    responseRegexp: h.http.response_regexp,
    serverName: h.http.server_name,
    insecureSkipVerify: h.http.insecure_skip_verify,
  };
  const tcp = h.tcp === null || h.tcp === undefined ? undefined : {
    ssl: h.tcp.ssl,
    serverName: h.tcp.server_name,
    insecureSkipVerify: h.tcp.insecure_skip_verify,
  };
  return {
    ...hc,
    ...(http && (h.type === "http" || h.type === "https") ? { http } : {}),
    ...(tcp && h.type === "tcp" ? { tcp } : {}),
  };
}

/** An event as the client's flat view (see `EventView`). */
export function eventView(e: Event): EventView {
  const head = { seq: Number(e.seq || 0), atMs: nsToMs(e.at_ns) };
  if (e.backend) {
    const t = e.backend.transition;
    return {
      ...head,
      kind: "backend",
      frontend: e.backend.frontend,
      backend: e.backend.backend,
      address: e.backend.address,
      from: t?.from ?? "",
      to: t?.to ?? "",
      code: t?.code ?? "",
      detail: t?.detail ?? "",
    };
  }
  if (e.frontend) {
    return { ...head, kind: "frontend", ...e.frontend };
  }
  if (e.log) {
    const attrs: Record<string, string> = {};
    for (const a of e.log.attrs) attrs[a.key] = a.value;
    return { ...head, kind: "log", level: e.log.level, msg: e.log.msg, attrs };
  }
  return { ...head, kind: "resync", reason: e.resync?.reason ?? "" };
}

/** The call a transport failure happened on: the daemon's address and the call's deadline. */
export interface TransportErrorOptions {
  readonly server: string;
  readonly timeoutMs: number;
}

/**
 * What the operator reads for a transport failure: grpc-js words an
 * unreachable daemon as "No connection established. Last error: ...", and
 * a daemon that accepts but never answers as a bare deadline.
 */
export function transportError(
  err: unknown,
  { server, timeoutMs }: TransportErrorOptions,
): unknown {
  const e = toRpcError(err);
  if (e.code === grpcStatus.DEADLINE_EXCEEDED) {
    return new Error(`no answer from ${server} within ${formatDuration(timeoutMs)}`);
  }
  const m =
    /^No connection established\. Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/s
      .exec(e.message);
  if (m !== null) return new Error(`cannot connect to maglevd at ${server}: ${m[1].trim()}`);
  return e;
}

/** Options of `createGrpcBackend`. */
export interface GrpcBackendOptions {
  /** Deadline of every unary call (default `DEFAULT_TIMEOUT_MS`). */
  timeoutMs?: number;
}

type Rpc = MaglevClient["call"];

/** Frontends, backends, health checks and operator actions. */
function stateMethods(rpc: Rpc): Pick<
  CliBackend,
  | "listFrontends"
  | "getFrontend"
  | "listBackends"
  | "getBackend"
  | "backendAction"
  | "listHealthChecks"
  | "getHealthCheck"
  | "setWeight"
> {
  const actions: Record<
    BackendAction,
    "PauseBackend" | "ResumeBackend" | "EnableBackend" | "DisableBackend"
  > = {
    pause: "PauseBackend",
    resume: "ResumeBackend",
    enable: "EnableBackend",
    disable: "DisableBackend",
  };
  return {
    async listFrontends() {
      const r = await rpc("ListFrontends", {});
      if (r.frontends.length === r.names.length) return r.frontends.map(frontendView);
      return await Promise.all(
        r.names.map(async (name) => frontendView(await rpc("GetFrontend", { name }))),
      );
    },
    async getFrontend(name) {
      return frontendView(await rpc("GetFrontend", { name }));
    },
    async listBackends() {
      const r = await rpc("ListBackends", {});
      if (r.backends.length === r.names.length) return r.backends.map(backendView);
      return await Promise.all(
        r.names.map(async (name) => backendView(await rpc("GetBackend", { name }))),
      );
    },
    async getBackend(name) {
      return backendView(await rpc("GetBackend", { name }));
    },
    async backendAction(name, action) {
      return backendView(await rpc(actions[action], { name }) as BackendInfo);
    },
    async listHealthChecks() {
      const r = await rpc("ListHealthChecks", {});
      if (r.healthchecks.length === r.names.length) return r.healthchecks.map(healthCheckView);
      return await Promise.all(
        r.names.map(async (name) => healthCheckView(await rpc("GetHealthCheck", { name }))),
      );
    },
    async getHealthCheck(name) {
      return healthCheckView(await rpc("GetHealthCheck", { name }));
    },
    async setWeight(r) {
      return frontendView(await rpc("SetFrontendPoolBackendWeight", r));
    },
  };
}

/** Config check, reload, diff and the daemon's own state. */
function configMethods(rpc: Rpc): Pick<
  CliBackend,
  "checkConfig" | "reloadConfig" | "diffConfig" | "runningConfig" | "status" | "preview"
> {
  return {
    async checkConfig() {
      const r = await rpc("CheckConfig", {});
      return { ok: r.ok, parseError: r.parse_error, semanticError: r.semantic_error };
    },
    async reloadConfig() {
      const r = await rpc("ReloadConfig", {});
      const error = r.parse_error || r.semantic_error;
      return r.plan ? { ok: r.ok, error, plan: planView(r.plan) } : { ok: r.ok, error };
    },
    async diffConfig(yaml) {
      return planView(await rpc("DiffConfig", yaml === undefined ? {} : { yaml }));
    },
    async runningConfig() {
      const c = await rpc("GetConfig", {});
      return { yaml: c.yaml, path: c.path, hash: c.hash };
    },
    async status() {
      return statusView(await rpc("GetStatus", {}));
    },
    async preview(r) {
      return previewView(await rpc("PreviewChange", r));
    },
  };
}

/** The VPP dataplane. */
function vppMethods(
  rpc: Rpc,
): Pick<CliBackend, "vppInfo" | "vppLbState" | "syncVppLbState" | "vppLbCounters"> {
  return {
    async vppInfo() {
      const v = await rpc("GetVPPInfo", {});
      return {
        version: v.version,
        buildDate: v.build_date,
        buildDirectory: v.build_directory,
        pid: v.pid,
        bootTimeMs: nsToMs(v.boottime_ns),
        connectedAtMs: nsToMs(v.connecttime_ns),
        incompatible: v.missing_messages,
      };
    },
    async vppLbState() {
      const s = await rpc("GetVPPLBState", {});
      return {
        ip4SrcAddress: s.ip4_src_address,
        ip6SrcAddress: s.ip6_src_address,
        stickyBucketsPerCore: s.sticky_buckets_per_core,
        flowTimeout: s.flow_timeout,
        vips: s.vips.map((v) => ({
          prefix: v.prefix,
          protocol: v.protocol,
          port: v.port,
          encap: v.encap,
          srcIpSticky: v.src_ip_sticky,
          flowTableLength: v.flow_table_length,
          frontend: v.frontend,
          ases: v.application_servers.map((a) => ({
            address: a.address,
            weight: a.weight,
            flags: a.flags,
            inUseSince: a.in_use_since,
            buckets: a.buckets,
          })),
        })),
      };
    },
    async syncVppLbState(frontend) {
      const r = await rpc("SyncVPPLBState", { frontend });
      return {
        vipAdded: r.vip_added,
        vipRemoved: r.vip_removed,
        asAdded: r.as_added,
        asRemoved: r.as_removed,
        asWeightUpdated: r.as_weight_updated,
      };
    },
    async vppLbCounters() {
      const r = await rpc("GetVPPLBCounters", {});
      return r.vips.map((v) => ({
        frontend: v.frontend,
        prefix: v.prefix,
        protocol: v.protocol,
        port: v.port,
        next: v.next,
        first: v.first,
        untracked: v.untracked,
        noServer: v.no_server,
      }));
    },
  };
}

/** Opens a `CliBackend` on `server` (`host:port`, `/path` or `unix:/path`). */
export function createGrpcBackend(server: string, options: GrpcBackendOptions = {}): CliBackend {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const c: MaglevClient = createClient(server);
  // Every unary call is bounded; a watch is not (it waits forever).
  const rpc: Rpc = (method, request) =>
    c.call(method, request, { timeoutMs }).catch((e) => {
      throw transportError(e, { server, timeoutMs });
    });
  return {
    server,
    ...stateMethods(rpc),
    ...configMethods(rpc),
    ...vppMethods(rpc),
    watchEvents(request: WatchRequest, signal: AbortSignal) {
      return watch(c, request, signal);
    },
    close() {
      c.close();
    },
  };
}

async function* watch(
  c: MaglevClient,
  request: WatchRequest,
  signal: AbortSignal,
): AsyncGenerator<EventView> {
  const stream = c.watchEvents({
    log: request.log,
    log_level: request.logLevel,
    backend: request.backend,
    frontend: request.frontend,
  });
  const onAbort = () => stream.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  if (signal.aborted) stream.cancel();
  try {
    for await (const e of stream) yield eventView(e);
  } finally {
    signal.removeEventListener("abort", onAbort);
    stream.cancel();
  }
}
