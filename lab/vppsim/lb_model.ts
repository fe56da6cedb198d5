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
import { formatIp4, formatIp6, parseIp } from "../../vpp/ip.ts";
import { WANTED_REQUESTS } from "../../vpp/gen_messages.ts";
import { buildNewFlowTable } from "../../vpp/maglev_table.ts";
import { ENUMS, type FieldDef, messageByName } from "../../vpp/messages.ts";

/** VNET error numbers the lb plugin returns (vpp-api.md section 4). */
export const LB_RETVAL = {
  OK: 0,
  INVALID_SW_IF_INDEX: -2,
  NO_SUCH_ENTRY: -6,
  INVALID_VALUE: -7,
  INVALID_MEMORY_SIZE: -70,
  INVALID_ARGUMENT: -73,
  VALUE_EXIST: -81,
  INVALID_ADDRESS_FAMILY: -97,
} as const;

/**
 * Thrown by `LbModel.apply` when the request would make a real VPP abort
 * (a `new_flows_table_length` of 0 is taken for a power of two and VPP runs
 * out of memory sizing a 2^32-bucket table). The model is dead afterwards.
 */
export class VppCrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VppCrashError";
  }
}

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

// lb.h: enum order matters, type 0 is what unknown encap/family pairs get.
const VIP_TYPE = {
  IP6_GRE6: 0,
  IP6_GRE4: 1,
  IP4_GRE6: 2,
  IP4_GRE4: 3,
  IP4_L3DSR: 4,
  IP4_NAT4: 5,
  IP6_NAT6: 6,
} as const;
const VIP_TYPE_NAMES = [
  "ip6-gre6",
  "ip6-gre4",
  "ip4-gre6",
  "ip4-gre4",
  "ip4-l3dsr",
  "ip4-nat4",
  "ip6-nat6",
];
const ENCAP = { GRE4: 0, GRE6: 1, L3DSR: 2, NAT4: 3, NAT6: 4 } as const;
const SRV_TYPE_NODEPORT = 1;
const FLAG_USED = 1;
const FLAG_SRC_IP_STICKY = 2;
const GARBAGE_RUN_S = 60;
const CONCURRENCY_TIMEOUT_S = 10;
const VIP_COUNTER_NAMES = [
  "packet from existing sessions",
  "first session packet",
  "untracked packet",
  "no server configured",
];
// Beyond this the double refuses to allocate a table; VPP's default heap
// would not hold it either, so it is treated like the length-0 crash.
const MAX_TABLE_LENGTH = 1 << 24;

/** The period of VPP's `lb-gc-process`, for whoever drives `collectGarbage`. */
export const LB_GC_PERIOD_MS = GARBAGE_RUN_S * 1000;

// An ip46_address_t as 32 lower-case hex digits: equality and memcmp order
// then come for free from string comparison.
type Ip46 = string;
const IP4_PAD = "0".repeat(24);

