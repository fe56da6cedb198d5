/**
 * The daemon as an operator meets it, without root: the real `maglevd`
 * subprocess health-checks HTTP backends on loopback addresses and programs
 * the VPP test double; the CLI runs as a subprocess; `/metrics` is scraped;
 * SIGHUP reloads good and bad files; the reload RPCs report bad files;
 * SIGTERM stops it cleanly. One daemon serves every step, in order.
 */
import { strict as assert } from "node:assert";
import { createClient } from "../src/grpc/client.ts";
import {
  describeSim,
  hasAnsi,
  Lab,
  LAB_FAILOVER_VIP,
  LAB_HTTP_VIP,
  labConfig,
  labSteady,
  metricValue,
  promtoolCheck,
  simAses,
  simHolds,
  transitionsInto,
  waitFor,
} from "./helpers/mod.ts";

const NET = "127.0.61";
const ALL = ["nginx1", "nginx2", "nginx3", "static-primary", "static-fallback"];
const STEADY = labSteady(NET);

/** `<backend>  weight <cfg>  effective <eff>` as spec 0.5 prints a pool row. */
function poolRow(backend: string, effective: number | string): RegExp {
  return new RegExp(`^\\s*${backend}\\s+weight\\s+\\d+\\s+effective\\s+${effective}\\b`, "m");
}

// A parse error on line 3 (a duplicate key).
const PARSE_BAD = `maglev:
  backends: {}
  backends: {}
  frontends: {}
`;

