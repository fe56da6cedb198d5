/**
 * End-to-end, as an operator: SIGHUP with an added frontend (a new IPv6 VIP
 * whose backend is probed over the lab's ULA), unchanged backends keeping
 * their history; bad reloads (semantic and parse errors) that change
 * nothing; SIGTERM. One lab and one daemon serve every step, in this order.
 */
import { strict as assert } from "node:assert";
import {
  announceSkip,
  describeVpp,
  metricValue,
  SKIP_REASON,
  startWorld,
  STEADY_WEIGHTS,
  transitionsOf,
  vppHolds,
  vppView,
  waitFor,
  waitForEffective,
  waitForState,
  waitForVppWeight,
} from "./harness_test_util.ts";

announceSkip("tests/e2e/reload_test.ts");

const ALL = ["nginx1", "nginx2", "nginx3", "static-primary", "static-fallback"];

// The added frontend: an IPv6 VIP (only ever inside the double) whose one
// backend is nginx1's ULA address, a new backend name with the same check.
const ADDED = {
  backends: { "nginx1-v6": { address: "fd20:30::b", healthcheck: "http-check" } },
  frontends: {
    "v6-vip": {
      address: "2001:db8::1",
      protocol: "tcp",
      port: 80,
      pools: [{ name: "primary", backends: { "nginx1-v6": {} } }],
    },
  },
};

/** `show backends` rows without the last-transition age column. */
function backendRows(list: string): string[] {
  return list.split("\n").filter((l) => l !== "").map((l) =>
    l.trim().split(/\s+/).slice(0, 5).join(" ")
  );
}

