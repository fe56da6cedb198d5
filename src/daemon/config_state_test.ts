import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { Checker } from "../checker/mod.ts";
import { FakeProber } from "../checker/checker_test_util.ts";
import { FakeClock } from "../clock.ts";
import { addLogListener, configureLog, type LogRecord } from "../log/mod.ts";
import { ConfigState, type ReloadHooks } from "./config_state.ts";

configureLog({ level: "error", format: "json", write: () => {} });

const GOOD = [
  "maglev:",
  "  backends:",
  "    a: { address: 10.0.0.1 }",
  "  frontends:",
  "    web:",
  "      address: 192.0.2.1",
  "      protocol: tcp",
  "      port: 80",
  "      pools: [{ name: p, backends: { a: {} } }]",
  "",
].join("\n");
const WITH_B = GOOD.replace(
  "    a: { address: 10.0.0.1 }",
  "    a: { address: 10.0.0.1 }\n    b: { address: 10.0.0.2 }",
)
  .replace("backends: { a: {} }", "backends: { a: {}, b: {} }");
const BAD = GOOD.replace("port: 80", "port: 70000");

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A config file in a temporary directory, its state, and a checker on its first load. */
async function rig(text: string) {
  const dir = await Deno.makeTempDir({ prefix: "maglev-config-state-" });
  const path = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(path, text);
  const clock = new FakeClock(1_700_000_000_000);
  const state = new ConfigState(path, { vppEnabled: false, clock });
  return {
    path,
    state,
    clock,
    write: (t: string) => Deno.writeTextFile(path, t),
    checker: async () =>
      new Checker(await state.initial(), {
        probe: new FakeProber().probe,
        clock,
        random: () => 0.5,
      }),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function hooks(calls: string[]): ReloadHooks {
  return {
    starting: () => void calls.push("starting"),
    applied: () => {
      calls.push("applied");
      return Promise.resolve();
    },
    finished: () => void calls.push("finished"),
  };
}

Deno.test("config_state: the first load sets the hash; a bad one throws naming every issue", async () => {
  await using good = await rig(GOOD);
  assert.equal(good.state.hash(), "");
  await good.state.initial();
  assert.equal(good.state.hash(), sha256(GOOD));
  assert.equal(good.state.lastReload(), undefined, "a start is not a reload");

  await using bad = await rig(BAD);
  await assert.rejects(bad.state.initial(), (e: Error) => {
    assert.equal(
      e.message,
      `config semantic error:\n  ${bad.path}: maglev.frontends.web.port: ` +
        "must be from 0 (all ports) to 65535, got 70000 (line 8, column 13)",
    );
    return true;
  });
  assert.equal(bad.state.hash(), "");
});

Deno.test("config_state: check reads the file as it is now and names it", async () => {
  await using r = await rig(GOOD);
  assert.deepEqual(await r.state.check(), { ok: true });
  await r.write("maglev: [\n");
  const result = await r.state.check();
  assert.deepEqual([result.ok, result.kind], [false, "parse"]);
  assert.ok(result.error?.startsWith(`${r.path}: `), JSON.stringify(result));
});

Deno.test("config_state: a failed reload is recorded and logged, and changes nothing", async () => {
  await using r = await rig(GOOD);
  const checker = await r.checker();
  const logs: LogRecord[] = [];
  const stop = addLogListener((l) => logs.push(l), { level: "error" });
  try {
    await r.write(BAD);
    await r.clock.advance(5000);
    const calls: string[] = [];
    const out = await r.state.reloader(checker, hooks(calls))();
    assert.equal(out.ok, false);
    assert.deepEqual(calls, [], "no hook runs for a config that does not load");
    assert.equal(r.state.hash(), sha256(GOOD));
    const last = r.state.lastReload()!;
    assert.deepEqual([last.atMs, last.ok], [1_700_000_005_000, false]);
    assert.match(last.error, /must be from 0 \(all ports\) to 65535, got 70000/);
    assert.deepEqual(logs.map((l) => [l.msg, l.attrs.file]), [[
      "config-reload-semantic-error",
      r.path,
    ]]);
    assert.deepEqual(Object.keys(checker.config().backends), ["a"]);
  } finally {
    stop();
  }
});

Deno.test("config_state: a reload applies, runs its hooks in order and returns the plan", async () => {
  await using r = await rig(GOOD);
  const checker = await r.checker();
  await r.write(WITH_B);
  const calls: string[] = [];
  const out = await r.state.reloader(checker, hooks(calls))();
  assert.ok(out.ok);
  assert.deepEqual(calls, ["starting", "applied", "finished"]);
  assert.deepEqual(Object.keys(checker.config().backends), ["a", "b"]);
  assert.equal(r.state.hash(), sha256(WITH_B));
  assert.deepEqual(r.state.lastReload(), { atMs: 1_700_000_000_000, ok: true, error: "" });
  assert.equal(out.plan?.changed, true);
  await checker.stop();
});

Deno.test("config_state: finished runs even when applying the config fails", async () => {
  await using r = await rig(GOOD);
  const checker = await r.checker();
  await r.write(WITH_B);
  const calls: string[] = [];
  const failing: ReloadHooks = {
    ...hooks(calls),
    applied: () => Promise.reject(new Error("VPP resync failed")),
  };
  const out = await r.state.reloader(checker, failing)();
  // systemd hears READY=1 again whatever happened; the error reaches the caller.
  assert.deepEqual(calls, ["starting", "finished"]);
  assert.deepEqual([out.ok, !out.ok && out.error], [false, "VPP resync failed"]);
  await checker.stop();
});

Deno.test("config_state: diff plans a candidate without applying it", async () => {
  await using r = await rig(GOOD);
  const checker = await r.checker();
  const plan = await r.state.diff(checker, { yaml: WITH_B });
  assert.equal(plan.ok, true);
  assert.equal(plan.changed, true);
  assert.deepEqual(Object.keys(checker.config().backends), ["a"], "nothing applied");
  assert.equal(r.state.hash(), sha256(GOOD));
  const bad = await r.state.diff(checker, { yaml: BAD });
  assert.equal(bad.ok, false);
  assert.match(bad.semantic_error, /^<yaml>: maglev\.frontends\.web\.port: /);
  const missing = await r.state.diff(checker, { path: `${r.path}.nope` });
  assert.match(missing.parse_error, new RegExp(`^${r.path}\\.nope: `));
  assert.deepEqual((await r.state.diff(checker, {})).changed, false, "the daemon's own file");
});
