/**
 * The health checker (spec 3): one probe loop per active backend, the state
 * machines, operator actions, reload, and the event bus.
 *
 * Loops are timer callbacks on the injected {@linkcode Clock}, not async
 * loops: a sleeping backend is one pending timer and nothing else. With a
 * {@linkcode ProbeDriver} (the daemon's prober) a probe costs the checker
 * nothing more: the driver owns its only deadline and calls the backend's
 * sink, bound once. A bare {@linkcode ProbeFn} (tests) gets an
 * AbortController and a deadline timer per probe, as a safety net for
 * probers that do not keep their own deadline.
 * @module
 */
import type { Backend, Config, Frontend, HealthCheck, Pool } from "../config/types.ts";
import type { ProbeResult, ProbeSink, State, StateSource, Transition } from "../health/types.ts";
import type {
  BackendEvent,
  BackendSnapshot,
  CheckerApi,
  EventSource,
  FrontendEvent,
  FrontendState,
  MaglevEvent,
  ProbeDriver,
  ProbeFn,
  ProbeObserver,
  SubscribeOptions,
} from "./types.ts";
import { HealthMachine } from "../health/mod.ts";
import { frontendState as aggregateState } from "../weights/mod.ts";
import { healthCheckEqual } from "../config/mod.ts";
import { type Clock, realClock, type TimerId } from "../clock.ts";
import { backendNotFound, errorMessage, frontendNotFound, MaglevError } from "../errors.ts";
import { formatDuration } from "../config/duration.ts";
import { levelAtLeast, log, logLevel } from "../log/mod.ts";
import { EventBus } from "./events.ts";

export { EventBus } from "./events.ts";

/** Idle time between the synthetic passes of a static backend (spec 3.6). */
export const STATIC_IDLE_MS = 30_000;

/**
 * Time a probe gets after its deadline (when its signal aborts) to report
 * its own, more specific, failure before the checker records a timeout.
 */
export const DEADLINE_GRACE_MS = 50;

/** The synthetic pass of a static backend (spec 3.6). */
const STATIC_PASS: ProbeResult = Object.freeze({
  ok: true,
  layer: "L7",
  code: "L7OK",
  detail: "static backend",
  durationMs: 0,
});

/** Dependencies and hooks of a {@linkcode Checker}. */
export interface CheckerOptions {
  /** Runs one probe; must honour its signal. Unused when `driver` is given. */
  probe?: ProbeFn;
  /** Starts probes and keeps their deadlines (the daemon's prober). */
  driver?: ProbeDriver;
  /** Defaults to the real clock. */
  clock?: Clock;
  /** Jitter source in [0, 1); defaults to `Math.random`. */
  random?: () => number;
  /** Called after every probe (not for static backends). */
  onProbe?: ProbeObserver;
  /** Called after every state change. */
  onTransition?: (backend: string, transition: Transition) => void;
  /**
   * Called for a probe that failed for a reason of this host (issue 12.2);
   * such a result is not recorded and moves no state.
   */
  onLocalError?: ProbeObserver;
}

/** Local probe errors are logged at most this often (the rest are counted). */
export const LOCAL_ERROR_LOG_MS = 1000;

/** One probe on its way. */
interface Inflight {
  readonly ac: AbortController;
  readonly startMono: number;
  deadline: TimerId | undefined;
  grace: TimerId | undefined;
  /** The deadline passed: a pass arriving now counts as a timeout. */
  late: boolean;
  promise: Promise<void> | undefined;
}

/** A backend referenced by at least one pool. */
interface Entry {
  readonly name: string;
  /** From the running config, with the runtime enabled flag. */
  backend: Backend;
  /** Undefined for a static backend. */
  hc: HealthCheck | undefined;
  machine: HealthMachine;
  /** Sorted names of the frontends referencing it. */
  frontends: string[];
  /** A loop is scheduled (timer pending or probe in flight). */
  running: boolean;
  timer: TimerId | undefined;
  inflight: Inflight | undefined;
  /** The driver's ticket of the probe in flight; undefined when none. */
  ticket: number | undefined;
  /** When the driven probe in flight started (monotonic ms). */
  startMono: number;
  /** Bound once so scheduling allocates nothing. */
  readonly onTimer: () => void;
  /** The driver's sink for this backend, bound once. */
  readonly sink: ProbeSink;
}

