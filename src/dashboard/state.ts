/**
 * What the dashboard knows about one maglevd: the daemon's own answers
 * (frontends, backends, VPP) kept as the API returns them, with its event
 * stream applied on top between refetches. Nothing here decides a weight or
 * a state: a backend event sets the state the daemon reported, and the
 * effective weights that follow from it come from the next refetch (the
 * daemon owns that rule).
 * @module
 */
import type {
  BackendInfo,
  Event,
  FrontendInfo,
  Transition,
  VPPInfo,
  VPPLBState,
} from "../../proto/maglev_pb.ts";

/** Events kept per daemon for the page's event log. */
export const EVENT_LOG_SIZE = 200;

/** Transitions kept per backend (newest first). */
export const TRANSITIONS_KEPT = 5;

/** One line of the event log. */
export interface LogLine {
  /** Unix milliseconds. */
  readonly atMs: number;
  /** `backend`, `frontend`, `log` or `resync`. */
  readonly kind: string;
  /** `debug`..`error` for logs; `info` (or `warn` for a transition to down) otherwise. */
  readonly level: string;
  /** One human line. */
  readonly text: string;
}

/** The probe heartbeat of one backend. */
export interface ProbeBeat {
  /** A probe is in flight. */
  inFlight: boolean;
  /** When the last probe finished (unix ms), 0 when none was seen. */
  lastAtMs: number;
  /** Its result. */
  lastOk: boolean;
}

/** The connection to one daemon as the indicator shows it. */
export interface Connection {
  /** The event stream is open. */
  connected: boolean;
  /** When `connected` last changed (unix ms). */
  sinceMs: number;
  /** Why the last attempt failed; empty when connected. */
  error: string;
}

/** The dashboard's view of one maglevd (what `/api/state` returns per daemon). */
export interface DaemonView {
  /** Stable id in the URL (`0`, `1`, ... in `--server` order). */
  readonly id: string;
  /** The `--server` address. */
  readonly address: string;
  connection: Connection;
  /** Mutating RPCs are allowed on this listener (unknown until probed). */
  acceptsMutations: boolean | undefined;
  /** The daemon offers the disruption preview. */
  offersPreview: boolean;
  frontends: FrontendInfo[];
  /** Active backends by name, transitions trimmed, probes left out (fetched on demand). */
  backends: Record<string, BackendInfo>;
  /** VPP identity, or why it is unavailable. */
  vpp: { info?: VPPInfo; lb?: VPPLBState; error?: string };
  /** Probe heartbeat by backend name. */
  probes: Record<string, ProbeBeat>;
  /** The newest sequence number seen (resumption point). */
  lastSeq: string;
  /** When the last full refetch finished (unix ms). */
  refreshedAtMs: number;
  /** Newest last. */
  events: LogLine[];
}

/** An empty view of a daemon that was never reached. */
export function newDaemonView(
  id: string,
  address: string,
  { nowMs }: { readonly nowMs: number },
): DaemonView {
  return {
    id,
    address,
    connection: { connected: false, sinceMs: nowMs, error: "connecting" },
    acceptsMutations: undefined,
    offersPreview: false,
    frontends: [],
    backends: {},
    vpp: {},
    probes: {},
    lastSeq: "0",
    refreshedAtMs: 0,
    events: [],
  };
}

/** A full refetch's results; a missing part keeps what the view had. */
export interface Snapshot {
  frontends?: FrontendInfo[];
  backends?: BackendInfo[];
  vpp?: { info?: VPPInfo; lb?: VPPLBState; error?: string };
}

/**
 * Replaces what `snap` carries; the event log and heartbeat stay. The first
 * snapshot starts the event log with the transitions the daemon remembers,
 * so the page opens on recent history rather than on nothing.
 */
export function applySnapshot(
  view: DaemonView,
  snap: Snapshot,
  { nowMs }: { readonly nowMs: number },
): void {
  if (snap.frontends) view.frontends = snap.frontends;
  if (snap.backends && view.refreshedAtMs === 0 && view.events.length === 0) {
    const past = snap.backends.flatMap((b) => b.transitions.map((t) => ({ b: b.name, t })))
      .filter(({ t }) => t.from !== t.to)
      .sort((x, y) => nsToMs(x.t.at_ns) - nsToMs(y.t.at_ns));
    for (const { b, t } of past) transitionLine(view, b, t, nsToMs(t.at_ns));
  }
  if (snap.backends) {
    const backends: Record<string, BackendInfo> = {};
    for (const b of snap.backends) {
      backends[b.name] = {
        ...b,
        transitions: b.transitions.slice(0, TRANSITIONS_KEPT),
        probes: [],
      };
    }
    view.backends = backends;
  }
  if (snap.vpp) view.vpp = snap.vpp;
  view.refreshedAtMs = nowMs;
}

/** What applying one event changed, so the caller knows what to refetch and tell the page. */
export interface Applied {
  /** The view changed (the page needs the new one). */
  readonly changed: boolean;
  /** A line for the event log, if the event is worth one. */
  readonly line?: LogLine;
  /** Effective weights or VPP may have moved: refetch frontends and the lb state. */
  readonly refetchWeights: boolean;
  /** The daemon asked for a full refetch. */
  readonly resync: boolean;
  /** Only the probe heartbeat moved (the page needs `probes`, not the whole view). */
  readonly heartbeat?: boolean;
}

