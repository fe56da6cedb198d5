/**
 * Defaults of spec 0.2 and the bounds of every config duration, in one place
 * so that the guide, `check` and the daemon agree.
 * @module
 */

import type { HealthCheck, HttpParams } from "./types.ts";

/** Defaults of spec 0.2. */
export const DEFAULTS = {
  transitionHistory: 5,
  netns: "",
  stickyBucketsPerCore: 1024,
  flowTimeoutMs: 40_000,
  syncIntervalMs: 30_000,
  startupMinDelayMs: 5_000,
  startupMaxDelayMs: 30_000,
  intervalMs: 2_000,
  timeoutMs: 1_000,
  rise: 2,
  fall: 3,
  httpPath: "/",
  responseCodeMin: 200,
  responseCodeMax: 399,
  weight: 100,
} as const;

/** The params of an http check written with `params: {}` or none (spec 0.2). */
export const DEFAULT_HTTP_PARAMS: HttpParams = Object.freeze({
  path: DEFAULTS.httpPath,
  host: "",
  responseCodeMin: DEFAULTS.responseCodeMin,
  responseCodeMax: DEFAULTS.responseCodeMax,
  responseRegexp: "",
  serverName: "",
  insecureSkipVerify: false,
});

const HOUR = 3_600_000;

/**
 * The largest value of each duration key, in milliseconds. Timers cannot
 * exceed 2^31-1 ms (about 24.8 days; above it they fire after 1 ms), so every
 * duration has a bound well below that: a probe interval over an hour checks
 * nothing useful, a full sync less often than daily repairs nothing in time.
 */
export const DURATION_MAX_MS: Readonly<Record<string, number>> = {
  interval: HOUR,
  "fast-interval": HOUR,
  "down-interval": HOUR,
  timeout: HOUR,
  "flow-timeout": HOUR,
  "sync-interval": 24 * HOUR,
  "startup-min-delay": HOUR,
  "startup-max-delay": HOUR,
};

/** Which `params` keys each health check type accepts (spec 0.2). */
export const PARAMS_BY_TYPE: Readonly<Record<HealthCheck["type"], readonly string[]>> = {
  icmp: [],
  tcp: ["ssl", "server-name", "insecure-skip-verify"],
  http: ["path", "host", "response-code", "response-regexp"],
  https: [
    "path",
    "host",
    "response-code",
    "response-regexp",
    "server-name",
    "insecure-skip-verify",
  ],
};
