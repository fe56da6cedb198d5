/**
 * HTTP and HTTPS probes: one HTTP/1.1 GET written on our own connection, so
 * that the source address, Host header and TLS options are all ours to set.
 * @module
 */
import type { Clock } from "../clock.ts";
import type { Backend, HealthCheck, HttpParams } from "../config/types.ts";
import { DEFAULT_HTTP_PARAMS } from "../config/defaults.ts";
import { compileResponseRegexp, type ResponseRegexp } from "../config/regexp.ts";
import type { ProbeResult } from "../health/types.ts";
import { probeResult } from "./result.ts";
import { dial, type DialTarget, type ProbeStream, runWithDeadline } from "./transport.ts";

/** How much of the body `response-regexp` sees (spec 0.2). */
export const BODY_LIMIT = 64 * 1024;
/** Larger response heads are malformed for a health check. */
export const HEAD_LIMIT = 16 * 1024;

/** Options of {@linkcode probeHttp}. */
export interface HttpProbeOptions {
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /** Sent as `User-Agent`, e.g. `maglevd/1.0.0`. */
  readonly userAgent: string;
}

/** The params of an http check without an `http` section. */
export const DEFAULT_PARAMS: HttpParams = DEFAULT_HTTP_PARAMS;

const encoder = new TextEncoder();
const regexpCache = new Map<string, ResponseRegexp>();

/** The exact request bytes a probe sends. */
export function buildRequest(
  hc: HealthCheck,
  backend: Backend,
  options: RequestOptions,
): Uint8Array {
  const userAgent = options.userAgent;
  // Requests depend only on the check and the backend, and the checker probes with the same
  // objects each time (a reload makes new ones): one request per backend, no key to build.
  const last = lastRequest.get(backend);
  if (last && last.hc === hc && last.userAgent === userAgent) return last.request;
  const request = requestFor(hc, backend, options);
  lastRequest.set(backend, { hc, userAgent, request });
  return request;
}

const lastRequest = new WeakMap<
  Backend,
  { hc: HealthCheck; userAgent: string; request: Uint8Array }
>();

/** What a request carries besides the check and the backend; probe options fit as they are. */
export interface RequestOptions {
  /** Sent as `User-Agent`, e.g. `maglevd/1.0.0`. */
  readonly userAgent: string;
}

/** The request bytes a probe of `backend` sends, built anew (callers keep them). */
export function requestFor(
  hc: HealthCheck,
  backend: Backend,
  { userAgent }: RequestOptions,
): Uint8Array {
  const p = hc.http ?? DEFAULT_PARAMS;
  const host = p.host !== "" ? p.host : hostHeader(backend.address, hc);
  const req = encoder.encode(
    `GET ${p.path || "/"} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${userAgent}\r\n` +
      `Accept: */*\r\nConnection: close\r\n\r\n`,
  );
  return req;
}

/**
 * The default Host header of `address` for check `hc`: the address (IPv6 in
 * brackets), with the check's port unless it is the scheme's default.
 */
export function hostHeader(address: string, hc: Pick<HealthCheck, "port" | "type">): string {
  const host = address.includes(":") ? `[${address}]` : address;
  const port = hc.port;
  return port === (hc.type === "https" ? 443 : 80) ? host : `${host}:${port}`;
}

/** Runs one http or https probe against `backend`. */
export function probeHttp(
  hc: HealthCheck,
  backend: Backend,
  options: HttpProbeOptions,
): Promise<ProbeResult> {
  const p = hc.http ?? DEFAULT_PARAMS;
  const target: DialTarget = {
    address: backend.address,
    port: hc.port,
    source: backend.family === 6 ? hc.probeIpv6Src : hc.probeIpv4Src,
    tls: hc.type === "https"
      ? { serverName: p.serverName, insecureSkipVerify: p.insecureSkipVerify }
      : undefined,
  };
  const request = buildRequest(hc, backend, options);
  return runWithDeadline(
    async (ctx) => {
      const stream = await dial(target, ctx);
      ctx.phase = "app";
      await stream.write(request);
      if (p.responseRegexp === "") return await judgeStatusLine(stream, p);
      return await judgeFull(new ByteReader(stream), p);
    },
    hc.timeoutMs,
    options,
  );
}

/**
 * How much the status-line fast path reads: any usual status line fits, and a
 * small buffer is cheap to keep in a pool (a read buffer must not be shared
 * while its read is pending).
 */
const FIRST_READ = 64;
const bufferPool: Uint8Array[] = [];