const NOTHING: Applied = { changed: false, refetchWeights: false, resync: false };

/** Applies one `WatchEvents` event to the view. */
export function applyEvent(view: DaemonView, ev: Event): Applied {
  // A resync restarts the numbering where the daemon is now: after a daemon
  // restart its numbers are smaller than the ones seen before.
  if (ev.resync || BigInt(ev.seq || "0") > BigInt(view.lastSeq)) view.lastSeq = ev.seq || "0";
  const atMs = nsToMs(ev.at_ns);
  if (ev.backend) return applyBackend(view, ev.backend, atMs);
  if (ev.frontend) {
    const f = view.frontends.find((x) => x.name === ev.frontend!.frontend);
    if (f) f.state = ev.frontend.to;
    if (ev.frontend.from === ev.frontend.to) return { ...NOTHING, changed: f !== undefined };
    const text = `frontend ${ev.frontend.frontend} ${ev.frontend.from} -> ${ev.frontend.to}`;
    return { changed: true, refetchWeights: true, resync: false, line: logLine(view, atMs, text) };
  }
  if (ev.resync) {
    const text = `resync: ${ev.resync.reason}`;
    const line = push(view, { atMs, kind: "resync", level: "warn", text });
    return { changed: true, refetchWeights: true, resync: true, line };
  }
  if (ev.log) return applyLog(view, ev.log, atMs);
  return NOTHING;
}

function applyBackend(view: DaemonView, be: NonNullable<Event["backend"]>, atMs: number): Applied {
  const t = be.transition;
  if (!t) return NOTHING;
  const b = view.backends[be.backend];
  for (const f of view.frontends) {
    for (const p of f.pools) {
      for (const pb of p.backends) if (pb.name === be.backend) setState(pb, t.to);
    }
  }
  // A snapshot event (from == to) restates the state; it is no transition.
  if (t.from === t.to) {
    if (b) setState(b, t.to);
    return { ...NOTHING, changed: true };
  }
  if (b) {
    setState(b, t.to);
    if (b.transitions[0]?.at_ns !== t.at_ns || b.transitions[0]?.to !== t.to) {
      b.transitions = [t as Transition, ...b.transitions].slice(0, TRANSITIONS_KEPT);
    }
  }
  const line = transitionLine(view, be.backend, t, atMs);
  return { changed: true, refetchWeights: true, resync: false, line };
}

function transitionLine(view: DaemonView, backend: string, t: Transition, atMs: number): LogLine {
  const detail = t.detail ? ` (${t.detail})` : "";
  const text = `backend ${backend} ${t.from} -> ${t.to} ${t.code}${detail}`;
  return push(view, { atMs, kind: "backend", level: t.to === "down" ? "warn" : "info", text });
}

function setState(target: { state: string; enabled: boolean }, state: string): void {
  target.state = state;
  if (state === "disabled") target.enabled = false;
  else if (state !== "removed") target.enabled = true;
}

/** Probe records drive the heartbeat; other records at info and above go to the event log. */
function applyLog(view: DaemonView, rec: NonNullable<Event["log"]>, atMs: number): Applied {
  const attrs = new Map(rec.attrs.map((a) => [a.key, a.value]));
  const backend = attrs.get("backend");
  if ((rec.msg === "probe-start" || rec.msg === "probe-done") && backend !== undefined) {
    const beat = view.probes[backend] ??= { inFlight: false, lastAtMs: 0, lastOk: true };
    beat.inFlight = rec.msg === "probe-start";
    if (rec.msg === "probe-done") {
      beat.lastAtMs = atMs;
      beat.lastOk = attrs.get("ok") !== "false";
    }
    return { ...NOTHING, changed: true, heartbeat: true };
  }
  // Transitions arrive as backend/frontend events already.
  if (rec.level === "debug" || rec.msg === "backend-transition") return NOTHING;
  const text = [rec.msg, ...rec.attrs.map((a) => `${a.key}=${a.value}`)].join(" ");
  const line = push(view, { atMs, kind: "log", level: rec.level, text });
  const vppMoved = rec.msg.startsWith("vpp-");
  return { changed: true, refetchWeights: vppMoved, resync: false, line };
}

function logLine(view: DaemonView, atMs: number, text: string): LogLine {
  return push(view, { atMs, kind: "frontend", level: "info", text });
}

function push(view: DaemonView, line: LogLine): LogLine {
  view.events.push(line);
  if (view.events.length > EVENT_LOG_SIZE) {
    view.events.splice(0, view.events.length - EVENT_LOG_SIZE);
  }
  return line;
}

/** Unix nanoseconds (decimal string) to milliseconds. */
export function nsToMs(ns: string | undefined): number {
  if (!ns) return 0;
  return Number(BigInt(ns) / 1_000_000n);
}

/** An operator's dashboard action: when, and what it did. */
export interface ActionNote {
  readonly atMs: number;
  readonly text: string;
}

/** Records an operator's dashboard action in the daemon's event log. */
export function noteAction(view: DaemonView, { atMs, text }: ActionNote): LogLine {
  return push(view, { atMs, kind: "admin", level: "info", text });
}
