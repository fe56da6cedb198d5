/**
 * The dashboard's model: one link per daemon, the state the JSON API hands
 * out, and what goes on the page's event stream. A daemon's view goes out
 * whole (it is small), at most once per coalescing window however many
 * events moved it; event-log lines go out one by one as they happen.
 * @module
 */
import { type Clock, realClock, type TimerId } from "../clock.ts";
import type {
  BackendInfo,
  FrontendInfo,
  PreviewChangeRequestInit,
  PreviewChangeResponse,
} from "../../proto/maglev_pb.ts";
import { VERSION } from "../version.ts";
import { compareFleet, type FleetRow } from "./fleet.ts";
import { DaemonLink, type DashboardClient, type LinkOptions, type ViewChange } from "./link.ts";
import { type DaemonView, noteAction } from "./state.ts";
import { SseHub } from "./sse.ts";

/** How long view changes of one daemon are gathered before they go out. */
export const COALESCE_MS = 100;

/**
 * How long the probe heartbeat stays on after the last browser left (a page
 * reload should not switch it off and on again).
 */
export const HEARTBEAT_LINGER_MS = 30_000;

/** A daemon's view without its event log (which travels line by line). */
export type DaemonSummary = Omit<DaemonView, "events">;

/** What `/api/state` returns. */
export interface BoardState {
  readonly version: string;
  /** The newest event id: the page resumes its stream from here. */
  readonly lastEventId: string;
  /** The admin area is configured (and this request passed it). */
  readonly admin: boolean;
  readonly daemons: readonly DaemonView[];
  readonly fleet: readonly FleetRow[];
}

/** An admin action on one backend. */
export type BackendAction = "pause" | "resume" | "enable" | "disable";

/** A weight change. */
export interface WeightChange {
  readonly frontend: string;
  readonly pool: string;
  readonly backend: string;
  readonly weight: number;
  readonly flush?: boolean;
}

/** Options of {@link Board}. */
export interface BoardOptions {
  clock?: Clock;
  /** Makes the client of one `--server` address. */
  connect: (address: string) => DashboardClient;
  /** The SSE hub (default: a new one on `clock`). */
  hub?: SseHub;
  /** Link settings (timers for tests; the heartbeat). */
  link?: Pick<
    LinkOptions,
    "healthMs" | "refreshMs" | "lbDebounceMs" | "weightsDebounceMs" | "heartbeat"
  >;
}

/** Thrown for a request naming a daemon or action that does not exist. */
export class NotFoundError extends Error {}

/** The links to every daemon and the page's event stream. */
export class Board {
  /** The page's event stream. */
  readonly hub: SseHub;
  readonly #links: DaemonLink[];
  readonly #clock: Clock;
  /** Daemons with changes not sent yet, and whether more than the heartbeat moved. */
  readonly #dirty = new Map<string, { whole: boolean; timer: TimerId }>();
  readonly #heartbeatAllowed: boolean;
  #heartbeatOff: TimerId | undefined;
  #stopped = false;

