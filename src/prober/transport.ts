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

/** Where a probe is; decides the code of a timeout or an error. */
export type Phase = "connect" | "tls" | "app";

/** A byte stream, read chunk by chunk. */
export interface ProbeStream {
  /** Writes all of `data`. */
  write(data: Uint8Array): Promise<void>;
  /** The next chunk; null at end of stream. The chunk may be reused by the next read. */
  read(): Promise<Uint8Array | null>;
  /** Closes at once; idempotent. */
  close(): void;
}

/** The state a probe body shares with the deadline. */
export interface ProbeContext {
  phase: Phase;
  /** Fires at the deadline or when the caller aborts. */
  readonly signal: AbortSignal;
  /** Called (once each) when the probe ends, however it ends. */
  readonly closers: Set<() => void>;
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
 * Runs `body` with a deadline of `timeoutMs` over the whole probe: at the
 * deadline (or when `signal` aborts) every registered closer runs and the
 * result is the timeout code of the phase the probe was in.
 */
export async function runWithDeadline(
  body: (ctx: ProbeContext) => Promise<ProbeResult>,
  timeoutMs: number,
  options: { signal: AbortSignal; clock: Clock; codes?: PhaseCodes },
): Promise<ProbeResult> {
  const { signal, clock } = options;
  const codes = options.codes ?? PHASE_CODES;
  const start = clock.monotonic();
  const ac = new AbortController();
  const ctx: ProbeContext = { phase: "connect", signal: ac.signal, closers: new Set(), clock };
  const closeAll = () => {
    for (const c of ctx.closers) {
      try {
        c();
      } catch {
        // Already closed.
      }
    }
    ctx.closers.clear();
  };
  let timer = 0;
  let onAbort = () => {};
  const stopped = new Promise<ProbeResult>((resolve) => {
    const fire = (why: string) => {
      const phase = ctx.phase;
      ac.abort();
      closeAll();
      resolve(
        probeResult(codes.timeout[phase], `${PHASE_TEXT[phase]} ${why}`, clock.monotonic() - start),
      );
    };
    onAbort = () => fire("cancelled");
    timer = clock.setTimeout(() => fire(`timeout after ${timeoutMs}ms`), timeoutMs);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const work = body(ctx).then(
    (r) => probeResult(r.code, r.detail, clock.monotonic() - start),
    (err) =>
      probeResult(
        codes.error[ctx.phase],
        `${PHASE_TEXT[ctx.phase]}: ${errorText(err)}`,
        clock.monotonic() - start,
      ),
  );
  try {
    return await Promise.race([work, stopped]);
  } finally {
    clock.clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    closeAll();
  }
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

async function dialDeno(target: DialTarget, ctx: ProbeContext): Promise<ProbeStream> {
  const conn = await Deno.connect({
    hostname: target.address,
    port: target.port,
    signal: ctx.signal,
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Already closed by the runtime.
    }
  };
  ctx.closers.add(close);
  if (ctx.signal.aborted) close();
  const buf = new Uint8Array(16 * 1024);
  return {
    async write(data) {
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
    },
    async read() {
      const n = await conn.read(buf);
      return n === null ? null : buf.subarray(0, n);
    },
    close,
  };
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
    ctx.closers.add(close);
    const onError = (err: Error) => reject(err);
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
  return {
    write(data) {
      return new Promise<void>((resolve, reject) => {
        sock.write(data, (err?: Error | null) => (err ? reject(err) : resolve()));
      });
    },
    async read() {
      for (;;) {
        const c = chunks.shift();
        if (c) return c;
        if (failure) throw failure;
        if (ended) return null;
        await new Promise<void>((r) => (wake = r));
      }
    },
    close,
  };
}

/** Text for a target in details: `addr:port`, IPv6 in brackets. */
export function targetText(target: DialTarget): string {
  return hostPort(target.address, target.port);
}
