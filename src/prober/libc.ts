/**
 * The libc calls the FFI probers need (ICMP raw sockets and the socket
 * engine). Opened lazily so that a daemon without them needs no FFI.
 *
 * errno: the address of the main thread's errno is taken once at open, and
 * {@linkcode Libc.errno} reads it with no FFI call in between, right after the
 * failing call. Calling `__errno_location` after a failure could itself run
 * runtime code (a first-call trampoline, a dlopen path search) that sets
 * errno again: the ICMP test saw ENOENT where EPERM was right.
 * @module
 */
import { errorMessage } from "../errors.ts";
import { parseIp4, parseIp6 } from "../../vpp/ip.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // ssize_t results read as i32: any length a probe sends or reads (far below 2^31) or -1 fits,
  // the caller reads the low half of the return register (well defined on every ABI), and
  // FFI then returns a number instead of a BigInt per call. The size_t length stays usize:
  // an argument narrower than the callee reads is not safe, and a number there is FFI's slow path.
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  close: { parameters: ["i32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // Runs on a runtime thread pool so the event loop never blocks in it.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** The opened library, with errno read from memory. */
export interface Libc {
  readonly symbols: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
  /** errno of the main thread now: read it right after the failing call. */
  errno(): number;
  /** Closes the library. */
  close(): void;
}

/** Opens libc; throws with the reason when it cannot. */
export function openLibc(): Libc {
  const names = ["libc.so.6", "libc.so"];
  let last: unknown;
  for (const name of names) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(name, SYMBOLS);
    } catch (err) {
      last = err;
      continue;
    }
    const loc = lib.symbols.__errno_location();
    if (!loc) {
      lib.close();
      throw new Error("open libc: no errno location");
    }
    const view = new Deno.UnsafePointerView(loc);
    return { symbols: lib.symbols, errno: () => view.getInt32(), close: () => lib.close() };
  }
  throw new Error(`open libc: ${errorMessage(last)}`);
}

/** The text of `errno`: `Operation not permitted`. */
export function errnoText(lib: Libc, errno: number): string {
  const msg = lib.symbols.strerror(errno);
  return msg ? new Deno.UnsafePointerView(msg).getCString() : `errno ${errno}`;
}

/** errno of the last failed call with its text; call it right after that call. */
export function lastError(lib: Libc): { errno: number; text: string } {
  const errno = lib.errno();
  return { errno, text: errnoText(lib, errno) };
}

/** Linux constants (x86_64 and aarch64 agree on these). */
export const AF_INET = 2;
/** Linux AF_INET6. */
export const AF_INET6 = 10;
/** SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC. */
export const SOCK_RAW_NB = 3 | 0o4000 | 0o2000000;
/** SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC. */
export const SOCK_STREAM_NB = 1 | 0o4000 | 0o2000000;
/** IPPROTO_ICMP. */
export const IPPROTO_ICMP = 1;
/** IPPROTO_ICMPV6. */
export const IPPROTO_ICMPV6 = 58;
/** SOL_RAW, for ICMP_FILTER. */
export const SOL_RAW = 255;
/** ICMP_FILTER (v4) and ICMP6_FILTER (v6) share the value 1. */
export const ICMP_FILTER = 1;
/** SOL_SOCKET. */
export const SOL_SOCKET = 1;
/** SO_ERROR. */
export const SO_ERROR = 4;
/** SO_LINGER. */
export const SO_LINGER = 13;
/** SOL_IP. */
export const SOL_IP = 0;
/** IP_BIND_ADDRESS_NO_PORT: bind picks the port at connect, so binds do not exhaust ports. */
export const IP_BIND_ADDRESS_NO_PORT = 24;
/** EPERM. */
export const EPERM = 1;
/** EINTR. */
export const EINTR = 4;
/** EAGAIN / EWOULDBLOCK. */
export const EAGAIN = 11;
/** ENOMEM. */
export const ENOMEM = 12;
/** EACCES. */
export const EACCES = 13;
/** ENFILE. */
export const ENFILE = 23;
/** EMFILE. */
export const EMFILE = 24;
/** ENOSPC (epoll_ctl: max_user_watches reached). */
export const ENOSPC = 28;
/** ENOBUFS. */
export const ENOBUFS = 105;
/** EADDRNOTAVAIL. */
export const EADDRNOTAVAIL = 99;
/** EINPROGRESS. */
export const EINPROGRESS = 115;
/** MSG_DONTWAIT. */
export const MSG_DONTWAIT = 0x40;
/** MSG_NOSIGNAL: a reset peer fails the send with EPIPE instead of killing us with SIGPIPE. */
export const MSG_NOSIGNAL = 0x4000;
/** EFD_NONBLOCK | EFD_CLOEXEC. */
export const EFD_FLAGS = 0o4000 | 0o2000000;
/** EPOLL_CLOEXEC. */
export const EPOLL_CLOEXEC = 0o2000000;
/** POLLIN. */
export const POLLIN = 1;
/** epoll event bits. */
export const EPOLLIN = 0x001;
/** EPOLLOUT. */
export const EPOLLOUT = 0x004;
/** EPOLLERR. */
export const EPOLLERR = 0x008;
/** EPOLLHUP. */
export const EPOLLHUP = 0x010;
/** EPOLLRDHUP. */
export const EPOLLRDHUP = 0x2000;
/** EPOLLET. */
export const EPOLLET = 1 << 31;
/** EPOLL_CTL_ADD. */
export const EPOLL_CTL_ADD = 1;

/**
 * Errors that say nothing about the backend: the host is out of fds,
 * buffers, memory or local ports. They must not move rise/fall (issue 12.2).
 */
export function isLocalErrno(errno: number): boolean {
  return errno === EMFILE || errno === ENFILE || errno === ENOBUFS || errno === ENOMEM ||
    errno === ENOSPC;
}

/** RLIMIT_NOFILE. */
export const RLIMIT_NOFILE = 7;

/** The soft limit on open files of this process; undefined when it cannot be read. */
export function softNofile(lib: Libc): number | undefined {
  const rl = new BigUint64Array(2);
  if (lib.symbols.getrlimit(RLIMIT_NOFILE, new Uint8Array(rl.buffer)) < 0) return undefined;
  const cur = rl[0];
  return cur > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(cur);
}

/** A sockaddr_in / sockaddr_in6 for `bytes` (4 or 16 address bytes) and `port`. */
export function sockaddr(bytes: Uint8Array, port = 0): Uint8Array {
  if (bytes.length === 4) {
    const sa = new Uint8Array(16);
    const v = new DataView(sa.buffer);
    v.setUint16(0, AF_INET, true);
    v.setUint16(2, port, false);
    sa.set(bytes, 4);
    return sa;
  }
  const sa = new Uint8Array(28);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_INET6, true);
  v.setUint16(2, port, false);
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
