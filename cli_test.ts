import { strict as assert } from "node:assert";
import { DEFAULT_SERVER, parseClientFlags, runClient } from "./cli.ts";
import { FakeBackend } from "./src/cli/fake_backend.ts";
import { FakeClock } from "./src/clock.ts";

const NOW = Date.UTC(2026, 3, 1, 12, 0, 0);

async function run(args: string[], fake = new FakeBackend({ now: NOW })) {
  let out = "";
  let err = "";
  const code = await runClient(args, {
    backend: fake,
    env: () => undefined,
    isTerminal: false,
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    clock: new FakeClock(NOW),
  });
  return { code, out, err, fake };
}

Deno.test("flags: --server, env, single dash, --color forms", () => {
  assert.deepEqual(parseClientFlags(["show", "version"]), {
    server: DEFAULT_SERVER,
    color: false,
    command: ["show", "version"],
    help: false,
  });
  const env = (n: string) => (n === "MAGLEV_SERVER" ? "10.1.1.1:9000" : undefined);
  assert.equal(parseClientFlags([], { env }).server, "10.1.1.1:9000");
  assert.equal(parseClientFlags(["--server", "/run/m.sock"], { env }).server, "/run/m.sock");
  assert.equal(parseClientFlags(["-server=unix:/x"], { env }).server, "unix:/x");
  assert.equal(parseClientFlags([], { isTerminal: true }).color, true);
  assert.equal(parseClientFlags(["--color=false"], { isTerminal: true }).color, false);
  assert.equal(parseClientFlags(["-color"], { isTerminal: false }).color, true);
  assert.deepEqual(parseClientFlags(["--color=0", "sh", "--x"]).command, ["sh", "--x"]);
  assert.throws(() => parseClientFlags(["--colour"]), /unknown flag "--colour"/);
  assert.throws(
    () => parseClientFlags(["--color=maybe"]),
    /invalid value "maybe" for flag --color=maybe/,
  );
  assert.throws(() => parseClientFlags(["--server"]), /flag --server needs a value/);
});

Deno.test("one-shot: output on stdout, exit 0", async () => {
  const r = await run(["show", "frontends", "web"]);
  assert.equal(r.code, 0);
  assert.equal(r.err, "");
  assert.match(r.out, /nginx1\s+weight\s+\d+\s+effective\s+100\b/);
  assert.match(r.out, /state\s+up/);
  assert.ok(r.fake.closed, "the connection is closed after the command");
});

Deno.test("one-shot: a server error is stripped, on stderr, exit 1", async () => {
  const r = await run(["--color=false", "show", "backends", "nope"]);
  assert.equal(r.code, 1);
  assert.equal(r.out, "");
  assert.equal(r.err, 'backend "nope" not found\n');
  const c = await run(["--color", "show", "vpp", "info"]);
  assert.equal(c.code, 1);
  assert.equal(c.err, "\x1b[31mVPP is not connected\x1b[0m\n");
});

Deno.test("one-shot: parse errors name the token and exit 1 without calling the server", async () => {
  const r = await run(["show", "frontends", "web", "extra"]);
  assert.equal(r.code, 1);
  assert.equal(r.err, 'unexpected "extra": "show frontends web" takes nothing more\n');
  assert.deepEqual(r.fake.calls, []);
  const w = await run([
    "set",
    "frontend",
    "web",
    "pool",
    "primary",
    "backend",
    "nginx1",
    "weight",
    "300",
  ]);
  assert.equal(w.code, 1);
  assert.match(w.err, /weight must be a whole number from 0 to 100, got "300"/);
  assert.deepEqual(w.fake.calls, []);
});

Deno.test("one-shot: bad flags exit 2 with usage", async () => {
  const r = await run(["--bogus", "show", "version"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown flag "--bogus"/);
  assert.match(r.err, /usage: maglevd/);
});

Deno.test("one-shot: ? echoes the line and lists next words", async () => {
  const r = await run(["show", "vpp", "?"]);
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    "show vpp ?\n  info  VPP version, pid and uptime\n  lb    VPP load-balancer plugin\n",
  );
});

