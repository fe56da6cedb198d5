/**
 * Health probes (spec 4): http, https, tcp (+TLS) and icmp, each under a hard
 * deadline of the check's `timeout`, returning the codes of spec 3.8. With
 * `netns` set, probes run in a probe agent inside that namespace (spec 0.6).
 *
 * ```ts
 * const prober = createProber({ netns: cfg.healthchecker.netns });
 * const result = await prober.probe(hc, backend, signal);
 * await prober.close();
 * ```
 * @module
 */
import type { Clock } from "../clock.ts";
import { createNetnsProber } from "./agent.ts";
import { createLocalProber, type EngineName, type Prober } from "./local.ts";

export {
  createLocalProber,
  DEFAULT_VERSION,
  defaultEngine,
  type EngineName,
  type Prober,
} from "./local.ts";
export { PROBE_AGENT_ARG, runProbeAgent } from "./agent.ts";

/** Options of {@linkcode createProber}. */
export interface ProberOptions {
  /** Network namespace under `/var/run/netns/`; empty or absent for the daemon's own. */
  readonly netns?: string;
  /** Build version for `User-Agent: maglevd/<version>`. */
  readonly version?: string;
  /** Timers and durations; the real clock by default. */
  readonly clock?: Clock;
  /** The engine of plain http and tcp probes; socket when FFI is allowed, else stream. */
  readonly engine?: EngineName;
}

/** Creates the daemon's prober. */
export function createProber(options: ProberOptions = {}): Prober {
  if (options.netns) return createNetnsProber(options.netns, options);
  return createLocalProber(options);
}