function frozenConfig(cfg: Config, patch: Partial<Config>): Config {
  return Object.freeze({ ...cfg, ...patch });
}

/** Backend name → sorted names of the frontends whose pools list it. */
function referencingFrontends(cfg: Config): Map<string, string[]> {
  const refs = new Map<string, string[]>();
  for (const feName of Object.keys(cfg.frontends).sort()) {
    for (const pool of cfg.frontends[feName].pools) {
      for (const pb of pool.backends) {
        let list = refs.get(pb.name);
        if (!list) refs.set(pb.name, list = []);
        if (list[list.length - 1] !== feName) list.push(feName);
      }
    }
  }
  return refs;
}

function sameHealthCheck(a: HealthCheck | undefined, b: HealthCheck | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return healthCheckEqual(a, b);
}

/** The timeout code of a health check type: the layer the probe ends at. */
function timeoutResult(hc: HealthCheck, durationMs: number): ProbeResult {
  const detail = `timeout after ${formatDuration(hc.timeoutMs)}`;
  switch (hc.type) {
    case "icmp":
      return { ok: false, layer: "L3", code: "L3TOUT", detail, durationMs };
    case "tcp":
      return { ok: false, layer: "L4", code: "L4TOUT", detail, durationMs };
    default:
      return { ok: false, layer: "L7", code: "L7TOUT", detail, durationMs };
  }
}

function errorResult(hc: HealthCheck, err: unknown, durationMs: number): ProbeResult {
  const detail = errorMessage(err);
  return hc.type === "icmp"
    ? { ok: false, layer: "L3", code: "L3CON", detail, durationMs }
    : { ok: false, layer: "L4", code: "L4CON", detail, durationMs };
}

function disabledError(name: string): MaglevError {
  return new MaglevError(
    "FAILED_PRECONDITION",
    `backend ${JSON.stringify(name)} is disabled; enable it first`,
  );
}

/**
 * The running health checker. Construct, then `start()`; `stop()` cancels
 * every loop, aborts probes in flight and ends all subscriptions.
 */
export class Checker implements CheckerApi, EventSource, StateSource {
  #config: Config;
  readonly #probe: ProbeFn | undefined;
  readonly #driver: ProbeDriver | undefined;
  readonly #onLocalError: ProbeObserver | undefined;
  #localErrorLoggedAt = -Infinity;
  #localErrorsUnlogged = 0;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onProbe: ProbeObserver | undefined;
  readonly #onTransition: ((backend: string, t: Transition) => void) | undefined;
  #entries = new Map<string, Entry>();
  #sortedNames: string[] | undefined;
  #feStates = new Map<string, FrontendState>();
  #bus: EventBus;
  #started = false;
  #stopped = false;
  /** Probe promises whose loop was cancelled; awaited by `stop()`. */
  #orphans = new Set<Promise<void>>();

