import { strict as assert } from "node:assert";
import http2 from "node:http2";
import net from "node:net";
import { GoawayFilteredSocket, goawayStripper } from "./goaway_filter.ts";

const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(type: number, payload: number[], streamId = 0): Uint8Array {
  const n = payload.length;
  return new Uint8Array([
    n >> 16,
    (n >> 8) & 0xff,
    n & 0xff,
    type,
    0,
    0,
    0,
    0,
    streamId,
    ...payload,
  ]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("the stripper drops GOAWAY frames whatever the chunking", () => {
  const settings = frame(0x4, [0, 3, 0, 0, 0, 100]);
  const rst = frame(0x3, [0, 0, 0, 8], 1);
  const goaway = frame(0x7, [0, 0, 0, 1, 0, 0, 0, 0, 104, 105]);
  const input = concat([PREFACE, settings, rst, goaway, frame(0x6, [1, 2, 3, 4, 5, 6, 7, 8])]);
  const want = concat([PREFACE, settings, rst, frame(0x6, [1, 2, 3, 4, 5, 6, 7, 8])]);
  for (const size of [1, 2, 5, 9, 10, 24, 33, input.length]) {
    const strip = goawayStripper({ preface: true });
    const out: Uint8Array[] = [];
    for (let i = 0; i < input.length; i += size) {
      out.push(...strip.feed(input.subarray(i, i + size)));
    }
    assert.deepEqual(concat(out), want, `chunks of ${size}`);
    assert.equal(strip.dropped(), 1);
  }
});

Deno.test("the server-to-client stripper has no preface to skip", () => {
  const strip = goawayStripper({ preface: false });
  const ping = frame(0x6, [1, 2, 3, 4, 5, 6, 7, 8]);
  const out = strip.feed(concat([frame(0x7, [0, 0, 0, 0, 0, 0, 0, 0]), ping]));
  assert.deepEqual(concat(out), ping);
  assert.equal(strip.dropped(), 1);
});

Deno.test("an HTTP/2 server behind the filter never sees the client's GOAWAY", async () => {
  const h2 = http2.createServer();
  let goaways = 0;
  const sessionClosed = Promise.withResolvers<void>();
  h2.on("session", (s) => {
    s.on("goaway", () => goaways++);
    s.on("close", () => sessionClosed.resolve());
  });
  h2.on("stream", (stream: http2.ServerHttp2Stream) => {
    stream.respond({ ":status": 200 });
    stream.end("ok");
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    h2.emit("connection", new GoawayFilteredSocket(socket));
  });
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  const port = (tcp.address() as net.AddressInfo).port;
  try {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const req = client.request({ ":path": "/" });
    req.setEncoding("utf8");
    let body = "";
    req.on("data", (d) => body += d);
    await new Promise<void>((resolve) => req.on("close", resolve));
    assert.equal(body, "ok");
    // No stream is open: the case that crashes Deno's server without the filter.
    const clientClosed = new Promise<void>((resolve) => client.on("close", resolve));
    client.close();
    await Promise.all([clientClosed, sessionClosed.promise]);
    assert.equal(goaways, 0, "the server session never saw a GOAWAY");
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    await new Promise<void>((resolve) => h2.close(() => resolve()));
  }
});
