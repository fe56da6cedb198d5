/**
 * The few libc calls the ICMP prober needs, through Deno FFI. Opened lazily so
 * that daemons without ICMP checks need no FFI at all.
 * @module
 */
import { parseIp4, parseIp6 } from "../../vpp/ip.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  close: { parameters: ["i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // Runs on a runtime thread pool so the event loop never blocks in it.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** The opened library. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

/** Opens libc; throws with the reason when it cannot. */
export function openLibc(): Libc {
  const names = ["libc.so.6", "libc.so"];
  let last: unknown;
  for (const name of names) {
    try {
      return Deno.dlopen(name, SYMBOLS);
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`open libc: ${last instanceof Error ? last.message : String(last)}`);
}

/** errno of the last failed call on this thread, with its text: `EPERM (Operation not permitted)`. */
export function lastError(lib: Libc): { errno: number; text: string } {
  const loc = lib.symbols.__errno_location();
  const errno = loc ? new Deno.UnsafePointerView(loc).getInt32() : 0;
  const msg = lib.symbols.strerror(errno);
  const text = msg ? new Deno.UnsafePointerView(msg).getCString() : `errno ${errno}`;
  return { errno, text };
}

/** Linux constants (x86_64 and aarch64 agree on these). */
export const AF_INET = 2;
/** Linux AF_INET6. */
export const AF_INET6 = 10;
/** SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC. */
export const SOCK_RAW_NB = 3 | 0o4000 | 0o2000000;
/** IPPROTO_ICMP. */
export const IPPROTO_ICMP = 1;
/** IPPROTO_ICMPV6. */
export const IPPROTO_ICMPV6 = 58;
/** SOL_RAW, for ICMP_FILTER. */
export const SOL_RAW = 255;
/** ICMP_FILTER (v4) and ICMP6_FILTER (v6) share the value 1. */
export const ICMP_FILTER = 1;
/** EAGAIN / EWOULDBLOCK. */
export const EAGAIN = 11;
/** EINTR. */
export const EINTR = 4;
/** MSG_DONTWAIT. */
export const MSG_DONTWAIT = 0x40;
/** EFD_NONBLOCK | EFD_CLOEXEC. */
export const EFD_FLAGS = 0o4000 | 0o2000000;
/** POLLIN. */
export const POLLIN = 1;

/** A sockaddr_in / sockaddr_in6 for `bytes` (4 or 16 address bytes), port 0. */
export function sockaddr(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 4) {
    const sa = new Uint8Array(16);
    new DataView(sa.buffer).setUint16(0, AF_INET, true);
    sa.set(bytes, 4);
    return sa;
  }
  const sa = new Uint8Array(28);
  new DataView(sa.buffer).setUint16(0, AF_INET6, true);
  sa.set(bytes, 8);
  return sa;
}

/**
 * Parses an IPv4 or IPv6 literal into 4 or 16 bytes (the sockaddr payload);
 * undefined when it is neither. Unlike `parseIp` of `vpp/ip.ts` (the owner of
 * address parsing, which throws and tags the family), a bad literal here is
 * an ordinary probe failure.
 */
export function parseIpBytes(text: string): Uint8Array | undefined {
  return parseIp4(text) ?? parseIp6(text) ?? undefined;
}
