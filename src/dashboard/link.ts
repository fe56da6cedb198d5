/**
 * The dashboard's link to one maglevd over its gRPC API: one `WatchEvents`
 * stream (resumed by sequence number after a drop, a full refetch on
 * `resync`), a health call every 5 s that doubles as the frontend refresh, a
 * full refetch every 30 s, and the lb state refetched at most once a second
 * (leading and trailing edge) after anything that moves weights.
 * @module
 */
import { type CallOptions, createClient, type MaglevClient } from "../grpc/client.ts";
import type { PreviewChangeRequestInit, PreviewChangeResponse } from "../../proto/maglev_pb.ts";
import { type Clock, realClock, sleep, type TimerId } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import {
  type Applied,
  applyEvent,
  applySnapshot,
  type DaemonView,
  newDaemonView,
  type Snapshot,
} from "./state.ts";

/** The part of the gRPC client the dashboard uses. */
export type DashboardClient =
  & Pick<
    MaglevClient,
    | "listFrontends"
    | "listBackends"
    | "getBackend"
    | "getVPPInfo"
    | "getVPPLBState"
    | "watchEvents"
    | "pauseBackend"
    | "resumeBackend"
    | "enableBackend"
    | "disableBackend"
    | "setFrontendPoolBackendWeight"
    | "close"
  >
  & {
    /** The disruption preview (UNIMPLEMENTED on daemons that predate it). */
    previewChange(
      request: PreviewChangeRequestInit,
      options?: CallOptions,
    ): Promise<PreviewChangeResponse>;
  };

/** The gRPC client as the dashboard uses it. */
export function dashboardClient(address: string): DashboardClient {
  const c = createClient(address);
  return {
    listFrontends: c.listFrontends,
    listBackends: c.listBackends,
    getBackend: c.getBackend,
    getVPPInfo: c.getVPPInfo,
    getVPPLBState: c.getVPPLBState,
    watchEvents: c.watchEvents,
    pauseBackend: c.pauseBackend,
    resumeBackend: c.resumeBackend,
    enableBackend: c.enableBackend,
    disableBackend: c.disableBackend,
    setFrontendPoolBackendWeight: c.setFrontendPoolBackendWeight,
    close: c.close,
    previewChange: (r, o) => c.call("PreviewChange", r, o),
  };
}

/** What happened to a link's view, for the page. */
export type ViewChange = { readonly view: DaemonView; readonly applied?: Applied };

/** Options of {@link DaemonLink}. */
export interface LinkOptions {
  clock?: Clock;
  /** Called after every change of the view. */
  onChange?: (change: ViewChange) => void;
  /** Health call period (default 5 s). */
  healthMs?: number;
  /** Full refetch period (default 30 s). */
  refreshMs?: number;
  /** The lb state refetch window (default 1 s). */
  lbDebounceMs?: number;
  /** The frontends (weights) refetch window (default 100 ms). */
  weightsDebounceMs?: number;
  /** Per-call deadline (default 5 s). */
  callTimeoutMs?: number;
  /**
   * Start streaming the daemon's debug records for the probe heartbeat
   * (default true; `setHeartbeat` changes it). They are built and sent for
   * every probe, which costs the daemon CPU (`bench/dashboard_bench.ts`);
   * without them the stream is at info.
   */
  heartbeat?: boolean;
}

/** Reconnect delays: 0.5 s doubling to 5 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(5_000, 500 * 2 ** Math.min(attempt, 4));
}

/** One daemon: its view, kept current by the stream and the timers. */
export class DaemonLink {
  /** What the page shows of this daemon. */
  readonly view: DaemonView;
  readonly #client: DashboardClient;
  readonly #clock: Clock;
  readonly #o: Required<Omit<LinkOptions, "clock" | "onChange" | "heartbeat">>;
  readonly #onChange: (change: ViewChange) => void;
  readonly #abort = new AbortController();
  #stream: { cancel(): void } | undefined;
  #healthTimer: TimerId | undefined;
  readonly #weights: EdgeDebounce;
  readonly #lb: EdgeDebounce;
  #needFull = true;
  #lostReason = "";
  #heartbeat: boolean;
  /** The stream is being reopened on purpose (a new log level), not lost. */
  #reopening = false;
  #running: Promise<void> | undefined;

