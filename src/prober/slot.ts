/**
 * The socket engine's probe slot: one pooled record per probe in flight,
 * its ticket (slot index and generation) and the status-line comparison the
 * fast path uses.
 * @module
 */
import type { HttpParams } from "../config/types.ts";
import type { ProbeSink } from "../health/types.ts";
import { DEFAULT_PARAMS } from "./http.ts";

/** Connecting: the connect's outcome is awaited. */
export const PHASE_CONNECT = 0;
/** Connected: the request goes out and the response comes in. */
export const PHASE_APP = 1;

/** One probe in flight (pooled; `gen` tells a reused slot from its past). */
export interface Slot {
  readonly index: number;
  gen: number;
  fd: number;
  phase: number;
  http: boolean;
  params: HttpParams;
  /** The backend's address and the check's port, for the text of a tcp pass. */
  address: string;
  port: number;
  start: number;
  /** Set as the probe ends, for its result (see `probeResult`). */
  durationMs: number;
  deadline: number;
  timeoutMs: number;
  /** Stall time added to the deadline so far (at most `timeoutMs`). */
  credit: number;
  /** The request's bytes are the first `requestLen` of `request` (0 for tcp). */
  request: Uint8Array;
  requestLen: number;
  sent: number;
  /** Bytes read so far when the first read did not settle the status line. */
  acc: Uint8Array | undefined;
  accLen: number;
  /** The full parser is judging; further events wait for its verdict. */
  judging: boolean;
  /** Full-parser runs so far and the bytes the last one saw (a trickle must not cost O(n²)). */
  judged: number;
  judgedLen: number;
  /** The peer has closed: the bytes read are all there is (for `judgeBuffered`). */
  eof: boolean;
  sink: ProbeSink | undefined;
}

/** Bits of a ticket that hold the slot index. */
export const GEN_BITS = 20;

/**
 * A ticket is `gen * GEN_SHIFT + index`, below 2^30 so V8 keeps it a small
 * integer (Smi, no heap number per probe): at most 2^20 slots, and `gen`
 * wraps at {@linkcode GEN_WRAP}. A ticket is only held while its probe is
 * in flight, so a wrapped generation never meets a stale one.
 */
export const GEN_SHIFT = 2 ** GEN_BITS;

/** Generations per slot before `gen` wraps to 0 (see {@linkcode GEN_SHIFT}). */
export const GEN_WRAP = 2 ** 10;

/** True when the bytes read, `read`, start with `line` (a status line through its LF). */
export function sameLine(line: Uint8Array, read: Uint8Array): boolean {
  if (read.length < line.length) return false;
  for (let i = 0; i < line.length; i++) if (read[i] !== line[i]) return false;
  return true;
}

/** A fresh slot at `index` (its request points at `scratch` until a probe sets it). */
export function newSlot(index: number, scratch: Uint8Array): Slot {
  return {
    index,
    gen: 0,
    fd: -1,
    phase: PHASE_CONNECT,
    http: false,
    params: DEFAULT_PARAMS,
    address: "",
    port: 0,
    start: 0,
    durationMs: 0,
    deadline: 0,
    timeoutMs: 0,
    credit: 0,
    request: scratch,
    requestLen: 0,
    sent: 0,
    acc: undefined,
    accLen: 0,
    judging: false,
    judged: 0,
    judgedLen: 0,
    eof: false,
    sink: undefined,
  };
}

/** The ticket of the probe `slot` holds now. */
export function ticketOf(slot: Slot): number {
  return slot.gen * GEN_SHIFT + slot.index;
}

/** Moves `slot` to its next generation (wrapping at {@linkcode GEN_WRAP}): its old ticket is spent. */
export function nextGen(slot: Slot): void {
  slot.gen = (slot.gen + 1) & (GEN_WRAP - 1);
}
