import { strict as assert } from "node:assert";
import tls from "node:tls";
import type { ProbeResult } from "../health/types.ts";
import type { EngineName } from "./local.ts";
import { createLocalProber } from "./local.ts";
import {
  backend,
  check,
  engineTest,
  NEVER,
  type RawReply,
  type RawServer,
  rawServer,
  selfSigned,
} from "./prober_test_util.ts";

const ok200 = (body: string) => [
  `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
];

/** Check fields over `check("http", port)`'s. */
type HttpExtra = Parameters<typeof check>[2];

/** An http check whose body must match `responseRegexp`. */
function matching(responseRegexp: string): HttpExtra {
  return { http: { responseRegexp } };
}

/** A raw server and a prober on one engine, for one test. */
interface HttpRig {
  readonly server: RawServer;
  /** Probes the server's address with an http check of `extra`. */
  probe(extra?: HttpExtra, signal?: AbortSignal): Promise<ProbeResult>;
}

/**
 * Runs `fn` against a raw server on `hostname` (default 127.0.0.1) answering
 * with `respond`, probed by a prober on `engine` (User-Agent `version`);
 * closes both after.
 */
async function withHttpServer(
  setup: {
    engine: EngineName;
    respond: (request: string) => RawReply;
    hostname?: string;
    version?: string;
  },
  fn: (rig: HttpRig) => Promise<void>,
): Promise<void> {
  const hostname = setup.hostname ?? "127.0.0.1";
  const server = rawServer(hostname, setup.respond);
  const prober = createLocalProber({ engine: setup.engine, version: setup.version });
  try {
    await fn({
      server,
      probe: (extra, signal = NEVER) =>
        prober.probe(check("http", server.port, extra), backend(hostname), signal),
    });
  } finally {
    await prober.close();
    await server.close();
  }
}

engineTest("http: a Deno.serve server answers L7OK with our headers", async (engine) => {
  let seen: Headers | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen = req.headers;
    return new Response("all good");
  });
  const prober = createLocalProber({ engine, version: "9.9.9" });
  try {
    const r = await prober.probe(
      check("http", server.addr.port, { http: { responseRegexp: "good$" } }),
      backend("127.0.0.1"),
      NEVER,
    );
    assert.equal(r.code, "L7OK", r.detail);
    assert.equal(r.ok, true);
    assert.equal(r.layer, "L7");
    assert.equal(r.detail, "HTTP 200 OK");
    assert.ok(r.durationMs >= 0);
    assert.equal(seen?.get("host"), `127.0.0.1:${server.addr.port}`);
    assert.equal(seen?.get("user-agent"), "maglevd/9.9.9");
  } finally {
    await prober.close();
    await server.shutdown();
  }
});

engineTest(
  "http: request line, Host, User-Agent and Connection: close on the wire",
  (engine) =>
    withHttpServer({ engine, respond: () => ok200("x"), version: "1.2.3" }, async (rig) => {
      const r = await rig.probe({ http: { path: "/healthz?x=1", host: "web.example" } });
      assert.equal(r.code, "L7OK", r.detail);
      const req = rig.server.seen[0].request;
      assert.match(req, /^GET \/healthz\?x=1 HTTP\/1\.1\r\n/);
      assert.match(req, /\r\nHost: web\.example\r\n/);
      assert.match(req, /\r\nUser-Agent: maglevd\/1\.2\.3\r\n/);
      assert.match(req, /\r\nConnection: close\r\n/);
    }),
);

engineTest("http: status 500 is L7STS; 3xx is judged by the range, never followed", (engine) => {
  let status = "500 Internal Server Error";
  const respond = () => [
    `HTTP/1.1 ${status}\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n`,
  ];
  return withHttpServer({ engine, respond }, async (rig) => {
    let r = await rig.probe();
    assert.equal(r.code, "L7STS");
    assert.equal(r.ok, false);
    assert.equal(r.detail, "HTTP 500 Internal Server Error: not in 200-399");
    status = "302 Found";
    r = await rig.probe();
    assert.equal(r.code, "L7OK", r.detail);
    r = await rig.probe({ http: { responseCodeMax: 299 } });
    assert.equal(r.code, "L7STS");
    assert.equal(rig.server.seen.length, 3, "a redirect must not be followed");
  });
});

engineTest(
  "http: body regexp mismatch is L7RSP",
  (engine) =>
    withHttpServer({ engine, respond: () => ok200("status: degraded") }, async (rig) => {
      const r = await rig.probe(matching("status: (ok|fine)"));
      assert.equal(r.code, "L7RSP");
      assert.equal(r.detail, "HTTP 200 OK: body does not match /status: (ok|fine)/");
    }),
);

engineTest("http: chunked bodies, split across writes, are decoded before matching", (engine) => {
  const respond = () => [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "5\r\nhel",
    "lo\r\n7;ext=1\r\n, world\r\n",
    "0\r\n\r\n",
  ];
  return withHttpServer({ engine, respond }, async (rig) => {
    const r = await rig.probe(matching("^hello, world$"));
    assert.equal(r.code, "L7OK", r.detail);
    // The chunk-size line must not leak into the body.
    assert.equal((await rig.probe(matching("7"))).code, "L7RSP");
  });
});

engineTest("http: a malformed chunked body is L7RSP", (engine) => {
  const respond = () => [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
  ];
  return withHttpServer({ engine, respond }, async (rig) => {
    const r = await rig.probe(matching("hello"));
    assert.equal(r.code, "L7RSP");
    assert.match(r.detail, /malformed chunk size/);
  });
});

engineTest("http: a body read to close, and only the first 64 KiB are matched", (engine) => {
  const big = "a".repeat(70 * 1024) + "TAIL";
  const respond = () => [`HTTP/1.0 200 OK\r\n\r\nHEAD${big}`];
  return withHttpServer({ engine, respond }, async (rig) => {
    const r = await rig.probe(matching("^HEADa"));
    assert.equal(r.code, "L7OK", r.detail);
    assert.equal((await rig.probe(matching("TAIL"))).code, "L7RSP");
  });
});

engineTest(
  "http: a truncated content-length body and a garbage status line are L7RSP",
  (engine) => {
    let reply = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
    return withHttpServer({ engine, respond: () => [reply] }, async (rig) => {
      let r = await rig.probe(matching("short"));
      assert.equal(r.code, "L7RSP");
      assert.match(r.detail, /closed after 5 of 100 body bytes/);
      reply = "SSH-2.0-OpenSSH_9.6\r\n\r\n";
      r = await rig.probe();
      assert.equal(r.code, "L7RSP");
      assert.match(r.detail, /malformed status line/);
    });
  },
);

engineTest(
  "http: a server that accepts and never answers is L7TOUT at the deadline",
  (engine) =>
    withHttpServer({ engine, respond: () => null }, async (rig) => {
      const r = await rig.probe({ timeoutMs: 200 });
      assert.equal(r.code, "L7TOUT");
      assert.equal(r.detail, "response timeout after 200ms");
      assert.ok(r.durationMs >= 199, `duration ${r.durationMs}`);
    }),
);

engineTest(
  "http: an aborted signal ends the probe at once",
  (engine) =>
    withHttpServer({ engine, respond: () => null }, async (rig) => {
      const ac = new AbortController();
      const pending = rig.probe({}, ac.signal);
      await new Promise<void>((resolve) => {
        const wait = () => (rig.server.seen.length > 0 ? resolve() : setTimeout(wait, 5));
        wait();
      });
      ac.abort();
      const r = await pending;
      assert.equal(r.code, "L7TOUT");
      assert.equal(r.detail, "response cancelled");
    }),
);

engineTest("http: a closed port is L4CON connection refused", async (engine) => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const prober = createLocalProber({ engine });
  try {
    const r = await prober.probe(check("http", port), backend("127.0.0.1"), NEVER);
    assert.equal(r.code, "L4CON");
    assert.equal(r.layer, "L4");
    assert.equal(r.detail, "connect: connection refused");
  } finally {
    await prober.close();
  }
});

engineTest(
  "http: IPv6 loopback target, Host in brackets",
  (engine) =>
    withHttpServer({ engine, respond: () => ok200("v6"), hostname: "::1" }, async (rig) => {
      const r = await rig.probe(matching("v6"));
      assert.equal(r.code, "L7OK", r.detail);
      assert.match(
        rig.server.seen[0].request,
        new RegExp(`\r\nHost: \\[::1\\]:${rig.server.port}\r\n`),
      );
    }),
);

engineTest(
  "http: probe-ipv4-src 127.0.0.2 is the source the server sees",
  (engine) =>
    withHttpServer({ engine, respond: () => ok200("x") }, async (rig) => {
      const r = await rig.probe({ probeIpv4Src: "127.0.0.2", probeIpv6Src: "::1" });
      assert.equal(r.code, "L7OK", r.detail);
      assert.equal(rig.server.seen[0].remote, "127.0.0.2");
      // A source the host does not have fails at connect, naming the reason.
      const bad = await rig.probe({ probeIpv4Src: "192.0.2.77" });
      assert.equal(bad.code, "L4CON");
      assert.equal(bad.detail, "connect: source address 192.0.2.77 is not local to this host");
    }),
);

engineTest(
  "https: self-signed cert fails verification, skip-verify passes, SNI reaches the server",
  async (engine) => {
    const { key, cert } = await selfSigned("probe.test");
    const snis: string[] = [];
    const sockets = new Set<tls.TLSSocket>();
    const server = tls.createServer({ key, cert }, (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      snis.push(String((s as unknown as { servername?: string }).servername));
      s.end("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const prober = createLocalProber({ engine });
    try {
      const verify = await prober.probe(
        check("https", port, { http: { serverName: "probe.test" } }),
        backend("127.0.0.1"),
        NEVER,
      );
      assert.equal(verify.code, "L6RSP");
      assert.equal(verify.layer, "L6");
      assert.match(verify.detail, /^TLS handshake: .*self.signed/i);
      const skip = await prober.probe(
        check("https", port, {
          http: { serverName: "probe.test", insecureSkipVerify: true, responseRegexp: "secure" },
        }),
        backend("127.0.0.1"),
        NEVER,
      );
      assert.equal(skip.code, "L7OK", skip.detail);
      assert.equal(snis.at(-1), "probe.test");
    } finally {
      await prober.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  },
);

engineTest("https: a server that never shakes hands is L6TOUT", async (engine) => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of l) conns.push(c);
  })().catch(() => {});
  const port = (l.addr as Deno.NetAddr).port;
  const prober = createLocalProber({ engine });
  try {
    const r = await prober.probe(
      check("https", port, { timeoutMs: 200, http: { insecureSkipVerify: true } }),
      backend("127.0.0.1"),
      NEVER,
    );
    assert.equal(r.code, "L6TOUT");
    assert.equal(r.detail, "TLS handshake timeout after 200ms");
  } finally {
    await prober.close();
    l.close();
    await accepting;
    for (const c of conns) c.close();
  }
});
