/**
 * Reading the lb plugin's state through the client, with the rules of spec
 * 0.4: ASes without the "used" flag are absent, AS rows of VIPs that
 * `lb_vip_dump` no longer lists are leftovers of deleted VIPs, and the AS dump
 * is read unfiltered (VPP's IPv4 filter is broken) and split here.
 * @module
 */
import { type CurrentAs, currentAs, type CurrentVip } from "./plan.ts";
import { parseShowVipsVerbose, type VipText } from "./vip_text.ts";
import { vipProtocol, type VppApi } from "../../vpp/mod.ts";

/** The VPP client as the reconciler uses it, typed by the generated messages. */
export type LbClient = VppApi;

/** One AS row with everything VPP says about it. */
export interface AsRow {
  readonly address: string;
  readonly weight: number;
  readonly flags: number;
  readonly inUseSince: number;
  readonly buckets: number;
}

/** One VIP with its live ASes and what the CLI text adds. */
export interface VipState extends CurrentVip {
  readonly index: number;
  readonly rows: readonly AsRow[];
}

/** The lb plugin's whole state. */
export interface LbState {
  readonly conf: {
    readonly ip4SrcAddress: string;
    readonly ip6SrcAddress: string;
    readonly stickyBucketsPerCore: number;
    readonly flowTimeout: number;
  };
  /** Keyed by `vipKey`. */
  readonly vips: ReadonlyMap<string, VipState>;
}

/** A VIP's protocol and port, as any VIP-like record (desired, mirrored, dumped) has them. */
export interface VipProtocolPort {
  readonly protocol: number;
  readonly port: number;
}

/**
 * The key of a VIP as VPP keys it (an all-port VIP's protocol is 255): its
 * prefix, and the protocol and port of the VIP-like record the caller holds.
 */
export function vipKey(prefix: string, { protocol, port }: VipProtocolPort): string {
  return `${prefix}|${vipProtocol(protocol, port)}|${port}`;
}

const ANY_PREFIX = "0.0.0.0/0";

/**
 * Reads conf, VIPs and their live ASes; the reads are pipelined. `text`, when
 * given, is the session for the large `show lb vips verbose` reply (only
 * src_ip_sticky and VIP indexes come from it), so that it does not queue in
 * front of writes on `client`.
 */
export async function readLbState(
  client: LbClient,
  options: { text?: LbClient } = {},
): Promise<LbState> {
  const [conf, vipRows, asRows, cli] = await Promise.all([
    client.request("lb_conf_get", {}),
    client.dump("lb_vip_dump", {}),
    client.dump("lb_as_v2_dump", { pfx: ANY_PREFIX, protocol: 0, port: 0 }),
    (options.text ?? client).request("cli_inband", { cmd: "show lb vips verbose" }).then(
      (r) => r.reply,
      () => "",
    ),
  ]);
  // Indexed loops: under the daemon's V8 flags a for-of allocates an
  // iterator result a step, and a drift read walks 16,000 AS rows.
  const text = new Map<string, VipText>();
  const parsed = parseShowVipsVerbose(cli);
  for (let i = 0; i < parsed.length; i++) {
    const v = parsed[i];
    if (!v.removed) text.set(vipKey(v.prefix, v), v);
  }
  const ases = new Map<string, AsRow[]>();
  for (let i = 0; i < asRows.length; i++) {
    const row = asRows[i];
    const vip = row.vip;
    const flags = row.flags;
    if ((flags & 1) === 0) continue;
    const key = vipKey(vip.pfx, vip);
    let list = ases.get(key);
    if (!list) ases.set(key, list = []);
    list.push({
      address: row.app_srv,
      weight: row.weight,
      flags,
      inUseSince: row.in_use_since,
      buckets: row.num_buckets,
    });
  }
  const vips = new Map<string, VipState>();
  for (let i = 0; i < vipRows.length; i++) {
    const row = vipRows[i];
    const vip = row.vip;
    const key = vipKey(vip.pfx, vip);
    const rows = ases.get(key) ?? [];
    const t = text.get(key);
    vips.set(key, {
      prefix: vip.pfx,
      protocol: vipProtocol(vip.protocol, vip.port),
      port: vip.port,
      encap: row.encap,
      srcIpSticky: t?.srcIpSticky,
      flowTableLength: row.flow_table_length,
      ases: liveAses(rows),
      index: t?.index ?? -1,
      rows,
    });
  }
  return {
    conf: {
      ip4SrcAddress: conf.ip4_src_address,
      ip6SrcAddress: conf.ip6_src_address,
      stickyBucketsPerCore: conf.sticky_buckets_per_core,
      flowTimeout: conf.flow_timeout,
    },
    vips,
  };
}

/** Address -> weight of a VIP's live rows (no pair array a row). */
function liveAses(rows: readonly AsRow[]): Map<string, CurrentAs> {
  const m = new Map<string, CurrentAs>();
  for (let i = 0; i < rows.length; i++) m.set(rows[i].address, currentAs(rows[i].weight));
  return m;
}
