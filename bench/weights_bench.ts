/**
 * The weights part of issue 16's initial sync, alone: `desiredFromFrontend`
 * and the plan's `sortedIpKeys` over 1,000 frontends x 16 backends (the
 * reconciler bench's shape), without VPP, the checker or logs, so a change
 * there shows beyond the machine noise of the whole sync.
 *
 *   deno run -A bench/weights_bench.ts [--vips 1000] [--ases 16] [--rounds 20]
 *
 * Figures: `weights.first_pass_ms` is the first pass of the process (the
 * fresh initial sync's case: JIT start-up included); `weights.warm_pass_ms`
 * is the median of the passes after it.
 * @module
 */
import { parseArgs } from "node:util";
import { makeConfig } from "../src/checker/checker_test_util.ts";
import type { Config } from "../src/config/types.ts";
import type { StateSource } from "../src/health/types.ts";
import { desiredFromFrontend, sortedIpKeys } from "../src/weights/mod.ts";
import { type Figure, formatFigure, median, round } from "./util.ts";

/** Sizes of one run. */
export interface WeightsBenchOptions {
  vips?: number;
  ases?: number;
  /** Passes after the first, for the warm median (default 20). */
  rounds?: number;
}

function asAddress(k: number): string {
  return `10.${Math.floor(k / 62_500)}.${Math.floor(k / 250) % 250}.${(k % 250) + 1}`;
}

function weightsConfig(vips: number, ases: number): Config {
  const backends: Record<string, { address: string; healthcheck: string }> = {};
  const frontends: Parameters<typeof makeConfig>[0]["frontends"] = {};
  for (let i = 0; i < vips; i++) {
    const pool: Record<string, number> = {};
    // Config order is not address order: the sort has work to do.
    for (let j = ases - 1; j >= 0; j--) {
      const name = `b${i}_${j}`;
      backends[name] = { address: asAddress(i * ases + j), healthcheck: "" };
      pool[name] = 100;
    }
    frontends[`fe${i}`] = {
      address: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      pools: [["primary", pool]],
    };
  }
  return makeConfig({ backends, frontends });
}

/** One pass: every frontend's desired VIP and its ASes in address order. */
function pass(config: Config, states: StateSource): number {
  let n = 0;
  for (const fe of Object.values(config.frontends)) {
    const vip = desiredFromFrontend(fe, states, config.backends);
    n += sortedIpKeys(vip.ases.keys()).length;
  }
  return n;
}

/** Runs the passes; the first one is only "fresh" when nothing ran before it. */
export function runWeightsBench(options: WeightsBenchOptions = {}): Figure[] {
  const vips = options.vips ?? 1000;
  const ases = options.ases ?? 16;
  const config = weightsConfig(vips, ases);
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
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      vips: { type: "string", default: "1000" },
      ases: { type: "string", default: "16" },
      rounds: { type: "string", default: "20" },
    },
  });
  const figures = runWeightsBench({
    vips: Number(values.vips),
    ases: Number(values.ases),
    rounds: Number(values.rounds),
  });
  for (const f of figures) console.log(formatFigure(f));
}
