/**
 * The fleet comparison: the same frontend on every daemon side by side, and
 * where they disagree. Routers behind one ECMP group must program the same
 * VIP the same way, or a flow moves when ECMP rehashes it to another router;
 * the VIP fingerprint (when a daemon reports one) says so in one value, the
 * effective weights say it until then.
 * @module
 */
import type { FrontendInfo } from "../../proto/maglev_pb.ts";
import type { DaemonView } from "./state.ts";

/** One frontend as one daemon has it. */
export interface FleetCell {
  /** The daemon has this frontend. */
  readonly present: boolean;
  readonly state: string;
  /** The VIP fingerprint, when the daemon reports one. */
  readonly fingerprint?: string;
  /** The new-flow table length (0 when absent). */
  readonly tableLength: number;
  /** Effective weight by backend name (absent: not in this daemon's pools). */
  readonly weights: Readonly<Record<string, number>>;
}

/** One frontend across the fleet. */
export interface FleetRow {
  readonly frontend: string;
  /** By daemon id. */
  readonly cells: Readonly<Record<string, FleetCell>>;
  /** Every backend of the frontend on any daemon, sorted. */
  readonly backends: readonly string[];
  /** Daemons disagree on whether the frontend exists. */
  readonly presenceDiffers: boolean;
  /** Daemons report different fingerprints. */
  readonly fingerprintDiffers: boolean;
  /**
   * Daemons build tables of different lengths: the same weights still put
   * flows elsewhere (an `auto` length follows the configured weights and is
   * not recomputed by a runtime weight change).
   */
  readonly tableLengthDiffers: boolean;
  /** Backends whose effective weight differs between daemons. */
  readonly weightDiffers: readonly string[];
  /** Anything above differs. */
  readonly differs: boolean;
}

/** The fingerprint a newer daemon adds to FrontendInfo; absent from older ones. */
function fingerprintOf(f: FrontendInfo): string | undefined {
  const fp = (f as FrontendInfo & { fingerprint?: unknown }).fingerprint;
  return typeof fp === "string" && fp !== "" ? fp : undefined;
}

function cellOf(f: FrontendInfo | undefined): FleetCell {
  if (!f) return { present: false, state: "", tableLength: 0, weights: {} };
  const weights: Record<string, number> = {};
  for (const p of f.pools) for (const b of p.backends) weights[b.name] = b.effective_weight;
  return {
    present: true,
    state: f.state,
    fingerprint: fingerprintOf(f),
    tableLength: f.flow_table_length,
    weights,
  };
}

/**
 * Compares every frontend across the daemons that answered (a daemon never
 * reached has no opinion and is left out of the comparison). Frontends keep
 * the order of the first daemon that has them.
 */
export function compareFleet(daemons: readonly DaemonView[]): FleetRow[] {
  const reached = daemons.filter((d) => d.refreshedAtMs > 0);
  const names: string[] = [];
  for (const d of reached) {
    for (const f of d.frontends) if (!names.includes(f.name)) names.push(f.name);
  }
  return names.map((name) => {
    const cells: Record<string, FleetCell> = {};
    for (const d of reached) cells[d.id] = cellOf(d.frontends.find((f) => f.name === name));
    const all = Object.values(cells);
    const present = all.filter((c) => c.present);
    const backends = [...new Set(present.flatMap((c) => Object.keys(c.weights)))].sort();
    const fps = present.map((c) => c.fingerprint);
    const fingerprintDiffers = fps.every((fp) => fp !== undefined) && new Set(fps).size > 1;
    const weightDiffers = backends.filter((b) =>
      new Set(present.map((c) => c.weights[b])).size > 1
    );
    const presenceDiffers = present.length !== all.length;
    const tableLengthDiffers = new Set(present.map((c) => c.tableLength)).size > 1;
    return {
      frontend: name,
      cells,
      backends,
      presenceDiffers,
      fingerprintDiffers,
      tableLengthDiffers,
      weightDiffers,
      differs: presenceDiffers || fingerprintDiffers || tableLengthDiffers ||
        weightDiffers.length > 0,
    };
  });
}
