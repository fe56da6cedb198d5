/**
 * What the client needs from a daemon, as plain data: the narrow interface
 * the executor calls, so that tests (and the shell test) run against an
 * in-process fake and only `grpc_backend.ts` knows the generated proto types.
 * @module
 */
import type { BackendSnapshot } from "../checker/types.ts";
import type { HealthCheck } from "../config/types.ts";
import type { AsView, SyncStats, VppInfo } from "../reconciler/types.ts";

/** One backend of a frontend's pool (GetFrontend). */
export interface PoolBackendView {
  readonly name: string;
  /** Configured weight 0..100. */
  readonly weight: number;
  /** State-aware weight, what VPP gets. */
  readonly effectiveWeight: number;
  /** Runtime enabled flag of the backend. */
  readonly enabled: boolean;
  /** The effective weight is VPP's, adopted at start or reload until a first result. */
  readonly adopted?: boolean;
}

/** One pool of a frontend. */
export interface PoolView {
  readonly name: string;
  readonly backends: readonly PoolBackendView[];
}

/** A frontend as `show frontends` shows it. */
export interface FrontendView {
  readonly name: string;
  readonly address: string;
  readonly protocol: string;
  readonly port: number;
  readonly srcIpSticky: boolean;
  readonly flushOnDown: boolean;
  readonly description: string;
  /** Aggregate state: unknown, up or down. */
  readonly state: string;
  /** Name of the pool that carries traffic; empty when none does. */
  readonly activePool: string;
  readonly pools: readonly PoolView[];
  /** Fleet fingerprint of the VIP as programmed; empty when VPP is disabled. */
  readonly fingerprint: string;
  /** A change accepted but not yet applied (e.g. VPP not connected); empty when none. */
  readonly warning: string;
  /** Why VPP does not hold what this frontend wants (it refused a write); empty when it does. */
  readonly vppSyncError?: string;
}

/** VPP facts plus the messages an old VPP lacks. */
export interface VppInfoView extends VppInfo {
  /** `name_crc` of every message VPP lacks; empty when compatible. */
  readonly incompatible?: readonly string[];
}

/** One VIP as VPP has it (GetVPPLBState). */
export interface LbVipView {
  /** `address/len`. */
  readonly prefix: string;
  /** `tcp`, `udp` or `any`. */
  readonly protocol: string;
  readonly port: number;
  /** `gre4`, `gre6`, `l3dsr`, `nat4` or `nat6`. */
  readonly encap: string;
  readonly srcIpSticky: boolean;
  readonly flowTableLength: number;
  /** The configured frontend this VIP belongs to; empty when none. */
  readonly frontend: string;
  readonly ases: readonly AsView[];
}

/** The lb plugin's state (GetVPPLBState). */
export interface LbView {
  readonly ip4SrcAddress: string;
  readonly ip6SrcAddress: string;
  readonly stickyBucketsPerCore: number;
  /** Seconds. */
  readonly flowTimeout: number;
  readonly vips: readonly LbVipView[];
}

/** Per-VIP packet counters; counts are decimal strings (uint64). */
export interface CountersView {
  readonly frontend: string;
  readonly prefix: string;
  readonly protocol: string;
  readonly port: number;
  readonly next: string;
  readonly first: string;
  readonly untracked: string;
  readonly noServer: string;
}

/** CheckConfig's answer. */
export interface CheckConfigView {
  readonly ok: boolean;
  readonly parseError: string;
  readonly semanticError: string;
}

/** ReloadConfig's answer. */
export interface ReloadConfigView {
  readonly ok: boolean;
  readonly error: string;
  /** What the reload changed (when ok). */
  readonly plan?: PlanView;
}

/** A backend whose probing restarts on reload, and why. */
export interface ProbeRestartView {
  readonly backend: string;
  readonly reason: string;
}

/** A VIP deleted and added again by a reload: every flow it carries breaks. */
export interface VipRecreateView {
  readonly frontend: string;
  readonly address: string;
  readonly protocol: string;
  readonly port: number;
  /** What differs, e.g. `encap gre4 -> gre6`. */
  readonly reason: string;
  /** The flows that breaks, in words. */
  readonly flows: string;
  /** Application servers VPP holds for the VIP now (0 when unknown). */
  readonly applicationServers: number;
}

/** A pool member's weight that a reload changes. */
export interface WeightChangeView {
  readonly frontend: string;
  readonly pool: string;
  readonly backend: string;
  readonly weightFrom: number;
  readonly weightTo: number;
  readonly effectiveFrom: number;
  readonly effectiveTo: number;
}

/** A reload plan (DiffConfig, and ReloadConfig after applying). Names are sorted. */
export interface PlanView {
  /** False when the candidate does not load; then only the errors are set. */
  readonly ok: boolean;
  readonly parseError: string;
  readonly semanticError: string;
  /** False when the candidate is the running config in every respect. */
  readonly changed: boolean;
  readonly frontendsAdded: readonly string[];
  readonly frontendsRemoved: readonly string[];
  readonly frontendsChanged: readonly string[];
  readonly backendsAdded: readonly string[];
  readonly backendsRemoved: readonly string[];
  readonly healthchecksAdded: readonly string[];
  readonly healthchecksRemoved: readonly string[];
  readonly probesRestarted: readonly ProbeRestartView[];
  readonly vipsRecreated: readonly VipRecreateView[];
  readonly weightsChanged: readonly WeightChangeView[];
}

