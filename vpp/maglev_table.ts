/**
 * VPP lb's new-flow table construction (vpp-api.md 5.1), bit for bit, so any
 * part of maglev (or the test double) can tell which AS owns which bucket.
 * @module
 */

import { ip16 } from "./ip.ts";

/** One application server as the table builder sees it. */
export interface TableAs {
  /** The AS address (IPv4 or IPv6 text). */
  address: string;
  /** Weight: the number of replicas the AS gets (0 = none). */
  weight: number;
  /** False for an AS deleted but not yet collected (flags & 1 == 0); default true. */
  used?: boolean;
}

const M64 = 0xffffffffffffffffn;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

/** VPP's `clib_xxhash` of one u64 key (xxhash64 of 8 bytes, its fixed seed). */
export function xxhash64(key: bigint): bigint {
  const k1 = (rotl64((key * P2) & M64, 31n) * P1) & M64;
  let h = ((0x9e3779b97f4a7c13n + P5 + 8n) & M64) ^ k1;
  h = (rotl64(h, 27n) * P1 + P4) & M64;
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  h ^= h >> 32n;
  return h;
}

function le64(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]);
  return v;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function checkLength(length: number): number {
  if (!Number.isInteger(length) || length < 1 || length > 1 << 30 || (length & (length - 1))) {
    throw new RangeError(`new-flow table length must be a power of two, got ${length}`);
  }
  return length - 1;
}

/**
 * Per address, the low and high 32 bits of each replica's seed, replica by
 * replica. A seed depends only on the address and the replica number, while
 * VPP rebuilds a table on every AS change: computing the BigInt hash once per
 * (address, replica) makes a rebuild cheap. Bounded: cleared when large.
 */
const seedCache = new Map<string, number[]>();
const SEED_CACHE_MAX = 65536;

function replicaSeeds(address: string, bytes: Uint8Array, weight: number): number[] {
  let seeds = seedCache.get(address);
  if (!seeds) {
    if (seedCache.size >= SEED_CACHE_MAX) seedCache.clear();
    seeds = [];
    seedCache.set(address, seeds);
  }
  if (seeds.length < 2 * weight) {
    const base = le64(bytes, 0) ^ le64(bytes, 8);
    for (let r = seeds.length / 2; r < weight; r++) {
      const seed = xxhash64(base ^ BigInt(r));
      seeds.push(Number(seed & 0xffffffffn), Number(seed >> 32n));
    }
  }
  return seeds;
}

/**
 * Builds the new-flow table of `length` buckets (a power of two) for `ases`:
 * bucket -> index into `ases`, -1 = "no server" (no AS in use with weight > 0).
 */
export function buildNewFlowTable(ases: readonly TableAs[], length: number): Int32Array {
  const mask = checkLength(length);
  const table = new Int32Array(length).fill(-1);
  const addrs = ases.map((a) => ip16(a.address));
  const live: number[] = [];
  let maxWeight = 0;
  ases.forEach((a, i) => {
    if (a.used === false || !(a.weight > 0)) return;
    live.push(i);
    maxWeight = Math.max(maxWeight, a.weight);
  });
  if (live.length === 0) return table;
  // Replicas sorted by (replica, address bytes): with ASes in address order,
  // emitting round by round gives that order without a general sort.
  live.sort((x, y) => compareBytes(addrs[x], addrs[y]));
  const seeds = live.map((i) => replicaSeeds(ases[i].address, addrs[i], ases[i].weight));
  const owner: number[] = [];
  const skip: number[] = [];
  const next: number[] = [];
  for (let r = 0; r < maxWeight; r++) {
    live.forEach((i, k) => {
      if (r >= ases[i].weight) return;
      owner.push(i);
      skip.push(((seeds[k][2 * r] | 1) & mask) >>> 0);
      next.push(seeds[k][2 * r + 1] & mask);
    });
  }
  let filled = 0;
  const n = owner.length;
  for (;;) {
    for (let p = 0; p < n; p++) {
      let b = next[p];
      while (table[b] !== -1) b = (b + skip[p]) & mask;
      table[b] = owner[p];
      next[p] = (b + skip[p]) & mask;
      if (++filled === length) return table;
    }
  }
}

/** Buckets owned by each AS (same order as `ases`) in the table of `length`. */
export function bucketCounts(ases: readonly TableAs[], length: number): number[] {
  const counts = new Array<number>(ases.length).fill(0);
  for (const owner of buildNewFlowTable(ases, length)) if (owner >= 0) counts[owner]++;
  return counts;
}
