/**
 * The socket framing: a 16-byte header (8 zero bytes, u32 big-endian body
 * length, 4 zero bytes) before every message body, in both directions.
 * @module
 */

import { VppDecodeError } from "./errors.ts";

/** Size of the frame header in bytes. */
export const HEADER_SIZE = 16;

/**
 * The largest body a `FrameReader` accepts by default (16 MiB): far above any
 * real reply (a full message table is ~60 KiB), low enough that a corrupt
 * length cannot make us allocate gigabytes.
 */
export const DEFAULT_MAX_BODY = 16 * 1024 * 1024;

/** Prefixes `body` with the 16-byte frame header. */
export function frameMessage(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + body.length);
  new DataView(out.buffer).setUint32(8, body.length);
  out.set(body, HEADER_SIZE);
  return out;
}

/** Options of a `FrameReader`. */
export interface FrameReaderOptions {
  /** Largest declared body length accepted; more throws `VppDecodeError`. */
  maxBodyLength?: number;
}

/**
 * Reassembles message bodies from a byte stream cut into arbitrary chunks.
 * After it has thrown (a length above the maximum) the stream is out of sync
 * and the reader keeps throwing: the connection must be dropped.
 */
export class FrameReader {
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  #max: number;
  #broken: Error | null = null;

  /** Builds a reader; see `FrameReaderOptions`. */
  constructor(options: FrameReaderOptions = {}) {
    this.#max = options.maxBodyLength ?? DEFAULT_MAX_BODY;
  }

  /** Bytes held that do not yet form a whole message. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** Adds `chunk` and returns every body now complete, in order (copies). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.each(chunk, (buf, start, end) => out.push(buf.slice(start, end)));
    return out;
  }

  /**
   * Adds `chunk` and calls `fn` with every body now complete, in order, as
   * `buf[start..end)`: the reader's buffer, valid only during the call. No
   * copy and no view a message (a view is an object: 17,000 replies in an
   * initial sync); the client makes one only for a reply it decodes.
   */
  each(chunk: Uint8Array, fn: (buf: Uint8Array, start: number, end: number) => void): void {
    if (this.#broken) throw this.#broken;
    this.#append(chunk);
    const view = new DataView(this.#buf.buffer);
    while (this.#end - this.#start >= HEADER_SIZE) {
      const len = view.getUint32(this.#start + 8);
      if (len > this.#max) {
        this.#broken = new VppDecodeError(
          `frame declares a body of ${len} bytes, above the maximum of ${this.#max}`,
        );
        throw this.#broken;
      }
      if (this.#end - this.#start < HEADER_SIZE + len) break;
      const from = this.#start + HEADER_SIZE;
      this.#start = from + len;
      fn(this.#buf, from, from + len);
    }
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
  }

  #append(chunk: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      if (held + chunk.length <= this.#buf.length / 2) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(Math.max(this.#buf.length * 2, (held + chunk.length) * 2));
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = held;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}
