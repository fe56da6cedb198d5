/**
 * The in-process prober: plain http and tcp probes go to the socket engine
 * (`engine.ts`) when FFI is allowed, everything else (https, tcp+TLS, icmp,
 * and all probes without `--allow-ffi`) to the stream probers.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import type { Backend, HealthCheck } from "../config/types.ts";
import type { ProbeResult, ProbeSink } from "../health/types.ts";
import type { ProbeFn } from "../checker/types.ts";
import { engineRuns, ffiAllowed, SocketEngine } from "./engine.ts";
import { probeHttp } from "./http.ts";
import { IcmpProber } from "./icmp.ts";
import { probeResult } from "./result.ts";
import { probeTcp } from "./tcp.ts";

/** Which engine runs plain http and tcp probes. */
export type EngineName = "socket" | "stream";

/** What {@linkcode createProber} returns. */
export interface Prober {
  /** Runs one probe; never rejects. */
  readonly probe: ProbeFn;
  /**
   * Starts one probe whose result goes to `sink` (the checker's path: no
   * promise, signal or timer per probe on the socket engine). The result
   * comes by the check's deadline. Returns a ticket for {@linkcode cancel}.
   */
  start(hc: HealthCheck, backend: Backend, sink: ProbeSink): number;
  /** Gives up a started probe; its sink hears nothing. */
  cancel(ticket: number): void;
  /** The engine of plain http and tcp probes. */
  readonly engine: EngineName;
  /** Why plain http and tcp run on the stream engine when the socket engine was wanted. */
  readonly engineFallback?: string;
  /** Fails pending probes and releases sockets, the ICMP reader and any agent. */
  close(): Promise<void>;
}

/** Version sent in `User-Agent` when the caller gives none. */
export const DEFAULT_VERSION = "dev";

/** Options of {@linkcode createLocalProber}. */
export interface LocalProberOptions {
  /** Build version for `User-Agent: maglevd/<version>`. */
  readonly version?: string;
  /** Timers and durations; the real clock by default. */
  readonly clock?: Clock;
  /** The engine of plain http and tcp; by default socket when FFI is allowed. */
  readonly engine?: EngineName;
}

/** The engine `createLocalProber` picks when none is asked for. */
export function defaultEngine(): EngineName {
  return ffiAllowed() ? "socket" : "stream";
}

/** A prober that probes from the current network namespace. */
export function createLocalProber(options: LocalProberOptions = {}): Prober {
  const clock = options.clock ?? realClock;
  const userAgent = `maglevd/${options.version ?? DEFAULT_VERSION}`;
  const icmp = new IcmpProber(clock);
  let engineName = options.engine ?? defaultEngine();
  let sockets: SocketEngine | undefined;
  let fallback = engineName === "stream" && !ffiAllowed() ? "no --allow-ffi" : undefined;
  if (engineName === "socket") {
    try {
      sockets = new SocketEngine(clock, userAgent);
    } catch (err) {
      // No libc to open (musl, a locked-down runtime): probe on, the slower way.
      engineName = "stream";
      fallback = err instanceof Error ? err.message : String(err);
    }
  }

  async function streamProbe(
    hc: HealthCheck,
    backend: Backend,
    signal: AbortSignal,
  ): Promise<ProbeResult> {
    try {
      switch (hc.type) {
        case "http":
        case "https":
          return await probeHttp(hc, backend, { signal, clock, userAgent });
        case "tcp":
          return await probeTcp(hc, backend, { signal, clock });
        case "icmp":
          return await icmp.probe(hc, backend, { signal });
        default:
          return probeResult("L4CON", `unknown health check type ${JSON.stringify(hc.type)}`);
      }
    } catch (err) {
      // The probers map their own errors; this guards the checker's loop.
      return probeResult("L4CON", `probe failed: ${String(err)}`);
    }
  }

  function probe(hc: HealthCheck, backend: Backend, signal: AbortSignal): Promise<ProbeResult> {
    if (!sockets || !engineRuns(hc)) return streamProbe(hc, backend, signal);
    if (signal.aborted) return Promise.resolve(probeResult("L4TOUT", "connect cancelled"));
    return new Promise<ProbeResult>((resolve) => {
      const onAbort = () => {
        const r = sockets.cancel(ticket);
        if (r) resolve(r);
      };
      const sink: ProbeSink = {
        probeDone: (r) => {
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        },
      };
      const ticket = sockets.start(hc, backend, sink);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  const streams = new StreamTickets(streamProbe);
  return {
    probe,
    start: (hc, backend, sink) =>
      sockets && engineRuns(hc)
        ? sockets.start(hc, backend, sink)
        : streams.start(hc, backend, sink),
    cancel: (ticket) => ticket < 0 ? streams.cancel(ticket) : void sockets?.cancel(ticket),
    engine: engineName,
    engineFallback: fallback,
    async close() {
      streams.cancelAll();
      sockets?.close();
      await icmp.close();
    },
  };
}

/**
 * `start`/`cancel` over a promise-returning probe function, for the probes
 * the socket engine does not run (and for probers without it). Tickets are
 * negative so they never collide with the engine's.
 */
export class StreamTickets {
  readonly #probe: ProbeFn;
  readonly #running = new Map<number, AbortController>();
  #next = -1;

  /** Runs probes with `probe`, which must honour its signal and deadline. */
  constructor(probe: ProbeFn) {
    this.#probe = probe;
  }

  /** Starts a probe; `sink` gets its result unless it is cancelled first. */
  start(hc: HealthCheck, backend: Backend, sink: ProbeSink): number {
    const ticket = this.#next;
    this.#next = this.#next <= -Number.MAX_SAFE_INTEGER ? -1 : this.#next - 1;
    const ac = new AbortController();
    this.#running.set(ticket, ac);
    const done = (r: ProbeResult) => {
      if (!this.#running.delete(ticket)) return;
      sink.probeDone(r);
    };
    let p: Promise<ProbeResult>;
    try {
      p = this.#probe(hc, backend, ac.signal);
    } catch (err) {
      p = Promise.resolve(probeResult("L4CON", `probe failed: ${String(err)}`));
    }
    p.then(done, (err) => done(probeResult("L4CON", `probe failed: ${String(err)}`)));
    return ticket;
  }

  /** Aborts a probe; its sink hears nothing. */
  cancel(ticket: number): void {
    const ac = this.#running.get(ticket);
    if (!ac) return;
    this.#running.delete(ticket);
    ac.abort(new DOMException("probe cancelled", "AbortError"));
  }

  /** Aborts every probe. */
  cancelAll(): void {
    for (const t of [...this.#running.keys()]) this.cancel(t);
  }
}
