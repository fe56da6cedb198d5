/**
 * Gauges computed at scrape time from the running checker and VPP views, so
 * that a reload, a removed backend or a runtime weight change shows on the
 * next scrape and no series is left behind.
 * @module
 */
import type { CheckerApi, FrontendState } from "../checker/types.ts";
import type { Clock } from "../clock.ts";
import { STATES } from "../health/types.ts";
import type { VppControl } from "../reconciler/types.ts";
import { effectiveWeights } from "../weights/mod.ts";
import { servedStates } from "../reconciler/desired.ts";
import { protocolName } from "../../vpp/names.ts";
import type { FamilySet } from "./families.ts";

/**
 * What the metrics read of VPP: the reconciler's {@linkcode VppControl}
 * without what writes to VPP or fetches its whole lb state.
 */
export type MetricsVpp = Omit<VppControl, "sync" | "lbState" | "incompatible">;

/** Where the gauges read from. */
export interface StateSources {
  readonly checker: CheckerApi;
  /** Absent or `enabled() == false` when VPP integration is off. */
  readonly vpp?: MetricsVpp;
  readonly clock: Clock;
}

const FRONTEND_STATES: readonly FrontendState[] = ["unknown", "up", "down"];

/** `address/len` → `address`. */
function prefixAddress(prefix: string): string {
  const slash = prefix.indexOf("/");
  return slash < 0 ? prefix : prefix.slice(0, slash);
}

/** Backend state, health and enabled gauges. */
export function addBackendGauges(set: FamilySet): void {
  const { gauge, atScrape } = set;
  const backendState = gauge(
    "maglev_backend_state",
    "1 for the backend's current state, 0 for every other state.",
    ["address", "backend", "healthcheck", "state"],
  );
  atScrape("maglev_backend_state", (view) => {
    backendState.reset();
    for (const b of view.backends()) {
      const { address, name: backend, healthcheck } = b;
      for (const state of STATES) {
        backendState.set({ address, backend, healthcheck, state }, state === b.state ? 1 : 0);
      }
    }
  });
  const backendHealth = gauge("maglev_backend_health", "The backend's rise/fall counter.", [
    "backend",
  ]);
  atScrape("maglev_backend_health", (view) => {
    backendHealth.reset();
    for (const b of view.backends()) backendHealth.set({ backend: b.name }, b.health);
  });
  const backendEnabled = gauge("maglev_backend_enabled", "1 when the backend is enabled.", [
    "backend",
  ]);
  atScrape("maglev_backend_enabled", (view) => {
    backendEnabled.reset();
    for (const b of view.backends()) backendEnabled.set({ backend: b.name }, b.enabled ? 1 : 0);
  });
}

/** Pool weight, effective weight, frontend state and sync error gauges. */
export function addFrontendGauges(set: FamilySet, sources: StateSources): void {
  const { gauge, atScrape } = set;
  const { checker, vpp } = sources;
  const poolWeight = gauge(
    "maglev_frontend_pool_backend_weight",
    "Configured weight of a backend in a frontend's pool.",
    ["backend", "frontend", "pool"],
  );
  atScrape("maglev_frontend_pool_backend_weight", () => {
    poolWeight.reset();
    for (const fe of Object.values(checker.config().frontends)) {
      for (const pool of fe.pools) {
        for (const pb of pool.backends) {
          poolWeight.set({ backend: pb.name, frontend: fe.name, pool: pool.name }, pb.weight);
        }
      }
    }
  });
  const effectiveWeight = gauge(
    "maglev_frontend_pool_backend_effective_weight",
    "Weight of a backend in a frontend's pool after health and failover (what VPP is given).",
    ["backend", "frontend", "pool"],
  );
  atScrape("maglev_frontend_pool_backend_effective_weight", () => {
    effectiveWeight.reset();
    for (const fe of Object.values(checker.config().frontends)) {
      const served = servedStates(checker, { vpp, frontend: fe.name });
      for (const [pool, backends] of effectiveWeights(fe, served)) {
        for (const [backend, weight] of backends) {
          effectiveWeight.set({ backend, frontend: fe.name, pool }, weight);
        }
      }
    }
  });
  const frontendState = gauge(
    "maglev_frontend_state",
    "1 for the frontend's current aggregate state, 0 for the others.",
    ["frontend", "state"],
  );
  atScrape("maglev_frontend_state", () => {
    frontendState.reset();
    for (const frontend of Object.keys(checker.config().frontends)) {
      const current = checker.frontendState(frontend);
      for (const state of FRONTEND_STATES) {
        frontendState.set({ frontend, state }, state === current ? 1 : 0);
      }
    }
  });

  const vppSyncError = gauge(
    "maglev_frontend_vpp_sync_error",
    "1 when VPP refused a write for the frontend at the last sync: VPP does not hold what " +
      "maglevd shows; 0 when it does.",
    ["frontend"],
  );
  atScrape("maglev_frontend_vpp_sync_error", () => {
    vppSyncError.reset();
    if (vpp?.lastSyncError === undefined || !vpp.enabled()) return;
    for (const frontend of Object.keys(checker.config().frontends)) {
      vppSyncError.set({ frontend }, vpp.lastSyncError(frontend) ? 1 : 0);
    }
  });
}