function hexOf(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function bytesOf(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function ip46IsIp4(a: Ip46): boolean {
  return a.startsWith(IP4_PAD);
}

function prefixIsIp4(a: Ip46, plen: number): boolean {
  return plen >= 96 && ip46IsIp4(a);
}

/** ip46_prefix_normalize, including its x86 shift behaviour for lengths above 128. */
function normalize(a: Ip46, plen: number): Ip46 {
  const b = bytesOf(a);
  const hi = new DataView(b.buffer);
  let w0 = hi.getBigUint64(0);
  let w1 = hi.getBigUint64(8);
  const all = 0xffffffffffffffffn;
  if (plen === 0) {
    w0 = 0n;
    w1 = 0n;
  } else if (plen <= 64) {
    w0 &= (all << BigInt(64 - plen)) & all;
    w1 = 0n;
  } else {
    w1 &= (all << BigInt((128 - plen) & 63)) & all;
  }
  hi.setBigUint64(0, w0);
  hi.setBigUint64(8, w1);
  return hexOf(b);
}

/** The address as the API encodes it (`ip_address_encode` with IP46_TYPE_ANY). */
function apiAddressText(a: Ip46): string {
  const b = bytesOf(a);
  return ip46IsIp4(a) ? formatIp4(b.subarray(12)) : formatIp6(b);
}

/** VPP's own `format_ip6_address`, quirks included, for CLI text. */
function vppIp6Text(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i] << 8) | b[2 * i + 1]);
  let iMax = 8;
  let maxZeros = 0;
  let iFirst = 8;
  let nZeros = 0;
  for (let i = 0; i < 8; i++) {
    const isZero = g[i] === 0 ? 1 : 0;
    if (isZero && iFirst >= 8) {
      iFirst = i;
      nZeros = 0;
    }
    nZeros += isZero;
    if ((!isZero && nZeros > maxZeros) || (i + 1 >= 8 && nZeros > maxZeros)) {
      iMax = iFirst;
      maxZeros = nZeros;
      iFirst = 8;
      nZeros = 0;
    }
  }
  let s = "";
  let lastDouble = false;
  for (let i = 0; i < 8; i++) {
    if (i === iMax && maxZeros > 1) {
      s += "::";
      i += maxZeros - 1;
      lastDouble = true;
    } else {
      s += (lastDouble || i === 0 ? "" : ":") + g[i].toString(16);
      lastDouble = false;
    }
  }
  return s;
}

/** format_ip46_address with IP46_TYPE_ANY. */
function cliAddressText(a: Ip46): string {
  const b = bytesOf(a);
  return ip46IsIp4(a) ? formatIp4(b.subarray(12)) : vppIp6Text(b);
}

/** format_ip46_prefix with IP46_TYPE_ANY. */
function cliPrefixText(a: Ip46, plen: number): string {
  const b = bytesOf(a);
  return prefixIsIp4(a, plen)
    ? `${formatIp4(b.subarray(12))}/${plen - 96}`
    : `${vppIp6Text(b)}/${plen}`;
}

function bswap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

function isPow2(x: number): boolean {
  // vppinfra's is_pow2 on a u32: 0 counts as a power of two.
  return ((x & (x - 1)) >>> 0) === 0;
}

/** clib_u32_loop_gt: true when a >= b on a wrapping u32 clock. */
function loopGt(a: number, b: number): boolean {
  return ((a - b) >>> 0) < 0x7fffffff;
}

/**
 * A vppinfra pool: slots keep their objects after `put` (VPP does not clear
 * freed elements), `get` reuses the most recently freed slot first.
 */
class Pool<T> {
  readonly slots: T[] = [];
  #free: boolean[] = [];
  #freeList: number[] = [];

  get(make: () => T): number {
    const reused = this.#freeList.pop();
    if (reused !== undefined) {
      this.#free[reused] = false;
      return reused;
    }
    this.slots.push(make());
    this.#free.push(false);
    return this.slots.length - 1;
  }

  put(i: number): void {
    this.#free[i] = true;
    this.#freeList.push(i);
  }

  isFree(i: number): boolean {
    return i >= this.slots.length || this.#free[i];
  }

  get elts(): number {
    return this.slots.length - this.#freeList.length;
  }

