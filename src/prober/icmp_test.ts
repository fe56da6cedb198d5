import { strict as assert } from "node:assert";
import { checksum, echoRequest } from "./icmp.ts";
import { parseIpBytes } from "./libc.ts";
import { createLocalProber } from "./local.ts";
import { backend, check, isRoot, NEVER } from "./prober_test_util.ts";

Deno.test("icmp: echo request checksum verifies to zero", () => {
  const pkt = echoRequest(4, 0x12345678);
  assert.equal(pkt[0], 8);
  assert.equal(checksum(pkt), 0);
  assert.deepEqual([...pkt.subarray(4, 8)], [0x12, 0x34, 0x56, 0x78]);
});

Deno.test("icmp: parseIpBytes reads v4, v6 and v4-in-v6 literals and rejects junk", () => {
  assert.deepEqual([...parseIpBytes("10.0.0.1")!], [10, 0, 0, 1]);
  assert.deepEqual([...parseIpBytes("::1")!], [...new Array(15).fill(0), 1]);
  assert.deepEqual(
    [...parseIpBytes("2001:db8::a:b")!],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0x0b],
  );
  assert.deepEqual([...parseIpBytes("::ffff:1.2.3.4")!].slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  for (const bad of ["", "1.2.3", "256.1.1.1", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "x"]) {
    assert.equal(parseIpBytes(bad), undefined, bad);
  }
});

Deno.test({
  name: "icmp: echo to 127.0.0.1 and ::1 is L3OK over one shared socket per family",
  ignore: !isRoot(),
  async fn() {
    const prober = createLocalProber();
    try {
      const hc = check("icmp", 0);
      const all = await Promise.all([
        ...Array.from({ length: 20 }, () => prober.probe(hc, backend("127.0.0.1"), NEVER)),
        ...Array.from({ length: 20 }, () => prober.probe(hc, backend("::1"), NEVER)),
      ]);
      for (const r of all) assert.equal(r.code, "L3OK", r.detail);
      assert.equal(all[0].layer, "L3");
      assert.equal(all[0].detail, "echo reply from 127.0.0.1");
      assert.equal(all[39].detail, "echo reply from ::1");
      // Our raw sockets: /proc/net/raw{,6} rows whose inode is one of our fds.
      const mine = new Set<string>();
      for (const e of Deno.readDirSync("/proc/self/fd")) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
          if (m) mine.add(m[1]);
        } catch {
          // Closed meanwhile.
        }
      }
      const count = (file: string) =>
        Deno.readTextFileSync(file).trim().split("\n").slice(1)
          .filter((row) => mine.has(row.trim().split(/\s+/)[9])).length;
      assert.equal(count("/proc/self/net/raw"), 1);
      assert.equal(count("/proc/self/net/raw6"), 1);
    } finally {
      await prober.close();
    }
  },
});

Deno.test({
  name: "icmp: the source address is bound; one the host lacks is L3CON",
  ignore: !isRoot(),
  async fn() {
    const prober = createLocalProber();
    try {
      const ok = await prober.probe(
        check("icmp", 0, { probeIpv4Src: "127.0.0.2" }),
        backend("127.0.0.1"),
        NEVER,
      );
      assert.equal(ok.code, "L3OK", ok.detail);
      const bad = await prober.probe(
        check("icmp", 0, { probeIpv6Src: "2001:db8::77" }),
        backend("::1"),
        NEVER,
      );
      assert.equal(bad.code, "L3CON");
      assert.equal(bad.detail, "bind ICMP socket to 2001:db8::77: Cannot assign requested address");
    } finally {
      await prober.close();
    }
  },
});

Deno.test({
  name: "icmp: without CAP_NET_RAW the probe is L3CON and says why",
  ignore: !isRoot(),
  async fn() {
    const script = `
      import { createLocalProber } from ${
      JSON.stringify(new URL("./local.ts", import.meta.url).href)
    };
      const p = createLocalProber();
      const hc = { name: "hc", type: "icmp", port: 0, intervalMs: 1000, fastIntervalMs: 1000,
        downIntervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, probeIpv4Src: "", probeIpv6Src: "" };
      const be = { name: "b", address: "127.0.0.1", family: 4, healthcheck: "hc", enabled: true, description: "" };
      console.log(JSON.stringify(await p.probe(hc, be, new AbortController().signal)));
      await p.close();`;
    // Dropping the capability from the bounding set removes it from root's exec too.
    const out = await new Deno.Command("setpriv", {
      args: [
        "--bounding-set=-net_raw",
        "--inh-caps=-net_raw",
        Deno.execPath(),
        "eval",
        "--quiet",
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(text);
    assert.equal(r.code, "L3CON");
    assert.equal(r.detail, "open raw ICMP socket: Operation not permitted (needs CAP_NET_RAW)");
  },
});
