/**
 * Reading one HTTP/1.1 request off a connection for the listener in
 * http.ts: the head (bounded), then a body of a declared length (bounded).
 * What cannot be read is answered, never guessed at.
 * @module
 */

/** The request line and headers, and the body bytes read with them. */
export interface RequestHead {
  readonly method: string;
  /** The request target as sent (`/path?query`). */
  readonly target: string;
  readonly headers: Headers;
  /** Bytes after the blank line that came in the same reads. */
  readonly rest: Uint8Array;
}

/** Largest request head. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Largest request body (the dashboard's actions are small JSON documents). */
export const MAX_BODY_BYTES = 64 * 1024;

function refusal(status: number, why: string): Response {
  return new Response(`${why}\n`, { status, headers: { "content-type": "text/plain" } });
}

function indexOfBlankLine(buf: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}

function parseLines(text: string, rest: Uint8Array): RequestHead | Response {
  const [first, ...lines] = text.slice(0, -4).split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(first);
  if (!m || !m[2].startsWith("/")) return refusal(400, "bad request line");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return refusal(400, "bad header line");
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      return refusal(400, "bad header line");
    }
  }
  return { method: m[1], target: m[2], headers, rest };
}

/** Reads the head; a Response when it is refused, throws when the peer went away. */
export async function parseHead(conn: Deno.Conn): Promise<RequestHead | Response> {
  const buf = new Uint8Array(MAX_HEADER_BYTES);
  let len = 0;
  while (len < buf.length) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) throw new Error("peer closed before the request ended");
    len += n;
    const end = indexOfBlankLine(buf, len);
    if (end >= 0) {
      const text = new TextDecoder().decode(buf.subarray(0, end));
      return parseLines(text, buf.slice(end, len));
    }
  }
  return refusal(431, "request head too large");
}

/**
 * The Web Request of `head`, its body read to its declared length; a
 * Response when the body is refused (chunked, too large).
 */
export async function readRequest(
  conn: Deno.Conn,
  head: RequestHead,
  localAddr: Deno.Addr,
): Promise<Request | Response> {
  const { method, headers } = head;
  if (headers.has("transfer-encoding")) return refusal(411, "send a content-length");
  // Digits only (RFC 9110 8.6): Number() would also read "0x10", "1e3" and "" as lengths.
  const declared = headers.get("content-length") ?? "0";
  const length = /^\d+$/.test(declared) ? Number(declared) : NaN;
  if (!Number.isSafeInteger(length)) return refusal(400, "bad content-length");
  if (length > MAX_BODY_BYTES) return refusal(413, `a body is at most ${MAX_BODY_BYTES} bytes`);
  const body = new Uint8Array(length);
  let got = Math.min(length, head.rest.length);
  body.set(head.rest.subarray(0, got));
  while (got < length) {
    const n = await conn.read(body.subarray(got));
    if (n === null) throw new Error("peer closed before the body ended");
    got += n;
  }
  const local = localAddr as Deno.NetAddr;
  const fallback = local.hostname.includes(":")
    ? `[${local.hostname}]:${local.port}`
    : `${local.hostname}:${local.port}`;
  const url = `http://${headers.get("host") || fallback}${head.target}`;
  const hasBody = method !== "GET" && method !== "HEAD";
  try {
    return new Request(url, { method, headers, body: hasBody ? body : undefined });
  } catch {
    return refusal(400, "bad request");
  }
}
