/**
 * The states a frontend's desired VIP is built from, as VPP serves them.
 * @module
 */
import type { StateSource } from "../health/types.ts";
import { type FrontendStates, withAdopted } from "../weights/mod.ts";
import type { VppControl } from "./types.ts";

/**
 * The states of `frontend`'s backends as VPP serves them: with the weights
 * adopted from VPP that still wait for a first result. For readers (gRPC,
 * metrics) that show what VPP holds, not only what health says.
 */
export function servedStates(
  states: StateSource,
  options: { vpp?: Pick<VppControl, "adoptedWeights">; frontend: string },
): FrontendStates {
  return withAdopted(states, options.vpp?.adoptedWeights?.(options.frontend));
}
