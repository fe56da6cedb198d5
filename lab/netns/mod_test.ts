import { strict as assert } from "node:assert";
import { parseConfig } from "../../src/config/mod.ts";
import { stringify } from "yaml";
import {
  cleanupStaleLabs,
  labConfig,
  labSkipReason,
  listNamespaces,
  mergeConfig,
  run,
  setupLab,
} from "./mod.ts";

const skip = labSkipReason();
if (skip !== undefined) console.log(`lab/netns: root-lab tests skipped: ${skip}`);

/** An HTTP/1.0 GET from inside namespace `ns` with bash's /dev/tcp (no curl needed). */
function httpGetArgv(address: string, path: string): string[] {
  return [
    "bash",
    "-c",
    `exec 3<>/dev/tcp/${address}/80 && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`,
  ];
}

/** Pids whose command line contains `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (cmd.includes(text)) pids.push(Number(e.name));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

Deno.test("mergeConfig merges maps, replaces lists and deletes null keys", () => {
  const base = { a: { b: 1, c: [1, 2] }, d: "x" };
  const out = mergeConfig(base, { a: { c: [3], e: true }, d: null });
  assert.deepEqual(out, { a: { b: 1, c: [3], e: true } });
  assert.deepEqual(base, { a: { b: 1, c: [1, 2] }, d: "x" }, "the base is not changed");
});

Deno.test("the lab config validates and probes through the dataplane namespace", () => {
  const backends = Object.fromEntries(
    [11, 12, 13].map((h) => [`nginx${h - 10}`, {
      name: `nginx${h - 10}`,
      address: `172.20.30.${h}`,
      address6: `fd20:30::${h.toString(16)}`,
      namespace: `ns${h}`,
      accessLog: "",
      errorLog: "",
      configPath: "",
      pidFile: "",
    }]),
  );
  const text = stringify({ maglev: labConfig("mglab-dp", backends) });
  const r = parseConfig(text, { source: "lab.yaml" });
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.issues));
  assert.equal(r.config.healthchecker.netns, "mglab-dp");
  assert.deepEqual(Object.keys(r.config.frontends).sort(), ["failover-vip", "http-vip"]);
});

Deno.test({
  name: "setupLab: nginx serves every host through the dataplane bridge; teardown removes all",
  ignore: skip !== undefined,
  async fn() {
    const lab = await setupLab();
    let tornDown = false;
    try {
      assert.deepEqual(Object.keys(lab.backends), ["nginx1", "nginx2", "nginx3"]);
      const mine = (await listNamespaces()).filter((n) => n.startsWith(lab.id));
      assert.deepEqual(
        mine.sort(),
        [
          lab.dataplane,
          ...Object.values(lab.backends).map((b) => b.namespace),
        ].sort(),
      );
      for (const b of Object.values(lab.backends)) {
        for (const addr of [b.address, b.address6]) {
          const r = await lab.exec(lab.dataplane, httpGetArgv(addr, "/healthz"));
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /^HTTP\/1\.1 200 OK/);
          assert.match(r.stdout, new RegExp(`ok ${b.name}`));
        }
        const lines = await lab.accessLogLines(b.name);
        assert.equal(lines.length, 2);
        assert.match(lines[0], /^172\.20\.30\.1 .*"GET \/healthz HTTP\/1\.0" 200 /);
        assert.match(lines[1], /^fd20:30::1 .*"GET \/healthz HTTP\/1\.0" 200 /);
      }
      await lab.stopBackend("nginx2");
      assert.equal(lab.isRunning("nginx2"), false);
      const refused = await lab.exec(lab.dataplane, httpGetArgv("172.20.30.12", "/healthz"));
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Connection refused/);
      await lab.startBackend("nginx2");
      const again = await lab.exec(lab.dataplane, httpGetArgv("172.20.30.12", "/healthz"));
      assert.equal(again.code, 0, again.stderr);
      assert.equal((await lab.accessLogLines("nginx2")).length, 3, "the access log is appended");

      await assert.rejects(() => lab.stopBackend("nginx9"), /unknown backend "nginx9"/);
      await lab.teardown();
      tornDown = true;
      assert.deepEqual((await listNamespaces()).filter((n) => n.startsWith(lab.id)), []);
      assert.deepEqual(processesMentioning(lab.dir), [], "no nginx of this lab survives teardown");
    } finally {
      if (!tornDown) await lab.teardown();
    }
  },
});

Deno.test({
  name: "cleanupStaleLabs removes namespaces of dead runs and keeps live ones",
  ignore: skip !== undefined,
  async fn() {
    // pid 2^22+1 is above pid_max's ceiling on Linux, so it can never be alive.
    const dead = `mgltest-4194305-abcdef-dp`;
    const live = `mgltest-${Deno.pid}-abcdef-dp`;
    try {
      assert.equal((await run(["ip", "netns", "add", dead])).code, 0);
      assert.equal((await run(["ip", "netns", "add", live])).code, 0);
      assert.deepEqual(await cleanupStaleLabs("mgltest"), [dead]);
      const left = await listNamespaces();
      assert.ok(!left.includes(dead));
      assert.ok(left.includes(live));
    } finally {
      await run(["ip", "netns", "del", dead]);
      await run(["ip", "netns", "del", live]);
    }
  },
});

Deno.test({
  name: "setupLab rejects a bad host spec and names it",
  ignore: skip !== undefined,
  async fn() {
    await assert.rejects(
      () => setupLab({ hosts: [{ name: "Bad Name", host: 11 }] }),
      /bad host .*Bad Name/,
    );
  },
});
