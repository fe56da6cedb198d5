import { strict as assert } from "node:assert";
import { DEFAULT_HTTP_PARAMS } from "../config/defaults.ts";
import type { HttpParams } from "../config/types.ts";
import { judgeBuffered, NEED_MORE } from "./engine_full.ts";

const OK_HELLO = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

Deno.test("engine_full: a buffered response is judged, or asks for more bytes until EOF", async () => {
  const re = (responseRegexp: string): HttpParams => ({ ...DEFAULT_HTTP_PARAMS, responseRegexp });
  const cases: [string, boolean, HttpParams, string | typeof NEED_MORE][] = [
    [OK_HELLO, false, DEFAULT_HTTP_PARAMS, "L7OK HTTP 200 OK"],
    [OK_HELLO, false, re("hel+o"), "L7OK HTTP 200 OK"],
    [OK_HELLO, false, re("bye"), "L7RSP HTTP 200 OK: body does not match /bye/"],
    // The body the regexp needs is not all here yet.
    [OK_HELLO.slice(0, -2), false, re("hel+o"), NEED_MORE],
    // A status line split across reads, and an interim 1xx before the real status.
    ["HTTP/1.1 200 OK\r\n", false, DEFAULT_HTTP_PARAMS, NEED_MORE],
    [
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 No\r\n\r\n",
      true,
      DEFAULT_HTTP_PARAMS,
      "L7STS HTTP 503 No: not in 200-399",
    ],
    ["", false, DEFAULT_HTTP_PARAMS, NEED_MORE],
    // At EOF what is missing is a malformed response, named.
    ["", true, DEFAULT_HTTP_PARAMS, "L7RSP response: connection closed before a response"],
    [
      "HTTP/1.1 20",
      true,
      DEFAULT_HTTP_PARAMS,
      "L7RSP response: connection closed inside the response head",
    ],
    [
      "garbage\r\n\r\n",
      true,
      DEFAULT_HTTP_PARAMS,
      'L7RSP response: malformed status line "garbage"',
    ],
  ];
  for (const [text, eof, params, want] of cases) {
    const r = await judgeBuffered(new TextEncoder().encode(text), eof, params);
    const got = r === NEED_MORE ? r : `${r.code} ${r.detail}`;
    assert.equal(got, want, `${JSON.stringify(text)} eof=${eof}`);
  }
});