  constructor(config: Config, options: CheckerOptions) {
    this.#config = config;
    this.#probe = options.probe;
    this.#driver = options.driver;
    this.#onLocalError = options.onLocalError;
    if (!this.#probe && !this.#driver) throw new TypeError("Checker needs a probe or a driver");
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#onProbe = options.onProbe;
    this.#onTransition = options.onTransition;
    this.#bus = new EventBus((seq) => this.#snapshotEvents(seq));
    const refs = referencingFrontends(config);
    for (const name of [...refs.keys()].sort()) {
      const backend = config.backends[name];
      if (!backend) continue; // validation forbids it; be safe anyway
      const entry = this.#newEntry(name, config, refs.get(name)!);
      if (!backend.enabled) entry.machine.disable(this.#clock.now());
      this.#entries.set(name, entry);
    }
    for (const name of Object.keys(config.frontends)) {
      this.#feStates.set(name, aggregateState(config.frontends[name], this));
    }
  }

  // ---- lifecycle ----

  /** Starts the probe loops with the start stagger of spec 3.4. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    const startable = this.#names().map((n) => this.#entries.get(n)!).filter((e) =>
      this.#probing(e)
    );
    for (const e of startable) log.info("backend-start", { backend: e.name });
    this.#startStaggered(startable);
  }

  /** Cancels every loop, aborts probes in flight, ends subscriptions. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#started = false;
    for (const e of this.#entries.values()) this.#stopLoop(e);
    this.#bus.close();
    while (this.#orphans.size > 0) await Promise.allSettled([...this.#orphans]);
  }

  // ---- reads ----

  /** The running config, including runtime weight and enabled changes. */
  config(): Config {
    return this.#config;
  }

  /** Sorted names of the backends referenced by a pool (the active set). */
  listBackends(): string[] {
    return this.#names().slice();
  }

  /** Sorted backend names (shared array: do not modify). */
  #names(): string[] {
    return this.#sortedNames ??= [...this.#entries.keys()].sort();
  }

  /** A point-in-time view of one backend; NOT_FOUND when not active. */
  getBackend(name: string): BackendSnapshot {
    return this.#snapshot(this.#entry(name));
  }

  /** The backend's state, undefined when it is not active. */
  backendState(name: string): State | undefined {
    return this.#entries.get(name)?.machine.state;
  }

  /** A frontend's aggregate state; NOT_FOUND for an unknown frontend. */
  frontendState(name: string): FrontendState {
    const s = this.#feStates.get(name);
    if (s === undefined) throw frontendNotFound(name);
    return s;
  }

  /** Sequence number of the newest event. */
  lastSeq(): number {
    return this.#bus.lastSeq();
  }

  /** Snapshot then live events (spec 0.3); see {@linkcode EventBus}. */
  subscribe(options?: SubscribeOptions): AsyncIterable<MaglevEvent> {
    return this.#bus.subscribe(options);
  }

  // ---- operator actions (spec 3.5) ----

  /** Stops probing; state `paused`. FAILED_PRECONDITION when disabled. */
  pause(name: string): BackendSnapshot {
    const e = this.#entry(name);
    if (!e.backend.enabled) throw disabledError(name);
    this.#stopLoop(e);
    const t = e.machine.pause(this.#clock.now());
    if (t) this.#transitioned(e, t);
    return this.#snapshot(e);
  }

  /** Paused → unknown and probing at once. FAILED_PRECONDITION when disabled. */
  resume(name: string): BackendSnapshot {
    const e = this.#entry(name);
    if (!e.backend.enabled) throw disabledError(name);
    const t = e.machine.resume(this.#clock.now());
    if (t) this.#transitioned(e, t);
    if (!e.running && this.#probing(e)) this.#startLoop(e, 0);
    return this.#snapshot(e);
  }

  /** Administratively out: state `disabled`, probing stops, weight 0 with flush. */
  disable(name: string): BackendSnapshot {
    const e = this.#entry(name);
    this.#stopLoop(e);
    this.#setEnabled(e, false);
    const t = e.machine.disable(this.#clock.now());
    if (t) this.#transitioned(e, t);
    return this.#snapshot(e);
  }

  /** Disabled → unknown and probing at once; otherwise only the flag is set. */
  enable(name: string): BackendSnapshot {
    const e = this.#entry(name);
    this.#setEnabled(e, true);
    const t = e.machine.enable(this.#clock.now());
    if (t) this.#transitioned(e, t);
    if (!e.running && this.#probing(e)) this.#startLoop(e, 0);
    return this.#snapshot(e);
  }

  /** Changes a pool weight in the running config (spec 3.5); no health event. */
  setWeight(frontend: string, pool: string, backend: string, weight: number): void {
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw new MaglevError("INVALID_ARGUMENT", `weight ${weight} out of range [0, 100]`);
    }
    const fe = this.#config.frontends[frontend];
    if (!fe) throw frontendNotFound(frontend);
    const poolIdx = fe.pools.findIndex((p) => p.name === pool);
    if (poolIdx < 0) {
      throw new MaglevError(
        "NOT_FOUND",
        `pool ${JSON.stringify(pool)} not found in frontend ${JSON.stringify(frontend)}`,
      );
    }
    const p = fe.pools[poolIdx];
    const bIdx = p.backends.findIndex((b) => b.name === backend);
    if (bIdx < 0) {
      throw new MaglevError(
        "NOT_FOUND",
        `backend ${JSON.stringify(backend)} not found in pool ${JSON.stringify(pool)}`,
      );
    }
    const backends = p.backends.slice();
    backends[bIdx] = Object.freeze({ ...backends[bIdx], weight });
    const pools: Pool[] = fe.pools.slice();
    pools[poolIdx] = Object.freeze({ ...p, backends: Object.freeze(backends) });
    const nextFe: Frontend = Object.freeze({ ...fe, pools: Object.freeze(pools) });
    this.#config = frozenConfig(this.#config, {
      frontends: Object.freeze({ ...this.#config.frontends, [frontend]: nextFe }),
    });
    log.info("frontend-pool-weight", { frontend, pool, backend, weight });
    this.#refreshFrontend(frontend);
  }

  // ---- reload (spec 3.7) ----

  /** Applies a validated config: keeps, restarts, stops and starts workers. */
  applyConfig(next: Config): void {
    const now = this.#clock.now();
    const refs = referencingFrontends(next);
    const historyLimit = next.healthchecker.transitionHistory;

    // Workers no longer wanted: removed, told to the OLD frontends.
    for (const name of this.#names()) {
      if (refs.has(name) && next.backends[name]) continue;
      const e = this.#entries.get(name)!;
      log.info("backend-stop", { backend: name });
      this.#stopLoop(e);
      this.#entries.delete(name);
      const t = e.machine.remove(now);
      if (t) this.#transitioned(e, t, false);
    }
    this.#sortedNames = undefined;

    const toStart: Entry[] = [];
    const kept: Backend[] = [];
    const names = [...refs.keys()].filter((n) => next.backends[n]).sort();
    for (const name of names) {
      const nb = next.backends[name];
      const hc = nb.healthcheck ? next.healthchecks[nb.healthcheck] : undefined;
      const e = this.#entries.get(name);
      if (e && sameHealthCheck(e.hc, hc)) {
        // Same probing: keep state, history and the runtime enabled flag.
        e.backend = nb.enabled === e.backend.enabled
          ? nb
          : Object.freeze({ ...nb, enabled: e.backend.enabled });
        if (e.backend !== nb) kept.push(e.backend);
        e.hc = hc;
        e.frontends = refs.get(name)!;
        e.machine.setHistoryLimit(historyLimit);
        continue;
      }
      if (e) {
        log.info("backend-restart", { backend: name });
        this.#stopLoop(e);
      } else {
        log.info("backend-start", { backend: name });
      }
      const fresh = this.#newEntry(name, next, refs.get(name)!);
      if (!nb.enabled) fresh.machine.disable(now);
      this.#entries.set(name, fresh);
      toStart.push(fresh);
    }

    let backends = next.backends;
    if (kept.length > 0) {
      const copy = { ...next.backends };
      for (const b of kept) copy[b.name] = b;
      backends = Object.freeze(copy);
    }
    this.#config = frozenConfig(next, { backends });

    // Every wanted backend's latest transition, to the NEW frontends.
    for (const name of names) {
      const e = this.#entries.get(name)!;
      const t = e.machine.lastTransition();
      if (t) this.#publishBackend(e, t, true);
    }
    for (const name of [...this.#feStates.keys()]) {
      if (!next.frontends[name]) this.#feStates.delete(name);
    }
    for (const name of Object.keys(next.frontends)) this.#refreshFrontend(name);

    if (this.#started) this.#startStaggered(toStart.filter((e) => this.#probing(e)));
  }

  // ---- internals ----

  #newEntry(name: string, cfg: Config, frontends: string[]): Entry {
    const backend = cfg.backends[name];
    const hc = backend.healthcheck ? cfg.healthchecks[backend.healthcheck] : undefined;
    const machine = new HealthMachine({
      rise: hc?.rise ?? 1,
      fall: hc?.fall ?? 1,
      historyLimit: cfg.healthchecker.transitionHistory,
    });
    machine.start(this.#clock.now());
    const entry: Entry = {
      name,
      backend,
      hc,
      machine,
      frontends,
      running: false,
      timer: undefined,
      inflight: undefined,
      ticket: undefined,
      startMono: 0,
      onTimer: () => this.#fire(entry),
      sink: { probeDone: (r) => this.#driven(entry, r) },
    };
    return entry;
  }

  #entry(name: string): Entry {
    const e = this.#entries.get(name);
    if (!e) throw backendNotFound(name);
    return e;
  }

  /** Whether a loop belongs to this backend now. */
  #probing(e: Entry): boolean {
    const s = e.machine.state;
    return e.backend.enabled && (s === "unknown" || s === "up" || s === "down");
  }

  #setEnabled(e: Entry, enabled: boolean): void {
    if (e.backend.enabled === enabled) return;
    e.backend = Object.freeze({ ...e.backend, enabled });
    this.#config = frozenConfig(this.#config, {
      backends: Object.freeze({ ...this.#config.backends, [e.name]: e.backend }),
    });
  }

  /** Task i of n waits interval*i/n; static backends go at once (spec 3.4, 3.6). */
  #startStaggered(entries: Entry[]): void {
    const probed = entries.filter((e) => e.hc);
    const n = probed.length;
    probed.forEach((e, i) => this.#startLoop(e, n <= 1 ? 0 : (e.hc!.intervalMs * i) / n));
    for (const e of entries) if (!e.hc) this.#startLoop(e, 0);
  }

  #startLoop(e: Entry, delayMs: number): void {
    if (!this.#started || e.running) return;
    e.running = true;
    e.timer = this.#clock.setTimeout(e.onTimer, delayMs);
  }

  #stopLoop(e: Entry): void {
    e.running = false;
    if (e.timer !== undefined) this.#clock.clearTimeout(e.timer);
    e.timer = undefined;
    if (e.ticket !== undefined) {
      this.#driver!.cancel(e.ticket);
      e.ticket = undefined;
    }
    const fl = e.inflight;
    if (!fl) return;
    e.inflight = undefined;
    this.#clearProbeTimers(fl);
    fl.ac.abort(new DOMException("probe cancelled", "AbortError"));
    const p = fl.promise;
    if (p) {
      this.#orphans.add(p);
      const forget = () => this.#orphans.delete(p);
      p.then(forget, forget);
    }
  }

  #clearProbeTimers(fl: Inflight): void {
    if (fl.deadline !== undefined) this.#clock.clearTimeout(fl.deadline);
    if (fl.grace !== undefined) this.#clock.clearTimeout(fl.grace);
    fl.deadline = fl.grace = undefined;
  }

  #fire(e: Entry): void {
    e.timer = undefined;
    if (!e.running) return;
    const hc = e.hc;
    if (!hc) {
      try {
        this.#record(e, STATIC_PASS);
      } catch (x) {
        log.error("checker-internal-error", { backend: e.name, err: String(x) });
      }
      if (e.running) e.timer = this.#clock.setTimeout(e.onTimer, STATIC_IDLE_MS);
      return;
    }
    if (this.#debugWanted()) {
      log.debug("probe-start", { backend: e.name, type: hc.type });
    }
    if (this.#driver) {
      e.startMono = this.#clock.monotonic();
      e.ticket = -1; // a driver may answer at once, from inside start()
      const ticket = this.#driver.start(hc, e.backend, e.sink);
      if (e.ticket === -1) e.ticket = ticket;
      return;
    }
    const fl: Inflight = {
      ac: new AbortController(),
      startMono: this.#clock.monotonic(),
      deadline: undefined,
      grace: undefined,
      late: false,
      promise: undefined,
    };
    e.inflight = fl;
    fl.deadline = this.#clock.setTimeout(() => this.#onDeadline(e, fl, hc), hc.timeoutMs);
    let p: Promise<ProbeResult>;
    try {
      p = this.#probe!(hc, e.backend, fl.ac.signal);
    } catch (err) {
      p = Promise.reject(err);
    }
    fl.promise = p.then(
      (r) => this.#settle(e, fl, hc, r),
      (err) => this.#settle(e, fl, hc, undefined, err),
    );
  }

  #onDeadline(e: Entry, fl: Inflight, hc: HealthCheck): void {
    fl.deadline = undefined;
    if (e.inflight !== fl) return;
    fl.late = true;
    fl.ac.abort(new DOMException(`probe timeout after ${hc.timeoutMs}ms`, "TimeoutError"));
    fl.grace = this.#clock.setTimeout(() => {
      fl.grace = undefined;
      this.#settle(e, fl, hc, timeoutResult(hc, this.#clock.monotonic() - fl.startMono));
    }, DEADLINE_GRACE_MS);
  }

