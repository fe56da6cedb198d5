import { strict as assert } from "node:assert";
import { Checker } from "../checker/mod.ts";
import { FakeProber, makeConfig } from "../checker/checker_test_util.ts";
import { FakeClock } from "../clock.ts";
import { configureLog } from "../log/mod.ts";
import { renderFamilies } from "./exposition.ts";
import { familySet } from "./families.ts";
import { addSelfFamilies, processRegistry, type SelfFacts } from "./self.ts";
import type { MetricsVpp } from "./state.ts";

configureLog({ level: "error", format: "json", write: () => {} });

/** Two frontends of static backends (up at once, no probes). */
async function rig(vpp?: Partial<MetricsVpp>) {
  const clock = new FakeClock();
  const checker = new Checker(
    makeConfig({
      backends: { a: "10.0.0.1", b: "10.0.0.2" },
      frontends: {
        web: { pools: [["p", { a: 100, b: 100 }]] },
        dns: { pools: [["p", { b: 50 }]], address: "192.0.2.53" },
      },
    }),
    { probe: new FakeProber().probe, clock, random: () => 0.5 },
  );
  checker.start();
  await clock.advance(0);
  let reload: { atMs: number; ok: boolean } | undefined;
  const facts: SelfFacts = {
    version: "1.2.3",
    commit: "abc123",
    startedAtMs: 1_700_000_000_500,
    lastReload: () => reload,
  };
  const set = familySet(checker);
  addSelfFamilies(set, { facts, checker, vpp: vpp as MetricsVpp | undefined });
  const lines = async (prefix: string) => {
    set.collectAll();
    const text = await renderFamilies(set.families);
    return text.split("\n").filter((l) => l.startsWith(prefix));
  };
  return {
    checker,
    lines,
    setReload: (r: typeof reload) => reload = r,
    [Symbol.asyncDispose]: () => checker.stop(),
  };
}

Deno.test("self: build info is always 1 with version and commit", async () => {
  await using r = await rig();
  assert.deepEqual(await r.lines("maglev_build_info"), [
    'maglev_build_info{commit="abc123",version="1.2.3"} 1',
  ]);
});

Deno.test("self: the last config load is the start until a reload, then the reload", async () => {
  await using r = await rig();
  assert.deepEqual(await r.lines("maglev_config_last_reload"), [
    "maglev_config_last_reload_success 1",
    "maglev_config_last_reload_timestamp_seconds 1700000000.5",
  ]);
  r.setReload({ atMs: 1_700_000_060_000, ok: false });
  assert.deepEqual(await r.lines("maglev_config_last_reload"), [
    "maglev_config_last_reload_success 0",
    "maglev_config_last_reload_timestamp_seconds 1700000060",
  ]);
  r.setReload({ atMs: 1_700_000_120_000, ok: true });
  assert.deepEqual(await r.lines("maglev_config_last_reload_success"), [
    "maglev_config_last_reload_success 1",
  ]);
});

Deno.test("self: fingerprints exist only with VPP enabled, one per frontend", async () => {
  await using off = await rig();
  assert.deepEqual(await off.lines("maglev_vip_fingerprint_info"), []);
  await using disabled = await rig({ enabled: () => false });
  assert.deepEqual(await disabled.lines("maglev_vip_fingerprint_info"), []);

  await using on = await rig({ enabled: () => true });
  const before = await on.lines("maglev_vip_fingerprint_info");
  assert.equal(before.length, 2, before.join("\n"));
  for (const [line, fe] of before.map((l, i) => [l, ["dns", "web"][i]])) {
    assert.match(
      line,
      new RegExp(`^maglev_vip_fingerprint_info\\{fingerprint="[^"]+",frontend="${fe}"\\} 1$`),
    );
  }
  // A weight change moves that VIP's fingerprint, and only that one.
  on.checker.setWeight("web", "p", "a", 50);
  const after = await on.lines("maglev_vip_fingerprint_info");
  assert.equal(after[0], before[0]);
  assert.notEqual(after[1], before[1]);
});

Deno.test("self: the fingerprint hashes the table length VPP holds", async () => {
  const held: { length?: number } = {};
  await using r = await rig({ enabled: () => true, heldTableLength: () => held.length });
  const asConfigured = await r.lines("maglev_vip_fingerprint_info");
  held.length = 4096;
  const longer = await r.lines("maglev_vip_fingerprint_info");
  assert.notDeepEqual(longer, asConfigured);
});

Deno.test("self: the process registry holds the process families", async () => {
  const names = (await processRegistry().getMetricsAsJSON()).map((m) => m.name).sort();
  for (
    const want of [
      "process_cpu_seconds_total",
      "process_open_fds",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
    ]
  ) {
    assert.ok(names.includes(want), `${want} in ${names.join(", ")}`);
  }
});