  constructor(id: string, address: string, client: DashboardClient, options: LinkOptions = {}) {
    this.#client = client;
    this.#clock = options.clock ?? realClock;
    this.#onChange = options.onChange ?? (() => {});
    this.#o = {
      healthMs: options.healthMs ?? 5_000,
      refreshMs: options.refreshMs ?? 30_000,
      lbDebounceMs: options.lbDebounceMs ?? 1_000,
      weightsDebounceMs: options.weightsDebounceMs ?? 100,
      callTimeoutMs: options.callTimeoutMs ?? 5_000,
    };
    this.#heartbeat = options.heartbeat ?? true;
    this.view = newDaemonView(id, address, { nowMs: this.#clock.now() });
    this.#weights = new EdgeDebounce(this.#clock, this.#o.weightsDebounceMs, () => {
      void this.#refetchFrontends();
    });
    this.#lb = new EdgeDebounce(this.#clock, this.#o.lbDebounceMs, () => void this.#refetchLb());
  }

  /** The client, for the admin actions and on-demand reads. */
  get client(): DashboardClient {
    return this.#client;
  }

  /** Starts connecting (and reconnecting) in the background. */
  start(): void {
    this.#running ??= this.#run();
    this.#armHealth();
  }

  /** Stops the stream and the timers; resolves when the loop ended. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error("dashboard stopping"));
    this.#stream?.cancel();
    if (this.#healthTimer !== undefined) this.#clock.clearTimeout(this.#healthTimer);
    this.#weights.cancel();
    this.#lb.cancel();
    await this.#running;
    this.#client.close();
  }

  /**
   * Weights or VPP may have moved: the frontends are read again within
   * 100 ms (a backend's badge and its effective weight should not disagree
   * for long), the lb state within a second (it is the heavier read).
   */
  weightsMoved(): void {
    this.#weights.trigger();
    this.#lb.trigger();
  }

  /**
   * Turns the probe heartbeat on or off: the stream is reopened at the new
   * log level, resuming after the last sequence number it saw.
   */
  setHeartbeat(on: boolean): void {
    if (this.#heartbeat === on) return;
    this.#heartbeat = on;
    if (!on) {
      this.view.probes = {};
      this.#onChange({ view: this.view });
    }
    if (this.#stream) {
      this.#reopening = true;
      this.#stream.cancel();
    }
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#abort.signal.aborted) {
      try {
        if (this.#needFull) await this.#refetchAll();
        else await this.#health();
        await this.#probeAdmin();
        const stream = this.#client.watchEvents({
          backend: true,
          frontend: true,
          log: true,
          log_level: this.#heartbeat ? "debug" : "info",
          after_seq: this.view.lastSeq,
        });
        this.#stream = stream;
        this.#setConnection(true, "");
        attempt = 0;
        for await (const ev of stream) this.#onEvent(ev);
        if (this.#reopening) {
          // Resumes after the last sequence number: no event is lost.
          this.#reopening = false;
          continue;
        }
        if (!this.#abort.signal.aborted) throw new Error("the event stream ended");
      } catch (e) {
        if (this.#abort.signal.aborted) break;
        this.#setConnection(false, this.#lostReason || errorMessage(e));
        await sleep(this.#clock, retryDelayMs(attempt++), { signal: this.#abort.signal }).catch(
          () => {},
        );
      } finally {
        this.#stream = undefined;
        this.#lostReason = "";
      }
    }
  }

  #onEvent(ev: Parameters<typeof applyEvent>[1]): void {
    const applied = applyEvent(this.view, ev);
    if (applied.resync) {
      this.#needFull = true;
      this.#refetchAll().catch((e) => this.#lost(e));
    } else if (applied.refetchWeights) {
      this.weightsMoved();
    }
    if (applied.changed) this.#onChange({ view: this.view, applied });
  }

  async #refetchAll(): Promise<void> {
    const o = { timeoutMs: this.#o.callTimeoutMs };
    const [fl, bl] = await Promise.all([
      this.#client.listFrontends(o),
      this.#client.listBackends(o),
    ]);
    const snap: Snapshot = {
      frontends: fl.frontends,
      backends: bl.backends,
      vpp: await this.#vpp(),
    };
    applySnapshot(this.view, snap, { nowMs: this.#clock.now() });
    this.#needFull = false;
    this.#onChange({ view: this.view });
  }

  async #vpp(): Promise<Snapshot["vpp"]> {
    const o = { timeoutMs: this.#o.callTimeoutMs };
    try {
      const [info, lb] = await Promise.all([
        this.#client.getVPPInfo(o),
        this.#client.getVPPLBState(o),
      ]);
      return { info, lb };
    } catch (e) {
      return { error: errorMessage(e) };
    }
  }

  async #refetchFrontends(): Promise<void> {
    try {
      const fl = await this.#client.listFrontends({ timeoutMs: this.#o.callTimeoutMs });
      applySnapshot(this.view, { frontends: fl.frontends }, { nowMs: this.view.refreshedAtMs });
      this.#onChange({ view: this.view });
    } catch (e) {
      this.#lost(e);
    }
  }

  async #refetchLb(): Promise<void> {
    const vpp = await this.#vpp();
    if (this.#abort.signal.aborted) return;
    applySnapshot(this.view, { vpp }, { nowMs: this.view.refreshedAtMs });
    this.#onChange({ view: this.view });
  }

  // The health call: cheap, and it keeps the weights fresh between events.
  async #health(): Promise<void> {
    const fl = await this.#client.listFrontends({ timeoutMs: this.#o.callTimeoutMs });
    const before = JSON.stringify(this.view.frontends);
    if (JSON.stringify(fl.frontends) === before) return;
    applySnapshot(this.view, { frontends: fl.frontends }, { nowMs: this.view.refreshedAtMs });
    this.#onChange({ view: this.view });
  }

  /**
   * Asks whether this listener takes mutating RPCs with one that cannot
   * change anything: a pause of the empty name is refused for permission
   * before the name is looked at.
   */
  async #probeAdmin(): Promise<void> {
    await this.#probePreview();
    if (this.view.acceptsMutations !== undefined) return;
    try {
      await this.#client.pauseBackend({ name: "" }, { timeoutMs: this.#o.callTimeoutMs });
      this.view.acceptsMutations = true;
    } catch (e) {
      const code = (e as { codeName?: string }).codeName;
      if (code === "UNAVAILABLE" || code === "DEADLINE_EXCEEDED") throw e;
      this.view.acceptsMutations = code !== "PERMISSION_DENIED";
    }
  }

  // A preview of nothing: a daemon that has the RPC says what is missing.
  async #probePreview(): Promise<void> {
    try {
      await this.#client.previewChange({}, { timeoutMs: this.#o.callTimeoutMs });
      this.view.offersPreview = true;
    } catch (e) {
      const code = (e as { codeName?: string }).codeName;
      if (code === "UNAVAILABLE" || code === "DEADLINE_EXCEEDED") throw e;
      this.view.offersPreview = code !== "UNIMPLEMENTED";
    }
  }

  #armHealth(): void {
    if (this.#abort.signal.aborted) return;
    this.#healthTimer = this.#clock.setTimeout(async () => {
      this.#healthTimer = undefined;
      if (this.view.connection.connected) {
        const full = this.#clock.now() - this.view.refreshedAtMs >= this.#o.refreshMs;
        await (full ? this.#refetchAll() : this.#health()).catch((e) => this.#lost(e));
      }
      this.#armHealth();
    }, this.#o.healthMs);
  }

  // A failed call while the stream looked open: drop it so the loop reconnects.
  #lost(e: unknown): void {
    if (this.#abort.signal.aborted) return;
    this.#lostReason = errorMessage(e);
    this.#setConnection(false, this.#lostReason);
    this.#stream?.cancel();
  }

  #setConnection(connected: boolean, error: string): void {
    const c = this.view.connection;
    if (c.connected === connected && c.error === error) return;
    this.view.connection = {
      connected,
      error,
      sinceMs: c.connected === connected ? c.sinceMs : this.#clock.now(),
    };
    this.#onChange({ view: this.view });
  }
}

/**
 * Runs `fn` at once, and once more when the window closes (what it read may
 * predate the change that caused it: VPP is programmed a moment after the
 * event); triggers within the window only make that trailing run open
 * another window.
 */
class EdgeDebounce {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #fn: () => void;
  #timer: TimerId | undefined;
  #due = false;

  constructor(clock: Clock, ms: number, fn: () => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#fn = fn;
  }

  trigger(): void {
    if (this.#timer !== undefined) {
      this.#due = true;
      return;
    }
    this.#fn();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      const due = this.#due;
      this.#due = false;
      if (due) this.trigger();
      else this.#fn();
    }, this.#ms);
  }

  cancel(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
