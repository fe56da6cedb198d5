/**
 * The lb plugin's data structures as the VPP double keeps them: return
 * values, vip types and flags (lb.h), vppinfra pools, the VIP and AS pool
 * elements, and the bit of FIB that numbers the `dpo:` column.
 * @module
 */
import { type Ip46, IP4_PAD } from "./lb_addr.ts";

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

// lb.h: enum order matters, type 0 is what unknown encap/family pairs get.
/** lb.h vip types. */
export const VIP_TYPE = {
  IP6_GRE6: 0,
  IP6_GRE4: 1,
  IP4_GRE6: 2,
  IP4_GRE4: 3,
  IP4_L3DSR: 4,
  IP4_NAT4: 5,
  IP6_NAT6: 6,
} as const;
/** The CLI names of the vip types. */
export const VIP_TYPE_NAMES = [
  "ip6-gre6",
  "ip6-gre4",
  "ip4-gre6",
  "ip4-gre4",
  "ip4-l3dsr",
  "ip4-nat4",
  "ip6-nat6",
];
/** The API encap enum. */
export const ENCAP = { GRE4: 0, GRE6: 1, L3DSR: 2, NAT4: 3, NAT6: 4 } as const;
/** NAT srv_type nodeport. */
export const SRV_TYPE_NODEPORT = 1;
/** VIP/AS flag: in use. */
export const FLAG_USED = 1;
/** VIP flag: src_ip_sticky. */
export const FLAG_SRC_IP_STICKY = 2;
/** lb-gc-process period (s). */
export const GARBAGE_RUN_S = 60;
/** How long an AS must be idle before GC frees it (s). */
export const CONCURRENCY_TIMEOUT_S = 10;
/** The VIP counters, in CLI order. */
export const VIP_COUNTER_NAMES = [
  "packet from existing sessions",
  "first session packet",
  "untracked packet",
  "no server configured",
];
// Beyond this the double refuses to allocate a table; VPP's default heap
// would not hold it either, so it is treated like the length-0 crash.
/** Largest table the double allocates. */
export const MAX_TABLE_LENGTH = 1 << 24;

/** The period of VPP's `lb-gc-process`, for whoever drives `collectGarbage`. */
export const LB_GC_PERIOD_MS = GARBAGE_RUN_S * 1000;

/**
 * A vppinfra pool: slots keep their objects after `put` (VPP does not clear
 * freed elements), `get` reuses the most recently freed slot first.
 */
export class Pool<T> {
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

/** A VIP pool element. */
export interface VipSlot {
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

/** An AS pool element. */
export interface AsSlot {
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
export class FibModel {
  #entries = new Map<string, { lb: number; sources: number }>();
  #lbLocks: number[] = [];
  #lbFree: number[] = [];

  constructor() {
    // A fresh VPP holds load-balances 0..9; two of them come back free during
    // start-up (observed: the first two FIB entries created never show as an
    // AS dpo, the third gets 10). Which two is a guess; 8 is handed out first, as a real VPP
    // does: its first VIP takes 8 and that VIP's first AS 9 (tests/vpp_session_test.ts).
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
    this.#lbFree.push(9, 8);
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

/** lb_conf values. */
export interface Conf {
  ip4Src: string;
  ip6Src: string;
  stickyBuckets: number;
  flowTimeout: number;
}

/** True when the vip type encapsulates in IPv4. */
export function encapIsIp4(type: number): boolean {
  return type === VIP_TYPE.IP6_GRE4 || type === VIP_TYPE.IP4_GRE4 ||
    type === VIP_TYPE.IP4_L3DSR || type === VIP_TYPE.IP4_NAT4;
}

/** True for IPv4 VIP types. */
export function typeIsIp4(type: number): boolean {
  return type === VIP_TYPE.IP4_GRE6 || type === VIP_TYPE.IP4_GRE4 ||
    type === VIP_TYPE.IP4_L3DSR || type === VIP_TYPE.IP4_NAT4;
}

/** True for IPv6 VIP types. */
export function typeIsIp6(type: number): boolean {
  return type === VIP_TYPE.IP6_GRE6 || type === VIP_TYPE.IP6_GRE4 || type === VIP_TYPE.IP6_NAT6;
}

/** The API encap of a vip type. */
export function typeToApiEncap(type: number): number {
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
