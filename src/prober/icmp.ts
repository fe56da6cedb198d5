/**
 * ICMP and ICMPv6 echo probes over raw sockets opened through FFI.
 *
 * All probes share one raw socket per family (one more per distinct
 * `probe-ipv4-src`/`probe-ipv6-src`, which must be bound), and one reader:
 * a `poll()` run as a nonblocking FFI call on a runtime thread, woken by
 * replies or by an eventfd. The reader only runs while a probe is pending, so
 * an idle prober holds no pending operation and keeps no process alive.
 * Replies are matched by identifier and sequence (a 32-bit counter split in
 * two) and by the replying address.
 * @module
 */
import { errorMessage } from "../errors.ts";
import type { Clock } from "../clock.ts";
import type { Backend, HealthCheck } from "../config/types.ts";
import type { ProbeCode, ProbeResult } from "../health/types.ts";
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EFD_FLAGS,
  EINTR,
  ICMP_FILTER,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  lastError,
  type Libc,
  MSG_DONTWAIT,
  openLibc,
  parseIpBytes,
  POLLIN,
  SOCK_RAW_NB,
  sockaddr,
  SOL_RAW,
} from "./libc.ts";
import { probeResult } from "./result.ts";

/** Options of {@linkcode IcmpProber.probe}. */
export interface IcmpProbeOptions {
  readonly signal: AbortSignal;
}

interface RawSocket {
  readonly fd: number;
  readonly family: 4 | 6;
}

interface Pending {
  readonly family: 4 | 6;
  readonly addr: Uint8Array;
  readonly start: number;
  /** Set as the echo ends, for its result (see `probeResult`). */
  durationMs: number;
  readonly finish: (code: ProbeCode, detail: string) => void;
}

// Largest poll wait; replies and the eventfd wake it earlier.
const POLL_CAP_MS = 1000;
const PAYLOAD = new TextEncoder().encode("maglevd-probe-00");

const UNREACH_V4: Readonly<Record<number, string>> = {
  0: "network unreachable",
  1: "host unreachable",
  2: "protocol unreachable",
  3: "port unreachable",
  9: "network administratively prohibited",
  10: "host administratively prohibited",
  13: "communication administratively prohibited",
};
const UNREACH_V6: Readonly<Record<number, string>> = {
  0: "no route to destination",
  1: "communication administratively prohibited",
  3: "address unreachable",
  4: "port unreachable",
};

