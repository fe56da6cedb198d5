/**
 * The in-process prober: dispatches each probe to its type's module.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import type { Backend, HealthCheck } from "../config/types.ts";
import type { ProbeResult } from "../health/types.ts";
import type { ProbeFn } from "../checker/types.ts";
import { probeHttp } from "./http.ts";
import { IcmpProber } from "./icmp.ts";
import { probeResult } from "./result.ts";
import { probeTcp } from "./tcp.ts";

/** What {@linkcode createProber} returns. */
export interface Prober {
  /** Runs one probe; never rejects. */
  readonly probe: ProbeFn;
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
}

/** A prober that probes from the current network namespace. */
export function createLocalProber(options: LocalProberOptions = {}): Prober {
  const clock = options.clock ?? realClock;
  const userAgent = `maglevd/${options.version ?? DEFAULT_VERSION}`;
  const icmp = new IcmpProber(clock);
  async function probe(
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
          return probeResult("L4CON", `unknown health check type ${JSON.stringify(hc.type)}`, 0);
      }
    } catch (err) {
      // The probers map their own errors; this guards the checker's loop.
      return probeResult("L4CON", `probe failed: ${String(err)}`, 0);
    }
  }
  return { probe, close: () => icmp.close() };
}
