/**
 * What a client reads back from the VPP double's lb plugin: the VIP and AS
 * dump details, and `show lb vips` / `show lb vips verbose` byte for byte as
 * VPP prints them (counters stay 0: the double forwards no packet).
 * @module
 */
import { apiAddressText, bswap16, cliAddressText, cliPrefixText, prefixIsIp4 } from "./lb_addr.ts";
import { decodePrefix } from "./lb_request.ts";
import {
  type AsSlot,
  FLAG_SRC_IP_STICKY,
  FLAG_USED,
  Pool,
  typeToApiEncap,
  VIP_COUNTER_NAMES,
  VIP_TYPE,
  VIP_TYPE_NAMES,
  type VipSlot,
} from "./lb_types.ts";

/** The pools a read is answered from. */
export interface LbShowState {
  readonly vips: Pool<VipSlot>;
  readonly ass: Pool<AsSlot>;
}

function vipRow(vip: VipSlot): Record<string, unknown> {
  return {
    pfx: `${apiAddressText(vip.prefix)}/${
      prefixIsIp4(vip.prefix, vip.plen) ? vip.plen - 96 : vip.plen
    }`,
    protocol: vip.protocol,
    port: vip.port,
  };
}

/** `lb_vip_dump` details, in pool order. */
export function vipDump(state: LbShowState): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const i of state.vips.indexes()) {
    const vip = state.vips.slots[i];
    if (i === 0 || !(vip.flags & FLAG_USED)) continue;
    out.push({
      vip: vipRow(vip),
      encap: typeToApiEncap(vip.type),
      dscp: vip.encapByte0,
      // Sent without htonl: the byte lands first on the wire.
      srv_type: (vip.encapByte0 << 24) >>> 0,
      target_port: bswap16(vip.targetPort),
      flow_table_length: (vip.mask + 1) & 0xffff,
    });
  }
  return out;
}

/** An AS dump request: its message name and its (normalized) fields. */
export interface AsDumpRequest {
  readonly msg: string;
  readonly m: Record<string, unknown>;
}

/** `lb_as_dump` / `lb_as_v2_dump` details for the (normalized) request `m`, in pool order. */
export function asDump(state: LbShowState, { msg, m }: AsDumpRequest): Record<string, unknown>[] {
  // The handler copies the raw 16-byte union, so an IPv4 filter never matches.
  const { raw } = decodePrefix(`${msg}.pfx`, m.pfx as string);
  const all = /^0+$/.test(raw);
  const out: Record<string, unknown>[] = [];
  for (const i of state.vips.indexes()) {
    const vip = state.vips.slots[i];
    const match = all ||
      (raw === vip.prefix && m.protocol === vip.protocol && m.port === vip.port);
    if (!match) continue;
    const vipFields = vipRow(vip);
    for (const j of vip.asIndexes.indexes()) {
      const asIndex = vip.asIndexes.slots[j];
      if (asIndex === 0) continue;
      const as = state.ass.slots[asIndex];
      const row: Record<string, unknown> = {
        vip: vipFields,
        app_srv: apiAddressText(as.address),
        flags: as.flags,
        in_use_since: as.lastUsed,
      };
      if (msg === "lb_as_v2_dump") {
        row.weight = as.weight;
        row.num_buckets = vip.buckets.get(asIndex) ?? 0;
      }
      out.push(row);
    }
  }
  return out;
}

/** `show lb vips verbose`, byte for byte as VPP prints it. */
export function showVipsVerbose(state: LbShowState): string {
  let s = "";
  for (const i of state.vips.indexes()) {
    if (i === 0) continue;
    s += formatVipDetailed(state, i) + "\n";
  }
  return s;
}

/** `show lb vips` (one line per VIP), as VPP prints it. */
export function showVips(state: LbShowState): string {
  let s = "";
  for (const i of state.vips.indexes()) {
    if (i === 0) continue;
    const vip = state.vips.slots[i];
    s += `${VIP_TYPE_NAMES[vip.type]} ${cliPrefixText(vip.prefix, vip.plen)} new_size:${
      vip.mask + 1
    } #as:${vip.asIndexes.elts}${vip.flags & FLAG_USED ? "" : " removed"}`;
    if (vip.port !== 0) s += `  protocol:${vip.protocol} port:${vip.port} `;
    if (vip.type === VIP_TYPE.IP4_L3DSR) s += `  dscp:${vip.encapByte0}`;
    else if (vip.type === VIP_TYPE.IP4_NAT4 || vip.type === VIP_TYPE.IP6_NAT6) {
      s += ` type:${vip.encapByte0 === 0 ? "clusterip" : "nodeport"} port:${
        bswap16(vip.port)
      } target_port:${vip.targetPort}`;
    }
    s += "\n";
  }
  return s;
}

function formatVipDetailed(state: LbShowState, idx: number): string {
  const vip = state.vips.slots[idx];
  let s = ` ${VIP_TYPE_NAMES[vip.type]} [${idx}] ${cliPrefixText(vip.prefix, vip.plen)}${
    vip.flags & FLAG_SRC_IP_STICKY ? " src_ip_sticky" : ""
  }${vip.flags & FLAG_USED ? "" : " removed"}\n`;
  s += `  new_size:${vip.mask + 1}\n`;
  if (vip.port !== 0) s += `  protocol:${vip.protocol} port:${vip.port}\n`;
  if (vip.type === VIP_TYPE.IP4_L3DSR) s += `  dscp:${vip.encapByte0}\n`;
  else if (vip.type === VIP_TYPE.IP4_NAT4 || vip.type === VIP_TYPE.IP6_NAT6) {
    // No line break here in VPP either: "  counters:" runs on.
    s += `  type:${vip.encapByte0 === 0 ? "clusterip" : "nodeport"} port:${
      bswap16(vip.port)
    } target_port:${vip.targetPort}`;
  }
  s += "  counters:\n";
  for (const name of VIP_COUNTER_NAMES) s += `    ${name}: 0\n`;
  s += `  #as:${vip.asIndexes.elts}\n`;
  for (const j of vip.asIndexes.indexes()) {
    const asIndex = vip.asIndexes.slots[j];
    const as = state.ass.slots[asIndex];
    s += `    ${cliAddressText(as.address)} weight:${as.weight} buckets:${
      vip.buckets.get(asIndex) ?? 0
    } flows:0 dpo:${as.dpo < 0 ? 0 : as.dpo} ${as.flags & FLAG_USED ? "used" : " removed"}\n`;
  }
  return s;
}
