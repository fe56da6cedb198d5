/**
 * One TCP (optionally TLS) connection per probe, under a hard deadline.
 *
 * Why two transports: at 10,000 probes/s against nginx a raw `Deno.connect`
 * costs about 0.35 core where `node:net` costs 0.49, so plain connections
 * without a source address take the Deno path. `Deno.connect` cannot bind a
 * source address and Deno's TLS cannot skip certificate verification, so a
 * configured `probe-ipv4-src`/`probe-ipv6-src` (via `localAddress`) and every
 * TLS handshake (for `servername` and `rejectUnauthorized`) go through
 * `node:net`/`node:tls`; a TLS handshake costs far more than the adapter.
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import type { Clock } from "../clock.ts";
import type { ProbeCode, ProbeResult } from "../health/types.ts";
import { errorText, hostPort, probeResult } from "./result.ts";
import { DeadlineFifos } from "./fifo.ts";

/** Where a probe is; decides the code of a timeout or an error. */
export type Phase = "connect" | "tls" | "app";

/** A byte stream, read chunk by chunk. */
export interface ProbeStream {
  /** Writes all of `data`. */
  write(data: Uint8Array): Promise<void>;
  /** The next chunk; null at end of stream. The chunk may be reused by the next read. */
  read(): Promise<Uint8Array | null>;
  /** Reads into `buf`: the byte count, or null at end of stream. */
  readInto(buf: Uint8Array): Promise<number | null>;
  /** Closes at once; idempotent. */
  close(): void;
}

/** The state a probe body shares with the deadline. */
export interface ProbeContext {
  phase: Phase;
  /** True once the probe has a result (deadline, cancel or the body's own). */
  done: boolean;
  /** The probe's stream, closed once when the probe ends, however it ends. */
  stream: { close(): void } | undefined;
  /** Aborts a pending connect; only set while a `Deno.connect` is in flight. */
  connectAbort: AbortController | undefined;
  readonly clock: Clock;
}

/** Codes for a timeout and an error in each phase. */
export interface PhaseCodes {
  readonly timeout: Readonly<Record<Phase, ProbeCode>>;
  readonly error: Readonly<Record<Phase, ProbeCode>>;
}

/** The usual mapping of spec 3.8. */
export const PHASE_CODES: PhaseCodes = {
  timeout: { connect: "L4TOUT", tls: "L6TOUT", app: "L7TOUT" },
  error: { connect: "L4CON", tls: "L6RSP", app: "L7RSP" },
};

const PHASE_TEXT: Readonly<Record<Phase, string>> = {
  connect: "connect",
  tls: "TLS handshake",
  app: "response",
};

/**
 * One probe under a deadline: the body and the deadline race to `finish`,
 * the first one wins. A plain object (no closures, no timer of its own), so a
 * probe costs one promise and one queue slot on top of its socket work.
 */
interface Task extends ProbeContext {
  readonly at: number;
  readonly start: number;
  /** Set as the probe ends, for its result (see `probeResult`). */
  durationMs: number;
  readonly timeoutMs: number;
  readonly codes: PhaseCodes;
  readonly signal: AbortSignal;
  readonly resolve: (r: ProbeResult) => void;
  readonly onAbort: (() => void) | undefined;
  readonly queue: DeadlineQueue;
}

/**
 * The deadlines of all probes on one clock, with a single timer. Probes with
 * the same timeout expire in start order, so each timeout value is a FIFO and
 * the timer is armed for the earliest head; finished probes are dropped
 * lazily when they reach the head. With no probe in flight the timer is
 * cleared, so an idle prober holds nothing.
 */
class DeadlineQueue {
  readonly #clock: Clock;
  /** Tasks in start order per timeout. */
  readonly #fifos = new DeadlineFifos<Task>();
  #live = 0;
  #timer: number | undefined;
  #timerAt = Infinity;
  #expiring = false;
  readonly #onTimer = () => this.#expire();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  add(task: Task): void {
    this.#fifos.push(task.timeoutMs, task);
    this.#live++;
    if (task.at < this.#timerAt) this.#arm(task.at);
  }

  /** A task finished (by its body, its deadline or its signal). */
  done(): void {
    if (--this.#live > 0 || this.#expiring) return;
    this.#idle();
  }

  #idle(): void {
    // Nothing in flight: drop the finished tasks and the timer.
    this.#fifos.clear();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(
      this.#onTimer,
      Math.max(0, at - this.#clock.monotonic()),
    );
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.monotonic();
    this.#expiring = true;
    const heads = this.#fifos.sweep((t) => {
      if (t.done) return true;
      if (t.at > now) return false;
      expireTask(t, `timeout after ${t.timeoutMs}ms`);
      return true;
    });
    this.#expiring = false;
    let next = Infinity;
    for (const t of heads) if (t.at < next) next = t.at;
    if (this.#live === 0) this.#idle();
    else if (next !== Infinity && this.#timer === undefined) this.#arm(next);
  }
}

