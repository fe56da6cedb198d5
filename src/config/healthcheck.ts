/**
 * `maglev.healthchecks.<name>`: defaults and rules of one health check.
 * @module
 */

import { errorMessage } from "../errors.ts";
import { DEFAULTS, PARAMS_BY_TYPE } from "./defaults.ts";
import { formatDuration } from "./duration.ts";
import type { PathSegment } from "./locate.ts";
import { compileResponseRegexp } from "./regexp.ts";
import type { SemanticRules } from "./rules.ts";
import type { RawHealthCheck } from "./schema.ts";
import type { HealthCheck, HttpParams, TcpParams } from "./types.ts";

type RawParams = NonNullable<RawHealthCheck["params"]>;

function checkPort(c: SemanticRules, p: readonly PathSegment[], h: RawHealthCheck): number {
  if (h.type === "icmp") {
    if (h.port !== undefined) {
      c.value([...p, "port"], "not allowed for type icmp (ICMP has no ports)");
    }
    return 0;
  }
  if (h.port === undefined) {
    c.value([...p, "port"], `required for type ${h.type}`);
  } else if (h.port < 1 || h.port > 65535) {
    c.value([...p, "port"], `must be from 1 to 65535, got ${h.port}`);
  } else {
    return h.port;
  }
  return 0;
}

type Timings = Pick<
  HealthCheck,
  "intervalMs" | "fastIntervalMs" | "downIntervalMs" | "timeoutMs" | "rise" | "fall"
>;

function timings(c: SemanticRules, p: readonly PathSegment[], h: RawHealthCheck): Timings {
  const intervalMs = h.interval ?? DEFAULTS.intervalMs;
  c.positive([...p, "interval"], intervalMs);
  // A value inherited from interval is checked as interval only: a bad
  // `interval` alone must not also blame keys the operator never wrote.
  const fastIntervalMs = h["fast-interval"] ?? intervalMs;
  if (h["fast-interval"] !== undefined) c.positive([...p, "fast-interval"], fastIntervalMs);
  const downIntervalMs = h["down-interval"] ?? intervalMs;
  if (h["down-interval"] !== undefined) c.positive([...p, "down-interval"], downIntervalMs);
  // The 1s default shrinks to a shorter interval, so `interval: 200ms` alone is valid.
  const timeoutMs = h.timeout ?? Math.min(DEFAULTS.timeoutMs, intervalMs);
  if (h.timeout === undefined) {
    // The default is within 1s and interval, so only interval can be wrong.
  } else if (!(timeoutMs > 0)) {
    c.positive([...p, "timeout"], timeoutMs);
  } else if (!c.bounded([...p, "timeout"], timeoutMs)) {
    // Reported; the comparison with interval would only repeat it.
  } else if (intervalMs > 0 && timeoutMs > intervalMs) {
    c.value(
      [...p, "timeout"],
      `must not exceed interval (${formatDuration(intervalMs)}), got ${formatDuration(timeoutMs)}`,
    );
  }
  const rise = h.rise ?? DEFAULTS.rise;
  c.atLeast([...p, "rise"], rise, 1);
  const fall = h.fall ?? DEFAULTS.fall;
  c.atLeast([...p, "fall"], fall, 1);
  return { intervalMs, fastIntervalMs, downIntervalMs, timeoutMs, rise, fall };
}

function checkParamKeys(
  c: SemanticRules,
  p: readonly PathSegment[],
  type: HealthCheck["type"],
  params: RawParams,
): void {
  const allowed = PARAMS_BY_TYPE[type];
  for (const [key, v] of Object.entries(params)) {
    if (v === undefined || allowed.includes(key)) continue;
    const tail = allowed.length === 0
      ? "icmp health checks take no params"
      : `allowed for ${type}: ${allowed.join(", ")}`;
    c.key([...p, "params", key], `not allowed for type ${type} (${tail})`);
  }
}

function httpParams(
  c: SemanticRules,
  p: readonly PathSegment[],
  https: boolean,
  params: RawParams,
): HttpParams {
  const path = params.path ?? DEFAULTS.httpPath;
  if (!path.startsWith("/")) {
    c.value([...p, "params", "path"], `must start with "/", got ${JSON.stringify(path)}`);
  }
  const code = params["response-code"] ??
    { min: DEFAULTS.responseCodeMin, max: DEFAULTS.responseCodeMax };
  if (code.min < 100 || code.max > 599 || code.min > code.max) {
    c.value(
      [...p, "params", "response-code"],
      `must be a status code or range within 100-599 with min <= max, got ${code.min}-${code.max}`,
    );
  }
  const responseRegexp = params["response-regexp"] ?? "";
  if (responseRegexp !== "") {
    try {
      compileResponseRegexp(responseRegexp);
    } catch (e) {
      c.value(
        [...p, "params", "response-regexp"],
        `is not a valid RE2 expression: ${errorMessage(e)}`,
      );
    }
  }
  return {
    path,
    host: params.host ?? "",
    responseCodeMin: code.min,
    responseCodeMax: code.max,
    responseRegexp,
    serverName: https ? params["server-name"] ?? "" : "",
    insecureSkipVerify: https ? params["insecure-skip-verify"] ?? false : false,
  };
}

function tcpParams(params: RawParams): TcpParams {
  return {
    ssl: params.ssl ?? false,
    serverName: params["server-name"] ?? "",
    insecureSkipVerify: params["insecure-skip-verify"] ?? false,
  };
}

/** Applies defaults and rules to `maglev.healthchecks.<name>`. */
export function buildHealthCheck(c: SemanticRules, name: string, h: RawHealthCheck): HealthCheck {
  const p = ["maglev", "healthchecks", name];
  const type = h.type;
  const port = checkPort(c, p, h);
  const times = timings(c, p, h);
  const probeSrc = (key: "probe-ipv4-src" | "probe-ipv6-src", family: 4 | 6): string => {
    const text = h[key] ?? "";
    return text === "" ? "" : c.address([...p, key], text, family)?.address ?? "";
  };
  const params = h.params ?? {};
  checkParamKeys(c, p, type, params);
  const http = type === "http" || type === "https"
    ? httpParams(c, p, type === "https", params)
    : undefined;
  const tcp = type === "tcp" ? tcpParams(params) : undefined;
  return {
    name,
    type,
    port,
    ...times,
    probeIpv4Src: probeSrc("probe-ipv4-src", 4),
    probeIpv6Src: probeSrc("probe-ipv6-src", 6),
    ...(http ? { http } : {}),
    ...(tcp ? { tcp } : {}),
  };
}