/**
 * Without a response-regexp only the status matters (spec 3.8): read one
 * small chunk and judge its status line. Anything unusual (a status line
 * split across reads or longer than {@linkcode FIRST_READ}, an interim 1xx)
 * goes to the full parser with the bytes already read.
 */
async function judgeStatusLine(stream: ProbeStream, p: HttpParams): Promise<ProbeResult> {
  const buf = bufferPool.pop() ?? new Uint8Array(FIRST_READ);
  let n: number | null;
  try {
    n = await stream.readInto(buf);
  } catch (err) {
    // The read settled: the buffer is ours again.
    bufferPool.push(buf);
    throw err;
  }
  if (n === null) {
    bufferPool.push(buf);
    throw new ResponseError("connection closed before a response");
  }
  const line = parseStatusLine(buf, n);
  if (line === undefined) {
    const prefix = buf.slice(0, n);
    bufferPool.push(buf);
    return judgeFull(new ByteReader(stream, prefix), p);
  }
  bufferPool.push(buf);
  return judgeStatus(line, p);
}

/** A final status line's status and reason (a response head is one too). */
export interface StatusLine {
  readonly status: number;
  readonly reason: string;
}

/** The status and reason of a complete final (>= 200) status line at the start of `buf`. */
export function parseStatusLine(buf: Uint8Array, n: number): StatusLine | undefined {
  // "HTTP/1.x NNN" then CRLF or " reason" CRLF.
  if (n < 14) return undefined;
  if (
    buf[0] !== 72 || buf[1] !== 84 || buf[2] !== 84 || buf[3] !== 80 || buf[4] !== 47 ||
    buf[5] !== 49 || buf[6] !== 46 || (buf[7] !== 48 && buf[7] !== 49) || buf[8] !== 32
  ) return undefined;
  const d0 = buf[9] - 48, d1 = buf[10] - 48, d2 = buf[11] - 48;
  if (d0 < 2 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return undefined;
  let reason = "";
  let i = 12;
  if (buf[i] === 32) {
    for (i = 13; i < n && buf[i] !== 13; i++) reason += String.fromCharCode(buf[i]);
  }
  if (i + 1 >= n || buf[i] !== 13 || buf[i + 1] !== 10) return undefined;
  return { status: d0 * 100 + d1 * 10 + d2, reason };
}

/**
 * The verdict on a final status line (a parsed line or head, as the caller
 * has it): L7OK inside the check's range, L7STS outside.
 */
export function judgeStatus(line: StatusLine, p: HttpParams): ProbeResult {
  const { status, reason } = line;
  const statusText = `HTTP ${status}${reason ? " " + reason : ""}`;
  if (status < p.responseCodeMin || status > p.responseCodeMax) {
    return probeResult(
      "L7STS",
      `${statusText}: not in ${p.responseCodeMin}-${p.responseCodeMax}`,
    );
  }
  return probeResult("L7OK", statusText);
}

/** Reads head and (for a response-regexp) body from `reader`, then judges them. */
export async function judgeFull(reader: ByteReader, p: HttpParams): Promise<ProbeResult> {
  const head = await readHead(reader);
  const verdict = judgeStatus(head, p);
  if (!verdict.ok || p.responseRegexp === "") return verdict;
  const re = compileRegexp(p.responseRegexp);
  if (!re) return probeResult("L7RSP", `bad response-regexp /${p.responseRegexp}/`);
  const body = new TextDecoder().decode(await readBody(reader, head));
  if (!re.test(body)) {
    return probeResult("L7RSP", `${verdict.detail}: body does not match /${p.responseRegexp}/`);
  }
  return verdict;
}

function compileRegexp(source: string): ResponseRegexp | undefined {
  let re = regexpCache.get(source);
  if (re) return re;
  try {
    re = compileResponseRegexp(source);
  } catch {
    return undefined;
  }
  if (regexpCache.size > 1000) regexpCache.clear();
  regexpCache.set(source, re);
  return re;
}

/** A malformed response (L7RSP). */
export class ResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResponseError";
  }
}

/** Buffered reads over a {@linkcode ProbeStream}. */
export class ByteReader {
  #stream: ProbeStream;
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  #eof = false;