const queues = new WeakMap<Clock, DeadlineQueue>();

function queueOf(clock: Clock): DeadlineQueue {
  let q = queues.get(clock);
  if (!q) queues.set(clock, q = new DeadlineQueue(clock));
  return q;
}

/** Ends `t` with a result; false when it had one already. */
function finish(t: Task, r: ProbeResult): boolean {
  if (t.done) return false;
  t.done = true;
  if (t.onAbort) t.signal.removeEventListener("abort", t.onAbort);
  release(t);
  t.queue.done();
  t.resolve(r);
  return true;
}

/** Closes the stream and gives up a pending connect. */
function release(t: ProbeContext): void {
  const c = t.stream;
  t.stream = undefined;
  if (c) {
    try {
      c.close();
    } catch {
      // Already closed.
    }
  }
  const ac = t.connectAbort;
  if (ac) {
    t.connectAbort = undefined;
    abortConnect(t, ac);
  }
}

/**
 * Gives up a pending `Deno.connect` after the probe ended.
 *
 * `Deno.connect` re-checks its signal after the connection is made and then
 * throws, dropping the new connection unclosed, if the signal was aborted in
 * the meantime: a connect that completes in the event-loop turn of the abort
 * leaks its socket (seen at 10,000 probes/s as CLOSE-WAIT sockets). Late
 * connects complete when the kernel retransmits a dropped SYN, 1, 3, 7, 15 ...
 * seconds after the first one, so a deadline of 1 s coincides with the first
 * retransmit. The probe's result is final at the deadline; the connect is
 * only aborted at the middle of the next gap between retransmits (0.5 s and
 * more away from any), and a connect completing before that is closed by
 * `dialDeno`. What remains is a completion exactly at that instant, which only
 * a path with a round trip of seconds produces.
 */
function abortConnect(t: ProbeContext & { start?: number }, ac: AbortController): void {
  const clock = t.clock;
  const elapsed = clock.monotonic() - (t.start ?? clock.monotonic());
  let mid = 500;
  while (mid <= elapsed) mid = mid * 2 + 1000; // 0.5, 2, 5, 11, 23 ... s
  clock.setTimeout(() => ac.abort(), mid - elapsed);
}

/** `t` with its duration so far, as {@linkcode probeResult} reads it. */
function timed(t: Task): Task {
  t.durationMs = t.clock.monotonic() - t.start;
  return t;
}

function expireTask(t: Task, why: string): void {
  const phase = t.phase;
  finish(
    t,
    probeResult(t.codes.timeout[phase], `${PHASE_TEXT[phase]} ${why}`, timed(t)),
  );
}

/**
 * Runs `body` with a deadline of `timeoutMs` over the whole probe: at the
 * deadline (or when `signal` aborts) the probe's stream is closed and the
 * result is the timeout code of the phase the probe was in.
 */
export function runWithDeadline(
  body: (ctx: ProbeContext) => Promise<ProbeResult>,
  timeoutMs: number,
  options: { signal: AbortSignal; clock: Clock; codes?: PhaseCodes },
): Promise<ProbeResult> {
  const { signal, clock } = options;
  const queue = queueOf(clock);
  const start = clock.monotonic();
  let resolve!: (r: ProbeResult) => void;
  const promise = new Promise<ProbeResult>((r) => (resolve = r));
  const onAbort = signal.aborted ? undefined : () => expireTask(t, "cancelled");
  const t: Task = {
    phase: "connect",
    done: false,
    stream: undefined,
    connectAbort: undefined,
    clock,
    at: start + timeoutMs,
    start,
    durationMs: 0,
    timeoutMs,
    codes: options.codes ?? PHASE_CODES,
    signal,
    resolve,
    onAbort,
    queue,
  };
  if (signal.aborted) {
    resolve(probeResult(t.codes.timeout.connect, `${PHASE_TEXT.connect} cancelled`));
    return promise;
  }
  signal.addEventListener("abort", onAbort!, { once: true });
  queue.add(t);
  body(t).then(
    (r) => {
      finish(t, probeResult(r.code, r.detail, timed(t)));
    },
    (err) => {
      const phase = t.phase;
      const r = probeResult(
        t.codes.error[phase],
        `${PHASE_TEXT[phase]}: ${errorText(err)}`,
        timed(t),
      );
      finish(t, r);
    },
  );
  return promise;
}

/** What to connect to. */
export interface DialTarget {
  readonly address: string;
  readonly port: number;
  /** Source address; empty for the kernel's choice. */
  readonly source: string;
  /** Present for a TLS handshake after connecting. */
  readonly tls?: { readonly serverName: string; readonly insecureSkipVerify: boolean };
}

