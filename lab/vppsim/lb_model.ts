/**
 * A pure in-memory model of VPP's `lb` plugin (FDio/vpp master, the build the
 * transcripts in `../shared/vpp-traces/` were recorded from), driven by
 * decoded API requests. It mirrors the plugin's data structures rather than
 * its documented intent: VIPs and ASes live in pools whose freed slots are
 * reused last-freed-first and keep their stale fields, lookups scan the pools
 * in index order, and every quirk of `lb.c`/`api.c` that a client can observe
 * (lingering deletes, the IPv4 `lb_as_v2_dump` filter bug, u16 table lengths,
 * byte-swapped NAT ports, the crash on a zero table length) follows from the
 * same code paths instead of from special cases.
 * @module
 */

import { type Clock, realClock } from "../../src/clock.ts";
import { formatIp4, formatIp6 } from "../../vpp/ip.ts";
import { WANTED_REQUESTS } from "../../vpp/gen_messages.ts";
import { buildNewFlowTable } from "../../vpp/maglev_table.ts";
import { PROTO_ANY, vipProtocol } from "../../vpp/names.ts";
import {
  apiAddressText,
  bytesOf,
  type Ip46,
  ip46IsIp4,
  isPow2,
  loopGt,
  normalize,
  prefixIsIp4,
} from "./lb_addr.ts";
import { decodeAddress, decodePrefix, normalizeRequest } from "./lb_request.ts";
import { asDump, showVips, showVipsVerbose, vipDump } from "./lb_read.ts";
import {
  type AsSlot,
  CONCURRENCY_TIMEOUT_S,
  type Conf,
  ENCAP,
  encapIsIp4,
  FibModel,
  FLAG_SRC_IP_STICKY,
  FLAG_USED,
  GARBAGE_RUN_S,
  LB_RETVAL,
  MAX_TABLE_LENGTH,
  Pool,
  SRV_TYPE_NODEPORT,
  typeIsIp4,
  typeIsIp6,
  VIP_TYPE,
  type VipSlot,
  VppCrashError,
} from "./lb_types.ts";

export { LB_GC_PERIOD_MS, LB_RETVAL, VppCrashError } from "./lb_types.ts";

/** Options of an `LbModel`. */
export interface LbModelOptions {
  /** Source of VPP's `vlib_time_now` (seconds since start) for GC; default the real clock. */
  clock?: Clock;
}

/** A reply (fields without `context`) or, for a dump, the list of details. */
export type LbApplyResult = Record<string, unknown> | Record<string, unknown>[];

// The messages the model answers: the lb requests maglev declares; everything
// else is not the lb plugin's.
const HANDLED = new Set(WANTED_REQUESTS.filter((name) => name.startsWith("lb_")));

/** True when `msgName` is an lb request the model answers. */
export function isLbRequest(msgName: string): boolean {
  return HANDLED.has(msgName);
}

const enum Lkp {
  SAME_IP_PORT,
  DIFF_IP_PORT,
  ALL_PORT_IP,
}

/** The decoded arguments of a VIP add. */
interface VipAddArgs {
  prefix: Ip46;
  plen: number;
  protocol: number;
  port: number;
  type: number;
  newLength: number;
  srcIpSticky: boolean;
  dscp: number;
  srvType: number;
  targetPort: number;
}

/**
 * VPP's lb plugin state and API semantics. `apply` takes a request's decoded
 * fields (omitted ones take the JSON default; enums by number or name) and
 * returns what VPP answers.
 */