Deno.test({
  name: "e2e: config reload (SIGHUP), bad reloads and SIGTERM on the root lab",
  ignore: SKIP_REASON !== undefined,
  async fn(t) {
    const t0 = performance.now();
    const w = await startWorld("reload");
    const d = w.daemon;
    const withV6 = { ...STEADY_WEIGHTS, "2001:db8::1/128 fd20:30::b": 100 };
    try {
      await t.step("all backends up and programmed", async () => {
        for (const b of ALL) await waitForState(d, { backend: b, state: "up" });
        await waitFor("VPP to hold the steady weights", () => vppHolds(w, STEADY_WEIGHTS), {
          describe: () => describeVpp(w),
        });
      });

      await t.step(
        "SIGHUP with an added frontend: the new VIP appears, unchanged backends keep their history",
        async () => {
          const before: Record<string, string[]> = {};
          for (const b of ALL) before[b] = transitionsOf(await d.cliOk("show", "backends", b));
          const probeSeries =
            'maglev_probe_total{backend="nginx1",code="L7OK",result="success",type="http"}';
          const probesBefore = metricValue(await d.metrics(), probeSeries) ?? 0;
          assert.ok(probesBefore >= 1, `${probeSeries} before the reload: ${probesBefore}`);

          await w.lab.writeConfig(w.configPath, ADDED);
          const logFrom = d.logs.length;
          d.signal("SIGHUP");
          await d.waitForLog("config-reload", {}, { from: logFrom });
          await waitForState(d, { backend: "nginx1-v6", state: "up" });
          await waitForVppWeight(w, { vip: "2001:db8::1/128", address: "fd20:30::b", weight: 100 });
          await waitFor(
            "VPP to hold the old VIPs unchanged plus the new one",
            () => vppHolds(w, withV6),
            { describe: () => describeVpp(w) },
          );
          const fe = await waitForEffective(d, { frontend: "v6-vip", want: { "nginx1-v6": 100 } });
          assert.match(fe, /^address\s+2001:db8::1\b/m);
          assert.match(await d.cliOk("show", "frontends"), /^v6-vip\s+2001:db8::1\s/m);
          // The new backend's probes reach nginx1 over IPv6 from the dataplane namespace.
          await waitFor(
            "an IPv6 probe in nginx1's access log",
            async () =>
              (await w.lab.accessLogLines("nginx1")).some((l) =>
                /^fd20:30::1 - - .*"GET \/healthz HTTP\/1\.1" 200 /.test(l)
              ),
          );

          const since = d.logs.slice(logFrom);
          for (const b of ALL) {
            const touched = since.filter((r) =>
              r.backend === b && /^backend-(start|stop|restart)$/.test(r.msg)
            );
            assert.deepEqual(touched, [], `${b} is unchanged and must not be restarted`);
            const shown = await d.cliOk("show", "backends", b);
            assert.match(shown, /^state\s+up\b/m);
            assert.deepEqual(transitionsOf(shown), before[b], `${b} keeps its transition history`);
          }
          assert.equal(
            since.filter((r) => r.msg === "backend-start" && r.backend === "nginx1-v6").length,
            1,
            "the new backend is started",
          );
          const probesAfter = metricValue(await d.metrics(), probeSeries) ?? 0;
          assert.ok(
            probesAfter > probesBefore,
            `probe counter kept counting: ${probesBefore} -> ${probesAfter}`,
          );
        },
      );

      await t.step("a bad reload keeps everything as it was", async () => {
        const good = await Deno.readTextFile(w.configPath);
        const frontends = await d.cliOk("show", "frontends");
        const backends = backendRows(await d.cliOk("show", "backends"));
        const httpVip = await d.cliOk("show", "frontends", "http-vip");
        const vppBefore = await describeVpp(w);

        const bad = [
          {
            kind: "semantic",
            write: () =>
              w.lab.writeConfig(w.configPath, {
                ...ADDED,
                frontends: {
                  ...ADDED.frontends,
                  "http-vip": { pools: [{ name: "primary", backends: { nginx9: {} } }] },
                },
              }),
            culprit: /nginx9/,
          },
          {
            kind: "parse",
            write: () => Deno.writeTextFile(w.configPath, "maglev:\n  frontends: [unclosed\n"),
            culprit: /line \d+/,
          },
        ];
        for (const b of bad) {
          await b.write();
          const logFrom = d.logs.length;
          d.signal("SIGHUP");
          const err = await d.waitForLog(`config-reload-${b.kind}-error`, {}, { from: logFrom });
          assert.match(String(err.err), b.culprit, `the ${b.kind} error names the culprit`);
          const check = await d.cli("config", "check");
          assert.match(check.stdout + check.stderr, b.culprit, `config check (${b.kind})`);
          const reload = await d.cli("config", "reload");
          assert.match(reload.stdout + reload.stderr, b.culprit, `config reload (${b.kind})`);
          assert.doesNotMatch(reload.stdout, /reloaded$/m);

          assert.deepEqual(d.logsNamed("config-reload", {}, logFrom), [], "no reload happened");
          assert.deepEqual(
            d.logs.slice(logFrom).filter((r) => /^backend-(start|stop|restart)$/.test(r.msg)),
            [],
            "no backend was started, stopped or restarted",
          );
          assert.equal(await d.cliOk("show", "frontends"), frontends);
          assert.deepEqual(backendRows(await d.cliOk("show", "backends")), backends);
          assert.equal(await d.cliOk("show", "frontends", "http-vip"), httpVip);
          assert.equal(await describeVpp(w), vppBefore);
        }

        // The good file again: the reload goes through and still changes nothing.
        await Deno.writeTextFile(w.configPath, good);
        const logFrom = d.logs.length;
        d.signal("SIGHUP");
        await d.waitForLog("config-reload", {}, { from: logFrom });
        assert.ok(await vppHolds(w, withV6), await describeVpp(w));
        assert.deepEqual((await vppView(w)).vips.sort(), [
          "192.0.2.1/32",
          "192.0.2.2/32",
          "2001:db8::1/128",
        ]);
      });

      await t.step("SIGTERM stops the daemon with exit code 0", async () => {
        assert.equal(await d.stop(), 0, d.tail());
      });
    } finally {
      await w.close();
      console.log(`e2e reload: ${((performance.now() - t0) / 1000).toFixed(1)}s wall time`);
    }
  },
});
