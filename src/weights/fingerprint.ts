/**
 * The fleet fingerprint of a VIP (issue 17): a short hash of what decides
 * VPP's new-flow table, its AS set with weights and the table length. Two
 * routers behind one ECMP group that agree on these build the same table,
 * so equal fingerprints mean a flow lands on the same backend through
 * either router.
 * @module
 */
import { createHash } from "node:crypto";
import { type DesiredVip, sortedIpKeys } from "./mod.ts";

/** Hex digits kept: 64 bits, plenty to tell a handful of routers apart. */
const FINGERPRINT_HEX = 16;

/**
 * The fingerprint of `vip`: the same for the same inputs on every router
 * (addresses in numeric order, canonical text), whatever the config's order
 * or backend names. ASes at weight 0 own no bucket, so they are left out.
 */
export function vipFingerprint(vip: Pick<DesiredVip, "ases" | "flowTableLength">): string {
  const lines = [`length ${vip.flowTableLength}`];
  const addresses = sortedIpKeys(vip.ases.keys());
  for (let i = 0; i < addresses.length; i++) {
    const address = addresses[i];
    const weight = vip.ases.get(address)!.weight;
    if (weight > 0) lines.push(`${address} ${weight}`);
  }
  return createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, FINGERPRINT_HEX);
}
