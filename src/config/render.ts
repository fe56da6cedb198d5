/**
 * The running config as maglev.yaml text (`show config`, issue 17): every
 * default applied and written out, durations in the one duration format, so
 * the text loads back into the same config.
 * @module
 */
import { stringify } from "yaml";
import type { Backend, Config, Frontend, HealthCheck } from "./types.ts";
import { formatDuration } from "./duration.ts";

function mapOf<T>(record: Readonly<Record<string, T>>, f: (v: T) => unknown) {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(record).sort()) out[name] = f(record[name]);
  return out;
}

function codes(min: number, max: number): number | string {
  return min === max ? min : `${min}-${max}`;
}

function healthcheck(hc: HealthCheck): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: hc.type,
    ...(hc.type === "icmp" ? {} : { port: hc.port }),
    interval: formatDuration(hc.intervalMs),
    "fast-interval": formatDuration(hc.fastIntervalMs),
    "down-interval": formatDuration(hc.downIntervalMs),
    timeout: formatDuration(hc.timeoutMs),
    rise: hc.rise,
    fall: hc.fall,
  };
  if (hc.probeIpv4Src) out["probe-ipv4-src"] = hc.probeIpv4Src;
  if (hc.probeIpv6Src) out["probe-ipv6-src"] = hc.probeIpv6Src;
  if (hc.http) {
    const h = hc.http;
    out.params = {
      path: h.path,
      ...(h.host ? { host: h.host } : {}),
      "response-code": codes(h.responseCodeMin, h.responseCodeMax),
      ...(h.responseRegexp ? { "response-regexp": h.responseRegexp } : {}),
      ...(hc.type === "https"
        ? {
          ...(h.serverName ? { "server-name": h.serverName } : {}),
          "insecure-skip-verify": h.insecureSkipVerify,
        }
        : {}),
    };
  }
  if (hc.tcp) {
    out.params = {
      ssl: hc.tcp.ssl,
      ...(hc.tcp.serverName ? { "server-name": hc.tcp.serverName } : {}),
      "insecure-skip-verify": hc.tcp.insecureSkipVerify,
    };
  }
  return out;
}

function backend(b: Backend): Record<string, unknown> {
  return {
    address: b.address,
    ...(b.healthcheck ? { healthcheck: b.healthcheck } : {}),
    enabled: b.enabled,
    ...(b.description ? { description: b.description } : {}),
  };
}

function frontend(fe: Frontend): Record<string, unknown> {
  return {
    ...(fe.description ? { description: fe.description } : {}),
    address: fe.address,
    protocol: fe.protocol,
    port: fe.port,
    pools: fe.pools.map((p) => ({
      name: p.name,
      backends: Object.fromEntries(p.backends.map((b) => [b.name, { weight: b.weight }])),
    })),
    "src-ip-sticky": fe.srcIpSticky,
    "flush-on-down": fe.flushOnDown,
    "flow-table-length": fe.flowTableLengthAuto ? "auto" : fe.flowTableLength,
  };
}

/**
 * `config` as YAML. Runtime changes the config carries (weights set and
 * backends enabled or disabled by an operator) are included: this is what
 * runs, not what the file says.
 */
export function renderConfig(config: Config): string {
  const lb = config.vpp.lb;
  const doc = {
    maglev: {
      healthchecker: {
        "transition-history": config.healthchecker.transitionHistory,
        ...(config.healthchecker.netns ? { netns: config.healthchecker.netns } : {}),
      },
      vpp: {
        lb: {
          ...(lb.ipv4SrcAddress ? { "ipv4-src-address": lb.ipv4SrcAddress } : {}),
          ...(lb.ipv6SrcAddress ? { "ipv6-src-address": lb.ipv6SrcAddress } : {}),
          "sticky-buckets-per-core": lb.stickyBucketsPerCore,
          "flow-timeout": formatDuration(lb.flowTimeoutS * 1000),
          "sync-interval": formatDuration(lb.syncIntervalMs),
          "startup-min-delay": formatDuration(lb.startupMinDelayMs),
          "startup-max-delay": formatDuration(lb.startupMaxDelayMs),
        },
      },
      healthchecks: mapOf(config.healthchecks, healthcheck),
      backends: mapOf(config.backends, backend),
      frontends: mapOf(config.frontends, frontend),
    },
  };
  return stringify(doc, { lineWidth: 0 });
}
