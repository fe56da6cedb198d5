import { strict as assert } from "node:assert";
import { agentCommand, createNetnsProber, NETNS_DIR, PROBE_AGENT_ARG } from "./agent.ts";
import { createProber } from "./mod.ts";
import { backend, check, ENGINES, isRoot, NEVER } from "./prober_test_util.ts";

const tag = `${Deno.pid % 100000}`;
const NS_PROBE = `mgp${tag}`;
const NS_SERVER = `mgs${tag}`;

async function run(cmd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Two namespaces joined by a veth pair: probe side .1, server side .2. */
async function makeNamespaces(): Promise<() => Promise<void>> {
  const cleanup = async () => {
    for (const ns of [NS_PROBE, NS_SERVER]) await run("ip", "netns", "del", ns).catch(() => {});
  };
  await cleanup();
  try {
    await run("ip", "netns", "add", NS_PROBE);
    await run("ip", "netns", "add", NS_SERVER);
    for (const ns of [NS_PROBE, NS_SERVER]) await run("ip", "-n", ns, "link", "set", "lo", "up");
    await run(
      "ip",
      "link",
      "add",
      `vp${tag}`,
      "netns",
      NS_PROBE,
      "type",
      "veth",
      "peer",
      "name",
      `vs${tag}`,
      "netns",
      NS_SERVER,
    );
    for (const [ns, dev, n] of [[NS_PROBE, `vp${tag}`, "1"], [NS_SERVER, `vs${tag}`, "2"]]) {
      await run("ip", "-n", ns, "addr", "add", `10.231.7.${n}/24`, "dev", dev);
      await run("ip", "-n", ns, "addr", "add", `fd00:231:7::${n}/64`, "dev", dev, "nodad");
      await run("ip", "-n", ns, "link", "set", dev, "up");
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return cleanup;
}

/** python3's http.server inside `ns`, serving a file that says "netns ok". */
async function serveIn(ns: string, bind: string, port: number): Promise<() => Promise<void>> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-netns-" });
  await Deno.writeTextFile(`${dir}/index.html`, "netns ok\n");
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, "python3", "-u", "-m", "http.server", String(port), "--bind", bind],
    cwd: dir,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // Wait for its "Serving HTTP on ..." line: it listens by then.
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("Serving HTTP")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`http.server in ${ns} did not start`);
    text += value;
  }
  return async () => {
    child.kill("SIGTERM");
    await reader.cancel();
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
}

function freeLoopbackPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("netns: the agent command re-executes this program under nsenter", () => {
  const argv = agentCommand("blue");
  assert.deepEqual(argv.slice(0, 3), ["nsenter", `--net=${NETNS_DIR}/blue`, "--"]);
  assert.equal(argv[3], Deno.execPath());
  // From source the agent is this module; a compiled binary gets the hidden argument.
  assert.ok(argv.at(-1)!.endsWith("/agent.ts") || argv.at(-1) === PROBE_AGENT_ARG);
});

Deno.test("netns: a namespace that does not exist fails with L4CON enter netns", async () => {
  const prober = createProber({ netns: `mgnone${tag}` });
  try {
    const r = await prober.probe(check("http", 80), backend("127.0.0.1"), NEVER);
    assert.equal(r.code, "L4CON");
    assert.equal(
      r.detail,
      `enter netns "mgnone${tag}": no such namespace (${NETNS_DIR}/mgnone${tag} does not exist)`,
    );
    const bad = createProber({ netns: "../etc" });
    const r2 = await bad.probe(check("tcp", 80), backend("127.0.0.1"), NEVER);
    assert.equal(r2.detail, `enter netns "../etc": invalid namespace name`);
    await bad.close();
  } finally {
    await prober.close();
  }
});

