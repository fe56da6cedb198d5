/**
 * The socket engine (issue 15): plain http and tcp probes on nonblocking libc
 * sockets through Deno FFI, all in one epoll set that a short timer drains.
 *
 * Per probe there is no promise, closure, AbortController or timer: a probe
 * is a pooled {@linkcode Slot}, its deadline an entry in the FIFO of its
 * timeout (probes with one timeout expire in start order), and its result a
 * call to the sink it was started with. The drain tick (every
 * {@linkcode TICK_MS} while a probe is in flight, none when idle) reads every
 * ready event with `epoll_wait(..., 0)`, then expires due deadlines, so a
 * whole tick's results reach the checker in one batch.
 *
 * Close semantics: every probe socket has `SO_LINGER {1, 0}`, so `close()`
 * sends a RST and neither side keeps the connection in TIME_WAIT (HAProxy
 * closes its check connections the same way). At 10,000 probes/s a graceful
 * close would leave 600,000 TIME_WAIT sockets on the prober or the backend;
 * the probe's verdict is already taken when it closes, so nothing is lost.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Backend, HealthCheck, HttpParams } from "../config/types.ts";
import type { ProbeCode, ProbeResult, ProbeSink } from "../health/types.ts";
import {
  AF_INET,
  AF_INET6,
  EADDRNOTAVAIL,
  EAGAIN,
  EINPROGRESS,
  EINTR,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  errnoText,
  IP_BIND_ADDRESS_NO_PORT,
  isLocalErrno,
  type Libc,
  MSG_NOSIGNAL,
  openLibc,
  SO_ERROR,
  SO_LINGER,
  SOCK_STREAM_NB,
  sockaddr,
  softNofile,
  SOL_IP,
  SOL_SOCKET,
} from "./libc.ts";
import { BODY_LIMIT, DEFAULT_PARAMS, HEAD_LIMIT, judgeStatus, parseStatusLine } from "./http.ts";
import { hostPort, probeResult } from "./result.ts";
import { judgeBuffered, NEED_MORE } from "./engine_full.ts";
import { DeadlineFifos } from "./fifo.ts";
import { type Target, Targets } from "./target.ts";
import {
  GEN_BITS,
  GEN_SHIFT,
  newSlot,
  nextGen,
  PHASE_APP,
  PHASE_CONNECT,
  sameLine,
  type Slot,
  ticketOf,
} from "./slot.ts";

/** How often the epoll set is drained while probes are in flight. */
export const TICK_MS = 5;
/**
 * Daemon lag (a tick this much later than due) that is credited to the
 * probes in flight: time the event loop did not run is not the backend's.
 */
export const STALL_CREDIT_MS = 10;
/** Full-parser runs on every chunk before it waits for the bytes to double. */
const FULL_PARSES_EACH = 8;
/** Bytes one `recv` takes (a bigint, as FFI passes a size_t). */
const READ_LEN = 16n * 1024n;
/** Events read per `epoll_wait`; a tick calls it until fewer come back. */
const MAX_EVENTS = 1024;
/** epoll_event is packed on x86_64 (12 bytes), naturally aligned elsewhere (16). */
const EV_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
const EV_DATA = Deno.build.arch === "x86_64" ? 4 : 8;
/**
 * Fds kept free of probes for everything else of the daemon (the VPP socket,
 * API and metrics connections, files): probes in flight are capped at the
 * fd soft limit minus this, read when a probe would pass the cap.
 */
export const FD_RESERVE = 512;
/** The fewest probes in flight the cap allows, however low the fd limit. */
const MIN_IN_FLIGHT = 64;
/** Largest response kept for the full parser: head plus the body spec 0.2 matches. */
const FULL_LIMIT = HEAD_LIMIT + BODY_LIMIT + 1024;

/** True when this process may use FFI (`--allow-ffi`). */
export function ffiAllowed(): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/** Which probes the engine runs: plain http and plain tcp (no TLS). */
export function engineRuns(hc: HealthCheck): boolean {
  return hc.type === "http" || (hc.type === "tcp" && !hc.tcp?.ssl);
}

