/**
 * When the daemon is ready to be trusted with traffic (issue 17): warmup is
 * complete and VPP is connected (or disabled). `/ready` answers 503 with the
 * reason until then; systemd hears `READY=1` once warmup completes.
 * @module
 */
import { formatDuration } from "../config/duration.ts";
import { errorMessage } from "../errors.ts";
import type { VppControl } from "../reconciler/types.ts";
import type { WarmupGate } from "../reconciler/warmup.ts";

/** The warmup phase the daemon reports (`show status`): `done` without VPP. */
export function warmupPhase(vpp: Pick<VppControl, "enabled">, gate: WarmupGate): string {
  return vpp.enabled() ? gate.phase() : "done";
}

/** Why the daemon is not ready, or "" when it is. */
export function notReadyReason(vpp: VppControl, gate: WarmupGate): string {
  if (!vpp.enabled()) return "";
  if (!gate.done) {
    return `warmup in progress (${gate.phase()}, ${formatDuration(gate.elapsedMs())} of at most ` +
      `${formatDuration(gate.maxDelayMs)})`;
  }
  if (vpp.connected()) return "";
  try {
    vpp.info();
    return "";
  } catch (e) {
    // The manager's own words: not connected, or incompatible naming the messages.
    return errorMessage(e);
  }
}