Deno.test({
  name: "netns: a file that is not a namespace fails with nsenter's reason",
  ignore: !isRoot(),
  async fn() {
    const name = `mgbogus${tag}`;
    await Deno.mkdir(NETNS_DIR, { recursive: true });
    await Deno.writeTextFile(`${NETNS_DIR}/${name}`, "");
    const prober = createProber({ netns: name });
    try {
      const r = await prober.probe(check("tcp", 80), backend("127.0.0.1"), NEVER);
      assert.equal(r.code, "L4CON");
      assert.match(r.detail, new RegExp(`^enter netns "${name}": nsenter: .+`));
    } finally {
      await prober.close();
      await Deno.remove(`${NETNS_DIR}/${name}`);
    }
  },
});

for (const engine of ENGINES) {
  Deno.test({
    name: `netns: probes reach servers inside the namespace only with netns set [${engine}]`,
    ignore: !isRoot(),
    async fn(t) {
      const cleanup = await makeNamespaces();
      const port = freeLoopbackPort();
      const stopVeth = await serveIn(NS_SERVER, "10.231.7.2", 8080);
      const stopLoop = await serveIn(NS_PROBE, "127.0.0.1", port);
      const inside = createProber({ netns: NS_PROBE, version: "netns-test", engine });
      const outside = createProber({ engine });
      try {
        await t.step("http over the veth pair", async () => {
          const hc = check("http", 8080, { http: { responseRegexp: "^netns ok" } });
          const r = await inside.probe(hc, backend("10.231.7.2"), NEVER);
          assert.equal(r.code, "L7OK", r.detail);
          assert.equal(r.detail, "HTTP 200 OK");
        });
        await t.step("the namespace's loopback is not the daemon's", async () => {
          const hc = check("http", port, { http: { responseRegexp: "netns ok" } });
          const inNs = await inside.probe(hc, backend("127.0.0.1"), NEVER);
          assert.equal(inNs.code, "L7OK", inNs.detail);
          const here = await outside.probe(hc, backend("127.0.0.1"), NEVER);
          assert.equal(here.code, "L4CON");
          assert.equal(here.detail, "connect: connection refused");
        });
        await t.step("tcp, source address and ICMP v4/v6 inside", async () => {
          const tcp = await inside.probe(
            { ...check("tcp", 8080, { probeIpv4Src: "10.231.7.1" }) },
            backend("10.231.7.2"),
            NEVER,
          );
          assert.equal(tcp.code, "L4OK", tcp.detail);
          const icmp4 = await inside.probe(check("icmp", 0), backend("10.231.7.2"), NEVER);
          assert.equal(icmp4.code, "L3OK", icmp4.detail);
          assert.equal(icmp4.detail, "echo reply from 10.231.7.2");
          const icmp6 = await inside.probe(
            check("icmp", 0, { probeIpv6Src: "fd00:231:7::1" }),
            backend("fd00:231:7::2"),
            NEVER,
          );
          assert.equal(icmp6.code, "L3OK", icmp6.detail);
        });
        await t.step("silent and unroutable addresses inside give failure codes", async () => {
          // 10.231.7.9 is on the veth subnet but nobody has it: ARP gets no answer.
          const [silent, silent6, noRoute, connect] = await Promise.all([
            inside.probe(check("icmp", 0, { timeoutMs: 300 }), backend("10.231.7.9"), NEVER),
            inside.probe(check("icmp", 0, { timeoutMs: 300 }), backend("fd00:231:7::9"), NEVER),
            inside.probe(check("icmp", 0), backend("192.0.2.1"), NEVER),
            inside.probe(check("tcp", 80, { timeoutMs: 300 }), backend("10.231.7.9"), NEVER),
          ]);
          assert.equal(silent.code, "L3TOUT", silent.detail);
          assert.equal(silent.detail, "no echo reply within 300ms");
          assert.equal(silent6.code, "L3TOUT", silent6.detail);
          assert.equal(noRoute.code, "L3CON");
          assert.equal(noRoute.detail, "send echo request to 192.0.2.1: Network is unreachable");
          assert.equal(connect.code, "L4TOUT", connect.detail);
          assert.equal(connect.detail, "connect timeout after 300ms");
        });
        await t.step("a cancelled probe in the agent resolves at once", async () => {
          const ac = new AbortController();
          const p = inside.probe(
            check("icmp", 0, { timeoutMs: 5000 }),
            backend("10.231.7.9"),
            ac.signal,
          );
          ac.abort();
          const r = await p;
          assert.equal(r.code, "L3TOUT");
          assert.equal(r.detail, "cancelled");
        });
      } finally {
        await inside.close();
        await outside.close();
        await stopVeth();
        await stopLoop();
        await cleanup();
      }
    },
  });
}

