import { strict as assert } from "node:assert";
import { configureLog } from "../log/mod.ts";
import { serveMetrics } from "./server.ts";

configureLog({ level: "error", format: "json", write: () => {} });

const metrics = { contentType: "text/plain", render: () => Promise.resolve("up 1\n") };

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

Deno.test("metrics listener: a connection cap, and idle and slowloris clients closed", async () => {
  const server = serveMetrics("127.0.0.1:0", metrics, {
    // The cap is reached while the first idle clients are still open, also on a loaded machine.
    limits: { maxConnections: 3, headerTimeoutMs: 2_000, writeTimeoutMs: 1000 },
  });
  assert.ok(server);
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port: server.port });
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
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(await res.text(), "up 1\n", "still serving");
  } finally {
    await server.close();
  }
});

Deno.test("metrics listener: /healthz, /ready with the reason, HEAD without a body", async () => {
  let why = "warmup in progress";
  const server = serveMetrics("127.0.0.1:0", metrics, { ready: () => why });
  assert.ok(server);
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const h = await fetch(`${base}/healthz`);
    assert.deepEqual([h.status, await h.text()], [200, "ok\n"]);
    const r = await fetch(`${base}/ready`);
    assert.deepEqual([r.status, await r.text()], [503, "not ready: warmup in progress\n"]);
    why = "";
    const ok = await fetch(`${base}/ready`);
    assert.deepEqual([ok.status, await ok.text()], [200, "ready\n"]);
    const head = await fetch(`${base}/metrics`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  } finally {
    await server.close();
  }
});

Deno.test("metrics listener: EMFILE on accept is logged and survived (prlimit)", async () => {
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
