/**
 * The probe loops of the checker's backends: when each probe starts, how
 * its result comes back, and what a result that is no verdict on the
 * backend (a local error) does. With a {@linkcode ProbeDriver} a probe
 * costs one heap slot in the {@linkcode Schedule} and nothing else; a bare
 * {@linkcode ProbeFn} gets an AbortController and a deadline timer.
 * @module
 */
import type { Backend, HealthCheck } from "../config/types.ts";
import type { ProbeResult, ProbeSink } from "../health/types.ts";
import type { ProbeDriver, ProbeFn, ProbeObserver } from "./types.ts";
import { type HealthMachine, probeResult } from "../health/mod.ts";
import { type Clock, sleep, type TimerId } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import { formatDuration } from "../config/duration.ts";
import { log } from "../log/mod.ts";
import { Schedule, type Task } from "./schedule.ts";

/** Idle time between the synthetic passes of a static backend (spec 3.6). */
export const STATIC_IDLE_MS = 30_000;

/**
 * Time a probe gets after its deadline (when its signal aborts) to report
 * its own, more specific, failure before the checker records a timeout.
 */
export const DEADLINE_GRACE_MS = 50;

/**
 * How long a stop waits for probes that ignore their abort: a prober stuck
 * on a backend's reply must not hold the daemon's SIGTERM (or a test) for
 * ever. Probes honour their signal within {@linkcode DEADLINE_GRACE_MS}.
 */
export const STOP_DRAIN_MS = 2_000;

/** The synthetic pass of a static backend (spec 3.6). */
const STATIC_PASS: ProbeResult = Object.freeze(probeResult("L7OK", "static backend"));

/** The daemon's schedule slack: at most 250 wakeups/s, a probe starts <= 4 ms late. */
export const SCHEDULE_SLACK_MS = 4;

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

/** What an {@linkcode Entry} calls back: its loops, one object shared by every entry. */
interface LoopHooks {
  fire(e: Entry): void;
  driven(e: Entry, r: ProbeResult): void;
}

/**
 * A backend referenced by at least one pool. It is its own schedule task
 * and its own probe sink: a wakeup or a result touches this object and the
 * shared hooks, with no closure, context or sink object per backend.
 */
export class Entry implements ProbeSink, Task {
  readonly name: string;
  /** From the running config, with the runtime enabled flag. */
  backend: Backend;
  /** Undefined for a static backend. */
  hc: HealthCheck | undefined;
  machine: HealthMachine;
  /** Sorted names of the frontends referencing it. */
  frontends: string[];
  /** A loop is scheduled (timer pending or probe in flight). */
  running = false;
  /** The schedule's token of the pending wakeup. */
  timer: number | undefined = undefined;
  inflight: Inflight | undefined = undefined;
  /** The driver's ticket of the probe in flight; undefined when none. */
  ticket: number | undefined = undefined;
  readonly #hooks: LoopHooks;

  /** An entry of the loops that own `hooks`; see {@linkcode ProbeLoops.entry}. */
  constructor(fields: EntryFields, hooks: LoopHooks) {
    this.name = fields.name;
    this.backend = fields.backend;
    this.hc = fields.hc;
    this.machine = fields.machine;
    this.frontends = fields.frontends;
    this.#hooks = hooks;
  }

  /** The schedule's wakeup: the next probe (or static pass) is due. */
  run(): void {
    this.#hooks.fire(this);
  }

  /** The driver's result of this backend's probe in flight. */
  probeDone(result: ProbeResult): void {
    this.#hooks.driven(this, result);
  }
}

/** What the checker gives to make an {@linkcode Entry}. */
export type EntryFields = Pick<Entry, "name" | "backend" | "hc" | "machine" | "frontends">;