Deno.test({
  name: "netns: the agent dies with the daemon, even on SIGKILL",
  ignore: !isRoot(),
  async fn() {
    const name = `mgk${tag}`;
    await run("ip", "netns", "add", name);
    const script = `
      import { createNetnsProber } from ${
      JSON.stringify(new URL("./agent.ts", import.meta.url).href)
    };
      const p = createNetnsProber(${JSON.stringify(name)});
      const hc = { name: "hc", type: "tcp", port: 1, intervalMs: 1000, fastIntervalMs: 1000,
        downIntervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, probeIpv4Src: "", probeIpv6Src: "" };
      const be = { name: "b", address: "127.0.0.1", family: 4, healthcheck: "hc", enabled: true, description: "" };
      await p.probe(hc, be, new AbortController().signal);
      console.log(p.agentPid());
      setInterval(() => {}, 100000);`;
    const daemon = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", script],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = daemon.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      await reader.cancel();
      const pid = Number(text.trim());
      assert.ok(pid > 0, `agent pid ${JSON.stringify(text)}`);
      assert.ok(await exists(`/proc/${pid}`));
      // The agent is in the namespace: its net ns differs from ours.
      assert.notEqual(
        await Deno.readLink(`/proc/${pid}/ns/net`),
        await Deno.readLink("/proc/self/ns/net"),
      );
      daemon.kill("SIGKILL");
      await daemon.status;
      // The agent sees stdin close and exits; nothing to await across processes but /proc.
      for (let i = 0; i < 200 && await exists(`/proc/${pid}`); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(await exists(`/proc/${pid}`), false, "agent outlived the daemon");
    } finally {
      try {
        daemon.kill("SIGKILL");
      } catch {
        // Already dead.
      }
      await daemon.status;
      await run("ip", "netns", "del", name);
    }
  },
});

async function exists(path: string): Promise<boolean> {
  try {
    const st = await Deno.readTextFile(`${path}/stat`);
    // A zombie still has /proc/<pid>; it has exited.
    return !/^\d+ \(.*\) Z /.test(st);
  } catch {
    return false;
  }
}

Deno.test({
  name: "netns: the agent is restarted after it dies",
  ignore: !isRoot(),
  async fn() {
    const name = `mgr${tag}`;
    await run("ip", "netns", "add", name);
    await run("ip", "-n", name, "link", "set", "lo", "up");
    const prober = createNetnsProber(name);
    try {
      const first = await prober.probe(check("icmp", 0), backend("127.0.0.1"), NEVER);
      assert.equal(first.code, "L3OK", first.detail);
      const pid = prober.agentPid()!;
      Deno.kill(pid, "SIGKILL");
      // A probe that races the death fails with the reason; a later one gets a new agent.
      let r = await prober.probe(check("icmp", 0), backend("127.0.0.1"), NEVER);
      for (let i = 0; i < 100 && r.code !== "L3OK"; i++) {
        await new Promise((res) => setTimeout(res, 50));
        r = await prober.probe(check("icmp", 0), backend("127.0.0.1"), NEVER);
      }
      assert.equal(r.code, "L3OK", r.detail);
      assert.notEqual(prober.agentPid(), pid);
    } finally {
      await prober.close();
      await run("ip", "netns", "del", name);
    }
  },
});
