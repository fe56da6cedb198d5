/**
 * The client through the real binary (`deno run -A main.ts ...`) against a
 * daemon built from real parts (`src/cli/daemon_test_util.ts`): each exit
 * code, the front door, the timeout against a server that never answers,
 * `--json` parsed back, `watch events | head`.
 */
import { strict as assert } from "node:assert";
import { runCli, spawnCli } from "./tests/helpers/mod.ts";
import { startTestDaemon } from "./src/cli/daemon_test_util.ts";
import { FAIL, PASS } from "./src/checker/checker_test_util.ts";
import { configureLog } from "./src/log/mod.ts";

// The in-process daemon's own log would drown the test report.
configureLog({ level: "error", format: "json", write: () => {} });

const NO_DAEMON = "127.0.0.1:1";

Deno.test("front door: help in every spelling, exit 0; usage errors exit 2", async (t) => {
  await t.step("maglevd help, --server X --help, help show, show --help", async () => {
    for (const args of [["help"], ["--server", "h:1", "--help"], ["-h", "--json"]]) {
      const r = await runCli(NO_DAEMON, args, { bare: true });
      assert.equal(r.code, 0, `${args}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: maglevd \[flags\] \[shell\]/, args.join(" "));
      assert.match(r.stdout, /--timeout DUR/);
      assert.match(r.stdout, /^ {2}maglevd set backend <backend> pause\|resume\|enable\|disable$/m);
      assert.match(r.stdout, /exit status: 0 done, 1 the command failed/);
    }
    const show = await runCli(NO_DAEMON, ["help", "show"], { bare: true });
    const showHelp = await runCli(NO_DAEMON, ["show", "--help"], { bare: true });
    assert.equal(show.code, 0);
    assert.equal(show.stdout, showHelp.stdout);
    assert.match(
      show.stdout,
      /^ {2}maglevd show frontends <frontend> preview backend <backend> disable$/m,
    );
    assert.doesNotMatch(show.stdout, /set backend/);
    const shell = await runCli(NO_DAEMON, ["shell", "--help"], { bare: true });
    assert.equal(shell.code, 0);
    assert.match(shell.stdout, /interactive shell/);
  });
  await t.step("the daemon's help: maglevd --help and -h", async () => {
    for (const flag of ["--help", "-h"]) {
      const r = await runCli(NO_DAEMON, [flag], { bare: true });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^usage: maglevd \[flags\] {12}run the daemon/);
    }
  });
  await t.step("a bad flag or word is a usage error naming it, exit 2", async () => {
    const bogus = await runCli(NO_DAEMON, ["--bogus", "show", "frontends"], { bare: true });
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /^unknown flag "--bogus"\n/);
    assert.doesNotMatch(bogus.stderr, /run the daemon/, "not the daemon's usage");
    const word = await runCli(NO_DAEMON, ["show", "frontendz"]);
    assert.equal(word.code, 2);
    assert.match(word.stderr, /unknown word "frontendz" after "show"/);
    const help = await runCli(NO_DAEMON, ["help", "nosuch"]);
    assert.equal(help.code, 2);
    assert.match(help.stderr, /no command "nosuch"/);
    const timeout = await runCli(NO_DAEMON, ["--timeout", "soon", "show", "frontends"]);
    assert.equal(timeout.code, 2);
    assert.match(timeout.stderr, /invalid duration "soon"/);
  });
});

Deno.test("exit 1: the daemon says no, or is not there", async () => {
  await using d = await startTestDaemon();
  const nf = await runCli(d.server, ["show", "backends", "nope"]);
  assert.equal(nf.code, 1);
  assert.equal(nf.stdout, "");
  assert.equal(nf.stderr, 'backend "nope" not found\n');
  const vpp = await runCli(d.server, ["--color", "show", "vpp", "info"]);
  assert.equal(vpp.code, 1);
  assert.ok(vpp.stderr.startsWith("\x1b[31m") && vpp.stderr.endsWith("\x1b[0m\n"), vpp.stderr);
  assert.match(vpp.stderr, /VPP/);
  const gone = await runCli(NO_DAEMON, ["show", "frontends"]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^cannot connect to maglevd at 127\.0\.0\.1:1: .*ECONNREFUSED/);
});

Deno.test("a daemon that accepts and never answers: no answer within the timeout, exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c);
  })();
  const server = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  try {
    const def = await runCli(server, ["show", "frontends"]);
    assert.equal(def.code, 1);
    assert.equal(def.stderr, `no answer from ${server} within 5s\n`);
    const short = await runCli(server, ["show", "backends", "--timeout", "300ms"]);
    assert.equal(short.code, 1);
    assert.equal(short.stderr, `no answer from ${server} within 300ms\n`);
    const shell = await runCli(server, ["--timeout", "300ms"], { stdin: "show frontends\n" });
    assert.equal(shell.code, 1);
    assert.doesNotMatch(shell.stdout, /connected/, "no banner before the daemon answered");
    assert.equal(shell.stderr, `no answer from ${server} within 300ms\n`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("client flags before, between or after the command words", async () => {
  await using d = await startTestDaemon();
  const before = await runCli(d.server, ["show", "frontends"]);
  const after = await runCli("", ["show", "frontends", "--server", d.server, "--color=false"], {
    bare: true,
  });
  const between = await runCli("", ["show", `--server=${d.server}`, "frontends"], {
    bare: true,
  });
  assert.equal(before.code, 0, before.stderr);
  assert.equal(after.stdout, before.stdout);
  assert.equal(between.stdout, before.stdout);
  const env = await runCli("", ["sh", "fr"], { bare: true, env: { MAGLEV_SERVER: d.server } });
  assert.equal(env.stdout, before.stdout);
  assert.match(before.stdout, /^name\s+address\s+protocol\s+port\s+state\s+active-pool$/m);
  assert.match(before.stdout, /^web\s+192\.0\.2\.1\s+tcp\s+80\s+up\s+primary$/m);
});

Deno.test("one-shot commands print what the daemon holds and change it", async () => {
  await using d = await startTestDaemon();
  const fe = await runCli(d.server, ["show", "frontends", "web"]);
  assert.equal(fe.code, 0, fe.stderr);
  assert.match(fe.stdout, /^ {4}nginx1\s+weight 100\s+effective 100$/m);
  assert.match(fe.stdout, /^ {4}nginx2\s+weight 50 \s+effective 50$/m);
  assert.match(fe.stdout, /^ {4}static3\s+weight 10 \s+effective 0$/m);
  const w = await runCli(d.server, [
    ..."set fr web pool primary backend nginx2 weight 0 flush".split(" "),
  ]);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, /nginx2\s+weight 0\s+effective 0\b/);
  const dis = await runCli(d.server, ["set", "backend", "nginx1", "disable"]);
  assert.match(dis.stdout, /^enabled\s+false$/m);
  assert.match(dis.stdout, /^state\s+disabled$/m);
  const p = await runCli(d.server, ["set", "backend", "nginx1", "pause"]);
  assert.equal(p.code, 1);
  assert.equal(p.stderr, 'backend "nginx1" is disabled; enable it first\n');
  const after = await runCli(d.server, ["show", "frontends", "web"]);
  // Both primary backends out: the fallback pool carries the traffic.
  assert.match(after.stdout, /nginx1\s+weight 100\s+effective 0\s+\[disabled\]/);
  assert.match(after.stdout, /^active-pool\s+fallback$/m);
  assert.match(after.stdout, /static3\s+weight 10\s+effective 10$/m);
  const range = await runCli(d.server, [
    "set",
    "fr",
    "web",
    "pool",
    "primary",
    "backend",
    "x",
    "weight",
    "300",
  ]);
  assert.equal(range.code, 2);
  assert.match(range.stderr, /weight must be a whole number from 0 to 100, got "300"/);
});

Deno.test("lists, health checks, config check and reload, version", async () => {
  await using d = await startTestDaemon();
  const bl = await runCli(d.server, ["sh", "ba"]);
  assert.match(bl.stdout, /^nginx1\s+10\.0\.0\.1\s+up\s+true\s+http\s+\S+ ago$/m);
  assert.match(bl.stdout, /^static3\s+10\.0\.0\.3\s+up\s+true\s+-\s+\S+ ago$/m);
  const hl = await runCli(d.server, ["sh", "he"]);
  assert.match(hl.stdout, /^http\s+http\s+80\s+2s\s+2\s+3$/m);
  const h = await runCli(d.server, ["sh", "healthcheck", "http"]);
  assert.match(h.stdout, /^path\s+\/healthz$/m);
  const cc = await runCli(d.server, ["config", "check"]);
  assert.equal(cc.stdout, "config  ok\n");
  const cr = await runCli(d.server, ["config", "reload"]);
  assert.equal(cr.code, 0, cr.stderr);
  await Deno.writeTextFile(d.configPath, "maglev:\n  backends: [\n");
  const bad = await runCli(d.server, ["config", "check"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^parse-error\s+.*maglev\.yaml: .*\(line \d+, column \d+\)$/m);
  const badReload = await runCli(d.server, ["config", "reload"]);
  assert.equal(badReload.code, 1);
  const still = await runCli(d.server, ["sh", "fr"]);
  assert.match(still.stdout, /^web\s/m, "a bad reload keeps the running config");
  const v = await runCli(d.server, ["version"]);
  assert.match(v.stdout, /^version\s+\d+\.\d+\.\d+/m);
});

Deno.test("--json on every show: one document, parsed back, stable field names", async () => {
  await using d = await startTestDaemon();
  const json = async (...words: string[]) => {
    const r = await runCli(d.server, [...words, "--json"]);
    assert.equal(r.code, 0, `${words.join(" ")}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const list = await json("show", "frontends");
  assert.deepEqual(list.map((f: { name: string }) => f.name).sort(), ["dns", "web"]);
  const web = await json("show", "frontends", "web");
  assert.equal(web.activePool, "primary");
  assert.deepEqual(web.pools[0].backends[0], {
    name: "nginx1",
    weight: 100,
    effectiveWeight: 100,
    enabled: true,
    adopted: false,
  });
  const b = await json("show", "backends", "nginx1");
  assert.equal(b.state, "up");
  assert.equal(typeof b.transitions[0].atMs, "number");
  assert.equal(b.transitions[0].to, "up");
  const bs = await json("show", "backends");
  assert.equal(bs.length, 3);
  const hc = await json("show", "healthchecks", "http");
  assert.equal(hc.intervalMs, 2000);
  assert.equal(hc.http.path, "/healthz");
  assert.equal((await json("show", "healthchecks")).length, 2);
  // The documented field names (docs/user-guide.md, JSON output): a rename breaks this.
  const keys = (o: Record<string, unknown>) => Object.keys(o).sort();
  assert.deepEqual(keys(web), [
    "activePool",
    "address",
    "description",
    "fingerprint",
    "flushOnDown",
    "name",
    "pools",
    "port",
    "protocol",
    "srcIpSticky",
    "state",
    "vppSyncError",
    "warning",
  ]);
  assert.deepEqual(keys(b), [
    "address",
    "description",
    "enabled",
    "health",
    "healthMax",
    "healthcheck",
    "name",
    "probes",
    "state",
    "transitions",
  ]);
  assert.deepEqual(keys(b.transitions[0]), ["atMs", "code", "detail", "from", "to"]);
  assert.deepEqual(keys(b.probes[0]), ["atMs", "code", "detail", "durationMs", "ok"]);
  assert.deepEqual(keys(hc), [
    "downIntervalMs",
    "fall",
    "fastIntervalMs",
    "http",
    "intervalMs",
    "name",
    "port",
    "probeIpv4Src",
    "probeIpv6Src",
    "rise",
    "timeoutMs",
    "type",
  ]);
  const cc = await json("config", "check");
  assert.deepEqual(cc, { ok: true, parseError: "", semanticError: "" });
});

Deno.test("watch events: one JSON object per line when piped; num stops it", async () => {
  await using d = await startTestDaemon();
  const r = await runCli(d.server, ["watch", "events", "num", "3", "backend"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  for (const e of lines) {
    assert.equal(e.kind, "backend");
    assert.equal(typeof e.seq, "number");
    assert.equal(typeof e.atMs, "number");
    assert.ok("from" in e && "to" in e && "code" in e && "backend" in e);
  }
});

Deno.test("watch events | head: ends quietly when the reader goes away, one-shot and shell", async () => {
  await using d = await startTestDaemon();
  const variants: { args: string[]; stdin?: string }[] = [
    { args: ["watch", "events", "backend"] },
    { args: ["shell"], stdin: "show frontends\nwatch events backend\n" },
  ];
  for (const v of variants) {
    const child = await spawnCli(d.server, v.args, { stdin: v.stdin });
    // Like `head -1`: read one line, then close the pipe.
    const reader = child.stdout.getReader();
    let got = "";
    while (!got.includes("\n")) {
      const { value } = await reader.read();
      got += new TextDecoder().decode(value);
    }
    await reader.cancel();
    // The next events make the client write into the closed pipe.
    for (const b of ["nginx1", "nginx2"]) {
      d.prober.behaviour.set(b, d.prober.behaviour.get(b) === FAIL ? PASS : FAIL);
    }
    const done = child.status;
    while (!(await Promise.race([done.then(() => true), d.settle(1000).then(() => false)]))) {
      // Each round of fake time fails (or passes) one more probe and sends an event.
    }
    const status = await done;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(stderr, "", v.args.join(" "));
    assert.equal(status.code, 0, v.args.join(" "));
  }
});

Deno.test("the shell over piped input: banner after connecting; none when unreachable", async () => {
  await using d = await startTestDaemon();
  const ok = await runCli(d.server, [], { stdin: "show frontends\n" });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^maglevd \S+ connected to 127\.0\.0\.1:\d+\n/);
  assert.match(ok.stdout, /^web\s+192\.0\.2\.1/m);
  const bad = await runCli(d.server, [], { stdin: "show frontendz\n" });
  assert.equal(bad.code, 1, "a failed line in a script fails the run");
  const gone = await runCli(NO_DAEMON, ["shell"], { stdin: "show frontends\n" });
  assert.equal(gone.code, 1);
  assert.doesNotMatch(gone.stdout, /connected/);
  assert.match(gone.stderr, /cannot connect to maglevd at 127\.0\.0\.1:1/);
});
