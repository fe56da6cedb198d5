import { strict as assert } from "node:assert";
import { configureLog } from "../log/mod.ts";
import { MaglevError } from "../errors.ts";
import { parseListenAddress, type Renderable, serveMetrics } from "./server.ts";

configureLog({ level: "error", format: "json", write: () => {} });

const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function fixed(body: string): Renderable & { scrapes: number } {
  const r = {
    scrapes: 0,
    contentType: CONTENT_TYPE,
    render(): Promise<string> {
      r.scrapes++;
      return Promise.resolve(body);
    },
  };
  return r;
}

Deno.test("parseListenAddress reads :port, host:port and [v6]:port", () => {
  assert.deepEqual(parseListenAddress(":9091"), { host: "", port: 9091 });
  assert.deepEqual(parseListenAddress("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListenAddress("localhost:9091"), { host: "localhost", port: 9091 });
  assert.deepEqual(parseListenAddress("[::1]:9091"), { host: "::1", port: 9091 });
  for (
    const [bad, why] of [
      ["9091", /missing port/],
      ["host:", /port "" is not a number/],
      [":70000", /port "70000"/],
      ["::1:9091", /in brackets/],
      ["[::1]9091", /\[ipv6\]:port/],
    ] as const
  ) {
    assert.throws(
      () => parseListenAddress(bad),
      (e) => e instanceof MaglevError && e.kind === "INVALID_ARGUMENT" && why.test(e.message),
      bad,
    );
  }
});

Deno.test("an empty address disables the endpoint", () => {
  assert.equal(serveMetrics("", fixed("")), null);
});

Deno.test("serves /metrics and an index page, then closes cleanly", async () => {
  const metrics = fixed("maglev_vpp_connected 1\n");
  const server = serveMetrics("127.0.0.1:0", metrics);
  assert.ok(server);
  try {
    assert.ok(server.port > 0);
    const base = `http://127.0.0.1:${server.port}`;
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), CONTENT_TYPE);
    assert.equal(await res.text(), "maglev_vpp_connected 1\n");
    assert.equal(metrics.scrapes, 1);

    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /href="\/metrics"/);

    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();

    const post = await fetch(`${base}/metrics`, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  } finally {
    await server.close();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/metrics`));
});

Deno.test("a render failure is a 500 with the reason, and the server keeps serving", async () => {
  let fail = true;
  const server = serveMetrics("127.0.0.1:0", {
    contentType: CONTENT_TYPE,
    render: () =>
      fail ? Promise.reject(new Error("collector exploded")) : Promise.resolve("ok 1\n"),
  });
  assert.ok(server);
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /collector exploded/);
    fail = false;
    const again = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(await again.text(), "ok 1\n");
  } finally {
    await server.close();
  }
});

Deno.test("a port in use is an error naming the address", async () => {
  const first = serveMetrics("127.0.0.1:0", fixed(""));
  assert.ok(first);
  try {
    const addr = `127.0.0.1:${first.port}`;
    assert.throws(
      () => serveMetrics(addr, fixed("")),
      (e) => e instanceof MaglevError && e.message.startsWith(`metrics address "${addr}": `),
    );
  } finally {
    await first.close();
  }
});

Deno.test("metrics listener: /healthz, /ready with the reason, HEAD without a body", async () => {
  let why = "warmup in progress";
  const server = serveMetrics("127.0.0.1:0", fixed("up 1\n"), { ready: () => why });
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