/** The socket engine; see the module doc. One per prober. */
export class SocketEngine {
  readonly #lib: Libc;
  readonly #clock: Clock;
  readonly #epfd: number;
  readonly #events = new Uint8Array(MAX_EVENTS * EV_SIZE);
  readonly #eventView = new DataView(this.#events.buffer);
  readonly #ctl = new Uint8Array(16);
  readonly #ctlView = new DataView(this.#ctl.buffer);
  readonly #readBuf = new Uint8Array(Number(READ_LEN));
  readonly #int = new Uint8Array(4);
  readonly #intLen = new Uint8Array(4);
  readonly #linger = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  readonly #one = new Uint8Array([1, 0, 0, 0]);
  readonly #slots: Slot[] = [];
  readonly #free: number[] = [];
  readonly #fifos = new DeadlineFifos<number>();
  /** Per check: the last status line seen (through its LF) and its verdict. */
  readonly #lastLine = new WeakMap<
    HttpParams,
    { bytes: Uint8Array; code: ProbeCode; detail: string }
  >();
  /** Per backend object, for the check it was last probed with. */
  readonly #targets: Targets;
  /** The sockaddr a connect passes, copied from the probe's target. */
  readonly #sa = new Uint8Array(28);
  #active = 0;
  #cap: number;
  /** Slots whose full parse waits for the end of the tick. */
  #deferred: number[] = [];
  #timer: number | undefined;
  /** When the pending tick is due (monotonic ms). */
  #tickDue = 0;
  #closed = false;
  readonly #onTick = () => this.#tick();

  /** Opens libc and the epoll set; throws when either fails. */
  constructor(clock: Clock, userAgent: string) {
    this.#clock = clock;
    this.#targets = new Targets(userAgent);
    this.#lib = openLibc();
    this.#epfd = this.#lib.symbols.epoll_create1(EPOLL_CLOEXEC);
    if (this.#epfd < 0) {
      const text = errnoText(this.#lib, this.#lib.errno());
      this.#lib.close();
      throw new Error(`epoll_create1: ${text}`);
    }
    this.#cap = this.#readCap();
  }

  #readCap(): number {
    const soft = softNofile(this.#lib) ?? 1024;
    // A slot index must fit its ticket (GEN_SHIFT); an fd limit that high is no real cap.
    return Math.min(GEN_SHIFT - 2, Math.max(MIN_IN_FLIGHT, soft - FD_RESERVE));
  }

  /** Probes in flight. */
  get active(): number {
    return this.#active;
  }

  /**
   * Starts one probe; `sink.probeDone` gets its result (at the latest at
   * its deadline plus one tick). Returns a ticket for {@linkcode cancel}.
   */
  start(hc: HealthCheck, backend: Backend, sink: ProbeSink): number {
    const slot = this.#slot();
    slot.sink = sink;
    slot.http = hc.type === "http";
    slot.params = hc.http ?? DEFAULT_PARAMS;
    slot.address = backend.address;
    slot.port = hc.port;
    slot.start = this.#clock.monotonic();
    slot.timeoutMs = hc.timeoutMs;
    slot.deadline = slot.start + hc.timeoutMs;
    slot.credit = 0;
    slot.phase = PHASE_CONNECT;
    slot.sent = 0;
    slot.accLen = 0;
    slot.acc = undefined;
    slot.judging = false;
    slot.judged = 0;
    slot.judgedLen = 0;
    const target = this.#targets.of(hc, backend);
    slot.request = target?.bytes ?? this.#readBuf;
    slot.requestLen = target?.requestLen ?? 0;
    this.#active++;
    const ticket = ticketOf(slot);
    // The limit may have been raised (or lowered, prlimit) since: look again before refusing.
    if (this.#active > this.#cap && this.#active > (this.#cap = this.#readCap())) {
      const r = this.#fail(
        slot,
        "L4CON",
        `probe queue full: ${this.#active - 1} probes in flight (fd limit less ${FD_RESERVE})`,
      );
      this.#finish(slot, { ...r, local: true });
      return ticket;
    }
    const failure = target
      ? this.#open(slot, hc, target)
      : this.#fail(slot, "L4CON", `bad address ${JSON.stringify(backend.address)}`);
    if (failure) {
      this.#finish(slot, failure);
      return ticket;
    }
    this.#queue(slot, ticket);
    if (this.#timer === undefined) this.#arm();
    return ticket;
  }

  /**
   * Gives up a probe: its socket closes and its sink hears nothing. Returns
   * the result a cancel means (the timeout code of the probe's phase), or
   * undefined when the probe had ended already.
   */
  cancel(ticket: number): ProbeResult | undefined {
    const slot = this.#live(ticket);
    if (!slot) return undefined;
    const connect = slot.phase === PHASE_CONNECT;
    const r = this.#fail(
      slot,
      connect ? "L4TOUT" : "L7TOUT",
      `${connect ? "connect" : "response"} cancelled`,
    );
    this.#release(slot);
    return r;
  }