Deno.test("daemon with VPP: CLI, metrics, reloads and SIGTERM", async (t) => {
  const lab = await Lab.start({ prefix: "maglev-daemon-test-", net: NET });
  const { sim, simEvents, configPath, hcPort } = lab;
  try {
    const daemon = await lab.startDaemon();
    const waitForBackend = (name: string, re: RegExp) =>
      waitFor(`show backends ${name} to match ${re}`, async () => {
        const r = await daemon.cli("show", "backends", name);
        return r.code === 0 && re.test(r.stdout);
      }, { describe: async () => (await daemon.cli("show", "backends", name)).stdout });
    const waitForFrontend = (name: string, re: RegExp) =>
      waitFor(`show frontends ${name} to match ${re}`, async () => {
        const r = await daemon.cli("show", "frontends", name);
        return r.code === 0 && re.test(r.stdout) ? r.stdout : undefined;
      }, { describe: async () => (await daemon.cli("show", "frontends", name)).stdout });

    await t.step("every backend reaches up and VPP holds the steady weights", async () => {
      for (const b of ALL) await waitForBackend(b, /^state\s+up$/m);
      const out = await daemon.cliOk("show", "backends", "nginx1");
      assert.match(out, /^enabled\s+true$/m);
      assert.match(out, /^healthcheck\s+http-check$/m);
      await waitFor("VPP to hold the steady weights", () => simHolds(sim, STEADY), {
        describe: () => describeSim(sim),
      });
    });

    await t.step("show frontends <name> prints weight and effective per pool backend", async () => {
      const http = await daemon.cliOk("show", "frontends", "http-vip");
      assert.match(http, poolRow("nginx1", 100), http);
      assert.match(http, poolRow("nginx2", 100), http);
      // The fallback pool carries no traffic while the primary has an up backend.
      assert.match(http, poolRow("nginx3", 0), http);
      assert.match(http, /^state\s+up$/m, http);
      const failover = await daemon.cliOk("show", "frontends", "failover-vip");
      assert.match(failover, poolRow("static-primary", 100), failover);
      assert.match(failover, poolRow("static-fallback", 0), failover);
      // Prefix matching, as an operator types it.
      assert.equal(await daemon.cliOk("show", "fr", "http-vip"), http);
    });

    await t.step("an unknown backend: non-zero exit and a plain, clear error", async () => {
      const r = await daemon.cli("show", "backends", "x");
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /backend "x" not found/);
      assert.ok(!hasAnsi(r.stderr + r.stdout), `colour with --color=false: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /NOT_FOUND|\b5 |grpc/i, r.stderr);
      const set = await daemon.cli("set", "backend", "x", "disable");
      assert.notEqual(set.code, 0);
      assert.match(set.stderr, /backend "x" not found/);
    });

    await t.step("set backend disable: enabled false, effective 0, VPP weight 0", async () => {
      await daemon.cliOk("set", "backend", "nginx2", "disable");
      const b = await daemon.cliOk("show", "backends", "nginx2");
      assert.match(b, /^enabled\s+false$/m, b);
      assert.match(b, /^state\s+disabled$/m, b);
      const fe = await daemon.cliOk("show", "frontends", "http-vip");
      assert.match(fe, poolRow("nginx2", 0), fe);
      assert.match(fe, poolRow("nginx1", 100), fe);
      await waitFor(
        "VPP to hold nginx2 at weight 0",
        () => simAses(sim).get(`${LAB_HTTP_VIP} ${NET}.12`)?.weight === 0,
        { describe: () => describeSim(sim) },
      );
      await daemon.cliOk("set", "backend", "nginx2", "enable");
      await waitForBackend("nginx2", /^state\s+up$/m);
      await waitForFrontend("http-vip", poolRow("nginx2", 100));
      await waitFor("VPP back to the steady weights", () => simHolds(sim, STEADY), {
        describe: () => describeSim(sim),
      });
    });

    await t.step("static failover: the fallback pool takes over and gives back", async () => {
      await daemon.cliOk("set", "backend", "static-primary", "disable");
      const out = await waitForFrontend("failover-vip", poolRow("static-fallback", 100));
      assert.match(out, poolRow("static-primary", 0), out);
      assert.match(out, /^active-pool\s+fallback$/m, out);
      await waitFor("VPP to send failover-vip traffic to static-fallback", () => {
        const a = simAses(sim);
        return a.get(`${LAB_FAILOVER_VIP} ${NET}.22`)?.weight === 100 &&
          a.get(`${LAB_FAILOVER_VIP} ${NET}.21`)?.weight === 0;
      }, { describe: () => describeSim(sim) });
      await daemon.cliOk("set", "backend", "static-primary", "enable");
      await waitForFrontend("failover-vip", poolRow("static-fallback", 0));
      await waitFor("VPP back to the steady weights", () => simHolds(sim, STEADY), {
        describe: () => describeSim(sim),
      });
    });

    await t.step("metrics: exact series and a clean promtool check", async () => {
      const text = await daemon.metrics();
      const exact: Record<string, number> = {
        [`maglev_backend_state{address="${NET}.11",backend="nginx1",healthcheck="http-check",state="up"}`]:
          1,
        [`maglev_backend_state{address="${NET}.11",backend="nginx1",healthcheck="http-check",state="down"}`]:
          0,
        [`maglev_backend_state{address="${NET}.21",backend="static-primary",healthcheck="",state="up"}`]:
          1,
        [`maglev_frontend_pool_backend_weight{backend="nginx1",frontend="http-vip",pool="primary"}`]:
          100,
        [`maglev_frontend_pool_backend_weight{backend="nginx2",frontend="http-vip",pool="primary"}`]:
          100,
        [`maglev_frontend_pool_backend_effective_weight{backend="nginx3",frontend="http-vip",pool="fallback"}`]:
          0,
        [`maglev_backend_enabled{backend="nginx2"}`]: 1,
        "maglev_vpp_connected": 1,
      };
      for (const [series, want] of Object.entries(exact)) {
        assert.equal(metricValue(text, series), want, `${series} in\n${grepMaglev(text)}`);
      }
      const transitions = transitionsInto(text, { backend: "nginx1", to: "up" });
      assert.ok(transitions >= 1, `nginx1 transitions into up: ${transitions}`);
      // Every method is pre-registered, so a method never called still has a 0 series.
      assert.match(
        text,
        /^grpc_server_started_total\{grpc_method="GetVPPLBCounters",grpc_service="maglev\.v1\.Maglev",grpc_type="unary"\} \d+$/m,
      );
      const check = await promtoolCheck(text);
      if (check === undefined) {
        console.log("promtool not installed (Debian package prometheus): check skipped");
      } else {
        assert.ok(check.ok, `promtool check metrics:\n${check.output}`);
      }
    });

    await t.step(
      "CheckConfig and ReloadConfig RPCs report a bad file and keep the config",
      async () => {
        const good = await Deno.readTextFile(configPath);
        const before = await daemon.cliOk("show", "frontends");
        const client = createClient(daemon.grpcAddr);
        try {
          await Deno.writeTextFile(configPath, PARSE_BAD);
          const check = await client.checkConfig({ timeoutMs: 5_000 });
          assert.equal(check.ok, false);
          assert.ok(check.parse_error.includes(configPath), check.parse_error);
          assert.match(check.parse_error, /line 3\b/, check.parse_error);
          assert.equal(check.semantic_error, "");
          const reload = await client.reloadConfig({ timeoutMs: 5_000 });
          assert.equal(reload.ok, false);
          assert.ok(reload.parse_error.includes(configPath), reload.parse_error);
          assert.match(reload.parse_error, /line 3\b/, reload.parse_error);

          // A file that parses but names a backend that does not exist.
          await Deno.writeTextFile(configPath, good.replace("nginx3: {} }", "ghost: {} }"));
          const semantic = await client.reloadConfig({ timeoutMs: 5_000 });
          assert.equal(semantic.ok, false);
          assert.equal(semantic.parse_error, "");
          assert.match(semantic.semantic_error, /ghost/, semantic.semantic_error);
          assert.match(semantic.semantic_error, /line \d+/, semantic.semantic_error);
          const check2 = await client.checkConfig({ timeoutMs: 5_000 });
          assert.equal(check2.ok, false);
          assert.match(check2.semantic_error, /ghost/);

          await Deno.writeTextFile(configPath, good);
          assert.equal((await client.checkConfig({ timeoutMs: 5_000 })).ok, true);
        } finally {
          client.close();
          await Deno.writeTextFile(configPath, good);
        }
        assert.equal(await daemon.cliOk("show", "frontends"), before);
      },
    );

    await t.step("SIGHUP with a bad file: error with path and line, config kept", async () => {
      const good = await Deno.readTextFile(configPath);
      const before = await daemon.cliOk("show", "frontends");
      const from = daemon.logs.length;
      try {
        await Deno.writeTextFile(configPath, good.replace("nginx3: {} }", "ghost: {} }"));
        daemon.signal("SIGHUP");
        const rec = await daemon.waitForLog("config-reload-semantic-error", {}, { from });
        assert.equal(rec.level, "ERROR");
        assert.equal(rec.file, configPath);
        assert.ok(String(rec.err).includes(configPath), String(rec.err));
        assert.match(String(rec.err), /line \d+/);
        assert.match(String(rec.err), /ghost/);
        await Deno.writeTextFile(configPath, PARSE_BAD);
        const at = daemon.logs.length;
        daemon.signal("SIGHUP");
        const parse = await daemon.waitForLog("config-reload-parse-error", {}, { from: at });
        assert.match(String(parse.err), /line 3\b/);
        assert.ok(String(parse.err).includes(configPath), String(parse.err));
      } finally {
        await Deno.writeTextFile(configPath, good);
      }
      assert.equal(daemon.logsNamed("config-reload", {}, from).length, 0);
      assert.equal(await daemon.cliOk("show", "frontends"), before);
      assert.ok(simHolds(sim, STEADY), describeSim(sim));
    });

    await t.step("SIGHUP with a good file: a new frontend, history kept", async () => {
      const client = createClient(daemon.grpcAddr);
      try {
        const before = await client.getBackend({ name: "nginx1" }, { timeoutMs: 5_000 });
        assert.ok(before.transitions.length >= 1);
        const from = daemon.logs.length;
        await Deno.writeTextFile(
          configPath,
          labConfig({ net: NET, hcPort, withNewFrontend: true }),
        );
        daemon.signal("SIGHUP");
        await daemon.waitForLog("config-reload", { file: configPath }, { from });
        const list = await daemon.cliOk("show", "frontends");
        assert.match(list, /^new-vip\s+192\.0\.2\.3\s+tcp\s+443\b/m, list);
        assert.match(list, /^http-vip\s/m, list);
        await waitForFrontend("new-vip", poolRow("nginx3", 50));
        const after = await client.getBackend({ name: "nginx1" }, { timeoutMs: 5_000 });
        assert.deepEqual(after.transitions, before.transitions);
        await waitFor(
          "VPP to hold the new VIP",
          () => simAses(sim).get(`192.0.2.3/32 ${NET}.13`)?.weight === 50,
          { describe: () => describeSim(sim) },
        );
      } finally {
        client.close();
      }
    });

    await t.step(
      "SIGTERM: streams end, exit 0, `stopped` logged, VPP session deleted",
      async () => {
        const client = createClient(daemon.grpcAddr);
        const stream = client.watchEvents({ backend: true, frontend: true });
        const it = stream[Symbol.asyncIterator]();
        try {
          // The snapshot's first event proves the stream is open before the signal.
          const first = await it.next();
          assert.equal(first.done, false);
          const drained = (async () => {
            let n = 0;
            try {
              while (!(await it.next()).done) n++;
              return `ended after ${n} more events`;
            } catch (e) {
              return `failed: ${(e as Error).message}`;
            }
          })();
          const code = await daemon.stop();
          assert.equal(code, 0, daemon.tail());
          const how = await drained;
          // The stream ends cleanly (OK trailers), never "Connection dropped":
          // shutdown waits for every WatchEvents call to end and closes each
          // connection with a FIN after its last bytes, not a reset.
          assert.match(how, /^ended/, how);
        } finally {
          client.close();
        }
        assert.equal(daemon.logsNamed("stopping").length, 1);
        assert.equal(daemon.logsNamed("stopped").length, 1, daemon.tail());
        assert.ok(
          simEvents.some((e) => e.kind === "request" && e.attrs.name === "sockclnt_delete"),
          "the daemon did not send sockclnt_delete",
        );
      },
    );
  } finally {
    await lab.close();
  }
});

function grepMaglev(text: string): string {
  return text.split("\n").filter((l) =>
    /^maglev_(backend_state|frontend_pool|backend_enabled|vpp_connected)/.test(l)
  ).join("\n");
}