/** The VPP connection gauges and the per-VIP packet counters. */
export function addVppGauges(set: FamilySet, sources: StateSources): void {
  const { gauge, atScrape, counter } = set;
  const { vpp, clock } = sources;
  function vppUp(): boolean {
    return vpp !== undefined && vpp.enabled() && vpp.connected();
  }

  // Unlabelled gauges always hold a series after reset(); remove() drops it
  // where the spec says the metric is absent.
  const vppConnected = gauge(
    "maglev_vpp_connected",
    "1 when maglevd is connected to VPP's binary API.",
    [],
  );
  atScrape("maglev_vpp_connected", () => {
    vppConnected.reset();
    if (vpp !== undefined && vpp.enabled()) vppConnected.set(vpp.connected() ? 1 : 0);
    else vppConnected.remove();
  });
  const vppUptime = gauge("maglev_vpp_uptime_seconds", "Seconds since VPP booted.", []);
  atScrape("maglev_vpp_uptime_seconds", () => {
    vppUptime.reset();
    const boot = vpp !== undefined && vppUp() ? vpp.info().bootTimeMs : 0;
    if (boot > 0) vppUptime.set(Math.max(0, (clock.now() - boot) / 1000));
    else vppUptime.remove();
  });
  const vppConnectedSeconds = gauge(
    "maglev_vpp_connected_seconds",
    "Seconds since maglevd connected to VPP.",
    [],
  );
  atScrape("maglev_vpp_connected_seconds", () => {
    vppConnectedSeconds.reset();
    if (vpp !== undefined && vppUp()) {
      vppConnectedSeconds.set(Math.max(0, (clock.now() - vpp.info().connectedAtMs) / 1000));
    } else {
      vppConnectedSeconds.remove();
    }
  });
  const vppInfo = gauge("maglev_vpp_info", "Facts about the connected VPP; always 1.", [
    "build_date",
    "pid",
    "version",
  ]);
  atScrape("maglev_vpp_info", () => {
    vppInfo.reset();
    if (vpp === undefined || !vppUp()) return;
    const info = vpp.info();
    vppInfo.set({ build_date: info.buildDate, pid: String(info.pid), version: info.version }, 1);
  });
  // A counter, though set from VPP's snapshot: VPP owns the running totals.
  const vipPackets = counter(
    "maglev_vip_packets_total",
    "Packets the VPP lb plugin counted per VIP, by kind (next, first, untracked, " +
      "no-server).",
    ["address", "frontend", "kind", "port", "protocol"],
  );
  atScrape("maglev_vip_packets_total", () => {
    vipPackets.reset();
    if (vpp === undefined || !vppUp()) return;
    for (const c of vpp.counters()) {
      const vip = {
        address: prefixAddress(c.prefix),
        frontend: c.frontend,
        port: String(c.port),
        protocol: protocolName(c.protocol),
      };
      vipPackets.inc({ ...vip, kind: "next" }, c.next);
      vipPackets.inc({ ...vip, kind: "first" }, c.first);
      vipPackets.inc({ ...vip, kind: "untracked" }, c.untracked);
      vipPackets.inc({ ...vip, kind: "no-server" }, c.noServer);
    }
  });
}