  constructor(addresses: readonly string[], options: BoardOptions) {
    this.#clock = options.clock ?? realClock;
    this.hub = options.hub ?? new SseHub({ clock: this.#clock });
    this.#heartbeatAllowed = options.link?.heartbeat ?? true;
    // The heartbeat costs the daemons CPU per probe: on only while a
    // browser watches.
    this.#links = addresses.map((address, i) =>
      new DaemonLink(String(i), address, options.connect(address), {
        ...options.link,
        heartbeat: false,
        clock: this.#clock,
        onChange: (c) => this.#changed(c),
      })
    );
    this.hub.onClients((n) => this.#viewers(n));
  }

  /** Connects to every daemon. */
  start(): void {
    for (const l of this.#links) l.start();
  }

  /** Disconnects from every daemon and ends the page streams. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#heartbeatOff !== undefined) this.#clock.clearTimeout(this.#heartbeatOff);
    this.#heartbeatOff = undefined;
    for (const d of this.#dirty.values()) this.#clock.clearTimeout(d.timer);
    this.#dirty.clear();
    await Promise.all(this.#links.map((l) => l.stop()));
    this.hub.close();
  }

  /** Every daemon's view. */
  views(): DaemonView[] {
    return this.#links.map((l) => l.view);
  }

  /** The whole state, for `/api/state`. */
  state(admin: boolean): BoardState {
    const daemons = this.views();
    return {
      version: VERSION,
      lastEventId: this.hub.lastId,
      admin,
      daemons,
      fleet: compareFleet(daemons),
    };
  }

  /** One backend read live from its daemon (with its probe ring). */
  backend(daemonId: string, name: string): Promise<BackendInfo> {
    return this.#link(daemonId).client.getBackend({ name }, { timeoutMs: 5_000 });
  }

  /** Pauses, resumes, enables or disables a backend on one daemon. */
  async backendAction(daemonId: string, action: BackendAction, name: string): Promise<BackendInfo> {
    const link = this.#link(daemonId);
    const c = link.client;
    const call = {
      pause: c.pauseBackend,
      resume: c.resumeBackend,
      enable: c.enableBackend,
      disable: c.disableBackend,
    }[action];
    if (!call) throw new NotFoundError(`unknown action ${JSON.stringify(action)}`);
    const info = await call.call(c, { name }, { timeoutMs: 5_000 });
    this.#note(link, `dashboard: ${action} backend ${name}`);
    return info;
  }

  /** Sets a pool weight on one daemon. */
  async setWeight(daemonId: string, change: WeightChange): Promise<FrontendInfo> {
    const link = this.#link(daemonId);
    const info = await link.client.setFrontendPoolBackendWeight(change, { timeoutMs: 5_000 });
    const flush = change.flush ? " (flush)" : "";
    this.#note(
      link,
      `dashboard: set ${change.frontend} pool ${change.pool} backend ${change.backend} ` +
        `weight ${change.weight}${flush}`,
    );
    return info;
  }

  /** What a weight change or a disable would move, computed by the daemon. */
  preview(daemonId: string, request: PreviewChangeRequestInit): Promise<PreviewChangeResponse> {
    return this.#link(daemonId).client.previewChange(request, { timeoutMs: 5_000 });
  }

  /** The link of `daemonId`, or NotFoundError. */
  #link(daemonId: string): DaemonLink {
    const link = this.#links.find((l) => l.view.id === daemonId);
    if (!link) throw new NotFoundError(`no daemon ${JSON.stringify(daemonId)}`);
    return link;
  }

  #viewers(n: number): void {
    if (!this.#heartbeatAllowed || this.#stopped) return;
    if (n > 0) {
      if (this.#heartbeatOff !== undefined) this.#clock.clearTimeout(this.#heartbeatOff);
      this.#heartbeatOff = undefined;
      for (const l of this.#links) l.setHeartbeat(true);
    } else if (this.#heartbeatOff === undefined) {
      this.#heartbeatOff = this.#clock.setTimeout(() => {
        this.#heartbeatOff = undefined;
        for (const l of this.#links) l.setHeartbeat(false);
      }, HEARTBEAT_LINGER_MS);
    }
  }

  #note(link: DaemonLink, text: string): void {
    const line = noteAction(link.view, { atMs: this.#clock.now(), text });
    this.hub.publish("log", { daemon: link.view.id, line });
    link.weightsMoved();
  }

  // A heartbeat-only window sends the probe map alone: probe records come
  // far more often than anything else and the rest of the view is larger.
  #changed(c: ViewChange): void {
    if (c.applied?.line) this.hub.publish("log", { daemon: c.view.id, line: c.applied.line });
    const id = c.view.id;
    const whole = c.applied?.heartbeat !== true;
    const pending = this.#dirty.get(id);
    if (pending) {
      pending.whole ||= whole;
      return;
    }
    const entry = {
      whole,
      timer: this.#clock.setTimeout(() => {
        this.#dirty.delete(id);
        if (!entry.whole) {
          this.hub.publish("probes", { daemon: id, probes: c.view.probes });
          return;
        }
        this.hub.publish("daemon", summary(c.view));
        this.hub.publish("fleet", compareFleet(this.views()));
      }, COALESCE_MS),
    };
    this.#dirty.set(id, entry);
  }
}

/** The view without its event log. */
export function summary(view: DaemonView): DaemonSummary {
  const { events: _events, ...rest } = view;
  return rest;
}
