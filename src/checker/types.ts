/**
 * The checker's narrow interfaces: what the gRPC server, the metrics
 * collector and the reconciler read from it, and the events it emits.
 * @module
 */
import type { Config } from "../config/types.ts";
import type { ProbeRecord, ProbeResult, ProbeSink, State, Transition } from "../health/types.ts";
import type { HealthCheck } from "../config/types.ts";
import type { Backend } from "../config/types.ts";

/** A point-in-time view of one backend (GetBackend, `show backends <name>`). */
export interface BackendSnapshot {
  readonly name: string;
  readonly address: string;
  readonly description: string;
  readonly state: State;
  /** Runtime enabled flag (may differ from the YAML after enable/disable). */
  readonly enabled: boolean;
  /** Health check name; empty for a static backend. */
  readonly healthcheck: string;
  /** Rise/fall counter and its maximum (rise + fall - 1). */
  readonly health: number;
  readonly healthMax: number;
  /** Newest first, bounded by `transition-history`. */
  readonly transitions: readonly Transition[];
  /** Newest first, at most 20. */
  readonly probes: readonly ProbeRecord[];
}

/** A backend's snapshot without its transitions and probe ring. */
export type BackendSummary = Omit<BackendSnapshot, "transitions" | "probes">;

/** Frontend aggregate state (spec 3.1). */
export type FrontendState = "unknown" | "up" | "down";

/** A backend transition as seen by one frontend that references it. */
export interface BackendEvent {
  readonly kind: "backend";
  readonly seq: number;
  readonly frontend: string;
  readonly backend: string;
  readonly address: string;
  readonly transition: Transition;
  /**
   * True when this re-tells a transition already published (a reload's
   * replay to the new frontends, a snapshot): nothing happened just now.
   */
  readonly replay?: boolean;
}

/** A frontend aggregate state change (from == to in snapshots). */
export interface FrontendEvent {
  readonly kind: "frontend";
  readonly seq: number;
  readonly frontend: string;
  readonly from: FrontendState;
  readonly to: FrontendState;
  /** Unix milliseconds. */
  readonly atMs: number;
}

/** A structured log record streamed to subscribers. */
export interface LogEvent {
  readonly kind: "log";
  readonly seq: number;
  readonly atMs: number;
  readonly level: "debug" | "info" | "warn" | "error";
  readonly msg: string;
  readonly attrs: Readonly<Record<string, string | number | boolean | null | undefined>>;
}

/**
 * Told to a subscriber that fell behind (or resumed from a sequence number no
 * longer kept): a fresh snapshot follows, so nothing is silently lost.
 */
export interface ResyncEvent {
  readonly kind: "resync";
  readonly seq: number;
  readonly reason: string;
}

/** Everything that flows on the event bus. */
export type MaglevEvent = BackendEvent | FrontendEvent | LogEvent | ResyncEvent;

/** What a subscriber wants. */
export interface SubscribeOptions {
  /** Include backend transitions (default true). */
  backend?: boolean;
  /** Include frontend transitions (default true). */
  frontend?: boolean;
  /** Include log records (default false). */
  log?: boolean;
  /** Minimum level of streamed log records (default "info"). */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Resume after this sequence number instead of starting with a snapshot. */
  afterSeq?: number;
  /** Events buffered for this subscriber before it is declared slow (default 1024). */
  bufferSize?: number;
  /** Ends the subscription. */
  signal?: AbortSignal;
}

/** Where events can be read from (the gRPC server, the reconciler). */
export interface EventSource {
  /**
   * Snapshot events first (one synthetic event per frontend/backend pair and
   * per frontend, `from == to`), then live events in sequence order; a slow
   * subscriber gets a `resync` event followed by a new snapshot.
   */
  subscribe(options?: SubscribeOptions): AsyncIterable<MaglevEvent>;
  /** The sequence number of the newest event. */
  lastSeq(): number;
}

/** Called after every probe (metrics, logs) without the checker knowing them. */
export type ProbeObserver = (
  backend: string,
  healthcheck: HealthCheck,
  result: ProbeResult,
) => void;

/** Runs one probe; injectable so tests use fakes. Must honour `signal`. */
export type ProbeFn = (
  healthcheck: HealthCheck,
  backend: Backend,
  signal: AbortSignal,
) => Promise<ProbeResult>;

/**
 * A prober the checker drives without a promise, signal or timer per probe
 * (the daemon's prober). The driver owns the one deadline of each probe: the
 * sink hears the result by the check's timeout (plus the driver's tick).
 */
export interface ProbeDriver {
  /** Starts a probe; `sink.probeDone` gets its result. Returns a ticket for `cancel`. */
  start(healthcheck: HealthCheck, backend: Backend, sink: ProbeSink): number;
  /** Gives up a probe; its sink hears nothing. */
  cancel(ticket: number): void;
}

/** Result of a reload attempt. */
export type ReloadResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly kind: "parse" | "semantic"; readonly error: string };

/**
 * Operations on the running health checker. All throw `MaglevError` with the
 * kind of spec 0.5 on bad input, and change nothing then.
 */
export interface CheckerApi {
  /** The running config, including runtime weight and enabled changes. */
  config(): Config;
  /** Sorted names of active backends (referenced by a pool). */
  listBackends(): string[];
  getBackend(name: string): BackendSnapshot;
  /** {@linkcode getBackend} without the history: what a scrape of 50,000 backends reads. */
  backendSummary(name: string): BackendSummary;
  backendState(name: string): State | undefined;
  /**
   * When the backend's newest transition happened (clock ms), undefined when
   * it has none or is not active: the flush ledger's key, read per AS, so no
   * snapshot is built for it.
   */
  lastTransitionAt(name: string): number | undefined;
  frontendState(name: string): FrontendState;
  pause(name: string): BackendSnapshot;
  resume(name: string): BackendSnapshot;
  enable(name: string): BackendSnapshot;
  disable(name: string): BackendSnapshot;
  /** Changes a pool weight in memory (spec 3.5); emits no health event. */
  setWeight(frontend: string, pool: string, backend: string, weight: number): void;
  /** Applies a validated config (spec 3.7). */
  applyConfig(next: Config): void;
}
