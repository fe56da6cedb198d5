/**
 * The commands where the daemon reports on itself and on what a change
 * would do, through the real binary against a daemon built from real parts:
 * `show status`, `show version`, `show config`, `config diff` (add, remove,
 * probe change, VIP recreate), `config reload` with its plan, the
 * disruption preview and the fingerprint.
 */
import { strict as assert } from "node:assert";
import { runCli, waitFor } from "./tests/helpers/mod.ts";
import { startTestDaemon, WORLD_YAML } from "./src/cli/daemon_test_util.ts";
import { configureLog } from "./src/log/mod.ts";

// The in-process daemon's own log would drown the test report.
configureLog({ level: "error", format: "json", write: () => {} });

const NEW_VIP = `    new-vip:
      address: 192.0.2.3
      protocol: tcp
      port: 443
      pools:
        - { name: primary, backends: { nginx1: {} } }
`;

/** WORLD_YAML with `edit` applied, written to a file of its own. */
async function candidate(edit: (yaml: string) => string): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "maglev-candidate-", suffix: ".yaml" });
  const yaml = edit(WORLD_YAML);
  assert.notEqual(yaml, WORLD_YAML, "the edit changed nothing");
  await Deno.writeTextFile(path, yaml);
  return path;
}

Deno.test("config diff: add, remove, probe change, VIP recreate; nothing changes", async (t) => {
  const d = await startTestDaemon();
  const files: string[] = [];
  const diff = async (edit: (yaml: string) => string) => {
    const file = await candidate(edit);
    files.push(file);
    const text = await runCli(d.server, ["config", "diff", file]);
    const json = await runCli(d.server, ["config", "diff", file, "--json"]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(json.code, 0, json.stderr);
    return { text: text.stdout, plan: JSON.parse(json.stdout) };
  };
  try {
    await t.step("the running file: no change", async () => {
      const r = await runCli(d.server, ["config", "diff"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "plan  no change\n");
    });
    await t.step("a frontend added", async () => {
      const { text, plan } = await diff((y) => y + NEW_VIP);
      assert.deepEqual(plan.frontendsAdded, ["new-vip"]);
      assert.equal(plan.changed, true);
      assert.match(text, /^frontends-added\n {2}new-vip$/m);
    });
    await t.step("a frontend and its only backend removed", async () => {
      const { text, plan } = await diff((y) =>
        y.replace(/ {4}dns:\n(.*\n)*/, "").replace(/ {4}nginx2: .*\n/, "")
          .replace(", nginx2: { weight: 50 }", "")
      );
      assert.deepEqual(plan.frontendsRemoved, ["dns"]);
      assert.deepEqual(plan.backendsRemoved, ["nginx2"]);
      assert.match(text, /^frontends-removed\n {2}dns$/m);
      assert.match(text, /^backends-removed\n {2}nginx2$/m);
    });
    await t.step("a probe change restarts the probes that use it, naming why", async () => {
      const { text, plan } = await diff((y) => y.replace("interval: 2s", "interval: 3s"));
      assert.deepEqual(plan.probesRestarted.map((p: { backend: string }) => p.backend), [
        "nginx1",
        "nginx2",
      ]);
      assert.match(text, /^probes-restarted\n {2}nginx1 {2}\S.*\n {2}nginx2 {2}\S.*$/m);
    });
    await t.step("a port change recreates the VIP and says which flows break", async () => {
      const { text, plan } = await diff((y) =>
        y.replace("port: 80\n      pools", "port: 8080\n      pools")
      );
      assert.equal(plan.vipsRecreated.length, 1);
      const v = plan.vipsRecreated[0];
      assert.equal(v.frontend, "web");
      assert.match(v.reason, /80 -> .*8080/);
      assert.match(
        text,
        /^vips-recreated\n {2}web {2}192\.0\.2\.1 tcp port 80 {2}.*8080.*: .*flow/m,
      );
    });
    await t.step("a weight change", async () => {
      const { text } = await diff((y) =>
        y.replace("nginx2: { weight: 50 }", "nginx2: { weight: 20 }")
      );
      assert.match(text, /^ {2}web primary nginx2 {2}weight 50 -> 20 {2}effective 50 -> 20$/m);
    });
    await t.step("a file that does not load: its error, exit 1; a missing file", async () => {
      const bad = await candidate(() => "maglev:\n  backends: [\n");
      files.push(bad);
      const r = await runCli(d.server, ["config", "diff", bad]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /line \d+, column \d+/);
      const gone = await runCli(d.server, ["config", "diff", "/nonexistent/maglev.yaml"]);
      assert.equal(gone.code, 1);
      assert.equal(gone.stderr, "cannot read /nonexistent/maglev.yaml: no such file\n");
    });
    const still = await runCli(d.server, ["show", "frontends"]);
    assert.doesNotMatch(still.stdout, /new-vip/, "a diff changes nothing");
  } finally {
    for (const f of files) await Deno.remove(f);
    await d.close();
  }
});

Deno.test("config reload prints the plan it applied", async () => {
  await using d = await startTestDaemon();
  await Deno.writeTextFile(d.configPath, WORLD_YAML + NEW_VIP);
  const r = await runCli(d.server, ["config", "reload"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^config\s+reloaded\nplan\s+changes\nfrontends-added\n {2}new-vip$/m);
  const j = await runCli(d.server, ["config", "reload", "--json"]);
  assert.equal(JSON.parse(j.stdout).plan.changed, false, "the second reload changes nothing");
  const list = await runCli(d.server, ["show", "frontends"]);
  assert.match(list.stdout, /^new-vip\s/m);
});

Deno.test("show status, show version, show config", async () => {
  await using d = await startTestDaemon();
  const s = await runCli(d.server, ["show", "status"]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^version\s+\d+\.\d+\.\d+ \(commit \S+, built .*\)$/m);
  assert.match(s.stdout, /^config\s+\/.*maglev\.yaml$/m);
  assert.match(s.stdout, /^vpp\s+disabled$/m);
  assert.match(s.stdout, /^backends\s+up 3$/m);
  const j = JSON.parse((await runCli(d.server, ["show", "status", "--json"])).stdout);
  assert.equal(j.configPath, d.configPath);
  assert.deepEqual(j.backends, { up: 3 });
  assert.equal(j.vpp.state, "disabled");
  const v = await runCli(d.server, ["show", "version"]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(
    v.stdout,
    /^version\s+\S+\ncommit\s+\S+\nbuild-date\s+\S+\ndaemon-version\s+\S+$/m,
  );
  const vj = JSON.parse((await runCli(d.server, ["version", "--json"])).stdout);
  assert.deepEqual(Object.keys(vj.daemon), ["version", "commit", "buildDate"]);
  const c = await runCli(d.server, ["show", "config"]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /nginx1/);
  assert.match(c.stdout, /transition-history: \d+/, "defaults applied");
});

Deno.test("preview and fingerprint against the VPP double", async () => {
  await using d = await startTestDaemon({ vpp: true });
  const p = await runCli(d.server, [
    "show",
    "frontends",
    "web",
    "preview",
    "backend",
    "nginx2",
    "weight",
    "0",
  ]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /^buckets-moved\s+\d+ of \d+ \(\d+\.\d%\)$/m);
  assert.match(p.stdout, /^moves\n {2}nginx2 -> nginx1\s+\d+$/m);
  const dis = await runCli(d.server, [
    "--json",
    "sh",
    "fr",
    "web",
    "preview",
    "backend",
    "nginx1",
    "disable",
  ]);
  const pj = JSON.parse(dis.stdout);
  assert.ok(pj.bucketsMoved > 0);
  assert.equal(pj.after.find((b: { backend: string }) => b.backend === "nginx1").buckets, 0);
  const fe = await runCli(d.server, ["show", "frontends", "web"]);
  assert.match(fe.stdout, /^fingerprint\s+\S+$/m);
  const after = await runCli(d.server, ["show", "frontends", "web"]);
  assert.match(after.stdout, /nginx2\s+weight 50\s+effective 50/, "a preview changes nothing");
});

Deno.test("set weight while VPP is configured but not connected: done, with a warning", async () => {
  await using d = await startTestDaemon({ vpp: true });
  await d.sim?.close();
  const r = await runCli(d.server, [
    ..."set frontend web pool primary backend nginx2 weight 20".split(" "),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nginx2\s+weight 20\s+effective 20/);
  assert.match(r.stderr, /^warning: .*(reconnect|connected)/);
  const j = JSON.parse(
    (await runCli(d.server, [
      ..."set fr web pool primary backend nginx2 weight 30 --json".split(" "),
    ]))
      .stdout,
  );
  assert.match(j.warning, /connect/);
});

Deno.test("an incompatible VPP: show vpp info and show status name the missing messages", async () => {
  await using d = await startTestDaemon({ vpp: true, omitMessages: ["lb_as_set_weight"] });
  const status = async () => (await runCli(d.server, ["show", "status", "--json"])).stdout;
  await waitFor(
    "the manager to find VPP incompatible",
    async () => JSON.parse(await status()).vpp.state === "incompatible",
    { describe: status },
  );
  const info = await runCli(d.server, ["show", "vpp", "info"]);
  assert.equal(info.code, 1);
  assert.match(info.stderr, /lb_as_set_weight_[0-9a-f]{8}/);
  assert.doesNotMatch(info.stderr, /not connected/);
  const s = await runCli(d.server, ["show", "status"]);
  assert.match(
    s.stdout,
    /^vpp\s+incompatible \(.*api\.sock\): missing lb_as_set_weight_[0-9a-f]{8}/m,
  );
});