  /** Live indexes in index order; tolerates `put` of the current index while iterating. */
  *indexes(): Generator<number> {
    for (let i = 0; i < this.slots.length; i++) if (!this.#free[i]) yield i;
  }
}

interface VipSlot {
  prefix: Ip46;
  plen: number;
  protocol: number;
  port: number;
  vipPrefixIndex: number;
  type: number;
  // lb_vip_encap_args_t is a union: byte 0 is both dscp and srv_type.
  encapByte0: number;
  targetPort: number;
  flags: number;
  asIndexes: Pool<number>;
  lastGc: number;
  mask: number;
  /** The new-flow table as VPP stores it, reduced to buckets per AS pool index. */
  buckets: Map<number, number>;
}

interface AsSlot {
  address: Ip46;
  flags: number;
  weight: number;
  vipIndex: number;
  lastUsed: number;
  fibKey: string | null;
  /** dpoi_index of the AS's stacked DPO: the load-balance of its FIB entry. */
  dpo: number;
}

/**
 * Just enough of VPP's FIB to number the `dpo:` column like a fresh VPP: every
 * FIB entry owns a load-balance object from one shared pool, entries are
 * shared by source reference counts, and a load-balance is freed when its last
 * lock goes (the entry's own, and one per AS stacked on it).
 */
class FibModel {
  #entries = new Map<string, { lb: number; sources: number }>();
  #lbLocks: number[] = [];
  #lbFree: number[] = [];

