/**
 * GetStatus: the daemon reporting on itself (issue 17). The daemon supplies
 * the facts only it knows (build, start time, config file, reloads, warmup);
 * backend and frontend counts come from the checker, the VPP connection from
 * the manager, whose own words say why it is not connected.
 * @module
 */
import type { StateCount, StatusInfo, VppStatus } from "../../proto/maglev_pb.ts";
import type { CheckerApi } from "../checker/types.ts";
import type { Clock } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import type { VppControl } from "../reconciler/types.ts";
import { msToNs } from "./convert.ts";

/** The outcome of the last reload. */
export interface ReloadRecord {
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly ok: boolean;
  /** The parse or semantic error; empty when ok. */
  readonly error: string;
}

/** What only the daemon knows about itself. */
export interface DaemonFacts {
  readonly version: string;
  readonly commit: string;
  readonly buildDate: string;
  /** Unix milliseconds of the process start. */
  readonly startedAtMs: number;
  readonly configPath: string;
  /** The VPP API socket; empty when VPP is disabled. */
  readonly vppApiAddr: string;
  /** sha256 (hex) of the running config file's bytes. */
  configHash(): string;
  /** Undefined when there was no reload since start. */
  lastReload(): ReloadRecord | undefined;
  /** `min-delay`, `release` or `done`. */
  warmup(): string;
}

function counts(states: Iterable<string>): StateCount[] {
  const m = new Map<string, number>();
  for (const s of states) m.set(s, (m.get(s) ?? 0) + 1);
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([state, count]) => ({
    state,
    count,
  }));
}

/** The VPP connection as GetStatus shows it. */
export function vppStatus(vpp: VppControl, apiSocket: string): VppStatus {
  const base = {
    api_socket: apiSocket,
    version: "",
    since_ns: "0",
    missing_messages: [...vpp.incompatible()],
    error: "",
  };
  if (!vpp.enabled()) return { ...base, state: "disabled", api_socket: "" };
  try {
    const info = vpp.info();
    return {
      ...base,
      state: "connected",
      version: info.version,
      since_ns: msToNs(info.connectedAtMs),
    };
  } catch (e) {
    // The manager's own reason: incompatible (naming the messages) or not connected.
    const state = base.missing_messages.length > 0 ? "incompatible" : "disconnected";
    return { ...base, state, error: errorMessage(e) };
  }
}

/** The whole GetStatus answer. */
export function statusInfo(
  facts: DaemonFacts,
  sources: { checker: CheckerApi; vpp: VppControl; clock: Clock },
): StatusInfo {
  const { checker, vpp, clock } = sources;
  const backends = checker.listBackends().map((n) => checker.backendState(n) ?? "unknown");
  const frontends = Object.keys(checker.config().frontends).map((n) => checker.frontendState(n));
  const reload = facts.lastReload();
  return {
    version: facts.version,
    commit: facts.commit,
    build_date: facts.buildDate,
    start_time_ns: msToNs(facts.startedAtMs),
    uptime_ns: msToNs(Math.max(0, clock.now() - facts.startedAtMs)),
    config_path: facts.configPath,
    config_hash: facts.configHash(),
    last_reload: reload
      ? { at_ns: msToNs(reload.atMs), ok: reload.ok, error: reload.error }
      : { at_ns: "0", ok: false, error: "" },
    warmup: facts.warmup(),
    vpp: vppStatus(vpp, facts.vppApiAddr),
    backends: counts(backends),
    frontends: counts(frontends),
  };
}
