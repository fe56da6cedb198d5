import { strict as assert } from "node:assert";
import tls from "node:tls";
import { createLocalProber } from "./local.ts";
import { backend, check, engineTest, NEVER, selfSigned } from "./prober_test_util.ts";

function tcpCheck(
  port: number,
  ssl = false,
  extra: { serverName?: string; insecure?: boolean } = {},
) {
  return {
    ...check("tcp", port),
    tcp: { ssl, serverName: extra.serverName ?? "", insecureSkipVerify: extra.insecure ?? false },
  };
}

/**
 * A listener that records peers and closes each connection. A probe's L4OK
 * comes when the kernel completes the handshake, before this loop accepts:
 * read the peers with `peersAfter`, which waits for that many accepts.
 */
function listener(hostname: string) {
  const l = Deno.listen({ hostname, port: 0 });
  const peers: string[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  const done = (async () => {
    for await (const c of l) {
      peers.push((c.remoteAddr as Deno.NetAddr).hostname);
      c.close();
      if (waiting && peers.length >= waiting.n) waiting.resolve();
    }
  })().catch(() => {});
  return {
    port: (l.addr as Deno.NetAddr).port,
    /** The peers once `n` connections have been accepted. */
    async peersAfter(n: number): Promise<string[]> {
      if (peers.length < n) {
        const { promise, resolve } = Promise.withResolvers<void>();
        waiting = { n, resolve };
        await promise;
      }
      return peers.slice();
    },
    async close() {
      l.close();
      await done;
    },
  };
}

engineTest("tcp: connect is L4OK over IPv4 and IPv6", async (engine) => {
  const v4 = listener("127.0.0.1");
  const v6 = listener("::1");
  const prober = createLocalProber({ engine });
  try {
    const r4 = await prober.probe(tcpCheck(v4.port), backend("127.0.0.1"), NEVER);
    assert.equal(r4.code, "L4OK", r4.detail);
    assert.equal(r4.layer, "L4");
    assert.equal(r4.detail, `connected to 127.0.0.1:${v4.port}`);
    const r6 = await prober.probe(tcpCheck(v6.port), backend("::1"), NEVER);
    assert.equal(r6.code, "L4OK", r6.detail);
    assert.equal(r6.detail, `connected to [::1]:${v6.port}`);
  } finally {
    await prober.close();
    await v4.close();
    await v6.close();
  }
});

engineTest("tcp: a closed port is L4CON", async (engine) => {
  const l = listener("::1");
  await l.close();
  const prober = createLocalProber({ engine });
  try {
    const r = await prober.probe(tcpCheck(l.port), backend("::1"), NEVER);
    assert.equal(r.code, "L4CON");
    assert.equal(r.detail, "connect: connection refused");
  } finally {
    await prober.close();
  }
});

engineTest("tcp: the source address is honoured", async (engine) => {
  const l = listener("127.0.0.1");
  const prober = createLocalProber({ engine });
  try {
    const r = await prober.probe(
      { ...tcpCheck(l.port), probeIpv4Src: "127.0.0.2" },
      backend("127.0.0.1"),
      NEVER,
    );
    assert.equal(r.code, "L4OK", r.detail);
    assert.deepEqual(await l.peersAfter(1), ["127.0.0.2"]);
  } finally {
    await prober.close();
    await l.close();
  }
});

engineTest(
  "tcp: an IPv6 source address is honoured; a foreign one is not local",
  async (engine) => {
    const l = listener("::1");
    const prober = createLocalProber({ engine });
    try {
      const r = await prober.probe(
        { ...tcpCheck(l.port), probeIpv6Src: "::1" },
        backend("::1"),
        NEVER,
      );
      assert.equal(r.code, "L4OK", r.detail);
      assert.deepEqual(await l.peersAfter(1), ["::1"]);
      const bad = await prober.probe(
        { ...tcpCheck(l.port), probeIpv6Src: "2001:db8::77" },
        backend("::1"),
        NEVER,
      );
      assert.equal(bad.code, "L4CON");
      assert.equal(bad.detail, "connect: source address 2001:db8::77 is not local to this host");
    } finally {
      await prober.close();
      await l.close();
    }
  },
);

engineTest(
  "tcp ssl: L6OK with skip-verify and SNI, L6RSP when verification fails",
  async (engine) => {
    const { key, cert } = await selfSigned("tcp.test");
    let gotSni = (_: string) => {};
    const sni = new Promise<string>((r) => (gotSni = r));
    const sockets = new Set<tls.TLSSocket>();
    const server = tls.createServer({ key, cert }, (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      gotSni(String((s as unknown as { servername?: string }).servername));
    });
    await new Promise<void>((r) => server.listen(0, "::1", r));
    const port = (server.address() as { port: number }).port;
    const prober = createLocalProber({ engine });
    try {
      const good = await prober.probe(
        tcpCheck(port, true, { serverName: "tcp.test", insecure: true }),
        backend("::1"),
        NEVER,
      );
      assert.equal(good.code, "L6OK", good.detail);
      assert.equal(good.layer, "L6");
      assert.equal(await sni, "tcp.test");
      const bad = await prober.probe(
        tcpCheck(port, true, { serverName: "tcp.test" }),
        backend("::1"),
        NEVER,
      );
      assert.equal(bad.code, "L6RSP");
      assert.match(bad.detail, /^TLS handshake: /);
    } finally {
      await prober.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  },
);

engineTest("tcp ssl: a plain server that never speaks TLS is L6TOUT", async (engine) => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of l) conns.push(c);
  })().catch(() => {});
  const prober = createLocalProber({ engine });
  try {
    const r = await prober.probe(
      { ...tcpCheck((l.addr as Deno.NetAddr).port, true, { insecure: true }), timeoutMs: 150 },
      backend("127.0.0.1"),
      NEVER,
    );
    assert.equal(r.code, "L6TOUT");
  } finally {
    await prober.close();
    l.close();
    await accepting;
    for (const c of conns) c.close();
  }
});
