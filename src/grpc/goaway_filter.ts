/**
 * Keeps a client's HTTP/2 GOAWAY frames away from Deno's `node:http2`
 * server, which can crash the whole process on them (denoland/deno#36788).
 *
 * When a GOAWAY arrives on a session with no open stream (a client that
 * cancelled its streams, or finished its unary calls, then closed its
 * channel), Deno's `node:http2` closes and destroys the session from inside
 * `nghttp2_session_mem_recv`: the nghttp2 session is freed while nghttp2 is
 * still using it, and the daemon aborts (`find_stream_on_goaway_func:
 * Assertion 'stream->closed_next == NULL'`) or segfaults. A server has no use
 * for a client's GOAWAY (it only refuses server push, which gRPC never
 * uses); without it the session ends on the TCP close that follows, which is
 * handled outside nghttp2's callbacks.
 * @module
 */
import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { Buffer } from "node:buffer";

/** The client connection preface (RFC 9113 3.4) passes through untouched. */
const PREFACE_LENGTH = 24;
const FRAME_HEADER_LENGTH = 9;
const GOAWAY_FRAME_TYPE = 0x7;
/** How long a closed session's socket waits for the peer's FIN. */
const CLOSE_GRACE_MS = 5_000;

/** Incremental HTTP/2 frame splitter (client to server direction). */
export interface GoawayStripper {
  /** The bytes of `chunk` minus every byte of a GOAWAY frame, in order. */
  feed(chunk: Uint8Array): Uint8Array[];
  /** GOAWAY frames dropped so far. */
  dropped(): number;
}

/**
 * A stripper for one direction of one connection; frames may span any chunk
 * boundaries. `preface`: the client-to-server direction, which starts with
 * the 24-byte connection preface.
 */
export function goawayStripper(options: { preface: boolean }): GoawayStripper {
  let prefaceLeft = options.preface ? PREFACE_LENGTH : 0;
  const header = new Uint8Array(FRAME_HEADER_LENGTH);
  let headerFill = 0;
  let payloadLeft = 0;
  let dropping = false;
  let dropped = 0;
  function feed(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const heldBefore = headerFill > 0;
    const droppedBefore = dropped;
    const droppingBefore = dropping && payloadLeft > 0;
    let i = 0;
    while (i < chunk.length) {
      if (prefaceLeft > 0) {
        const n = Math.min(prefaceLeft, chunk.length - i);
        out.push(chunk.subarray(i, i + n));
        prefaceLeft -= n;
        i += n;
      } else if (payloadLeft > 0) {
        const n = Math.min(payloadLeft, chunk.length - i);
        if (!dropping) out.push(chunk.subarray(i, i + n));
        payloadLeft -= n;
        i += n;
      } else {
        const n = Math.min(FRAME_HEADER_LENGTH - headerFill, chunk.length - i);
        header.set(chunk.subarray(i, i + n), headerFill);
        headerFill += n;
        i += n;
        if (headerFill === FRAME_HEADER_LENGTH) {
          headerFill = 0;
          payloadLeft = (header[0] << 16) | (header[1] << 8) | header[2];
          dropping = header[3] === GOAWAY_FRAME_TYPE;
          if (dropping) dropped++;
          else out.push(header.slice());
        }
      }
    }
    // The usual case, whole frames and no GOAWAY: hand the chunk on as is,
    // so the filter costs no extra writes.
    if (!heldBefore && headerFill === 0 && !droppingBefore && dropped === droppedBefore) {
      return chunk.length > 0 ? [chunk] : [];
    }
    return out;
  }
  return { feed, dropped: () => dropped };
}

/**
 * A socket as the HTTP/2 server sees it: GOAWAY frames are dropped both
 * ways. The client's, for the crash above; the server's own (shutdown),
 * because a Deno client (our CLI, the tests) crashes the same way when a
 * GOAWAY reaches a connection with no open stream. Without GOAWAY, either
 * side sees the TCP close instead, and a call that raced the shutdown is
 * refused or fails UNAVAILABLE, which clients retry.
 */
export class GoawayFilteredSocket extends Duplex {
  readonly #socket: Socket;
  readonly #outbound = goawayStripper({ preface: false });

  constructor(socket: Socket) {
    super();
    this.#socket = socket;
    const strip = goawayStripper({ preface: true });
    socket.on("data", (chunk: Uint8Array) => {
      for (const part of strip.feed(chunk)) {
        if (!this.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength))) {
          socket.pause();
        }
      }
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }

  /** The peer address, as grpc-js reports it for the call. */
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /** The peer port. */
  get remotePort(): number | undefined {
    return this.#socket.remotePort;
  }

  /** The local address. */
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }

  /** The local port. */
  get localPort(): number | undefined {
    return this.#socket.localPort;
  }

  /** Forwarded: the HTTP/2 session turns Nagle off. */
  setNoDelay(noDelay?: boolean): this {
    this.#socket.setNoDelay(noDelay);
    return this;
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    const parts = this.#outbound.feed(chunk);
    if (parts.length === 0) {
      callback();
      return;
    }
    this.#socket.write(parts.length === 1 ? parts[0] : Buffer.concat(parts), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(callback);
  }

  /**
   * The HTTP/2 session destroys its socket right after writing its last
   * frames (a stream's trailers at shutdown). Destroying the TCP socket
   * then would drop what is still queued on it, and the client would see
   * `UNAVAILABLE: Connection dropped` instead of the stream's end; so a
   * destroy without an error ends the socket (flush, then FIN) and drains
   * it, and a peer that never closes its side is cut after `CLOSE_GRACE_MS`.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const socket = this.#socket;
    if (error || socket.destroyed) {
      socket.destroy(error ?? undefined);
    } else {
      // Keep reading until the peer's FIN: closing with unread bytes sends
      // an RST, which makes the peer drop what it has not read yet.
      socket.removeAllListeners("data");
      socket.on("data", () => {});
      socket.resume();
      socket.end();
      socket.setTimeout(CLOSE_GRACE_MS, () => socket.destroy());
    }
    callback(error);
  }
}