Deno.test("one-shot: set commands call the right RPC and print the result", async () => {
  const fake = new FakeBackend({ now: NOW });
  const w = await run([
    "set",
    "fr",
    "web",
    "pool",
    "primary",
    "backend",
    "nginx2",
    "weight",
    "0",
    "flush",
  ], fake);
  assert.equal(w.code, 0, w.err);
  assert.deepEqual(fake.calls, ["setWeight web primary nginx2 0 true"]);
  assert.match(w.out, /nginx2\s+weight\s+0\s+effective\s+0\b/);
  const d = await run(["set", "backend", "nginx1", "disable"], fake);
  assert.equal(d.code, 0);
  assert.match(d.out, /enabled\s+false/);
  assert.match(d.out, /state\s+disabled/);
  const p = await run(["set", "backend", "nginx1", "pause"], fake);
  assert.equal(p.code, 1);
  assert.equal(p.err, 'backend "nginx1" is disabled; enable it first\n');
  const f = await run(["show", "frontends", "web"], fake);
  assert.match(f.out, /nginx1\s+weight\s+100\s+effective\s+0\s+\[disabled\]/);
});

Deno.test("one-shot: lists, vpp state and counters, config, sync, version", async () => {
  const fl = await run(["sh", "fr"]);
  assert.match(fl.out, /^name\s+address\s+protocol\s+port\s+state\s+active-pool$/m);
  assert.match(fl.out, /^web\s+192\.0\.2\.1\s+tcp\s+80\s+up\s+primary$/m);
  const bl = await run(["sh", "ba"]);
  assert.match(bl.out, /^nginx1\s+10\.0\.0\.1\s+up\s+true\s+http\s+1m5s ago$/m);
  const hl = await run(["sh", "he"]);
  assert.match(hl.out, /^http\s+http\s+80\s+2s\s+2\s+3$/m);
  const h = await run(["sh", "healthcheck", "http"]);
  assert.match(h.out, /^path\s+\/healthz$/m);
  assert.match(h.out, /^response-code\s+200-399$/m);
  const lb = await run(["sh", "vpp", "lb", "state"]);
  assert.match(lb.out, /^sticky-buckets-per-core\s+1024$/m);
  assert.match(lb.out, /vip 192\.0\.2\.1\/32 tcp port 80 {2}\(frontend web\)/);
  assert.match(lb.out, /10\.0\.0\.1\s+weight 100\s+buckets 683/);
  const ct = await run(["sh", "vpp", "lb", "co"]);
  assert.match(ct.out, /^web\s+192\.0\.2\.1\/32\s+tcp\s+80\s+1200\s+30\s+0\s+2$/m);
  const cc = await run(["config", "check"]);
  assert.equal(cc.out, "config  ok\n");
  const cr = await run(["config", "reload"]);
  assert.equal(cr.out, "config  reloaded\n");
  const sy = await run(["sync", "vpp", "lb", "state", "web"]);
  assert.match(sy.out, /^synced\s+web$/m);
  assert.deepEqual(sy.fake.calls, ["syncVppLbState web"]);
  const sn = await run(["sync", "vpp", "lb", "state", "nope"]);
  assert.equal(sn.code, 1);
  assert.equal(sn.err, 'frontend "nope" not found\n');
  const v = await run(["version"]);
  assert.match(v.out, /^version\s+\d+\.\d+\.\d+/m);
});

Deno.test("one-shot: watch events prints one JSON line per event and stops after num", async () => {
  const events = [{ backend: { backend: "a" } }, { frontend: { frontend: "web" } }, {
    log: { msg: "x" },
  }];
  const fake = new FakeBackend({ now: NOW, events });
  const r = await run(["watch", "events", "num", "2", "log", "level", "debug", "backend"], fake);
  assert.equal(r.code, 0);
  assert.equal(r.out, '{"backend":{"backend":"a"}}\n{"frontend":{"frontend":"web"}}\n');
  assert.deepEqual(fake.calls, ["watchEvents log=true level=debug backend=true frontend=false"]);
  const all = new FakeBackend({ now: NOW, events });
  await run(["watch", "events", "num", "1"], all);
  assert.deepEqual(all.calls, ["watchEvents log=true level=info backend=true frontend=true"]);
});

Deno.test("an unreachable daemon is named in the error", async () => {
  const { connectionHint } = await import("./src/cli/execute.ts");
  assert.equal(
    connectionHint(
      "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ",
      "127.0.0.1:1",
    ),
    "cannot connect to maglevd at 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1",
  );
  assert.equal(connectionHint('backend "x" not found', "s"), 'backend "x" not found');
});

Deno.test("runClient against a port where nothing listens fails with exit 1 and a clear error", async () => {
  let err = "";
  const code = await runClient(["--server", "127.0.0.1:1", "--color=false", "show", "frontends"], {
    env: () => undefined,
    stdout: () => {},
    stderr: (t) => (err += t),
  });
  assert.equal(code, 1);
  assert.match(err, /^cannot connect to maglevd at 127\.0\.0\.1:1: /);
});