/** ICMP echo probing with shared raw sockets; one per prober instance. */
export class IcmpProber {
  #clock: Clock;
  #lib: Libc | undefined;
  #eventfd = -1;
  #sockets = new Map<string, RawSocket>();
  #pending = new Map<number, Pending>();
  #counter = (Math.random() * 0x100000000) >>> 0;
  #loop: Promise<void> | undefined;
  #closed = false;
  #recvBuf = new Uint8Array(2048);
  #fromBuf = new Uint8Array(28);
  #fromLen = new Uint32Array(1);

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Sends one echo request to `backend` and waits for the reply until `hc.timeoutMs`. */
  probe(hc: HealthCheck, backend: Backend, options: IcmpProbeOptions): Promise<ProbeResult> {
    const start = this.#clock.monotonic();
    const fail = (code: ProbeCode, detail: string) =>
      Promise.resolve(
        probeResult(code, detail, { durationMs: this.#clock.monotonic() - start }),
      );
    if (this.#closed) return fail("L3CON", "prober closed");
    const addr = parseIpBytes(backend.address);
    if (!addr) return fail("L3CON", `bad address ${JSON.stringify(backend.address)}`);
    const family: 4 | 6 = addr.length === 4 ? 4 : 6;
    const source = family === 4 ? hc.probeIpv4Src : hc.probeIpv6Src;
    let sock: RawSocket;
    try {
      sock = this.#socket(family, source);
    } catch (err) {
      return fail("L3CON", errorMessage(err));
    }
    if (options.signal.aborted) return fail("L3TOUT", "cancelled");
    const lib = this.#lib!;
    let key = this.#counter;
    while (this.#pending.has(key)) key = (key + 1) >>> 0;
    this.#counter = (key + 1) >>> 0;
    const packet = echoRequest(family, key);
    const sa = sockaddr(addr);
    const sent = Number(
      lib.symbols.sendto(sock.fd, packet, BigInt(packet.length), 0, sa, sa.length),
    );
    if (sent < 0) {
      return fail("L3CON", `send echo request to ${backend.address}: ${lastError(lib).text}`);
    }
    return new Promise<ProbeResult>((resolve) => {
      const onAbort = () => pending.finish("L3TOUT", "cancelled");
      const timer = this.#clock.setTimeout(
        () => pending.finish("L3TOUT", `no echo reply within ${hc.timeoutMs}ms`),
        hc.timeoutMs,
      );
      const pending: Pending = {
        family,
        addr,
        start,
        durationMs: 0,
        finish: (code, detail) => {
          if (this.#pending.get(key) !== pending) return;
          this.#pending.delete(key);
          this.#clock.clearTimeout(timer);
          options.signal.removeEventListener("abort", onAbort);
          // A reader blocked in poll() for nothing would hold the process open.
          if (this.#pending.size === 0) this.#wake();
          pending.durationMs = this.#clock.monotonic() - start;
          resolve(probeResult(code, detail, pending));
        },
      };
      this.#pending.set(key, pending);
      options.signal.addEventListener("abort", onAbort, { once: true });
      this.#loop ??= this.#run();
    });
  }

  /** Fails pending probes, stops the reader and closes the sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of [...this.#pending.values()]) p.finish("L3CON", "prober closed");
    this.#wake();
    await this.#loop;
    const lib = this.#lib;
    if (!lib) return;
    for (const s of this.#sockets.values()) lib.symbols.close(s.fd);
    this.#sockets.clear();
    if (this.#eventfd >= 0) lib.symbols.close(this.#eventfd);
    this.#eventfd = -1;
    this.#lib = undefined;
    lib.close();
  }

  #socket(family: 4 | 6, source: string): RawSocket {
    const key = `${family}|${source}`;
    const have = this.#sockets.get(key);
    if (have) return have;
    if (!this.#lib) {
      const lib = openLibc();
      const efd = lib.symbols.eventfd(0, EFD_FLAGS);
      if (efd < 0) {
        const e = lastError(lib).text;
        lib.close();
        throw new Error(`eventfd: ${e}`);
      }
      this.#lib = lib;
      this.#eventfd = efd;
    }
    const lib = this.#lib;
    const fd = family === 4
      ? lib.symbols.socket(AF_INET, SOCK_RAW_NB, IPPROTO_ICMP)
      : lib.symbols.socket(AF_INET6, SOCK_RAW_NB, IPPROTO_ICMPV6);
    if (fd < 0) {
      const e = lastError(lib);
      const hint = e.errno === 1 || e.errno === 13 ? " (needs CAP_NET_RAW)" : "";
      throw new Error(`open raw ICMP${family === 6 ? "v6" : ""} socket: ${e.text}${hint}`);
    }
    // Only echo replies and errors about our requests wake the reader.
    const filter = family === 4 ? filterV4() : filterV6();
    lib.symbols.setsockopt(
      fd,
      family === 4 ? SOL_RAW : IPPROTO_ICMPV6,
      ICMP_FILTER,
      filter,
      filter.length,
    );
    if (source !== "") {
      const src = parseIpBytes(source);
      const sa = src ? sockaddr(src) : undefined;
      if (
        !sa || (src!.length === 4) !== (family === 4) || lib.symbols.bind(fd, sa, sa.length) < 0
      ) {
        const e = sa ? lastError(lib).text : "not an address of the family";
        lib.symbols.close(fd);
        throw new Error(`bind ICMP socket to ${source}: ${e}`);
      }
    }
    const sock: RawSocket = { fd, family };
    this.#sockets.set(key, sock);
    // A running poll() does not watch the new socket yet.
    this.#wake();
    return sock;
  }

  #wake(): void {
    if (this.#lib && this.#eventfd >= 0 && this.#loop) {
      const one = new Uint8Array(8);
      one[0] = 1;
      this.#lib.symbols.write(this.#eventfd, one, 8n);
    }
  }

  async #run(): Promise<void> {
    const lib = this.#lib!;
    const drain = new Uint8Array(8);
    try {
      while (this.#pending.size > 0 && !this.#closed) {
        const socks = [...this.#sockets.values()];
        const fds = new Uint8Array(8 * (socks.length + 1));
        const view = new DataView(fds.buffer);
        socks.forEach((s, i) => {
          view.setInt32(i * 8, s.fd, true);
          view.setInt16(i * 8 + 4, POLLIN, true);
        });
        view.setInt32(socks.length * 8, this.#eventfd, true);
        view.setInt16(socks.length * 8 + 4, POLLIN, true);
        await lib.symbols.poll(fds, BigInt(socks.length + 1), POLL_CAP_MS);
        if (this.#closed) break;
        lib.symbols.read(this.#eventfd, drain, 8n);
        for (const s of socks) this.#drain(lib, s);
      }
    } finally {
      this.#loop = undefined;
    }
  }

  #drain(lib: Libc, sock: RawSocket): void {
    for (;;) {
      this.#fromLen[0] = this.#fromBuf.length;
      const n = Number(
        lib.symbols.recvfrom(
          sock.fd,
          this.#recvBuf,
          BigInt(this.#recvBuf.length),
          MSG_DONTWAIT,
          this.#fromBuf,
          new Uint8Array(this.#fromLen.buffer),
        ),
      );
      if (n < 0) {
        const e = lastError(lib);
        if (e.errno === EINTR) continue;
        if (e.errno !== EAGAIN) this.#failFamily(sock.family, `receive: ${e.text}`);
        return;
      }
      if (sock.family === 4) this.#onV4(this.#recvBuf.subarray(0, n));
      else this.#onV6(this.#recvBuf.subarray(0, n), this.#fromBuf.subarray(8, 24));
    }
  }

  #failFamily(family: 4 | 6, detail: string): void {
    for (const p of [...this.#pending.values()]) if (p.family === family) p.finish("L3CON", detail);
  }

  #onV4(b: Uint8Array): void {
    if (b.length < 20) return;
    const ihl = (b[0] & 0x0f) * 4;
    if (b.length < ihl + 8) return;
    const type = b[ihl];
    if (type === 0) {
      this.#match(4, key(b, ihl + 4), b.subarray(12, 16), "L3OK", "echo reply");
      return;
    }
    if (type !== 3 && type !== 11) return;
    const inner = ihl + 8;
    if (b.length < inner + 20) return;
    const innerIcmp = inner + (b[inner] & 0x0f) * 4;
    if (b.length < innerIcmp + 8 || b[innerIcmp] !== 8) return;
    const code = b[ihl + 1];
    const what = type === 11
      ? "time exceeded"
      : `destination unreachable: ${UNREACH_V4[code] ?? `code ${code}`}`;
    const from = ipText(b.subarray(12, 16));
    this.#match(
      4,
      key(b, innerIcmp + 4),
      b.subarray(inner + 16, inner + 20),
      "L3CON",
      `${what} (from ${from})`,
    );
  }

  #onV6(b: Uint8Array, from: Uint8Array): void {
    if (b.length < 8) return;
    const type = b[0];
    if (type === 129) {
      this.#match(6, key(b, 4), from, "L3OK", "echo reply");
      return;
    }
    if (type !== 1 && type !== 3) return;
    // Inner: IPv6 header (40 bytes, next header ICMPv6) then our echo request.
    if (b.length < 8 + 40 + 8 || b[8 + 6] !== 58 || b[48] !== 128) return;
    const code = b[1];
    const what = type === 3
      ? "time exceeded"
      : `destination unreachable: ${UNREACH_V6[code] ?? `code ${code}`}`;
    this.#match(
      6,
      key(b, 52),
      b.subarray(8 + 24, 8 + 40),
      "L3CON",
      `${what} (from ${ipText(from)})`,
    );
  }

  #match(family: 4 | 6, k: number, addr: Uint8Array, code: ProbeCode, detail: string): void {
    const p = this.#pending.get(k);
    if (!p || p.family !== family || !sameBytes(p.addr, addr)) return;
    p.finish(code, code === "L3OK" ? `${detail} from ${ipText(addr)}` : detail);
  }
}

function key(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Text form of 4 or 16 address bytes (RFC 5952 short form for IPv6). */
function ipText(b: Uint8Array): string {
  if (b.length === 4) return b.join(".");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** An echo request whose identifier and sequence carry `k`. */
export function echoRequest(family: 4 | 6, k: number): Uint8Array {
  const pkt = new Uint8Array(8 + PAYLOAD.length);
  pkt[0] = family === 4 ? 8 : 128;
  const view = new DataView(pkt.buffer);
  view.setUint32(4, k);
  pkt.set(PAYLOAD, 8);
  // The kernel computes ICMPv6 checksums (it needs the pseudo-header); v4 is ours.
  if (family === 4) view.setUint16(2, checksum(pkt));
  return pkt;
}

/** The Internet checksum (RFC 1071). */
export function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function filterV4(): Uint8Array {
  const f = new Uint8Array(4);
  // A set bit blocks that type: let through echo reply, unreachable, time exceeded.
  new DataView(f.buffer).setUint32(0, ~((1 << 0) | (1 << 3) | (1 << 11)) >>> 0, true);
  return f;
}

function filterV6(): Uint8Array {
  const words = new Uint32Array(8).fill(0xffffffff);
  for (const t of [1, 3, 129]) words[t >> 5] &= ~(1 << (t & 31));
  return new Uint8Array(words.buffer);
}