/** Connects (and shakes hands) within `ctx`, advancing `ctx.phase`. */
export function dial(target: DialTarget, ctx: ProbeContext): Promise<ProbeStream> {
  if (target.source === "" && !target.tls) return dialDeno(target, ctx);
  return dialNode(target, ctx);
}

/** The probe was over (deadline or cancel) when its connect completed. */
class LateConnect extends Error {
  constructor() {
    super("connected after the probe ended");
  }
}

async function dialDeno(target: DialTarget, ctx: ProbeContext): Promise<ProbeStream> {
  const ac = new AbortController();
  ctx.connectAbort = ac;
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: target.address, port: target.port, signal: ac.signal });
  } finally {
    if (ctx.connectAbort === ac) ctx.connectAbort = undefined;
  }
  const stream = new DenoStream(conn);
  if (ctx.done) {
    stream.close();
    throw new LateConnect();
  }
  ctx.stream = stream;
  return stream;
}

/** A `Deno.TcpConn` as a {@linkcode ProbeStream}; the read buffer is made on first `read()`. */
class DenoStream implements ProbeStream {
  readonly #conn: Deno.TcpConn;
  #closed = false;
  #buf: Uint8Array | undefined;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  async write(data: Uint8Array): Promise<void> {
    let off = await this.#conn.write(data);
    while (off < data.length) off += await this.#conn.write(data.subarray(off));
  }

  async read(): Promise<Uint8Array | null> {
    const buf = this.#buf ??= new Uint8Array(16 * 1024);
    const n = await this.#conn.read(buf);
    return n === null ? null : buf.subarray(0, n);
  }

  readInto(buf: Uint8Array): Promise<number | null> {
    return this.#conn.read(buf);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime.
    }
  }
}

function dialNode(target: DialTarget, ctx: ProbeContext): Promise<ProbeStream> {
  return new Promise<ProbeStream>((resolve, reject) => {
    const opts: net.NetConnectOpts = { host: target.address, port: target.port };
    if (target.source !== "") opts.localAddress = target.source;
    const sock = net.connect(opts);
    let current: net.Socket = sock;
    const close = () => {
      current.destroy();
      sock.destroy();
    };
    ctx.stream = { close };
    const onError = (err: Error) => reject(sourceError(err, target));
    sock.once("error", onError);
    sock.once("connect", () => {
      if (!target.tls) {
        sock.off("error", onError);
        resolve(nodeStream(sock, close));
        return;
      }
      ctx.phase = "tls";
      const topts: tls.ConnectionOptions = {
        socket: sock,
        // Used for certificate name checks when no server-name is set.
        host: target.address,
        rejectUnauthorized: !target.tls.insecureSkipVerify,
      };
      if (target.tls.serverName !== "") topts.servername = target.tls.serverName;
      const t = tls.connect(topts);
      current = t;
      t.once("error", onError);
      t.once("secureConnect", () => {
        sock.off("error", onError);
        t.off("error", onError);
        resolve(nodeStream(t, close));
      });
    });
  });
}

/** A source address the host does not have says so, as the socket engine does. */
function sourceError(err: Error, target: DialTarget): Error {
  const code = (err as { code?: unknown }).code;
  // node:net reports a failed bind of `localAddress` as EINVAL or EADDRNOTAVAIL.
  if ((code !== "EADDRNOTAVAIL" && code !== "EINVAL") || target.source === "") return err;
  return new Error(`source address ${target.source} is not local to this host`);
}

function nodeStream(sock: net.Socket, close: () => void): ProbeStream {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  sock.on("data", (c: Uint8Array) => {
    chunks.push(c);
    poke();
  });
  sock.on("end", () => {
    ended = true;
    poke();
  });
  sock.on("close", () => {
    ended = true;
    poke();
  });
  sock.on("error", (err: Error) => {
    failure = err;
    poke();
  });
  async function read(): Promise<Uint8Array | null> {
    for (;;) {
      const c = chunks.shift();
      if (c) return c;
      if (failure) throw failure;
      if (ended) return null;
      await new Promise<void>((r) => (wake = r));
    }
  }
  return {
    write(data) {
      return new Promise<void>((resolve, reject) => {
        sock.write(data, (err?: Error | null) => (err ? reject(err) : resolve()));
      });
    },
    read,
    async readInto(buf) {
      const c = await read();
      if (c === null) return null;
      if (c.length > buf.length) {
        chunks.unshift(c.subarray(buf.length));
        buf.set(c.subarray(0, buf.length));
        return buf.length;
      }
      buf.set(c);
      return c.length;
    },
    close,
  };
}

/** Text for a target in details: `addr:port`, IPv6 in brackets. */
export function targetText(target: DialTarget): string {
  return hostPort(target.address, target.port);
}