  constructor() {
    // A fresh VPP holds load-balances 0..9; two of them come back free during
    // start-up (observed: the first two FIB entries created never show as an
    // AS dpo, the third gets 10). Which two is a guess.
    for (let i = 0; i < 10; i++) this.#lbLocks.push(1);
    const startup = [
      "4|" + IP4_PAD + "00000000|0",
      "4|" + IP4_PAD + "00000000|32",
      "4|" + IP4_PAD + "f0000000|4",
      "4|" + IP4_PAD + "e0000000|4",
      "4|" + IP4_PAD + "ffffffff|32",
      "6|" + "0".repeat(32) + "|0",
      "6|fe80" + "0".repeat(28) + "|10",
    ];
    startup.forEach((k, i) => this.#entries.set(k, { lb: i + 1, sources: 1 }));
    this.#lbLocks[8] = 0;
    this.#lbLocks[9] = 0;
    this.#lbFree.push(8, 9);
  }

  static key(ip4: boolean, addr: Ip46, len: number): string {
    return `${ip4 ? 4 : 6}|${addr}|${len}`;
  }

  /** Adds a source to the entry (creating it and its load-balance); returns the load-balance. */
  addSource(key: string): number {
    const e = this.#entries.get(key);
    if (e) {
      e.sources++;
      return e.lb;
    }
    let lb = this.#lbFree.pop();
    if (lb === undefined) {
      lb = this.#lbLocks.length;
      this.#lbLocks.push(0);
    }
    this.#lbLocks[lb] = 1;
    this.#entries.set(key, { lb, sources: 1 });
    return lb;
  }

  removeSource(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    if (--e.sources > 0) return;
    this.#entries.delete(key);
    this.unlock(e.lb);
  }

  lock(lb: number): void {
    if (lb >= 0) this.#lbLocks[lb]++;
  }

  unlock(lb: number): void {
    if (lb < 0) return;
    if (--this.#lbLocks[lb] === 0) this.#lbFree.push(lb);
  }
}

interface Conf {
  ip4Src: string;
  ip6Src: string;
  stickyBuckets: number;
  flowTimeout: number;
}

// ---- request normalisation: decoded objects or hand-written ones ----

function zeroOf(f: FieldDef): unknown {
  switch (f.type) {
    case "bool":
      return false;
    case "prefix":
      return "0.0.0.0/0";
    case "address":
    case "ip4_address":
      return "0.0.0.0";
    case "ip6_address":
      return "::";
    case "string":
      return "";
  }
  if (f.type.startsWith("struct:")) return {};
  return 0;
}

const INT_BITS: Record<string, number> = { u8: 8, u16: 16, u32: 32 };

function checkField(msg: string, f: FieldDef, v: unknown): unknown {
  const where = `${msg}.${f.name}`;
  if (f.type.startsWith("enum:")) {
    const def = ENUMS[f.type.slice(5)];
    if (typeof v === "string") {
      const n = def?.values[v];
      if (n === undefined) throw new TypeError(`${where}: unknown enum name ${JSON.stringify(v)}`);
      return n;
    }
    const bits = (def?.size ?? 4) * 8;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= 2 ** bits) {
      throw new TypeError(`${where}: expected a u${bits} enum value, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  if (f.type in INT_BITS) {
    const bits = INT_BITS[f.type];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= 2 ** bits) {
      throw new TypeError(`${where}: expected a ${f.type}, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  if (f.type === "bool") {
    if (typeof v !== "boolean" && v !== 0 && v !== 1) {
      throw new TypeError(`${where}: expected a boolean, got ${JSON.stringify(v)}`);
    }
    return Boolean(v);
  }
  if (f.type.startsWith("struct:")) {
    if (typeof v !== "object" || v === null) {
      throw new TypeError(`${where}: expected an object, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  if (typeof v !== "string") {
    throw new TypeError(`${where}: expected ${f.type} text, got ${JSON.stringify(v)}`);
  }
  return v;
}

function normalizeRequest(msg: string, fields: Record<string, unknown>): Record<string, unknown> {
  const def = messageByName(msg);
  if (!def) throw new TypeError(`unknown VPP message ${JSON.stringify(msg)}`);
  if (typeof fields !== "object" || fields === null) {
    throw new TypeError(`${msg}: fields must be an object`);
  }
  const known = new Set(def.fields.map((f) => f.name));
  for (const k of Object.keys(fields)) {
    if (!known.has(k)) throw new TypeError(`${msg}: unknown field ${JSON.stringify(k)}`);
  }
  const out: Record<string, unknown> = {};
  for (const f of def.fields) {
    if (f.name === "client_index" || f.name === "context") continue;
    const v = fields[f.name] ?? f.default ?? zeroOf(f);
    out[f.name] = checkField(msg, f, v);
  }
  return out;
}

/** ip_address_decode: an address text -> ip46 and the wire family (0 = IPv4). */
function decodeAddress(where: string, text: string): { a: Ip46; af: number; raw: Ip46 } {
  let parsed;
  try {
    parsed = parseIp(text);
  } catch {
    throw new TypeError(`${where}: not an IP address: ${JSON.stringify(text)}`);
  }
  if (parsed.family === 4) {
    const h = hexOf(parsed.bytes);
    // `raw` is the 16-byte union as sent: IPv4 bytes first, then zeros.
    return { a: IP4_PAD + h, af: 0, raw: h + IP4_PAD };
  }
  const h = hexOf(parsed.bytes);
  return { a: h, af: 1, raw: h };
}

function decodePrefix(where: string, text: string): { a: Ip46; plen: number; raw: Ip46 } {
  const slash = text.lastIndexOf("/");
  const lenText = slash === -1 ? "" : text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) > 255) {
    throw new TypeError(`${where}: not an IP prefix: ${JSON.stringify(text)}`);
  }
  const { a, af, raw } = decodeAddress(where, text.slice(0, slash));
  // api.c: plen = pfx.len + (af == IPv4 ? 96 : 0), in a u8.
  return { a, plen: (Number(lenText) + (af === 0 ? 96 : 0)) & 0xff, raw };
}

function encapIsIp4(type: number): boolean {
  return type === VIP_TYPE.IP6_GRE4 || type === VIP_TYPE.IP4_GRE4 ||
    type === VIP_TYPE.IP4_L3DSR || type === VIP_TYPE.IP4_NAT4;
}

function typeIsIp4(type: number): boolean {
  return type === VIP_TYPE.IP4_GRE6 || type === VIP_TYPE.IP4_GRE4 ||
    type === VIP_TYPE.IP4_L3DSR || type === VIP_TYPE.IP4_NAT4;
}

function typeIsIp6(type: number): boolean {
  return type === VIP_TYPE.IP6_GRE6 || type === VIP_TYPE.IP6_GRE4 || type === VIP_TYPE.IP6_NAT6;
}

function typeToApiEncap(type: number): number {
  switch (type) {
    case VIP_TYPE.IP4_GRE6:
    case VIP_TYPE.IP6_GRE6:
      return ENCAP.GRE6;
    case VIP_TYPE.IP4_L3DSR:
      return ENCAP.L3DSR;
    case VIP_TYPE.IP4_NAT4:
      return ENCAP.NAT4;
    case VIP_TYPE.IP6_NAT6:
      return ENCAP.NAT6;
    default:
      return ENCAP.GRE4;
  }
}

const enum Lkp {
  SAME_IP_PORT,
  DIFF_IP_PORT,
  ALL_PORT_IP,
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
      protocol: 255,
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
        return this.#vipDump();
      case "lb_as_dump":
      case "lb_as_v2_dump":
        return this.#asDump(msgName, m);
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
    const protocol = port === 0 ? 255 : m.protocol as number;
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

  #vipAdd(args: {
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
  }): number {
    const prefix = normalize(args.prefix, args.plen);
    const { plen, protocol, port, type } = args;
    if (this.#findVip(prefix, plen, protocol, port, Lkp.SAME_IP_PORT) >= 0) {
      return LB_RETVAL.VALUE_EXIST;
    }
    if (port !== 0 && this.#findVip(prefix, plen, 255, 0, Lkp.ALL_PORT_IP) >= 0) {
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
    vip.protocol = port !== 0 ? protocol : 255;
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
    const protocol = port === 0 ? 255 : m.protocol as number;
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

  #vipRow(vip: VipSlot): Record<string, unknown> {
    return {
      pfx: `${apiAddressText(vip.prefix)}/${
        prefixIsIp4(vip.prefix, vip.plen) ? vip.plen - 96 : vip.plen
      }`,
      protocol: vip.protocol,
      port: vip.port,
    };
  }

  #vipDump(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const i of this.#vips.indexes()) {
      const vip = this.#vips.slots[i];
      if (i === 0 || !(vip.flags & FLAG_USED)) continue;
      out.push({
        vip: this.#vipRow(vip),
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

  #asDump(msg: string, m: Record<string, unknown>): Record<string, unknown>[] {
    // The handler copies the raw 16-byte union, so an IPv4 filter never matches.
    const { raw } = decodePrefix(`${msg}.pfx`, m.pfx as string);
    const all = /^0+$/.test(raw);
    const out: Record<string, unknown>[] = [];
    for (const i of this.#vips.indexes()) {
      const vip = this.#vips.slots[i];
      const match = all ||
        (raw === vip.prefix && m.protocol === vip.protocol && m.port === vip.port);
      if (!match) continue;
      const vipRow = this.#vipRow(vip);
      for (const j of vip.asIndexes.indexes()) {
        const asIndex = vip.asIndexes.slots[j];
        if (asIndex === 0) continue;
        const as = this.#ass.slots[asIndex];
        const row: Record<string, unknown> = {
          vip: vipRow,
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

  // ---- CLI ----

  /** `show lb vips verbose`, byte for byte as VPP prints it. */
  showVipsVerbose(): string {
    let s = "";
    for (const i of this.#vips.indexes()) {
      if (i === 0) continue;
      s += this.#formatVipDetailed(i) + "\n";
    }
    return s;
  }

  /** `show lb vips` (one line per VIP), as VPP prints it. */
  showVips(): string {
    let s = "";
    for (const i of this.#vips.indexes()) {
      if (i === 0) continue;
      const vip = this.#vips.slots[i];
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

  #formatVipDetailed(idx: number): string {
    const vip = this.#vips.slots[idx];
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
      const as = this.#ass.slots[asIndex];
      s += `    ${cliAddressText(as.address)} weight:${as.weight} buckets:${
        vip.buckets.get(asIndex) ?? 0
      } flows:0 dpo:${as.dpo < 0 ? 0 : as.dpo} ${as.flags & FLAG_USED ? "used" : " removed"}\n`;
    }
    return s;
  }
}
