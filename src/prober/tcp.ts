/**
 * TCP probes: connect (and shake hands when `ssl`), then close at once.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Backend, HealthCheck } from "../config/types.ts";
import type { ProbeResult } from "../health/types.ts";
import { probeResult } from "./result.ts";
import { dial, type DialTarget, runWithDeadline, targetText } from "./transport.ts";

/** Options of {@linkcode probeTcp}. */
export interface TcpProbeOptions {
  readonly signal: AbortSignal;
  readonly clock: Clock;
}

/** Runs one tcp probe against `backend`. */
export function probeTcp(
  hc: HealthCheck,
  backend: Backend,
  options: TcpProbeOptions,
): Promise<ProbeResult> {
  const p = hc.tcp;
  const target: DialTarget = {
    address: backend.address,
    port: hc.port,
    source: backend.family === 6 ? hc.probeIpv6Src : hc.probeIpv4Src,
    tls: p?.ssl
      ? { serverName: p.serverName, insecureSkipVerify: p.insecureSkipVerify }
      : undefined,
  };
  return runWithDeadline(
    async (ctx) => {
      const stream = await dial(target, ctx);
      stream.close();
      return target.tls
        ? probeResult("L6OK", `TLS handshake with ${targetText(target)} ok`)
        : probeResult("L4OK", `connected to ${targetText(target)}`);
    },
    hc.timeoutMs,
    options,
  );
}