/** The timeout code of a health check type: the layer the probe ends at. */
function timeoutResult(hc: HealthCheck, durationMs: number): ProbeResult {
  const detail = `timeout after ${formatDuration(hc.timeoutMs)}`;
  const code = hc.type === "icmp" ? "L3TOUT" : hc.type === "tcp" ? "L4TOUT" : "L7TOUT";
  return probeResult(code, detail, { durationMs });
}

function errorResult(hc: HealthCheck, err: unknown, durationMs: number): ProbeResult {
  const detail = errorMessage(err);
  return probeResult(hc.type === "icmp" ? "L3CON" : "L4CON", detail, { durationMs });
}

/** What {@linkcode ProbeLoops} needs from the checker. */
export interface ProbeLoopOptions {
  readonly clock: Clock;
  readonly probe: ProbeFn | undefined;
  readonly driver: ProbeDriver | undefined;
  readonly scheduleSlackMs: number;
  readonly random: () => number;
  readonly onProbe: ProbeObserver | undefined;
  readonly onLocalError: ProbeObserver | undefined;
  /** True when probe-start/probe-done debug records are wanted. */
  readonly debugWanted: () => boolean;
  /** Feeds a result (a probe's or a static pass) to the backend's state machine. */
  readonly record: (e: Entry, result: ProbeResult) => void;
}

