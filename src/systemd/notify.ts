/**
 * systemd's readiness protocol (`Type=notify`, sd_notify(3)): one datagram
 * per state change to the unix socket named by `NOTIFY_SOCKET`. `READY=1`
 * when warmup completes, `RELOADING=1` then `READY=1` around a reload,
 * `STOPPING=1` at shutdown.
 *
 * Deno has no stable unix datagram API, so the datagram goes out through
 * libc's `socket`/`sendto` (FFI, part of `-A`). Without FFI, or without
 * `NOTIFY_SOCKET`, notifying does nothing; a failure is logged once and
 * never stops the daemon.
 * @module
 */
import { errorMessage } from "../errors.ts";
import { log } from "../log/mod.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
/** `sizeof(sockaddr_un.sun_path)` on Linux. */
const SUN_PATH_MAX = 108;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/** Sends notify states; a no-op when the service manager did not ask for them. */
export interface Notifier {
  /** The socket notified, empty when none. */
  readonly socket: string;
  /** Sends `state` (e.g. `READY=1`); false when nothing was sent. */
  notify(state: string): boolean;
  close(): void;
}

/**
 * `sockaddr_un` for `path`: a leading `@` names the abstract namespace
 * (its bytes start with NUL), anything else a file system path.
 */
export function sockaddrUnix(path: string): Uint8Array {
  const name = new TextEncoder().encode(path.startsWith("@") ? `\0${path.slice(1)}` : path);
  if (name.length >= SUN_PATH_MAX) throw new Error(`NOTIFY_SOCKET ${path}: path too long`);
  const abstract = path.startsWith("@");
  const addr = new Uint8Array(2 + name.length + (abstract ? 0 : 1));
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  return addr;
}

const NONE: Notifier = { socket: "", notify: () => false, close() {} };

/** A notifier for `socket` (the value of `NOTIFY_SOCKET`; empty or undefined: none). */
export function openNotifier(socket: string | undefined): Notifier {
  if (!socket) return NONE;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  let fd = -1;
  let addr: Uint8Array;
  try {
    addr = sockaddrUnix(socket);
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
    fd = lib.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error("socket(AF_UNIX, SOCK_DGRAM) failed");
  } catch (e) {
    lib?.close();
    log.warn("systemd-notify-unavailable", { socket, err: errorMessage(e) });
    return NONE;
  }
  const symbols = lib.symbols;
  let failed = false;
  return {
    socket,
    notify(state) {
      const bytes = new TextEncoder().encode(state);
      const sent = Number(symbols.sendto(fd, bytes, BigInt(bytes.length), 0, addr, addr.length));
      if (sent === bytes.length) {
        log.debug("systemd-notify", { state });
        return true;
      }
      if (!failed) log.warn("systemd-notify-failed", { socket, state });
      failed = true;
      return false;
    },
    close() {
      symbols.close(fd);
      lib!.close();
    },
  };
}