  /** Closes every socket (their sinks hear nothing) and the epoll set. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) if (s.sink) this.#release(s);
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lib.symbols.close(this.#epfd);
    this.#lib.close();
  }

  #slot(): Slot {
    const i = this.#free.pop();
    if (i !== undefined) return this.#slots[i];
    const slot = newSlot(this.#slots.length, this.#readBuf);
    this.#slots.push(slot);
    return slot;
  }

  #live(ticket: number): Slot | undefined {
    const slot = this.#slots[ticket & (GEN_SHIFT - 1)];
    if (!slot || !slot.sink || slot.gen !== ticket >>> GEN_BITS) return undefined;
    return slot;
  }

  /** socket, linger, bind, connect, the early send, epoll_ctl; a result when any of them fails. */
  #open(slot: Slot, hc: HealthCheck, target: Target): ProbeResult | undefined {
    const lib = this.#lib.symbols;
    const fd = lib.socket(target.family === 4 ? AF_INET : AF_INET6, SOCK_STREAM_NB, 0);
    if (fd < 0) return this.#errno(slot, "socket", this.#lib.errno());
    slot.fd = fd;
    lib.setsockopt(fd, SOL_SOCKET, SO_LINGER, this.#linger, 8);
    const source = target.family === 4 ? hc.probeIpv4Src : hc.probeIpv6Src;
    if (source !== "") {
      const failure = this.#bind(slot, source, target.family);
      if (failure) return failure;
    }
    const { bytes, requestLen } = target;
    const saLen = bytes.length - requestLen;
    const sa = this.#sa;
    for (let i = 0; i < saLen; i++) sa[i] = bytes[requestLen + i];
    if (lib.connect(fd, sa, saLen) < 0) {
      const errno = this.#lib.errno();
      if (errno !== EINPROGRESS) return this.#errno(slot, "connect", errno);
    }
    if (slot.requestLen > 0 && target.early) {
      const failure = this.#sendEarly(slot, target);
      if (failure) return failure;
    }
    const ctl = this.#ctlView;
    ctl.setUint32(0, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, true);
    ctl.setUint32(EV_DATA, slot.index, true);
    ctl.setUint32(EV_DATA + 4, slot.gen, true);
    if (lib.epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, this.#ctl) < 0) {
      return this.#errno(slot, "epoll_ctl", this.#lib.errno());
    }
    return undefined;
  }