/** The probe loops; see the module doc. */
export class ProbeLoops {
  readonly #o: ProbeLoopOptions;
  readonly #schedule: Schedule;
  /** Probe promises whose loop was cancelled, with their backend; awaited by `drain()`. */
  readonly #orphans = new Map<Promise<void>, string>();
  #localErrorLoggedAt = -Infinity;
  #localErrorsUnlogged = 0;
  readonly #hooks: LoopHooks = {
    fire: (e) => this.#fire(e),
    driven: (e, r) => this.#driven(e, r),
  };

  constructor(options: ProbeLoopOptions) {
    if (!options.probe && !options.driver) throw new TypeError("Checker needs a probe or a driver");
    this.#o = options;
    this.#schedule = new Schedule(options.clock, options.scheduleSlackMs);
  }

  /** A new backend entry of these loops. */
  entry(fields: EntryFields): Entry {
    return new Entry(fields, this.#hooks);
  }

  /** Starts `e`'s loop: its first probe in `delayMs`. */
  start(e: Entry, delayMs: number): void {
    if (e.running) return;
    e.running = true;
    e.timer = this.#schedule.add(e, delayMs);
  }

  /**
   * Resolves once every cancelled probe promise has settled, or after
   * {@linkcode STOP_DRAIN_MS} with a `probe-stuck` warning naming the
   * backends whose probes never did (their late results go nowhere).
   */
  async drain(): Promise<void> {
    if (this.#orphans.size === 0) return;
    const giveUp = new AbortController();
    const timedOut = sleep(this.#o.clock, STOP_DRAIN_MS, { signal: giveUp.signal }).then(
      () => true,
      () => false,
    );
    const settled = (async () => {
      while (this.#orphans.size > 0) await Promise.allSettled([...this.#orphans.keys()]);
      return false;
    })();
    const stuck = await Promise.race([settled, timedOut]);
    giveUp.abort();
    if (!stuck) return;
    log.warn("probe-stuck", {
      probes: this.#orphans.size,
      backends: [...new Set(this.#orphans.values())].sort().join(","),
      waited: formatDuration(STOP_DRAIN_MS),
    });
    this.#orphans.clear();
  }

  /** Stops every loop in `entries` (all of the schedule's): one clear, no cancel each. */
  stopAll(entries: Iterable<Entry>): void {
    this.#schedule.clear();
    for (const e of entries) {
      e.timer = undefined;
      this.stop(e);
    }
  }

  /** Stops `e`'s loop and gives up its probe in flight. */
  stop(e: Entry): void {
    e.running = false;
    if (e.timer !== undefined) this.#schedule.cancel(e.timer);
    e.timer = undefined;
    if (e.ticket !== undefined) {
      this.#o.driver!.cancel(e.ticket);
      e.ticket = undefined;
    }
    const fl = e.inflight;
    if (!fl) return;
    e.inflight = undefined;
    this.#clearProbeTimers(fl);
    fl.ac.abort(new DOMException("probe cancelled", "AbortError"));
    const p = fl.promise;
    if (p) {
      this.#orphans.set(p, e.name);
      const forget = () => this.#orphans.delete(p);
      p.then(forget, forget);
    }
  }

  #clearProbeTimers(fl: Inflight): void {
    if (fl.deadline !== undefined) this.#o.clock.clearTimeout(fl.deadline);
    if (fl.grace !== undefined) this.#o.clock.clearTimeout(fl.grace);
    fl.deadline = fl.grace = undefined;
  }

  #fire(e: Entry): void {
    e.timer = undefined;
    if (!e.running) return;
    const hc = e.hc;
    if (!hc) {
      try {
        this.#o.record(e, STATIC_PASS);
      } catch (x) {
        log.error("checker-internal-error", { backend: e.name, err: String(x) });
      }
      if (e.running) e.timer = this.#schedule.add(e, STATIC_IDLE_MS);
      return;
    }
    if (this.#o.debugWanted()) {
      log.debug("probe-start", { backend: e.name, type: hc.type });
    }
    if (this.#o.driver) {
      // No clock read here: the driver times its own probe (a read costs about 0.25 us).
      e.ticket = -1; // a driver may answer at once, from inside start()
      const ticket = this.#o.driver.start(hc, e.backend, e);
      if (e.ticket === -1) e.ticket = ticket;
      return;
    }
    const fl: Inflight = {
      ac: new AbortController(),
      startMono: this.#o.clock.monotonic(),
      deadline: undefined,
      grace: undefined,
      late: false,
      promise: undefined,
    };
    e.inflight = fl;
    fl.deadline = this.#o.clock.setTimeout(() => this.#onDeadline(e, fl, hc), hc.timeoutMs);
    let p: Promise<ProbeResult>;
    try {
      p = this.#o.probe!(hc, e.backend, fl.ac.signal);
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
    fl.grace = this.#o.clock.setTimeout(() => {
      fl.grace = undefined;
      this.#settle(e, fl, hc, timeoutResult(hc, this.#o.clock.monotonic() - fl.startMono));
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
      e.timer = this.#schedule.add(e, e.machine.nextInterval(hc, this.#o.random));
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
      e.timer = this.#schedule.add(e, e.machine.nextInterval(hc, this.#o.random));
    }
  }

  #handleResult(e: Entry, fl: Inflight, hc: HealthCheck, r?: ProbeResult, err?: unknown): void {
    const elapsed = this.#o.clock.monotonic() - fl.startMono;
    let result: ProbeResult;
    if (fl.late && (r === undefined || r.ok)) result = timeoutResult(hc, elapsed);
    else if (r === undefined) result = errorResult(hc, err, elapsed);
    else result = r;
    this.#observe(e, hc, result);
  }

  /** Logs, reports and records one result; a local error is reported, never recorded. */
  #observe(e: Entry, hc: HealthCheck, result: ProbeResult): void {
    if (this.#o.debugWanted()) {
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
    if (this.#o.onProbe) {
      try {
        this.#o.onProbe(e.name, hc, result);
      } catch (x) {
        log.error("probe-observer-error", { backend: e.name, err: String(x) });
      }
    }
    this.#o.record(e, result);
  }

  /**
   * The host, not the backend, failed (out of fds, buffers, memory): the
   * state stays, the error is counted, and logged at most once a second.
   */
  #localError(e: Entry, hc: HealthCheck, result: ProbeResult): void {
    if (this.#o.onLocalError) {
      try {
        this.#o.onLocalError(e.name, hc, result);
      } catch (x) {
        log.error("probe-observer-error", { backend: e.name, err: String(x) });
      }
    }
    const now = this.#o.clock.monotonic();
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
}
