import { strict as assert } from "node:assert";
import { configureLog } from "../log/mod.ts";
import { type HttpHandler, type HttpLimits, listenHttp } from "./http.ts";

configureLog({ level: "error", format: "json", write: () => {} });

const LIMITS: HttpLimits = { maxConnections: 64, headerTimeoutMs: 5_000, writeTimeoutMs: 5_000 };

function listen(handler: HttpHandler, limits: Partial<HttpLimits> = {}) {
  return listenHttp({ hostname: "127.0.0.1", port: 0 }, handler, {
    limits: { ...LIMITS, ...limits },
    name: "test",
    what: "test",
  });
}

/** Sends `request` on a new connection and reads the answer until the server closes. */
async function raw(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  let out = "";
  const buf = new Uint8Array(4096);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return out;
}

const upHandler: HttpHandler = () => new Response("up 1\n");

/** Resolves when the server closes `conn` (a read sees EOF or a reset). */
async function closedByServer(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(1024);
  try {
    while ((await conn.read(buf)) !== null) { /* drain an answer, if any */ }
  } catch {
    // A reset is a close too.
  }
  conn.close();
}

Deno.test("http listener: a connection cap, and idle and slowloris clients closed", async () => {
  // The cap is reached while the first idle clients are still open, also on a loaded machine.
  const server = listen(upHandler, { maxConnections: 3, headerTimeoutMs: 2_000 });
  const port = server.addr.port;
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const idle = [await connect(), await connect()];
    const slow = await connect();
    // Slowloris: a request line, then headers that never end.
    await slow.write(new TextEncoder().encode("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
    const extra = await connect();
    // Over the cap: closed at once, without waiting for any timeout.
    await closedByServer(extra);
    // The header timeout closes the idle and the slow ones.
    await Promise.all([...idle, slow].map(closedByServer));
    assert.equal(server.connections(), 0);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(await res.text(), "up 1\n", "still serving");
  } finally {
    await server.close();
  }
});

Deno.test("http listener: EMFILE on accept is logged and survived (prlimit)", async () => {
  // A child with 40 fds and no cap of its own fills its fd table with our
  // connections; accept fails with EMFILE until they close.
  const child = new Deno.Command("prlimit", {
    args: [
      "--nofile=40",
      Deno.execPath(),
      "run",
      "-A",
      new URL("./testdata/emfile_server.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const readUntil = async (re: RegExp) => {
    while (!re.test(out)) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`child ended before ${re}:\n${out}`);
      out += value;
    }
    return re.exec(out)!;
  };
  try {
    const port = Number((await readUntil(/PORT (\d+)/))[1]);
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 80; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await readUntil(/metrics-accept-error.*Too many open files/);
    for (const c of conns) c.close();
    // Survived: a scrape after the fds came back is answered.
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(await res.text(), "up 1\n");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await lines.cancel();
    await child.stderr.cancel();
  }
});

Deno.test("http listener: a request body of its declared length; chunked and oversized refused", async () => {
  const server = listen(async (req) =>
    new Response(`${req.method} ${new URL(req.url).pathname} ${await req.text()}`, {
      headers: { "x-seen": req.headers.get("x-test") ?? "" },
    })
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const res = await fetch(`${base}/a?b=1`, {
      method: "POST",
      headers: { "x-test": "yes" },
      body: JSON.stringify({ weight: 5 }),
    });
    assert.deepEqual([res.status, await res.text(), res.headers.get("x-seen")], [
      200,
      'POST /a {"weight":5}',
      "yes",
    ]);
    // Raw requests, so that no unread body is left when the server answers and closes.
    const big = await raw(server.addr.port, "POST / HTTP/1.1\r\ncontent-length: 100000\r\n\r\n");
    assert.match(big, /^HTTP\/1\.1 413 [^]*at most 65536 bytes/);
    const chunked = await raw(
      server.addr.port,
      "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
    );
    assert.match(chunked, /^HTTP\/1\.1 411 /);
    assert.match(await raw(server.addr.port, "GET nohost HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 400 /);
    const head = await fetch(`${base}/`, { method: "HEAD" });
    assert.deepEqual([head.status, await head.text()], [200, ""]);
  } finally {
    await server.close();
  }
});

Deno.test("http listener: an event stream flows until the client leaves, then is cancelled", async () => {
  const { promise: cancelled, resolve } = Promise.withResolvers<void>();
  let push: ((s: string) => void) | undefined;
  const server = listen(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start: (c) => {
          push = (s) => c.enqueue(new TextEncoder().encode(s));
          push("data: one\n\n");
        },
        cancel: () => resolve(),
      }),
      { headers: { "content-type": "text/event-stream" } },
    )
  );
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/events`);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, "data: one\n\n");
    push!("data: two\n\n");
    assert.equal((await reader.read()).value, "data: two\n\n");
    assert.equal(server.connections(), 1);
    await reader.cancel();
    await cancelled;
  } finally {
    await server.close();
  }
  assert.equal(server.connections(), 0);
});