  /** Reads `stream`, after the bytes of `prefix` when given. */
  constructor(stream: ProbeStream, prefix?: Uint8Array) {
    this.#stream = stream;
    if (prefix && prefix.length > 0) {
      if (prefix.length > this.#buf.length) this.#buf = new Uint8Array(prefix.length * 2);
      this.#buf.set(prefix);
      this.#end = prefix.length;
    }
  }

  /** Bytes buffered and not yet consumed. */
  get available(): number {
    return this.#end - this.#start;
  }

  /** Reads one more chunk into the buffer; false at end of stream. */
  async fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = await this.#stream.read();
    if (chunk === null) {
      this.#eof = true;
      return false;
    }
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + chunk.length <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(Math.max(this.#buf.length * 2, live + chunk.length));
        next.set(this.#buf.subarray(this.#start, this.#end), 0);
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
    return true;
  }

  /** Index (relative to the unread start) of `needle`, or -1. */
  #find(needle: readonly number[], from: number): number {
    const b = this.#buf;
    outer: for (let i = this.#start + from; i + needle.length <= this.#end; i++) {
      for (let j = 0; j < needle.length; j++) if (b[i + j] !== needle[j]) continue outer;
      return i - this.#start;
    }
    return -1;
  }

  /** Consumes through `needle` and returns the bytes before it as latin1; null at EOF. */
  async until(needle: readonly number[], max: number, what: string): Promise<string | null> {
    let scanned = 0;
    for (;;) {
      const at = this.#find(needle, Math.max(0, scanned - needle.length + 1));
      if (at >= 0) {
        const text = latin1(this.#buf.subarray(this.#start, this.#start + at));
        this.#start += at + needle.length;
        return text;
      }
      scanned = this.available;
      if (scanned > max) throw new ResponseError(`${what} longer than ${max} bytes`);
      if (!(await this.fill())) return null;
    }
  }

  /** Consumes up to `n` bytes (fewer only at end of stream; empty at EOF). */
  async take(n: number): Promise<Uint8Array> {
    if (this.available === 0 && !(await this.fill())) return new Uint8Array(0);
    const k = Math.min(n, this.available);
    const out = this.#buf.slice(this.#start, this.#start + k);
    this.#start += k;
    return out;
  }
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

const CRLFCRLF = [13, 10, 13, 10];
const CRLF = [13, 10];

/** A parsed response head. */
export interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: ReadonlyMap<string, string>;
}

/** Reads the status line and headers, skipping interim 1xx responses. */
export async function readHead(reader: ByteReader): Promise<ResponseHead> {
  for (;;) {
    const text = await reader.until(CRLFCRLF, HEAD_LIMIT, "response head");
    if (text === null) {
      throw new ResponseError(
        reader.available === 0
          ? "connection closed before a response"
          : "connection closed inside the response head",
      );
    }
    const lines = text.split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!m) {
      throw new ResponseError(`malformed status line ${JSON.stringify(lines[0].slice(0, 80))}`);
    }
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new ResponseError(`malformed header ${JSON.stringify(line.slice(0, 80))}`);
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    }
    if (status >= 100 && status < 200 && status !== 101) continue;
    return { status, reason: m[2] ?? "", headers };
  }
}

/** Reads the body (chunked, content-length or to close), at most {@linkcode BODY_LIMIT} bytes. */
export async function readBody(reader: ByteReader, head: ResponseHead): Promise<Uint8Array> {
  if (head.status === 204 || head.status === 304 || head.status < 200) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  const add = (b: Uint8Array) => {
    parts.push(b);
    size += b.length;
  };
  const te = head.headers.get("transfer-encoding");
  if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) {
    while (size < BODY_LIMIT) {
      const line = await reader.until(CRLF, 1024, "chunk size line");
      if (line === null) throw new ResponseError("connection closed inside a chunked body");
      const m = /^([0-9a-fA-F]+)\s*(;.*)?$/.exec(line);
      if (!m) throw new ResponseError(`malformed chunk size ${JSON.stringify(line.slice(0, 40))}`);
      let left = parseInt(m[1], 16);
      if (left === 0) break;
      while (left > 0 && size < BODY_LIMIT) {
        const b = await reader.take(Math.min(left, BODY_LIMIT - size));
        if (b.length === 0) throw new ResponseError("connection closed inside a chunk");
        add(b);
        left -= b.length;
      }
      if (left > 0) break;
      const end = await reader.until(CRLF, 2, "chunk end");
      if (end !== "") throw new ResponseError("chunk not followed by CRLF");
    }
  } else if (head.headers.has("content-length")) {
    const length = Number(head.headers.get("content-length"));
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ResponseError(
        `bad content-length ${JSON.stringify(head.headers.get("content-length"))}`,
      );
    }
    const want = Math.min(length, BODY_LIMIT);
    while (size < want) {
      const b = await reader.take(want - size);
      if (b.length === 0) {
        throw new ResponseError(`connection closed after ${size} of ${length} body bytes`);
      }
      add(b);
    }
  } else {
    while (size < BODY_LIMIT) {
      const b = await reader.take(BODY_LIMIT - size);
      if (b.length === 0) break;
      add(b);
    }
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
