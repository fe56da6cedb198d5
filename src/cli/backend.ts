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
