/**
 * The health checker (spec 3): one probe loop per active backend, the state
 * machines, operator actions, reload, and the event bus.
 *
 * Loops are tasks on one {@linkcode Schedule} (a heap over a single
 * timer of the injected {@linkcode Clock}), not async loops: a sleeping
 * backend is one heap slot and nothing else. With a
 * {@linkcode ProbeDriver} (the daemon's prober) a probe costs the checker
 * nothing more: the driver owns its only deadline and calls the backend's
 * entry, which is its sink. A bare {@linkcode ProbeFn} (tests) gets an
 * AbortController and a deadline timer per probe, as a safety net for
 * probers that do not keep their own deadline.
 * @module
 */
import type { Backend, Config, Frontend, Pool } from "../config/types.ts";
import type { ProbeResult, State, StateSource, Transition } from "../health/types.ts";
import type {
  BackendEvent,
  BackendSnapshot,
  BackendSummary,
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
import { type Clock, realClock } from "../clock.ts";
import { backendNotFound, frontendNotFound, MaglevError } from "../errors.ts";
import { levelAtLeast, log, logLevel } from "../log/mod.ts";
import { EventBus } from "./events.ts";
import { weightRangeError } from "../config/weight.ts";
import {
  frozenConfig,
  lookupBackend,
  lookupHealthCheck,
  lookupPoolBackend,
  ownValue,
  referencingFrontends,
  sameHealthCheck,
  withEntry,
} from "./lookup.ts";
import { type Entry, ProbeLoops } from "./runner.ts";

export { EventBus } from "./events.ts";
export {
  DEADLINE_GRACE_MS,
  LOCAL_ERROR_LOG_MS,
  SCHEDULE_SLACK_MS,
  STATIC_IDLE_MS,
} from "./runner.ts";
export {
  lookupBackend,
  lookupFrontend,
  lookupHealthCheck,
  lookupPoolBackend,
  ownValue,
  type PoolBackendRef,
} from "./lookup.ts";

/** Dependencies and hooks of a {@linkcode Checker}. */
export interface CheckerOptions {
  /** Runs one probe; must honour its signal. Unused when `driver` is given. */
  probe?: ProbeFn;
  /** Starts probes and keeps their deadlines (the daemon's prober). */
  driver?: ProbeDriver;
  /** Defaults to the real clock. */
  clock?: Clock;
  /**
   * How late (ms) a probe may start so that starts close together share one
   * wakeup of the schedule; default 0 (exact). The daemon uses
   * {@linkcode SCHEDULE_SLACK_MS}.
   */
  scheduleSlackMs?: number;
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
  readonly #clock: Clock;
  readonly #loops: ProbeLoops;
  readonly #onTransition: ((backend: string, t: Transition) => void) | undefined;
  #entries = new Map<string, Entry>();
  #sortedNames: string[] | undefined;
  #feStates = new Map<string, FrontendState>();
  #bus: EventBus;
  #started = false;
  #stopped = false;

  constructor(config: Config, options: CheckerOptions) {
    this.#config = config;
    this.#clock = options.clock ?? realClock;
    this.#loops = new ProbeLoops({
      clock: this.#clock,
      probe: options.probe,
      driver: options.driver,
      scheduleSlackMs: options.scheduleSlackMs ?? 0,
      random: options.random ?? Math.random,
      onProbe: options.onProbe,
      onLocalError: options.onLocalError,
      debugWanted: () => levelAtLeast("debug", logLevel()) || this.#bus.wantsLog("debug"),
      record: (e, result) => this.#record(e, result),
    });
    this.#onTransition = options.onTransition;
    this.#bus = new EventBus((seq) => this.#snapshotEvents(seq));
    const refs = referencingFrontends(config);
    for (const name of [...refs.keys()].sort()) {
      const backend = ownValue(config.backends, name);
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
    this.#loops.stopAll(this.#entries.values());
    this.#bus.close();
    await this.#loops.drain();
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

  /** {@linkcode getBackend} without transitions and probes; NOT_FOUND when not active. */
  backendSummary(name: string): BackendSummary {
    return this.#summary(this.#entry(name));
  }

  /** The backend's state, undefined when it is not active. */
  backendState(name: string): State | undefined {
    return this.#entries.get(name)?.machine.state;
  }

  /** See {@linkcode CheckerApi.lastTransitionAt}. */
  lastTransitionAt(name: string): number | undefined {
    return this.#entries.get(name)?.machine.lastTransition()?.atMs;
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
    this.#loops.stop(e);
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
    this.#loops.stop(e);
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
    const outOfRange = weightRangeError(weight);
    if (outOfRange) throw new MaglevError("INVALID_ARGUMENT", outOfRange);
    const ref = lookupPoolBackend(this.#config, { frontend, pool, backend });
    const p = ref.pool;
    const backends = p.backends.slice();
    backends[ref.backendIndex] = Object.freeze({ ...backends[ref.backendIndex], weight });
    const pools: Pool[] = ref.frontend.pools.slice();
    pools[ref.poolIndex] = Object.freeze({ ...p, backends: Object.freeze(backends) });
    const nextFe: Frontend = Object.freeze({ ...ref.frontend, pools: Object.freeze(pools) });
    this.#config = frozenConfig(this.#config, {
      frontends: withEntry(this.#config.frontends, [frontend, nextFe]),
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
      if (refs.has(name) && ownValue(next.backends, name)) continue;
      const e = this.#entries.get(name)!;
      log.info("backend-stop", { backend: name });
      this.#loops.stop(e);
      this.#entries.delete(name);
      const t = e.machine.remove(now);
      if (t) this.#transitioned(e, t, false);
    }
    this.#sortedNames = undefined;

    const toStart: Entry[] = [];
    const kept: Backend[] = [];
    const names = [...refs.keys()].filter((n) => ownValue(next.backends, n)).sort();
    for (const name of names) {
      const nb = lookupBackend(next, name);
      const hc = nb.healthcheck ? lookupHealthCheck(next, nb.healthcheck) : undefined;
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
        this.#loops.stop(e);
      } else {
        log.info("backend-start", { backend: name });
      }
      const fresh = this.#newEntry(name, next, refs.get(name)!);
      if (!nb.enabled) fresh.machine.disable(now);
      this.#entries.set(name, fresh);
      toStart.push(fresh);
    }

    let backends = next.backends;
    for (const b of kept) backends = withEntry(backends, [b.name, b]);
    this.#config = frozenConfig(next, { backends });

    // Every wanted backend's latest transition, to the NEW frontends.
    for (const name of names) {
      const e = this.#entries.get(name)!;
      const t = e.machine.lastTransition();
      if (t) this.#publishBackend(e, t, true);
    }
    for (const name of [...this.#feStates.keys()]) {
      if (!ownValue(next.frontends, name)) this.#feStates.delete(name);
    }
    for (const name of Object.keys(next.frontends)) this.#refreshFrontend(name);

    if (this.#started) this.#startStaggered(toStart.filter((e) => this.#probing(e)));
  }

  // ---- internals ----

  #newEntry(name: string, cfg: Config, frontends: string[]): Entry {
    const backend = lookupBackend(cfg, name);
    const hc = backend.healthcheck ? lookupHealthCheck(cfg, backend.healthcheck) : undefined;
    const machine = new HealthMachine({
      rise: hc?.rise ?? 1,
      fall: hc?.fall ?? 1,
      historyLimit: cfg.healthchecker.transitionHistory,
    });
    machine.start(this.#clock.now());
    return this.#loops.entry({ name, backend, hc, machine, frontends });
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
      backends: withEntry(this.#config.backends, [e.name, e.backend]),
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
    if (this.#started) this.#loops.start(e, delayMs);
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
    // Going down is what an operator is paged for: WARN, the rest INFO.
    (t.to === "down" ? log.warn : log.info)("backend-transition", {
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
    const fe = ownValue(this.#config.frontends, name);
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
      ...this.#summary(e),
      transitions: e.machine.transitions(),
      probes: e.machine.probes(),
    };
  }

  #summary(e: Entry): BackendSummary {
    return {
      name: e.name,
      address: e.backend.address,
      description: e.backend.description,
      state: e.machine.state,
      enabled: e.backend.enabled,
      healthcheck: e.backend.healthcheck,
      health: e.machine.counter,
      healthMax: e.machine.max,
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
