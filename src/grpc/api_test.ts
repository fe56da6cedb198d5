/**
 * The service through a real gRPC client against real parts (rig_test_util.ts):
 * status, config, reload plans, the disruption preview, fingerprints, VPP
 * availability in the manager's words, and names that are prototype members.
 */
import { strict as assert } from "node:assert";
import { RpcError } from "./client.ts";
import { FAIL } from "../checker/checker_test_util.ts";
import type { FrontendInfo } from "../../proto/maglev_pb.ts";
import { type Rig, RIG_YAML, startRig, until } from "./rig_test_util.ts";

async function withRig(
  fn: (rig: Rig) => Promise<void>,
  options: Parameters<typeof startRig>[1] = {},
  yaml = RIG_YAML,
): Promise<void> {
  const rig = await startRig(yaml, options);
  try {
    await fn(rig);
  } finally {
    await rig.close();
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RpcError, String(err));
    assert.equal(err.codeName, code, `${err.codeName}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("prototype member names are ordinary names: NOT_FOUND, never INTERNAL", async () => {
  await withRig(async ({ client }) => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      await rejectsWith(client.getFrontend({ name }), "NOT_FOUND", /^frontend ".*" not found$/);
      await rejectsWith(
        client.getHealthCheck({ name }),
        "NOT_FOUND",
        /^healthcheck ".*" not found$/,
      );
      await rejectsWith(client.getBackend({ name }), "NOT_FOUND", /^backend ".*" not found$/);
      await rejectsWith(client.pauseBackend({ name }), "NOT_FOUND", /not found/);
      await rejectsWith(
        client.call("PreviewChange", { frontend: "www", backend: name, weight: 1 }),
        "NOT_FOUND",
        /not found/,
      );
    }
  });
});

Deno.test("an incompatible VPP: GetVPPInfo and GetStatus name the missing messages", async () => {
  await withRig(async ({ client, manager }) => {
    await until("the manager sees an incompatible VPP", () => manager.incompatible().length > 0);
    await rejectsWith(
      client.getVPPInfo(),
      "UNAVAILABLE",
      /incompatible: missing lb_as_set_weight_/,
    );
    const status = await client.call("GetStatus", {});
    assert.equal(status.vpp?.state, "incompatible");
    assert.match(status.vpp!.missing_messages.join(), /^lb_as_set_weight_[0-9a-f]{8}$/);
    assert.match(status.vpp!.error, /lb_as_set_weight_/);
  }, { vpp: { omit: ["lb_as_set_weight"] } });
});

Deno.test("set weight with VPP configured but not connected succeeds with a warning", async () => {
  await withRig(async ({ client }) => {
    const req = { frontend: "www", pool: "primary", backend: "s2", weight: 70, flush: false };
    const fe = await client.setFrontendPoolBackendWeight(req);
    assert.equal(fe.pools[0].backends[1].weight, 70);
    assert.match(fe.warning, /VPP is not connected: weight 70 is set and will be programmed/);
    // The checker owns the range and its message.
    await rejectsWith(
      client.setFrontendPoolBackendWeight({ ...req, weight: 101 }),
      "INVALID_ARGUMENT",
      /^weight 101 out of range \[0, 100\]$/,
    );
    const status = await client.call("GetStatus", {});
    assert.equal(status.vpp?.state, "disconnected");
    assert.equal(status.vpp?.error, "VPP is not connected");
  }, { vpp: "absent" });
});

Deno.test("GetStatus: build, start, config hash, counts by state; GetConfig loads back", async () => {
  await withRig(async ({ client, configPath }) => {
    const s = await client.call("GetStatus", {});
    assert.equal(s.version, "1.2.3");
    assert.equal(s.commit, "abc1234");
    assert.equal(s.config_path, configPath);
    assert.match(s.config_hash, /^[0-9a-f]{64}$/);
    assert.ok(BigInt(s.start_time_ns) > 0n);
    assert.equal(s.last_reload?.at_ns, "0");
    assert.equal(s.vpp?.state, "disabled");
    const total = (counts: { count: number }[]) => counts.reduce((n, c) => n + c.count, 0);
    assert.equal(total(s.backends), 4);
    assert.equal(total(s.frontends), 2);
    const cfg = await client.call("GetConfig", {});
    assert.equal(cfg.hash, s.config_hash);
    assert.match(cfg.yaml, /fast-interval: 2s/);
    const same = await client.call("DiffConfig", { path: "", yaml: cfg.yaml });
    assert.equal(same.ok, true);
    assert.equal(same.changed, false, "the rendered config is the running one");
  }, { vpp: "disabled" });
});

Deno.test("reload plan: add, remove, probe change and VIP recreate; reload applies it", async () => {
  await withRig(async ({ client, configPath }) => {
    const next = RIG_YAML
      .replace("s3: { address: 10.0.0.3 }", "s4: { address: 10.0.0.4 }")
      .replace("backends: { s3: {} }", "backends: { s4: {} }")
      .replace("interval: 2s", "interval: 5s")
      .replace("      port: 443\n", "      port: 443\n      flow-table-length: 2048\n")
      .replace(
        "backends: { s1: {}, s2: { weight: 50 } }",
        "backends: { s1: {}, s2: { weight: 20 } }",
      );
    const plan = await client.call("DiffConfig", { path: "", yaml: next });
    assert.equal(plan.ok, true, plan.parse_error + plan.semantic_error);
    assert.deepEqual(plan.backends_added, ["s4"]);
    assert.deepEqual(plan.backends_removed, ["s3"]);
    assert.deepEqual(plan.probes_restarted, [
      { backend: "h1", reason: "healthcheck web: interval, fast-interval, down-interval changed" },
    ]);
    assert.equal(plan.vips_recreated.length, 1);
    const vip = plan.vips_recreated[0];
    assert.equal(vip.frontend, "probed");
    assert.equal(vip.reason, "flow-table-length 1024 -> 2048");
    assert.match(vip.flows, /every established flow to 192\.0\.2\.2 tcp\/443 breaks/);
    const s2 = plan.weights_changed.find((w) => w.backend === "s2");
    assert.equal(s2?.weight_from, 50);
    assert.equal(s2?.weight_to, 20);

    const bad = await client.call("DiffConfig", { path: "", yaml: "maglev: [" });
    assert.equal(bad.ok, false);
    assert.match(bad.parse_error, /^<yaml>: YAML: .*line 1, column 10/);

    await Deno.writeTextFile(configPath, next);
    const fromDisk = await client.call("DiffConfig", { path: "", yaml: "" });
    assert.deepEqual(fromDisk, plan, "no source: the daemon's own file as it is now");
    const reload = await client.reloadConfig();
    assert.equal(reload.ok, true);
    assert.deepEqual(reload.plan, plan, "the reload applied what the diff showed");
    const status = await client.call("GetStatus", {});
    assert.equal(status.last_reload?.ok, true);
    assert.notEqual(status.last_reload?.at_ns, "0");
  }, { vpp: "disabled" });
});

Deno.test("preview: buckets that move on a weight change or a disable, and to whom", async () => {
  await withRig(async ({ client, checker, clock }) => {
    // Static backends come up on their own, on the checker's (fake) clock.
    for (let i = 0; i < 5; i++) await clock.advance(1000);
    await until(
      "s1 and s2 up",
      () => checker.backendState("s1") === "up" && checker.backendState("s2") === "up",
    );
    const fe = await client.getFrontend({ name: "www" });
    assert.match(fe.fingerprint, /^[0-9a-f]{16}$/);
    const off = await client.call("PreviewChange", {
      frontend: "www",
      backend: "s2",
      disable: true,
    });
    assert.equal(off.table_length, 2048, "auto: 8 x the weights, rounded up");
    const s2Before = off.before.find((b) => b.backend === "s2")!.buckets;
    assert.ok(s2Before > 0);
    assert.equal(off.buckets_moved, s2Before, "only s2's buckets move");
    assert.deepEqual(off.moves.map((m) => [m.from, m.to]), [["s2", "s1"]]);
    assert.equal(off.fingerprint_before, fe.fingerprint);
    assert.notEqual(off.fingerprint_after, fe.fingerprint);
    const same = await client.call("PreviewChange", { frontend: "www", backend: "s2", weight: 50 });
    assert.equal(same.buckets_moved, 0);
    assert.equal(same.fingerprint_after, fe.fingerprint);
    await rejectsWith(
      client.call("PreviewChange", { frontend: "www", backend: "s2", weight: 101 }),
      "INVALID_ARGUMENT",
      /^weight 101 out of range \[0, 100\]$/,
    );
    await rejectsWith(
      client.call("PreviewChange", { frontend: "www", backend: "h1", weight: 1 }),
      "NOT_FOUND",
      /backend "h1" is in no pool of frontend "www"/,
    );
  });
});

Deno.test("DiffConfig reads a file only for a listener that allows mutations", async () => {
  await withRig(async ({ client, configPath }) => {
    await rejectsWith(
      client.call("DiffConfig", { path: configPath }),
      "PERMISSION_DENIED",
      /only allowed on loopback or unix socket listeners; send the YAML text instead/,
    );
    const plan = await client.call("DiffConfig", { yaml: RIG_YAML });
    assert.equal(plan.changed, false, "YAML text is fine on any listener");
  }, { vpp: "disabled", server: { listen: { tcp: "0.0.0.0:0" } } });
});

Deno.test("VPP RPCs against the double, through the real manager", async () => {
  await withRig(async ({ client, manager, sim, checker, clock }) => {
    await until("connected", () => manager.connected());
    // Past the warmup's max delay (30s) on the rig's fake clock.
    for (let i = 0; i < 40; i++) await clock.advance(1000);
    await until(
      "s1 up and warmup done",
      () => checker.backendState("s1") === "up" && manager.gate.done,
    );
    const info = await client.getVPPInfo();
    assert.ok(info.version.length > 0);
    assert.deepEqual(info.missing_messages, []);
    assert.ok(BigInt(info.connecttime_ns) > 0n);
    await client.syncVPPLBState({});
    const state = await client.getVPPLBState();
    const www = state.vips.find((v) => v.frontend === "www");
    assert.ok(www, JSON.stringify(state));
    assert.equal(www.protocol, "tcp");
    assert.equal(www.encap, "gre4");
    assert.equal(www.port, 80);
    assert.deepEqual(
      www.application_servers.map((a) => [a.address, a.weight]),
      [["10.0.0.1", 100], ["10.0.0.2", 50], ["10.0.0.3", 0]],
    );
    // The fingerprint is of what VPP holds: the same inputs as the double's table.
    assert.match((await client.getFrontend({ name: "www" })).fingerprint, /^[0-9a-f]{16}$/);
    await rejectsWith(client.syncVPPLBState({ frontend: "nope" }), "NOT_FOUND", /"nope" not found/);
    const counters = await client.getVPPLBCounters();
    assert.ok(Array.isArray(counters.vips));
    // A double that goes away: the manager's own words, on every VPP RPC.
    await sim!.close();
    await until("disconnected", () => !manager.connected());
    for (const call of [client.getVPPInfo(), client.getVPPLBState(), client.getVPPLBCounters()]) {
      await rejectsWith(call, "UNAVAILABLE", /^VPP is not connected$/);
    }
  });
});

Deno.test("VPP RPCs with VPP disabled say so", async () => {
  await withRig(async ({ client }) => {
    for (const call of [client.getVPPInfo(), client.getVPPLBState(), client.syncVPPLBState({})]) {
      await rejectsWith(call, "UNAVAILABLE", /^VPP integration is disabled$/);
    }
    const fe = await client.getFrontend({ name: "www" });
    assert.equal(fe.fingerprint, "", "no fingerprint without VPP");
    assert.equal(fe.warning, "");
  }, { vpp: "disabled" });
});

Deno.test("a longer auto table VPP keeps: fingerprint, length and preview use it, no resync", async () => {
  await withRig(async ({ client, manager, sim, checker, clock }) => {
    await until("connected", () => manager.connected());
    for (let i = 0; i < 40; i++) await clock.advance(1000);
    await until("warmup done", () => checker.backendState("s1") === "up" && manager.gate.done);
    await client.syncVPPLBState({});
    const fresh = await client.getFrontend({ name: "www" });
    assert.equal(fresh.flow_table_length, 2048, "auto: the config's length");
    // VPP holds www at 8192, as after weights that once needed it shrank on a reload.
    const vip = { pfx: "192.0.2.1/32", protocol: 6, port: 80 };
    const held: [string, number][] = [["10.0.0.1", 100], ["10.0.0.2", 50], ["10.0.0.3", 0]];
    for (const [as_address] of held) {
      sim!.model.apply("lb_add_del_as_v2", { ...vip, as_address, is_del: true, is_flush: true });
    }
    sim!.model.apply("lb_add_del_vip_v2", { ...vip, is_del: true });
    sim!.model.apply("lb_add_del_vip_v2", { ...vip, encap: 0, new_flows_table_length: 8192 });
    for (const [as_address, weight] of held) {
      sim!.model.apply("lb_add_del_as_v2", { ...vip, as_address, weight });
    }
    const none = { vip_added: 0, vip_removed: 0, as_added: 0, as_removed: 0, as_weight_updated: 0 };
    assert.deepEqual(await client.syncVPPLBState({}), none, "the kept table is not recreated");
    assert.deepEqual(await client.syncVPPLBState({}), none, "nor synced again");
    assert.equal(manager.heldTableLength("www"), 8192);
    const fe = await client.getFrontend({ name: "www" });
    assert.equal(fe.flow_table_length, 8192, "the length VPP hashes with");
    assert.notEqual(
      fe.fingerprint,
      fresh.fingerprint,
      "a different table: a different fingerprint",
    );
    const same = await client.call("PreviewChange", { frontend: "www", backend: "s2", weight: 50 });
    assert.equal(same.table_length, 8192);
    assert.equal(same.fingerprint_before, fe.fingerprint);
  });
});

/**
 * Brings h1 up and synced, then reloads a changed interval whose new probe
 * does not answer: h1 is `unknown` and adopted at VPP's weight 100. Returns
 * `probed` as GetFrontend showed it before the reload.
 */
async function adoptH1(rig: Rig): Promise<FrontendInfo> {
  const { client, manager, checker, clock, prober, configPath } = rig;
  await until("connected", () => manager.connected());
  for (let i = 0; i < 40; i++) await clock.advance(1000);
  await until("warmup done", () => checker.backendState("h1") === "up" && manager.gate.done);
  await client.syncVPPLBState({});
  const before = await client.getFrontend({ name: "probed" });
  assert.equal(before.pools[0].backends[0].effective_weight, 100);
  assert.equal(before.pools[0].backends[0].adopted, false);
  // A changed interval restarts h1's probe; the new probe does not answer yet.
  prober.behaviour.set("h1", "deaf");
  await Deno.writeTextFile(configPath, RIG_YAML.replace("interval: 2s", "interval: 5s"));
  assert.equal((await client.reloadConfig()).ok, true);
  assert.equal(checker.backendState("h1"), "unknown");
  return before;
}

Deno.test("while a reload's new probe has not spoken, GetFrontend shows VPP's adopted weight", async () => {
  await withRig(async (rig) => {
    const { client, checker, clock, prober } = rig;
    const before = await adoptH1(rig);
    const held = await client.getFrontend({ name: "probed" });
    const h1 = held.pools[0].backends[0];
    assert.deepEqual([h1.state, h1.effective_weight, h1.adopted], ["unknown", 100, true]);
    assert.equal(held.active_pool, "primary", "VPP still serves it");
    assert.equal(held.fingerprint, before.fingerprint, "what VPP holds did not change");
    // The first result decides: from then on health rules, and nothing is adopted.
    await clock.advance(5000);
    await until("h1 probed", () => prober.count("h1") > 0);
    prober.release("h1", FAIL);
    await until("h1 decided", () => checker.backendState("h1") !== "unknown");
    const after = (await client.getFrontend({ name: "probed" })).pools[0].backends[0];
    assert.equal(after.adopted, false);
    assert.equal(after.effective_weight, 0);
  });
});

Deno.test("PreviewChange while adopted: before is what GetFrontend shows, after what is written", async () => {
  await withRig(async (rig) => {
    const { client, checker, manager } = rig;
    await adoptH1(rig);
    const held = await client.getFrontend({ name: "probed" });
    assert.equal(held.pools[0].backends[0].adopted, true);
    const weight = await client.call("PreviewChange", {
      frontend: "probed",
      backend: "h1",
      weight: 50,
    });
    assert.equal(weight.fingerprint_before, held.fingerprint);
    assert.deepEqual(weight.before.map((b) => [b.backend, b.effective_weight]), [["h1", 100]]);
    // VPP serves h1: the operator's weight applies at once (issue 16). h1 is
    // the VIP's only AS, so no bucket moves, but the weights do.
    assert.deepEqual(weight.after.map((b) => [b.backend, b.effective_weight]), [["h1", 50]]);
    assert.equal(weight.buckets_moved, 0);
    assert.notEqual(weight.fingerprint_after, held.fingerprint);
    // Applied for real, the weight lands where the preview said; h1 stays adopted.
    const set = await client.setFrontendPoolBackendWeight({
      frontend: "probed",
      pool: "primary",
      backend: "h1",
      weight: 50,
      flush: false,
    });
    assert.deepEqual(
      [set.pools[0].backends[0].effective_weight, set.pools[0].backends[0].adopted],
      [50, true],
    );
    assert.equal(set.fingerprint, weight.fingerprint_after);

    const disable = await client.call("PreviewChange", {
      frontend: "probed",
      backend: "h1",
      disable: true,
    });
    assert.equal(disable.fingerprint_before, set.fingerprint);
    assert.deepEqual(disable.after.map((b) => [b.backend, b.effective_weight]), [["h1", 0]]);
    assert.equal(disable.buckets_moved, disable.table_length, "every bucket loses h1");
    // Applied for real, the disable lands where the preview said.
    await client.disableBackend({ name: "h1" });
    assert.equal(checker.backendState("h1"), "disabled");
    await client.syncVPPLBState({});
    assert.equal(manager.adoptedWeights("probed")?.size ?? 0, 0, "an operator action decides");
    const applied = await client.getFrontend({ name: "probed" });
    assert.equal(applied.fingerprint, disable.fingerprint_after);
  });
});