  /**
   * The request, sent right after connect: where the handshake completes
   * within connect (loopback, a backend on this host) it goes out now and
   * the probe needs one event, its response, instead of two. EAGAIN means
   * the handshake is under way (a backend across a network): the request
   * waits for EPOLLOUT as before, and this target stops trying, so a remote
   * backend pays the wasted send once, not per probe. Any other error is
   * the connect's (send took it from the socket, so SO_ERROR would read 0
   * now), with the text an EPOLLERR would give.
   */
  #sendEarly(slot: Slot, target: Target): ProbeResult | undefined {
    const len = slot.requestLen;
    const n = this.#lib.symbols.send(slot.fd, slot.request, BigInt(len), MSG_NOSIGNAL);
    if (n >= 0) {
      slot.phase = PHASE_APP;
      slot.sent = n;
      return undefined;
    }
    const errno = this.#lib.errno();
    if (errno === EAGAIN) target.early = false;
    if (errno === EAGAIN || errno === EINTR) return undefined;
    return this.#errno(slot, "connect", errno);
  }

  #bind(slot: Slot, source: string, family: 4 | 6): ProbeResult | undefined {
    const lib = this.#lib.symbols;
    const src = this.#targets.source(source);
    if (!src || (src.length === 4) !== (family === 4)) {
      return this.#fail(
        slot,
        "L4CON",
        `connect: source address ${source} is not of the backend's family`,
      );
    }
    lib.setsockopt(slot.fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, this.#one, 4);
    const sa = sockaddr(src);
    if (lib.bind(slot.fd, sa, sa.length) >= 0) return undefined;
    const errno = this.#lib.errno();
    if (errno === EADDRNOTAVAIL) {
      return this.#fail(
        slot,
        "L4CON",
        `connect: source address ${source} is not local to this host`,
      );
    }
    return this.#errno(slot, `bind ${source}`, errno);
  }

  #queue(slot: Slot, ticket: number): void {
    this.#fifos.push(slot.timeoutMs, ticket);
  }

  #arm(): void {
    this.#tickDue = this.#clock.monotonic() + TICK_MS;
    this.#timer = this.#clock.setTimeout(this.#onTick, TICK_MS);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    // Before reading events: a connect seen late gets its request's time back.
    this.#creditStall(this.#clock.monotonic());
    const lib = this.#lib.symbols;
    const view = this.#eventView;
    for (;;) {
      const n = lib.epoll_wait(this.#epfd, this.#events, MAX_EVENTS, 0);
      for (let i = 0; i < n; i++) {
        const at = i * EV_SIZE;
        const slot = this.#slots[view.getUint32(at + EV_DATA, true)];
        if (!slot?.sink || slot.gen !== view.getUint32(at + EV_DATA + 4, true)) continue;
        this.#event(slot, view.getUint32(at, true));
      }
      if (n < MAX_EVENTS) break;
    }
    this.#judgeDeferred();
    this.#expire();
    if (this.#active > 0) this.#arm();
    else this.#fifos.clear();
  }

  /**
   * When the tick runs late beyond {@linkcode STALL_CREDIT_MS}, the daemon
   * was not looking: each probe's deadline moves by the part of the stall
   * it lived through, up to one extra timeout in all, so a hung backend
   * still times out. An earlier start never gets the later deadline, so each
   * FIFO stays in deadline order.
   */
  #creditStall(now: number): void {
    if (now - this.#tickDue <= STALL_CREDIT_MS) return;
    for (const slot of this.#slots) {
      if (!slot.sink) continue;
      const lived = now - Math.max(this.#tickDue, slot.start);
      const add = Math.min(lived, slot.timeoutMs - slot.credit);
      if (add <= 0) continue;
      slot.credit += add;
      slot.deadline += add;
    }
  }

  #judgeDeferred(): void {
    if (this.#deferred.length === 0) return;
    const tickets = this.#deferred;
    this.#deferred = [];
    for (const t of tickets) {
      const slot = this.#live(t);
      if (slot && !slot.judging && slot.judgedLen < slot.accLen) this.#judgeFull(slot, false);
    }
  }

  #expire(): void {
    const now = this.#clock.monotonic();
    this.#fifos.sweep((ticket) => {
      const slot = this.#live(ticket);
      if (!slot) return true;
      // A response that has come is judged, not timed out (its verdict is a microtask away).
      if (slot.deadline > now || slot.judging) return false;
      const what = slot.phase === PHASE_CONNECT ? "connect" : "response";
      const code = slot.phase === PHASE_CONNECT ? "L4TOUT" : "L7TOUT";
      this.#finish(slot, this.#fail(slot, code, `${what} timeout after ${slot.timeoutMs}ms`));
      return true;
    });
  }

  #event(slot: Slot, events: number): void {
    if (slot.phase === PHASE_CONNECT) {
      if (events & (EPOLLERR | EPOLLHUP)) {
        this.#finish(slot, this.#errno(slot, "connect", this.#soError(slot.fd)));
        return;
      }
      if (!(events & EPOLLOUT)) return;
      if (!slot.http) {
        const to = hostPort(slot.address, slot.port);
        this.#finish(slot, this.#fail(slot, "L4OK", `connected to ${to}`));
        return;
      }
      slot.phase = PHASE_APP;
    }
    if (slot.sent < slot.requestLen && !this.#send(slot)) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) this.#read(slot);
  }

  /** Writes the rest of the request; false when the probe ended or must wait. */
  #send(slot: Slot): boolean {
    const len = slot.requestLen;
    const rest = slot.sent === 0 ? slot.request : slot.request.subarray(slot.sent, len);
    const n = this.#lib.symbols.send(slot.fd, rest, BigInt(len - slot.sent), MSG_NOSIGNAL);
    if (n < 0) {
      const errno = this.#lib.errno();
      if (errno === EAGAIN || errno === EINTR) return false;
      this.#finish(slot, this.#errno(slot, "response", errno));
      return false;
    }
    slot.sent += n;
    return slot.sent >= len;
  }

  #read(slot: Slot): void {
    const lib = this.#lib.symbols;
    const buf = this.#readBuf;
    while (slot.sink && !slot.judging) {
      const n = lib.recv(slot.fd, buf, READ_LEN, 0);
      if (n < 0) {
        const errno = this.#lib.errno();
        if (errno === EINTR) continue;
        // EAGAIN after EPOLLIN happens: wait for the next edge, do not fail.
        if (errno !== EAGAIN) this.#finish(slot, this.#errno(slot, "response", errno));
        return;
      }
      if (n === 0) {
        this.#onBytes(slot, buf, 0, true);
        return;
      }
      this.#onBytes(slot, buf, n, false);
    }
  }

  #onBytes(slot: Slot, buf: Uint8Array, n: number, eof: boolean): void {
    if (slot.params.responseRegexp === "" && !eof) {
      // Only the status matters: settle on the first complete status line.
      const first = slot.accLen === 0;
      if (first && this.#judgeLine(slot, buf, n)) return;
      this.#append(slot, buf.subarray(0, n));
      if (!first && this.#judgeLine(slot, slot.acc!, slot.accLen)) return;
    } else if (n > 0) {
      this.#append(slot, buf.subarray(0, n));
    }
    const last = eof || slot.accLen >= FULL_LIMIT;
    // The parser reads from the start each time: after a few chunks, run it only when the
    // bytes have doubled (or at the end), so a backend trickling bytes costs O(n log n).
    if (last || slot.judged < FULL_PARSES_EACH || slot.accLen >= 2 * slot.judgedLen) {
      this.#judgeFull(slot, last);
    } else {
      // Judge what has come by the end of this tick: the response may be whole already.
      this.#deferred.push(ticketOf(slot));
    }
  }

  #judgeLine(slot: Slot, buf: Uint8Array, n: number): boolean {
    // Backends answer the same status line probe after probe: judge its bytes once per check.
    const seen = this.#lastLine.get(slot.params);
    if (seen && sameLine(seen.bytes, buf.subarray(0, n))) {
      this.#finish(slot, this.#fail(slot, seen.code, seen.detail));
      return true;
    }
    const line = parseStatusLine(buf, n);
    if (!line) return false;
    const r = judgeStatus(line, slot.params);
    const end = buf.indexOf(10) + 1;
    this.#lastLine.set(slot.params, { bytes: buf.slice(0, end), code: r.code, detail: r.detail });
    this.#finish(slot, this.#fail(slot, r.code, r.detail));
    return true;
  }

  #append(slot: Slot, bytes: Uint8Array): void {
    const need = slot.accLen + bytes.length;
    if (!slot.acc || slot.acc.length < need) {
      const next = new Uint8Array(Math.max(need, (slot.acc?.length ?? 512) * 2));
      if (slot.acc) next.set(slot.acc.subarray(0, slot.accLen));
      slot.acc = next;
    }
    slot.acc.set(bytes, slot.accLen);
    slot.accLen = need;
  }

  /** Runs the full parser on what has arrived; it answers NEED_MORE until the response is whole. */
  #judgeFull(slot: Slot, eof: boolean): void {
    const ticket = ticketOf(slot);
    const bytes = (slot.acc ?? new Uint8Array(0)).subarray(0, slot.accLen);
    slot.judging = true;
    slot.judged++;
    slot.judgedLen = slot.accLen;
    slot.eof = eof;
    judgeBuffered(bytes, slot).then((r) => {
      const live = this.#live(ticket);
      if (!live) return;
      live.judging = false;
      if (r === NEED_MORE) {
        // Bytes may have arrived while the parser ran; the edge is gone, so look now.
        this.#read(live);
        return;
      }
      this.#finish(live, this.#fail(live, r.code, r.detail));
    });
  }

  #soError(fd: number): number {
    this.#intLen[0] = 4;
    this.#int.fill(0);
    this.#lib.symbols.getsockopt(fd, SOL_SOCKET, SO_ERROR, this.#int, this.#intLen);
    return new DataView(this.#int.buffer).getInt32(0, true);
  }

  /** A result for `errno` in `what`; local errors are marked as such. */
  #errno(slot: Slot, what: string, errno: number): ProbeResult {
    const text = `${what}: ${errnoText(this.#lib, errno).toLowerCase()}`;
    const code: ProbeCode = what === "response" ? "L7RSP" : "L4CON";
    const r = this.#fail(slot, code, text);
    // Out of local ports is the host's problem too (connect EADDRNOTAVAIL/EAGAIN).
    const localPorts = what === "connect" && (errno === EADDRNOTAVAIL || errno === EAGAIN);
    if (isLocalErrno(errno) || localPorts) return { ...r, local: true };
    return r;
  }

  #fail(slot: Slot, code: ProbeCode, detail: string): ProbeResult {
    slot.durationMs = this.#clock.monotonic() - slot.start;
    return probeResult(code, detail, slot);
  }

  #finish(slot: Slot, result: ProbeResult): void {
    const sink = slot.sink;
    if (!sink) return;
    this.#release(slot);
    try {
      sink.probeDone(result);
    } catch {
      // A sink's bug must not break the engine's loop; the sink logs its own.
    }
  }

  #release(slot: Slot): void {
    if (slot.fd >= 0) this.#lib.symbols.close(slot.fd);
    slot.fd = -1;
    slot.sink = undefined;
    slot.acc = undefined;
    nextGen(slot);
    this.#free.push(slot.index);
    this.#active--;
  }
}
