import { strict as assert } from "node:assert";
import {
  MAX_BODY_BYTES,
  MAX_HEADER_BYTES,
  parseHead,
  readRequest,
  type RequestHead,
} from "./http_request.ts";

/** A connection whose reads return `chunks` one by one (cut to the reader's buffer), then EOF. */
function conn(...chunks: (string | Uint8Array)[]): Deno.Conn {
  const queue = chunks.map((c) => typeof c === "string" ? new TextEncoder().encode(c) : c);
  return {
    read(p: Uint8Array): Promise<number | null> {
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(null);
      const n = Math.min(p.length, next.length);
      p.set(next.subarray(0, n));
      if (n < next.length) queue.unshift(next.subarray(n));
      return Promise.resolve(n);
    },
  } as unknown as Deno.Conn;
}

const LOCAL: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8080 };

async function head(...chunks: string[]): Promise<RequestHead> {
  const h = await parseHead(conn(...chunks));
  assert.ok(!(h instanceof Response), "head refused");
  return h;
}

async function refused(r: RequestHead | Request | Response): Promise<[number, string]> {
  assert.ok(r instanceof Response, "should be refused");
  return [r.status, await r.text()];
}

Deno.test("http_request: a head split over reads, with the body bytes that came along", async () => {
  const h = await head("GET /a?b=1 HT", "TP/1.1\r\nHost: x\r\nX-A:  one \r", "\n\r\nbody");
  assert.deepEqual([h.method, h.target, h.headers.get("host"), h.headers.get("x-a")], [
    "GET",
    "/a?b=1",
    "x",
    "one",
  ]);
  assert.equal(new TextDecoder().decode(h.rest), "body");
  const repeated = await head("GET / HTTP/1.0\r\nX-A: 1\r\nX-A: 2\r\n\r\n");
  assert.equal(repeated.headers.get("x-a"), "1, 2");
});

Deno.test("http_request: bad heads are answered with the reason", async () => {
  const byReason: Record<string, string[]> = {
    "bad request line": [
      "GET nohost HTTP/1.1\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "get / HTTP/1.1\r\n\r\n",
      "GET /a b HTTP/1.1\r\n\r\n",
      "\r\n\r\n",
    ],
    "bad header line": [
      "GET / HTTP/1.1\r\nno colon\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
      "GET / HTTP/1.1\r\nbad name: x\r\n\r\n",
    ],
  };
  for (const [why, texts] of Object.entries(byReason)) {
    for (const text of texts) {
      assert.deepEqual(await refused(await parseHead(conn(text))), [400, `${why}\n`], text);
    }
  }
});

Deno.test("http_request: a head without its blank line within 16 KiB is 431", async () => {
  const long = `GET / HTTP/1.1\r\nX-Long: ${"a".repeat(MAX_HEADER_BYTES)}\r\n\r\n`;
  assert.deepEqual(await refused(await parseHead(conn(long))), [431, "request head too large\n"]);
});

Deno.test("http_request: a peer that leaves mid-head or mid-body is an error, not a request", async () => {
  await assert.rejects(
    parseHead(conn("GET / HTTP/1.1\r\n")),
    /peer closed before the request ended/,
  );
  const h = await head("POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\n12345");
  await assert.rejects(readRequest(conn("678"), h, LOCAL), /peer closed before the body ended/);
});

Deno.test("http_request: the body is read to its declared length, across the head's reads", async () => {
  const h = await head("POST /x HTTP/1.1\r\nHost: example\r\ncontent-length: 10\r\n\r\n12345");
  const req = await readRequest(conn("67", "890", "ignored"), h, LOCAL);
  assert.ok(req instanceof Request);
  assert.deepEqual([req.method, req.url, await req.text()], [
    "POST",
    "http://example/x",
    "1234567890",
  ]);
});

Deno.test("http_request: content-length is digits only, within 64 KiB; chunked is refused", async () => {
  const cases: [string, number, string][] = [
    ["transfer-encoding: chunked", 411, "send a content-length"],
    ["content-length: -1", 400, "bad content-length"],
    ["content-length: 1.5", 400, "bad content-length"],
    ["content-length: abc", 400, "bad content-length"],
    // Number() reads these as 16, 1000 and 3; HTTP allows digits only.
    ["content-length: 0x10", 400, "bad content-length"],
    ["content-length: 1e3", 400, "bad content-length"],
    ["content-length: 3, 3", 400, "bad content-length"],
    [`content-length: ${MAX_BODY_BYTES + 1}`, 413, `a body is at most ${MAX_BODY_BYTES} bytes`],
  ];
  for (const [header, status, why] of cases) {
    const h = await head(`POST / HTTP/1.1\r\n${header}\r\n\r\n`);
    assert.deepEqual(
      await refused(await readRequest(conn(), h, LOCAL)),
      [status, `${why}\n`],
      header,
    );
  }
  const exact = await head(`POST / HTTP/1.1\r\ncontent-length: 003\r\n\r\nabc`);
  const req = await readRequest(conn(), exact, LOCAL);
  assert.ok(req instanceof Request);
  assert.equal(await req.text(), "abc");
});

Deno.test("http_request: without Host the local address names the URL; GET has no body", async () => {
  const v6: Deno.NetAddr = { transport: "tcp", hostname: "::1", port: 9 };
  const cases: [Deno.NetAddr, string][] = [[LOCAL, "http://127.0.0.1:8080/p"], [
    v6,
    "http://[::1]:9/p",
  ]];
  for (const [addr, url] of cases) {
    const req = await readRequest(conn(), await head("GET /p HTTP/1.1\r\n\r\n"), addr);
    assert.ok(req instanceof Request);
    assert.deepEqual([req.url, req.body], [url, null]);
  }
  const bad = await head("GET /p HTTP/1.1\r\nHost: a b\r\n\r\n");
  assert.deepEqual(await refused(await readRequest(conn(), bad, LOCAL)), [400, "bad request\n"]);
});
