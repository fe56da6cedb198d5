/**
 * The `auto` rule for a VIP's new-flow table length (spec 0.2). The config
 * loader owns it: a `Frontend` carries the resolved length.
 * @module
 */

/** Smallest table VPP accepts from us. */
export const MIN_FLOW_TABLE_LENGTH = 1024;
/** Largest table VPP reads back correctly (lb_vip_details carries a u16). */
export const MAX_FLOW_TABLE_LENGTH = 32768;

/**
 * The smallest power of two >= 1024 and >= 8 x `weightSum`, capped at 32768:
 * large enough that VPP's one-replica-per-weight-unit fill keeps weights
 * proportional.
 */
export function autoFlowTableLength(weightSum: number): number {
  let n = MIN_FLOW_TABLE_LENGTH;
  while (n < 8 * weightSum && n < MAX_FLOW_TABLE_LENGTH) n *= 2;
  return n;
}
