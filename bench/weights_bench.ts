/**
 * The weights part of issue 16's initial sync, alone: `desiredFromFrontend`
 * and the plan's `sortedIpKeys` over the reconciler bench's config (1,000
 * frontends x 16 static backends), without VPP, the checker or logs, so a
 * change there shows beyond the machine noise of the whole sync.
 *
 *   deno run -A bench/weights_bench.ts
 *
 * Figures: `weights.first_pass_ms` is the first pass of the process (the
 * fresh initial sync's case: JIT start-up included); `weights.warm_pass_ms`
 * is the median of the passes after it.
 * @module
 */
import type { Config } from "../src/config/types.ts";
import type { StateSource } from "../src/health/types.ts";
import { desiredFromFrontend, sortedIpKeys } from "../src/weights/mod.ts";
import { benchConfig } from "./reconciler_bench.ts";
import { type Figure, formatFigure, median, round } from "./util.ts";

/** Sizes of one run. */
export interface WeightsBenchOptions {
  vips?: number;
  ases?: number;
  /** Passes after the first, for the warm median (default 20). */
  rounds?: number;
}

/** One pass: every frontend's desired VIP and its ASes in address order. */
function pass(config: Config, states: StateSource): number {
  let n = 0;
  for (const fe of Object.values(config.frontends)) {
    const vip = desiredFromFrontend(fe, states, config);
    n += sortedIpKeys(vip.ases.keys()).length;
  }
  return n;
}

/** Runs the passes; the first one is only "fresh" when nothing ran before it. */
export function runWeightsBench(options: WeightsBenchOptions = {}): Figure[] {
  const vips = options.vips ?? 1000;
  const ases = options.ases ?? 16;
  const config = benchConfig({
    vips,
    ases,
    steady: 0,
    flips: 0,
    hot: 0,
    probeIntervalMs: 1000,
    probesPerS: 0,
  }, true);
  const states: StateSource = { backendState: () => "up" };
  let t0 = performance.now();
  const placed = pass(config, states);
  const first = performance.now() - t0;
  if (placed !== vips * ases) throw new Error(`placed ${placed} ASes, want ${vips * ases}`);
  const warm: number[] = [];
  for (let r = 0; r < (options.rounds ?? 20); r++) {
    t0 = performance.now();
    pass(config, states);
    warm.push(performance.now() - t0);
  }
  return [
    { name: "weights.first_pass_ms", value: round(first), unit: "ms" },
    { name: "weights.warm_pass_ms", value: round(median(warm)), unit: "ms" },
  ];
}

if (import.meta.main) {
  for (const f of runWeightsBench()) console.log(formatFigure(f));
}
