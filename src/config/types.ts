/**
 * The validated, typed configuration. Produced by `loadConfig` in `mod.ts`;
 * every object is frozen. Durations are milliseconds, addresses are in their
 * canonical text form (IPv4 dotted quad, IPv6 RFC 5952 short form).
 * @module
 */

/** Health check kinds of spec 2.4. */
export type HealthCheckType = "icmp" | "tcp" | "http" | "https";

/** `params` of an http/https health check, defaults applied. */
export interface HttpParams {
  /** Request URI, default `/`. */
  readonly path: string;
  /** Host header; empty means the backend address. */
  readonly host: string;
  /** Lowest accepted status (inclusive), default 200. */
  readonly responseCodeMin: number;
  /** Highest accepted status (inclusive), default 399. */
  readonly responseCodeMax: number;
  /** Body regexp source (RE2 syntax, see `regexp.ts`); empty means no body check. */
  readonly responseRegexp: string;
  /** TLS SNI (https only); empty means none. */
  readonly serverName: string;
  /** Skip certificate verification (https only). */
  readonly insecureSkipVerify: boolean;
}

/** `params` of a tcp health check, defaults applied. */
export interface TcpParams {
  /** Do a TLS handshake after connecting. */
  readonly ssl: boolean;
  /** TLS SNI; empty means none. */
  readonly serverName: string;
  /** Skip certificate verification. */
  readonly insecureSkipVerify: boolean;
}

/** One `maglev.healthchecks.<name>` entry. */
export interface HealthCheck {
  readonly name: string;
  readonly type: HealthCheckType;
  /** Probe port; 0 for icmp. */
  readonly port: number;
  readonly intervalMs: number;
  readonly fastIntervalMs: number;
  readonly downIntervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  /** Source address for probes to IPv4 backends; empty for none. */
  readonly probeIpv4Src: string;
  /** Source address for probes to IPv6 backends; empty for none. */
  readonly probeIpv6Src: string;
  /** Present for http and https. */
  readonly http?: HttpParams;
  /** Present for tcp. */
  readonly tcp?: TcpParams;
}

/** One `maglev.backends.<name>` entry. */
export interface Backend {
  readonly name: string;
  readonly address: string;
  readonly family: 4 | 6;
  /** Health check name; empty string for a static backend (spec 3.6). */
  readonly healthcheck: string;
  readonly enabled: boolean;
  readonly description: string;
}

/** A backend's membership in a pool. */
export interface PoolBackend {
  readonly name: string;
  /** Configured pool weight 0..100. */
  readonly weight: number;
}

/** A priority tier of a frontend; pools[0] is primary. */
export interface Pool {
  readonly name: string;
  /** In YAML order. */
  readonly backends: readonly PoolBackend[];
}

/** One `maglev.frontends.<name>` entry: one VPP VIP. */
export interface Frontend {
  readonly name: string;
  readonly address: string;
  readonly family: 4 | 6;
  readonly protocol: "tcp" | "udp";
  /** 0 means an all-port VIP. */
  readonly port: number;
  readonly description: string;
  readonly pools: readonly Pool[];
  readonly srcIpSticky: boolean;
  readonly flushOnDown: boolean;
  /** Resolved new-flow table length (the `auto` rule applied). */
  readonly flowTableLength: number;
  /** True when `flow-table-length` was `auto` (or omitted). */
  readonly flowTableLengthAuto: boolean;
}

/** `maglev.vpp.lb`, defaults applied. */
export interface VppLbConfig {
  /** Empty when not configured (only allowed when VPP is disabled). */
  readonly ipv4SrcAddress: string;
  /** Empty when not configured (only allowed when VPP is disabled). */
  readonly ipv6SrcAddress: string;
  readonly stickyBucketsPerCore: number;
  /** Whole seconds. */
  readonly flowTimeoutS: number;
  readonly syncIntervalMs: number;
  readonly startupMinDelayMs: number;
  readonly startupMaxDelayMs: number;
}

/** `maglev.healthchecker`. */
export interface HealthcheckerConfig {
  readonly transitionHistory: number;
  /** Network namespace name; empty for the daemon's own. */
  readonly netns: string;
}

/** The whole validated configuration. Maps are keyed by name, keys sorted. */
export interface Config {
  readonly healthchecker: HealthcheckerConfig;
  readonly vpp: { readonly lb: VppLbConfig };
  readonly healthchecks: Readonly<Record<string, HealthCheck>>;
  readonly backends: Readonly<Record<string, Backend>>;
  readonly frontends: Readonly<Record<string, Frontend>>;
  /** Non-fatal findings (e.g. a flow-table-length that flattens weights). */
  readonly warnings: readonly string[];
}
