/**
 * The desired VIP of a frontend, from the running config and live states.
 * @module
 */
import type { Config, Frontend } from "../config/types.ts";
import type { StateSource } from "../health/types.ts";
import { desiredFromFrontend, type DesiredVip } from "../weights/mod.ts";

/** What `frontend` should look like in VPP right now. */
export function desiredVip(frontend: Frontend, config: Config, states: StateSource): DesiredVip {
  return desiredFromFrontend(frontend, states, config.backends);
}