export class LbModel {
  #clock: Clock;
  #t0: number;
  #vips = new Pool<VipSlot>();
  #ass = new Pool<AsSlot>();
  #fib = new FibModel();
  #conf: Conf = {
    ip4Src: "255.255.255.255",
    ip6Src: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    stickyBuckets: 1024,
    flowTimeout: 40,
  };
  #vipPrefixIndexes = new Set<number>();
  #vipIndexPerPort = new Map<string, number>();
  #vipIndexByNodeport = new Map<number, number>();
  #crashed: string | null = null;

  /** A fresh VPP: only the placeholder VIP 0 and AS 0 exist. */
  constructor(options: LbModelOptions = {}) {
    this.#clock = options.clock ?? realClock;
    this.#t0 = this.#clock.monotonic();
    this.#vips.get(() => ({
      prefix: "f".repeat(32),
      plen: 0,
      protocol: PROTO_ANY,
      port: 0,
      vipPrefixIndex: 0,
      type: 0,
      encapByte0: 0,
      targetPort: 0,
      flags: FLAG_USED,
      asIndexes: new Pool<number>(),
      lastGc: 0,
      mask: 0,
      buckets: new Map(),
    }));
    this.#ass.get(() => ({
      address: "f".repeat(32),
      flags: 0,
      weight: 0,
      vipIndex: 0xffffffff,
      lastUsed: 0,
      fibKey: null,
      dpo: -1,
    }));
  }

  /** Why the model crashed, or null while it is alive. */
  get crashed(): string | null {
    return this.#crashed;
  }

  /** VIPs in the pool that are not yet freed, removed ones included (VIP 0 excluded). */
  get vipCount(): number {
    return this.#vips.elts - 1;
  }

  /** vlib_time_now as the plugin truncates it: whole seconds since start, u32. */
  #now(): number {
    return Math.floor((this.#clock.monotonic() - this.#t0) / 1000) >>> 0;
  }

  /**
   * Answers one lb request. Throws `VppCrashError` where VPP would abort and
   * `TypeError` naming the field for input no encoder could have produced.
   */
  apply(msgName: string, fields: Record<string, unknown>): LbApplyResult {
    if (this.#crashed) throw new VppCrashError(`VPP is down: ${this.#crashed}`);
    if (!HANDLED.has(msgName)) {
      throw new TypeError(`${JSON.stringify(msgName)} is not an lb request the double answers`);
    }
    const m = normalizeRequest(msgName, fields);
    switch (msgName) {
      case "lb_conf":
        return { retval: this.#lbConf(m) };
      case "lb_conf_get":
        return {
          retval: 0,
          ip4_src_address: this.#conf.ip4Src,
          ip6_src_address: this.#conf.ip6Src,
          sticky_buckets_per_core: this.#conf.stickyBuckets,
          flow_timeout: this.#conf.flowTimeout,
        };
      case "lb_add_del_vip":
      case "lb_add_del_vip_v2":
        return { retval: this.#addDelVip(msgName, m) };
      case "lb_add_del_as":
      case "lb_add_del_as_v2":
      case "lb_as_set_weight":
        return { retval: this.#asRequest(msgName, m) };
      case "lb_flush_vip":
        // api.c ignores the lookup's result; without traffic there is nothing to flush.
        return { retval: 0 };
      case "lb_vip_dump":
        return vipDump({ vips: this.#vips, ass: this.#ass });
      case "lb_as_dump":
      case "lb_as_v2_dump":
        return asDump({ vips: this.#vips, ass: this.#ass }, { msg: msgName, m });
      default:
        // lb_add_del_intf_nat4/6: VALIDATE_SW_IF_INDEX; a fresh VPP has only local0.
        return { retval: m.sw_if_index === 0 ? 0 : LB_RETVAL.INVALID_SW_IF_INDEX };
    }
  }

  #lbConf(m: Record<string, unknown>): number {
    const sticky = m.sticky_buckets_per_core as number;
    const timeout = m.flow_timeout as number;
    const buckets = sticky === 0xffffffff ? this.#conf.stickyBuckets : sticky;
    if (!isPow2(buckets)) return LB_RETVAL.INVALID_MEMORY_SIZE;
    const ip4 = decodeAddress("lb_conf.ip4_src_address", m.ip4_src_address as string);
    const ip6 = decodeAddress("lb_conf.ip6_src_address", m.ip6_src_address as string);
    this.#conf = {
      ip4Src: formatIp4(bytesOf(ip4.a).subarray(12)),
      ip6Src: formatIp6(bytesOf(ip6.a)),
      stickyBuckets: buckets,
      flowTimeout: timeout === 0xffffffff ? this.#conf.flowTimeout : timeout,
    };
    return 0;
  }

  // ---- VIPs ----

  #findVip(prefix: Ip46, plen: number, protocol: number, port: number, lkp: Lkp): number {
    const p = normalize(prefix, plen);
    for (const i of this.#vips.indexes()) {
      const v = this.#vips.slots[i];
      if (!(v.flags & FLAG_USED) || v.plen !== plen || v.prefix !== p) continue;
      if (
        (lkp === Lkp.SAME_IP_PORT && v.protocol === protocol && v.port === port) ||
        (lkp === Lkp.ALL_PORT_IP && v.port === 0) ||
        (lkp === Lkp.DIFF_IP_PORT && (v.protocol !== protocol || v.port !== port))
      ) {
        return i;
      }
    }
    return -1;
  }

  #addDelVip(msg: string, m: Record<string, unknown>): number {
    const port = m.port as number;
    const protocol = vipProtocol(m.protocol as number, port);
    const { a, plen } = decodePrefix(`${msg}.pfx`, m.pfx as string);
    if (m.is_del) {
      const idx = this.#findVip(a, plen, protocol, port, Lkp.SAME_IP_PORT);
      return idx < 0 ? LB_RETVAL.NO_SUCH_ENTRY : this.#vipDel(idx);
    }
    const encap = m.encap as number;
    const ip4 = prefixIsIp4(a, plen);
    let type = 0;
    if (ip4) {
      if (encap === ENCAP.GRE4) type = VIP_TYPE.IP4_GRE4;
      else if (encap === ENCAP.GRE6) type = VIP_TYPE.IP4_GRE6;
      else if (encap === ENCAP.L3DSR) type = VIP_TYPE.IP4_L3DSR;
      else if (encap === ENCAP.NAT4) type = VIP_TYPE.IP4_NAT4;
    } else {
      if (encap === ENCAP.GRE4) type = VIP_TYPE.IP6_GRE4;
      else if (encap === ENCAP.GRE6) type = VIP_TYPE.IP6_GRE6;
      else if (encap === ENCAP.NAT6) type = VIP_TYPE.IP6_NAT6;
    }
    let dscp = 0;
    let srvType = 0;
    let targetPort = 0;
    if (encap === ENCAP.L3DSR) dscp = (m.dscp as number) & 0x3f;
    else if (encap === ENCAP.NAT4 || encap === ENCAP.NAT6) {
      // api.c assigns the network-order u32 to a u8: only its first wire byte survives.
      srvType = ((m.type as number) >>> 24) & 0xff;
      targetPort = m.target_port as number;
    }
    return this.#vipAdd({
      prefix: a,
      plen,
      protocol,
      port,
      type,
      newLength: m.new_flows_table_length as number,
      srcIpSticky: Boolean(m.src_ip_sticky),
      dscp,
      srvType,
      targetPort,
    });
  }

  /** Why VPP refuses a VIP add (a VNET error), or 0; throws where VPP would abort. */
  #vipAddRefusal(args: VipAddArgs, prefix: Ip46): number {
    const { plen, protocol, port, type } = args;
    if (this.#findVip(prefix, plen, protocol, port, Lkp.SAME_IP_PORT) >= 0) {
      return LB_RETVAL.VALUE_EXIST;
    }
    if (port !== 0 && this.#findVip(prefix, plen, PROTO_ANY, 0, Lkp.ALL_PORT_IP) >= 0) {
      return LB_RETVAL.VALUE_EXIST;
    }
    if (port === 0 && this.#findVip(prefix, plen, protocol, port, Lkp.DIFF_IP_PORT) >= 0) {
      return LB_RETVAL.VALUE_EXIST;
    }
    if (port !== 0) {
      const other = this.#findVip(prefix, plen, protocol, port, Lkp.DIFF_IP_PORT);
      if (other >= 0 && this.#vips.slots[other].type !== type) return LB_RETVAL.INVALID_ARGUMENT;
    }
    if (!isPow2(args.newLength)) return LB_RETVAL.INVALID_MEMORY_SIZE;
    if (prefixIsIp4(prefix, plen) && !typeIsIp4(type)) return LB_RETVAL.INVALID_ADDRESS_FAMILY;
    if (!prefixIsIp4(prefix, plen) && !typeIsIp6(type)) return LB_RETVAL.INVALID_ADDRESS_FAMILY;
    if (type === VIP_TYPE.IP4_L3DSR && args.dscp >= 64) return LB_RETVAL.VALUE_EXIST;
    if (args.newLength === 0 || args.newLength > MAX_TABLE_LENGTH) {
      const why = args.newLength === 0
        ? "new_flows_table_length 0 passes is_pow2 and VPP sizes a 2^32-bucket table"
        : `new_flows_table_length ${args.newLength} exceeds the memory VPP has`;
      this.#crashed = why;
      throw new VppCrashError(`VPP aborted: ${why}`);
    }
    return 0;
  }

  #vipAdd(args: VipAddArgs): number {
    const prefix = normalize(args.prefix, args.plen);
    const { plen, protocol, port, type } = args;
    const refusal = this.#vipAddRefusal(args, prefix);
    if (refusal !== 0) return refusal;

    const idx = this.#vips.get(() => ({
      prefix: "",
      plen: 0,
      protocol: 0,
      port: 0,
      vipPrefixIndex: 0,
      type: 0,
      encapByte0: 0,
      targetPort: 0,
      flags: 0,
      asIndexes: new Pool<number>(),
      lastGc: 0,
      mask: 0,
      buckets: new Map(),
    }));
    const vip = this.#vips.slots[idx];
    vip.prefix = prefix;
    vip.plen = plen;
    vip.protocol = vipProtocol(protocol, port);
    vip.port = port;
    vip.lastGc = this.#now();
    vip.type = type;
    if (type === VIP_TYPE.IP4_L3DSR) vip.encapByte0 = args.dscp;
    else if (type === VIP_TYPE.IP4_NAT4 || type === VIP_TYPE.IP6_NAT6) {
      vip.encapByte0 = args.srvType;
      vip.targetPort = args.targetPort;
    }
    vip.flags = FLAG_USED | (args.srcIpSticky ? FLAG_SRC_IP_STICKY : 0);
    vip.asIndexes = new Pool<number>();
    vip.mask = args.newLength - 1;
    this.#updateNewFlowTable(vip);
    const vipPrefixIndex = this.#addAdjacency(idx);

    const natPort = (type === VIP_TYPE.IP4_NAT4 || type === VIP_TYPE.IP6_NAT6) && port !== 0;
    if (natPort && args.srvType === SRV_TYPE_NODEPORT) {
      // VPP returns here with the VIP already created and never unregisters a nodeport.
      if (this.#vipIndexByNodeport.has(port)) return LB_RETVAL.VALUE_EXIST;
      this.#vipIndexByNodeport.set(port, idx);
    }
    if (port !== 0) {
      this.#vipIndexPerPort.set(`${vipPrefixIndex}|${vip.protocol}|${port}`, idx);
      vip.vipPrefixIndex = vipPrefixIndex;
    }
    return 0;
  }

  #vipFibKey(vip: VipSlot): string {
    const ip4 = typeIsIp4(vip.type);
    return FibModel.key(ip4, vip.prefix, ip4 ? vip.plen - 96 : vip.plen);
  }

  #addAdjacency(idx: number): number {
    const vip = this.#vips.slots[idx];
    let vipPrefixIndex: number;
    if (vip.port !== 0) {
      const other = this.#findVip(vip.prefix, vip.plen, vip.protocol, vip.port, Lkp.DIFF_IP_PORT);
      if (other >= 0) return this.#vips.slots[other].vipPrefixIndex;
      vipPrefixIndex = 0;
      while (this.#vipPrefixIndexes.has(vipPrefixIndex)) vipPrefixIndex++;
      this.#vipPrefixIndexes.add(vipPrefixIndex);
    } else {
      vipPrefixIndex = idx;
    }
    this.#fib.addSource(this.#vipFibKey(vip));
    return vipPrefixIndex;
  }

  #vipDel(idx: number): number {
    if (idx === 0) return LB_RETVAL.INVALID_VALUE;
    const vip = this.#vips.slots[idx];
    const addrs = [...vip.asIndexes.indexes()].map((i) =>
      this.#ass.slots[vip.asIndexes.slots[i]].address
    );
    if (addrs.length > 0) this.#delAss(idx, addrs);
    // lb_vip_del_adjacency
    const keep = vip.port !== 0 &&
      this.#findVip(vip.prefix, vip.plen, vip.protocol, vip.port, Lkp.DIFF_IP_PORT) >= 0;
    if (!keep) {
      if (vip.port !== 0) this.#vipPrefixIndexes.delete(vip.vipPrefixIndex);
      this.#fib.removeSource(this.#vipFibKey(vip));
    }
    let rv = 0;
    if (vip.port !== 0) {
      const key = `${vip.vipPrefixIndex}|${vip.protocol}|${vip.port}`;
      if (this.#vipIndexPerPort.has(key)) this.#vipIndexPerPort.delete(key);
      else rv = LB_RETVAL.NO_SUCH_ENTRY;
    }
    vip.flags &= ~FLAG_USED;
    return rv;
  }

  // ---- ASes ----

  #asRequest(msg: string, m: Record<string, unknown>): number {
    const port = m.port as number;
    const protocol = vipProtocol(m.protocol as number, port);
    const { a, plen } = decodePrefix(`${msg}.pfx`, m.pfx as string);
    const as = decodeAddress(`${msg}.as_address`, m.as_address as string).a;
    const idx = this.#findVip(a, plen, protocol, port, Lkp.SAME_IP_PORT);
    if (idx < 0) return LB_RETVAL.NO_SUCH_ENTRY;
    if (msg === "lb_as_set_weight") return this.#setWeight(idx, as, m.weight as number);
    if (m.is_del) return this.#delAss(idx, [as]);
    const weight = msg === "lb_add_del_as" ? 100 : m.weight as number;
    return this.#addAs(idx, as, weight);
  }

  #findAs(vipIndex: number, address: Ip46): number {
    const vip = this.#vips.slots[vipIndex];
    for (const i of vip.asIndexes.indexes()) {
      const asIndex = vip.asIndexes.slots[i];
      const as = this.#ass.slots[asIndex];
      if (as.vipIndex === vipIndex && as.address === address) return asIndex;
    }
    return -1;
  }

  #addAs(vipIndex: number, address: Ip46, weight: number): number {
    const vip = this.#vips.slots[vipIndex];
    const found = this.#findAs(vipIndex, address);
    if (found >= 0) {
      const as = this.#ass.slots[found];
      if (as.flags & FLAG_USED) return LB_RETVAL.VALUE_EXIST;
      // A deleted AS not yet collected comes back (no family check on this path).
      as.flags = FLAG_USED;
      as.weight = weight;
    } else {
      const ip4 = encapIsIp4(vip.type);
      if (ip46IsIp4(address) !== ip4) return LB_RETVAL.INVALID_ADDRESS_FAMILY;
      const asIndex = this.#ass.get(() => ({
        address: "",
        flags: 0,
        weight: 0,
        vipIndex: 0,
        lastUsed: 0,
        fibKey: null,
        dpo: -1,
      }));
      const as = this.#ass.slots[asIndex];
      as.address = address;
      as.flags = FLAG_USED;
      as.weight = weight;
      as.vipIndex = vipIndex;
      const slot = vip.asIndexes.get(() => 0);
      vip.asIndexes.slots[slot] = asIndex;
      as.fibKey = FibModel.key(ip4, address, ip4 ? 32 : 128);
      const lb = this.#fib.addSource(as.fibKey);
      // dpo_stack: lock the new parent, then release whatever the slot held.
      this.#fib.lock(lb);
      this.#fib.unlock(as.dpo);
      as.dpo = lb;
    }
    this.#updateNewFlowTable(vip);
    this.#vipGarbageCollection(vipIndex);
    return 0;
  }

  #delAss(vipIndex: number, addresses: Ip46[]): number {
    const now = this.#now();
    const indexes: number[] = [];
    for (let n = addresses.length - 1; n >= 0; n--) {
      const asIndex = this.#findAs(vipIndex, addresses[n]);
      if (asIndex < 0) return LB_RETVAL.NO_SUCH_ENTRY;
      indexes.push(asIndex);
    }
    this.#vipGarbageCollection(vipIndex);
    if (indexes.length > 0) {
      for (const i of indexes) {
        // Written even if the GC just above freed the slot, as VPP does.
        this.#ass.slots[i].flags &= ~FLAG_USED;
        this.#ass.slots[i].lastUsed = now;
      }
      this.#updateNewFlowTable(this.#vips.slots[vipIndex]);
    }
    return 0;
  }

  #setWeight(vipIndex: number, address: Ip46, weight: number): number {
    const asIndex = this.#findAs(vipIndex, address);
    if (asIndex < 0 || !(this.#ass.slots[asIndex].flags & FLAG_USED)) {
      return LB_RETVAL.NO_SUCH_ENTRY;
    }
    this.#ass.slots[asIndex].weight = weight;
    this.#updateNewFlowTable(this.#vips.slots[vipIndex]);
    return 0;
  }

  #updateNewFlowTable(vip: VipSlot): void {
    const members: number[] = [];
    for (const i of vip.asIndexes.indexes()) members.push(vip.asIndexes.slots[i]);
    const input = members.map((asIndex) => {
      const as = this.#ass.slots[asIndex];
      return {
        address: apiAddressText(as.address),
        weight: as.weight,
        used: (as.flags & FLAG_USED) !== 0,
      };
    });
    const counts = new Map<number, number>();
    if (input.some((x) => x.used && x.weight > 0)) {
      const table = buildNewFlowTable(input, vip.mask + 1);
      for (const owner of table) {
        if (owner < 0) continue;
        const asIndex = members[owner];
        counts.set(asIndex, (counts.get(asIndex) ?? 0) + 1);
      }
    }
    vip.buckets = counts;
  }

  // ---- garbage collection ----

  #vipGarbageCollection(vipIndex: number): void {
    const vip = this.#vips.slots[vipIndex];
    const now = this.#now();
    if (!loopGt(now, (vip.lastGc + GARBAGE_RUN_S) >>> 0)) return;
    vip.lastGc = now;
    for (const i of vip.asIndexes.indexes()) {
      const asIndex = vip.asIndexes.slots[i];
      const as = this.#ass.slots[asIndex];
      // No traffic in the double, so no AS is ever referenced by a flow.
      if (!(as.flags & FLAG_USED) && loopGt(now, (as.lastUsed + CONCURRENCY_TIMEOUT_S) >>> 0)) {
        if (as.fibKey) this.#fib.removeSource(as.fibKey);
        as.fibKey = null;
        vip.asIndexes.put(i);
        this.#ass.put(asIndex);
      }
    }
  }

  /**
   * One run of VPP's `lb-gc-process` (every 60 s on a real VPP): collects
   * deleted ASes older than 10 s in VIPs not collected for 60 s, then frees
   * removed VIPs left without ASes.
   */
  collectGarbage(): void {
    if (this.#crashed) return;
    const toRemove: number[] = [];
    for (const i of this.#vips.indexes()) {
      this.#vipGarbageCollection(i);
      const vip = this.#vips.slots[i];
      if (!(vip.flags & FLAG_USED) && vip.asIndexes.elts === 0) toRemove.push(i);
    }
    for (const i of toRemove) this.#vips.put(i);
  }

  // ---- dumps ----

  // ---- CLI ----

  /** `show lb` (format_lb_main), as VPP prints it: the VIP count includes VIP 0, the AS one not. */
  showLb(): string {
    return `lb_main ip4-src-address: ${this.#conf.ip4Src} \n ip6-src-address: ${this.#conf.ip6Src} \n` +
      ` #vips: ${this.#vips.elts}\n #ass: ${this.#ass.elts - 1}\n`;
  }

  /** `show lb vips verbose`, byte for byte as VPP prints it. */
  showVipsVerbose(): string {
    return showVipsVerbose({ vips: this.#vips, ass: this.#ass });
  }

  /** `show lb vips` (one line per VIP), as VPP prints it. */
  showVips(): string {
    return showVips({ vips: this.#vips, ass: this.#ass });
  }
}
