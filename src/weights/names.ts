/**
 * VPP's protocol and encap numbers as the API and the logs spell them
 * (`tcp`, `gre4`), read from the generated enums of the lb API.
 * @module
 */
import { ENUMS } from "../../vpp/messages.ts";

function lowerNames(values: Readonly<Record<string, number>>, prefix: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const [name, value] of Object.entries(values)) {
    if (name.startsWith(prefix)) out.set(value, name.slice(prefix.length).toLowerCase());
  }
  return out;
}

const ENCAP_NAMES = lowerNames(ENUMS.lb_encap_type.values, "LB_API_ENCAP_TYPE_");
const PROTOCOL_NAMES = lowerNames(ENUMS.ip_proto.values, "IP_API_PROTO_");
// VPP reports an all-port VIP with protocol 255 (IP_API_PROTO_RESERVED).
PROTOCOL_NAMES.set(255, "any");

/** `tcp`, `udp`, `any` (an all-port VIP); the number when VPP has no name. */
export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES.get(protocol) ?? String(protocol);
}

/** `gre4`, `gre6`, `l3dsr`, `nat4`, `nat6`; the number when unknown. */
export function encapName(encap: number): string {
  return ENCAP_NAMES.get(encap) ?? String(encap);
}