  #settle(e: Entry, fl: Inflight, hc: HealthCheck, r?: ProbeResult, err?: unknown): void {
    if (e.inflight !== fl) return; // cancelled, or already settled by the deadline
    e.inflight = undefined;
    this.#clearProbeTimers(fl);
    try {
      this.#handleResult(e, fl, hc, r, err);
    } catch (x) {
      // A throwing hook must not end the loop nor reject into the void.
      log.error("checker-internal-error", { backend: e.name, err: String(x) });
    }
    if (e.running) {
      e.timer = this.#clock.setTimeout(e.onTimer, e.machine.nextInterval(hc, this.#random));
    }
  }

  /** A driven probe's result (the driver kept its deadline). */
  #driven(e: Entry, r: ProbeResult): void {
    if (e.ticket === undefined) return; // cancelled: the driver should not call, be safe
    e.ticket = undefined;
    const hc = e.hc!;
    try {
      this.#observe(e, hc, r);
    } catch (x) {
      log.error("checker-internal-error", { backend: e.name, err: String(x) });
    }
    if (e.running) {
      e.timer = this.#clock.setTimeout(e.onTimer, e.machine.nextInterval(hc, this.#random));
    }
  }

  #debugWanted(): boolean {
    return levelAtLeast("debug", logLevel()) || this.#bus.wantsLog("debug");
  }

  #handleResult(e: Entry, fl: Inflight, hc: HealthCheck, r?: ProbeResult, err?: unknown): void {
    const elapsed = this.#clock.monotonic() - fl.startMono;
    let result: ProbeResult;
    if (fl.late && (r === undefined || r.ok)) result = timeoutResult(hc, elapsed);
    else if (r === undefined) result = errorResult(hc, err, elapsed);
    else result = r;
    this.#observe(e, hc, result);
  }

  /** Logs, reports and records one result; a local error is reported, never recorded. */
  #observe(e: Entry, hc: HealthCheck, result: ProbeResult): void {
    if (this.#debugWanted()) {
      log.debug("probe-done", {
        backend: e.name,
        type: hc.type,
        ok: result.ok,
        code: result.code,
        detail: result.detail,
        elapsed: formatDuration(result.durationMs),
      });
    }
    if (result.local) {
      // Not a verdict on the backend: not a probe result in its ring or metrics either.
      this.#localError(e, hc, result);
      return;
    }
    if (this.#onProbe) {
      try {
        this.#onProbe(e.name, hc, result);
      } catch (x) {
        log.error("probe-observer-error", { backend: e.name, err: String(x) });
      }
    }
    this.#record(e, result);
  }

  /**
   * The host, not the backend, failed (out of fds, buffers, memory): the
   * state stays, the error is counted, and logged at most once a second.
   */
  #localError(e: Entry, hc: HealthCheck, result: ProbeResult): void {
    if (this.#onLocalError) {
      try {
        this.#onLocalError(e.name, hc, result);
      } catch (x) {
        log.error("probe-observer-error", { backend: e.name, err: String(x) });
      }
    }
    const now = this.#clock.monotonic();
    if (now - this.#localErrorLoggedAt < LOCAL_ERROR_LOG_MS) {
      this.#localErrorsUnlogged++;
      return;
    }
    log.error("probe-local-error", {
      backend: e.name,
      type: hc.type,
      code: result.code,
      detail: result.detail,
      state: e.machine.state,
      suppressed: this.#localErrorsUnlogged,
    });
    this.#localErrorLoggedAt = now;
    this.#localErrorsUnlogged = 0;
  }

  #record(e: Entry, result: ProbeResult): void {
    if (e.machine.record(result, this.#clock.now())) {
      this.#transitioned(e, e.machine.lastTransition()!);
    }
  }

  /**
   * Logs and announces a transition: one event per referencing frontend,
   * then the frontends' aggregate states when `refresh`.
   */
  #transitioned(e: Entry, t: Transition, refresh = true): void {
    log.info("backend-transition", {
      backend: e.name,
      from: t.from,
      to: t.to,
      code: t.code,
      detail: t.detail,
    });
    if (this.#onTransition) {
      try {
        this.#onTransition(e.name, t);
      } catch (x) {
        log.error("transition-observer-error", { backend: e.name, err: String(x) });
      }
    }
    this.#publishBackend(e, t);
    if (refresh) { for (const fe of e.frontends) this.#refreshFrontend(fe); }
  }

  #publishBackend(e: Entry, t: Transition, replay = false): void {
    for (const frontend of e.frontends) {
      this.#bus.publish({
        kind: "backend",
        frontend,
        backend: e.name,
        address: e.backend.address,
        transition: t,
        ...(replay ? { replay } : {}),
      });
    }
  }

  /** Recomputes a frontend's aggregate; publishes a FrontendEvent on change. */
  #refreshFrontend(name: string): void {
    const fe = this.#config.frontends[name];
    if (!fe) return;
    const to = aggregateState(fe, this);
    const from = this.#feStates.get(name);
    if (from === to) return;
    this.#feStates.set(name, to);
    this.#bus.publish({
      kind: "frontend",
      frontend: name,
      from: from ?? to,
      to,
      atMs: this.#clock.now(),
    });
  }

  #snapshot(e: Entry): BackendSnapshot {
    return {
      name: e.name,
      address: e.backend.address,
      description: e.backend.description,
      state: e.machine.state,
      enabled: e.backend.enabled,
      healthcheck: e.backend.healthcheck,
      health: e.machine.counter,
      healthMax: e.machine.max,
      transitions: e.machine.transitions(),
      probes: e.machine.probes(),
    };
  }

  /** Synthetic `from == to` events for every frontend/backend pair and frontend. */
  #snapshotEvents(seq: number): (BackendEvent | FrontendEvent)[] {
    const out: (BackendEvent | FrontendEvent)[] = [];
    const now = this.#clock.now();
    for (const feName of Object.keys(this.#config.frontends).sort()) {
      const seen = new Set<string>();
      for (const pool of this.#config.frontends[feName].pools) {
        for (const pb of pool.backends) {
          const e = this.#entries.get(pb.name);
          if (!e || seen.has(pb.name)) continue;
          seen.add(pb.name);
          const last = e.machine.lastTransition();
          const state = e.machine.state;
          out.push({
            kind: "backend",
            seq,
            frontend: feName,
            backend: e.name,
            address: e.backend.address,
            replay: true,
            transition: {
              from: state,
              to: state,
              atMs: last?.atMs ?? now,
              code: last?.code ?? "",
              detail: last?.detail ?? "",
            },
          });
        }
      }
      const fs = this.#feStates.get(feName) ?? "unknown";
      out.push({ kind: "frontend", seq, frontend: feName, from: fs, to: fs, atMs: now });
    }
    return out;
  }
}
