/**
 * The disruption preview (issue 17): how many of a VIP's new-flow buckets a
 * weight change or a disable would move, and to which backends, from the
 * same Maglev table VPP builds (`vpp/maglev_table.ts`).
 * @module
 */
import type { BucketMove, BucketShare, PreviewChangeResponse } from "../../proto/maglev_pb.ts";
import type { Config, Frontend } from "../config/types.ts";
import { buildNewFlowTable } from "../../vpp/maglev_table.ts";
import {
  desiredFromFrontend,
  type DesiredVip,
  type FrontendStates,
  sortedIpKeys,
} from "../weights/mod.ts";
import { vipFingerprint } from "../weights/fingerprint.ts";
import { asProgrammed } from "../reconciler/plan.ts";

/** The change to preview on one backend of one frontend. */
export interface PreviewChange {
  readonly backend: string;
  /** Only this pool's entry; undefined for every pool holding the backend. */
  readonly pool?: string;
  /** The new configured weight, or `disable`. */
  readonly change: { readonly weight: number } | "disable";
}

/** The frontend with `backend`'s configured weight replaced (in `pool`, or every pool). */
function withWeight(fe: Frontend, change: PreviewChange, weight: number): Frontend {
  return {
    ...fe,
    pools: fe.pools.map((p) =>
      change.pool !== undefined && p.name !== change.pool ? p : {
        ...p,
        backends: p.backends.map((b) => (b.name === change.backend ? { ...b, weight } : b)),
      }
    ),
  };
}

/** Bucket owner names of `vip`'s table ("" for a bucket with no backend). */
function owners(vip: DesiredVip): string[] {
  const addresses = sortedIpKeys(vip.ases.keys());
  const ases = addresses.map((address) => ({ address, weight: vip.ases.get(address)!.weight }));
  const names = addresses.map((a) => vip.ases.get(a)!.backend);
  return [...buildNewFlowTable(ases, vip.flowTableLength)].map((i) => (i < 0 ? "" : names[i]));
}

function shares(vip: DesiredVip, table: string[], config: Config): BucketShare[] {
  const counts = new Map<string, number>();
  for (const name of table) if (name !== "") counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...vip.ases.values()].map((a) => ({
    backend: a.backend,
    address: config.backends[a.backend]?.address ?? "",
    effective_weight: a.weight,
    buckets: counts.get(a.backend) ?? 0,
  }));
}

/** What {@linkcode previewChange} reads besides the frontend and the change. */
export interface PreviewOptions {
  readonly config: Config;
  /**
   * The backends' states as VPP serves them: with the weights adopted from
   * VPP (`servedStates`), so that "before" is what GetFrontend shows and
   * "after" is what the engine would write.
   */
  readonly states: FrontendStates;
  /** The table length VPP holds for the VIP (`VppControl.heldTableLength`). */
  readonly heldTableLength?: number;
}

/**
 * The buckets of `fe`'s VIP that `change` would move, with the running
 * config and the backends' current `states`. Pure: nothing is changed.
 */
export function previewChange(
  fe: Frontend,
  change: PreviewChange,
  options: PreviewOptions,
): PreviewChangeResponse {
  const { config, states, heldTableLength: held } = options;
  // VPP's kept `auto` table, not the config's length, is what the buckets move in.
  const before = asProgrammed(desiredFromFrontend(fe, states, config), held);
  const after = asProgrammed(
    change.change === "disable"
      ? desiredFromFrontend(fe, disabled(states, change.backend), config)
      : desiredFromFrontend(withWeight(fe, change, change.change.weight), states, config),
    held,
  );
  const t0 = owners(before);
  const t1 = owners(after);
  const moves = new Map<string, BucketMove>();
  let moved = 0;
  t0.forEach((from, i) => {
    const to = t1[i];
    if (from === to) return;
    moved++;
    const key = `${from}\u0000${to}`;
    const m = moves.get(key) ?? { from, to, buckets: 0 };
    m.buckets++;
    moves.set(key, m);
  });
  return {
    frontend: fe.name,
    table_length: before.flowTableLength,
    buckets_moved: moved,
    moves: [...moves.values()].sort((a, b) =>
      b.buckets - a.buckets || a.from.localeCompare(b.from) || a.to.localeCompare(b.to)
    ),
    before: shares(before, t0, config),
    after: shares(after, t1, config),
    fingerprint_before: vipFingerprint(before),
    fingerprint_after: vipFingerprint(after),
  };
}

/**
 * `states` with `backend` disabled. The adoption is carried through: the
 * other backends keep VPP's weight while they wait, and the disabled one has
 * a state now, so the adoption rule (`heldWeight`) no longer holds its weight.
 */
function disabled(states: FrontendStates, backend: string): FrontendStates {
  return {
    backendState: (name) => (name === backend ? "disabled" : states.backendState(name)),
    adoption: (name) => states.adoption?.(name),
  };
}