/** The running config (GetConfig). */
export interface ConfigView {
  /** YAML, defaults applied. */
  readonly yaml: string;
  /** The file it was loaded from. */
  readonly path: string;
  /** sha256 (hex) of the loaded file. */
  readonly hash: string;
}

/** The daemon's report on itself (GetStatus). */
export interface StatusView {
  readonly version: string;
  readonly commit: string;
  readonly buildDate: string;
  /** Unix ms. */
  readonly startTimeMs: number;
  readonly uptimeMs: number;
  readonly configPath: string;
  readonly configHash: string;
  /** `atMs` 0 when there was no reload since start. */
  readonly lastReload: { readonly atMs: number; readonly ok: boolean; readonly error: string };
  /** `min-delay`, `release` or `done`. */
  readonly warmup: string;
  readonly vpp: {
    /** `disabled`, `connected`, `disconnected` or `incompatible`. */
    readonly state: string;
    readonly apiSocket: string;
    readonly version: string;
    /** Unix ms the state was entered; 0 when unknown. */
    readonly sinceMs: number;
    readonly missingMessages: readonly string[];
    readonly error: string;
  };
  /** Backends by state, states with a count only. */
  readonly backends: Readonly<Record<string, number>>;
  /** Frontends by aggregate state. */
  readonly frontends: Readonly<Record<string, number>>;
}

/** What `show frontends NAME preview ...` asks (PreviewChange). */
export interface PreviewRequest {
  readonly frontend: string;
  readonly backend: string;
  /** Empty for every pool of the frontend holding the backend. */
  readonly pool: string;
  readonly weight: number;
  readonly disable: boolean;
}

/** A backend's share of a VIP's buckets. */
export interface BucketShareView {
  readonly backend: string;
  readonly address: string;
  readonly effectiveWeight: number;
  readonly buckets: number;
}

/** What a weight change or a disable would do to a VIP's new-flow table. */
export interface PreviewView {
  readonly frontend: string;
  readonly tableLength: number;
  readonly bucketsMoved: number;
  /** Per (from, to) pair, largest first; an empty name is "no backend". */
  readonly moves: readonly { readonly from: string; readonly to: string; buckets: number }[];
  readonly before: readonly BucketShareView[];
  readonly after: readonly BucketShareView[];
  readonly fingerprintBefore: string;
  readonly fingerprintAfter: string;
}

/** Operator actions on a backend. */
export type BackendAction = "pause" | "resume" | "enable" | "disable";

/** A weight change (SetFrontendPoolBackendWeight). */
export interface SetWeightRequest {
  readonly frontend: string;
  readonly pool: string;
  readonly backend: string;
  readonly weight: number;
  readonly flush: boolean;
}

/** What `watch events` asks for. */
export interface WatchRequest {
  readonly log: boolean;
  readonly logLevel: string;
  readonly backend: boolean;
  readonly frontend: boolean;
}

/** What kind of event a `watch events` line is. */
export type EventKind = "backend" | "frontend" | "log" | "resync";

/**
 * One event of `watch events`, flattened: the fields of its kind are set,
 * the others absent. `--json` prints exactly this object per line.
 */
export interface EventView {
  /** Monotonic per daemon run. */
  readonly seq: number;
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly kind: EventKind;
  /** backend and frontend events. */
  readonly frontend?: string;
  /** backend events. */
  readonly backend?: string;
  readonly address?: string;
  /** State before and after (backend and frontend events). */
  readonly from?: string;
  readonly to?: string;
  /** Probe result code and its detail (backend events). */
  readonly code?: string;
  readonly detail?: string;
  /** log events: level, event name and attributes in record order. */
  readonly level?: string;
  readonly msg?: string;
  readonly attrs?: Readonly<Record<string, string>>;
  /** resync events: why a fresh snapshot follows. */
  readonly reason?: string;
}

/**
 * The daemon as the client sees it. Every method rejects with the server's
 * error (a grpc-js error or a plain Error); the executor strips it for
 * display.
 */
export interface CliBackend {
  /** The address shown in the banner. */
  readonly server: string;
  /** Every frontend, in the server's (stable) order. */
  listFrontends(): Promise<FrontendView[]>;
  getFrontend(name: string): Promise<FrontendView>;
  /** Every active backend, sorted by name. */
  listBackends(): Promise<BackendSnapshot[]>;
  getBackend(name: string): Promise<BackendSnapshot>;
  backendAction(name: string, action: BackendAction): Promise<BackendSnapshot>;
  /** Every health check, sorted by name. */
  listHealthChecks(): Promise<HealthCheck[]>;
  getHealthCheck(name: string): Promise<HealthCheck>;
  setWeight(request: SetWeightRequest): Promise<FrontendView>;
  checkConfig(): Promise<CheckConfigView>;
  reloadConfig(): Promise<ReloadConfigView>;
  /** What a reload with `yaml` (the daemon's file on disk when undefined) would do. */
  diffConfig(yaml: string | undefined): Promise<PlanView>;
  /** The running config. */
  runningConfig(): Promise<ConfigView>;
  status(): Promise<StatusView>;
  preview(request: PreviewRequest): Promise<PreviewView>;
  vppInfo(): Promise<VppInfoView>;
  vppLbState(): Promise<LbView>;
  /** Syncs one frontend, or all when `frontend` is empty. */
  syncVppLbState(frontend: string): Promise<SyncStats>;
  vppLbCounters(): Promise<CountersView[]>;
  /** Events until `signal` aborts; never times out. */
  watchEvents(request: WatchRequest, signal: AbortSignal): AsyncIterable<EventView>;
  /** Releases the connection. */
  close(): void;
}
