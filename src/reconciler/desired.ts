/**
 * The desired VIP of a frontend, from the running config and live states.
 * @module
 */
import type { Config, Frontend } from "../config/types.ts";
import type { StateSource } from "../health/types.ts";
import {
  desiredFromFrontend,
  type DesiredVip,
  type FrontendStates,
  withAdopted,
} from "../weights/mod.ts";
import type { VppControl } from "./types.ts";

/** What `frontend` should look like in VPP right now. */
export function desiredVip(frontend: Frontend, config: Config, states: FrontendStates): DesiredVip {
  return desiredFromFrontend(frontend, states, config.backends);
}

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
