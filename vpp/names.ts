/**
 * Short names of the lb plugin's numbers (`gre4`, `tcp`) and the all-port
 * rule, derived from the generated `ENUMS` so that no other module keeps a
 * table of its own. A shared leaf like `ip.ts`: config, weights, the
 * reconciler, gRPC and metrics may import it.
 * @module
 */
import { ENUMS } from "./messages.ts";

function shortNames(enumName: string, prefix: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const [name, value] of Object.entries(ENUMS[enumName].values)) {
    if (!name.startsWith(prefix) || name.includes("_N_TYPES")) continue;
    out.set(value, name.slice(prefix.length).toLowerCase());
  }
  return out;
}

const ENCAPS = shortNames("lb_encap_type", "LB_API_ENCAP_TYPE_");
const PROTOCOLS = shortNames("ip_proto", "IP_API_PROTO_");

/** `ip_proto` TCP. */
export const PROTO_TCP: number = ENUMS.ip_proto.values.IP_API_PROTO_TCP;
/** `ip_proto` UDP. */
export const PROTO_UDP: number = ENUMS.ip_proto.values.IP_API_PROTO_UDP;
/** `ip_proto` RESERVED (255): what VPP stores as the protocol of an all-port VIP. */
export const PROTO_ANY: number = ENUMS.ip_proto.values.IP_API_PROTO_RESERVED;
/** `lb_encap_type` GRE4. */
export const ENCAP_GRE4: number = ENUMS.lb_encap_type.values.LB_API_ENCAP_TYPE_GRE4;
/** `lb_encap_type` GRE6. */
export const ENCAP_GRE6: number = ENUMS.lb_encap_type.values.LB_API_ENCAP_TYPE_GRE6;

/**
 * The protocol VPP keys a VIP by: a port-0 (all-port) VIP has its protocol
 * forced to 255 (vpp-api.md 5). The one owner of that rule.
 */
export function vipProtocol(protocol: number, port: number): number {
  return port === 0 ? PROTO_ANY : protocol;
}

/** `gre4`, `gre6`, `l3dsr`, `nat4`, `nat6`; the number as text when unknown. */
export function encapName(encap: number): string {
  return ENCAPS.get(encap) ?? String(encap);
}

/** `tcp`, `udp`, ... and `any` for the all-port VIP's 255; the number when unknown. */
export function protocolName(protocol: number): string {
  if (protocol === PROTO_ANY) return "any";
  return PROTOCOLS.get(protocol) ?? String(protocol);
}
