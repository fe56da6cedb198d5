/**
 * A NOTIFY_SOCKET of the test's own: a unix datagram socket bound to a
 * temporary path, read through libc (Deno has no stable datagram API).
 * @module
 */
import { sockaddrUnix } from "./notify.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // On a runtime thread: the test awaits a datagram without blocking the loop.
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
} as const;

const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;

/** A bound notify socket. */
export interface NotifySink {
  readonly path: string;
  /** The next datagram's text; rejects after `timeoutS` (default 20) without one. */
  next(): Promise<string>;
  close(): void;
}

/** Binds a datagram socket at `path`. */
export function bindNotifySink(path: string, timeoutS = 20): NotifySink {
  const lib = Deno.dlopen("libc.so.6", SYMBOLS);
  const fd = lib.symbols.socket(1, 2, 0);
  const addr = sockaddrUnix(path);
  if (lib.symbols.bind(fd, addr, addr.length) !== 0) throw new Error(`bind ${path} failed`);
  // A bound on every wait, so a daemon that never notifies fails the test instead of hanging it.
  const tv = new BigInt64Array([BigInt(timeoutS), 0n]);
  lib.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer), 16);
  const buf = new Uint8Array(4096);
  return {
    path,
    async next() {
      const n = Number(await lib.symbols.recv(fd, buf, BigInt(buf.length), 0));
      if (n < 0) throw new Error(`no notify datagram on ${path} within ${timeoutS}s`);
      return new TextDecoder().decode(buf.subarray(0, n));
    },
    close() {
      lib.symbols.close(fd);
      lib.close();
      try {
        Deno.removeSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}
