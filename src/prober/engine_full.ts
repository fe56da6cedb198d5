/**
 * The socket engine's slow path: a response that the status-line fast path
 * cannot settle (a response-regexp, an interim 1xx, a status line split
 * across reads) goes through the stream parser of `http.ts` over the bytes
 * received so far, so both engines judge a response by one set of rules.
 * @module
 */
import type { HttpParams } from "../config/types.ts";
import type { ProbeResult } from "../health/types.ts";
import { ByteReader, judgeFull } from "./http.ts";
import type { ProbeStream } from "./transport.ts";
import { errorText, probeResult } from "./result.ts";

/** The parser needs bytes that have not arrived yet. */
export const NEED_MORE: unique symbol = Symbol("need more bytes");

/** A stream over `bytes` that ends there when `eof`, and otherwise asks for more. */
function bufferedStream(bytes: Uint8Array, eof: boolean): ProbeStream {
  let given = bytes.length === 0;
  const read = (): Promise<Uint8Array | null> => {
    if (!given) {
      given = true;
      return Promise.resolve(bytes);
    }
    return eof ? Promise.resolve(null) : Promise.reject(NEED_MORE);
  };
  return {
    write: () => Promise.resolve(),
    read,
    readInto: () => Promise.reject(new Error("unused")),
    close: () => {},
  };
}

/** Whether the peer has closed, and the check's params; a probe's slot fits as it is. */
export interface JudgeOptions {
  /** No more bytes will come. */
  readonly eof: boolean;
  readonly params: HttpParams;
}

/** Judges a response from its bytes: a result, or NEED_MORE while it is incomplete. */
export async function judgeBuffered(
  bytes: Uint8Array,
  options: JudgeOptions,
): Promise<ProbeResult | typeof NEED_MORE> {
  // Read before the first await: a slot passed as `options` is reused once its probe ends.
  const eof = options.eof;
  const params = options.params;
  try {
    return await judgeFull(new ByteReader(bufferedStream(bytes, eof)), params);
  } catch (err) {
    if (err === NEED_MORE) return NEED_MORE;
    return probeResult("L7RSP", `response: ${errorText(err)}`);
  }
}
