/**
 * End-to-end, as an operator: health checking of real nginx backends through
 * the dataplane namespace, pause/resume, disable/enable, metrics, static
 * failover, a backend dying and coming back, and SIGTERM. One lab and one
 * daemon serve every step, in this order.
 */
import { strict as assert } from "node:assert";
import {
  announceSkip,
  describeVpp,
  metricValue,
  SKIP_REASON,
  startWorld,
  STEADY_WEIGHTS,
  transitionsInto,
  transitionsOf,
  vppHolds,
  waitFor,
  waitForEffective,
  waitForState,
  waitForVppWeight,
} from "./harness_test_util.ts";

announceSkip("tests/e2e/health_test.ts");

const NGINX = ["nginx1", "nginx2", "nginx3"];
const ALL = [...NGINX, "static-primary", "static-fallback"];
const HTTP_VIP = "192.0.2.1/32";
const FAILOVER_VIP = "192.0.2.2/32";

// The access log line of one probe: from the dataplane namespace's address,
// a GET of the check's path, answered 200, with maglevd's User-Agent.
const PROBE_LINE =
  /^172\.20\.30\.1 - - \[[^\]]+\] "GET \/healthz HTTP\/1\.1" 200 \d+ "-" "maglevd\/[^"]+"$/;

/**
 * `seen` (newest first) ends in `-> up L7OK` and the operator's `actions`
 * come right before the probes that brought the backend back. Those probes
 * are `unknown -> up` on a quiet machine; on a loaded one the first may time
 * out first (unknown -> down at once, spec 3.3), which is not what is tested.
 */
function assertCameBack(seen: readonly string[], actions: readonly string[]): void {
  const at = seen.indexOf(actions[0]);
  assert.ok(at >= 1, `no ${actions[0]} before the way back up in ${JSON.stringify(seen)}`);
  assert.deepEqual(seen.slice(at, at + actions.length), actions, JSON.stringify(seen));
  assert.match(seen[0], / -> up L7OK$/, JSON.stringify(seen));
  assert.match(seen[at - 1], /^unknown -> /, JSON.stringify(seen));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

Deno.test({
  name: "e2e: health checking, operator actions, metrics and failover on the root lab",
  ignore: SKIP_REASON !== undefined,
  async fn(t) {
    const t0 = performance.now();
    const w = await startWorld("health");
    const d = w.daemon;
    const lab = w.lab;
    try {
      await t.step("all backends reach up", async () => {
        for (const b of ALL) await waitForState(d, { backend: b, state: "up" });
        const list = await d.cliOk("show", "backends");
        for (const b of ALL) {
          assert.match(list, new RegExp(`^${b}\\s+\\S+\\s+up\\s+true\\s`, "m"), list);
        }
        await waitFor("VPP to hold the steady weights", () => vppHolds(w, STEADY_WEIGHTS), {
          describe: () => describeVpp(w),
        });
      });

      await t.step(
        "nginx access logs show the probes, sent from the dataplane namespace",
        async () => {
          for (const b of NGINX) {
            const lines = await waitFor(`3 probes in ${b}'s access log`, async () => {
              const l = await lab.accessLogLines(b);
              return l.length >= 3 ? l : undefined;
            }, { describe: () => lab.accessLogLines(b) });
            for (const line of lines) assert.match(line, PROBE_LINE);
          }
        },
      );

      await t.step(
        "pause stops the probes; resume restarts them and the backend is up again",
        async () => {
          const logFrom = d.logs.length;
          await d.cliOk("set", "backend", "nginx1", "pause");
          const shown = await d.cliOk("show", "backends", "nginx1");
          assert.match(shown, /^state\s+paused\b/m);
          assert.match(shown, /^enabled\s+true\b/m);
          assert.equal(transitionsOf(shown)[0], "up -> paused paused");
          // paused maps to weight 0 without a flush (spec 0.3).
          await waitForVppWeight(w, { vip: HTTP_VIP, address: "172.20.30.11", weight: 0 });
          await d.waitForLog("vpp-lb-as-weight", { backend: "nginx1", weight: 0, flush: false }, {
            from: logFrom,
          });
          // A probe already in flight may still land: allow one timeout (500ms) to pass.
          await sleep(600);
          const before = (await lab.accessLogLines("nginx1")).length;
          await sleep(1200); // at least two probe intervals
          const after = (await lab.accessLogLines("nginx1")).length;
          assert.equal(after, before, "nginx1 got probes while paused");

          await d.cliOk("set", "backend", "nginx1", "resume");
          await waitFor(
            "nginx1's access log to grow after resume",
            async () => (await lab.accessLogLines("nginx1")).length > after,
          );
          const up = await waitForState(d, { backend: "nginx1", state: "up", timeoutMs: 5_000 });
          assertCameBack(transitionsOf(up), ["paused -> unknown resumed", "up -> paused paused"]);
          await waitForVppWeight(w, { vip: HTTP_VIP, address: "172.20.30.11", weight: 100 });
        },
      );

      await t.step(
        "disable stops the probes with enabled false; enable brings it back",
        async () => {
          const logFrom = d.logs.length;
          await d.cliOk("set", "backend", "nginx2", "disable");
          const shown = await d.cliOk("show", "backends", "nginx2");
          assert.match(shown, /^state\s+disabled\b/m);
          assert.match(shown, /^enabled\s+false\b/m);
          const fe = await d.cliOk("show", "frontends", "http-vip");
          assert.match(fe, /^\s*nginx2\s+weight\s+100\s+effective\s+0\s+\[disabled\]$/m);
          assert.match(fe, /^\s*nginx1\s+weight\s+100\s+effective\s+100\b/m);
          // disabled: weight 0 and always a flush (spec 5.2).
          await waitForVppWeight(w, { vip: HTTP_VIP, address: "172.20.30.12", weight: 0 });
          await d.waitForLog("vpp-lb-as-weight", { backend: "nginx2", weight: 0, flush: true }, {
            from: logFrom,
          });
          await sleep(300);
          const before = (await lab.accessLogLines("nginx2")).length;
          await sleep(1200);
          const after = (await lab.accessLogLines("nginx2")).length;
          assert.equal(after, before, "nginx2 got probes while disabled");

          await d.cliOk("set", "backend", "nginx2", "enable");
          await waitFor(
            "nginx2's access log to grow after enable",
            async () => (await lab.accessLogLines("nginx2")).length > after,
          );
          const up = await waitForState(d, { backend: "nginx2", state: "up", timeoutMs: 5_000 });
          assert.match(up, /^enabled\s+true\b/m);
          assertCameBack(transitionsOf(up), ["disabled -> unknown enabled"]);
          await waitForEffective(d, {
            frontend: "http-vip",
            want: { nginx1: 100, nginx2: 100, nginx3: 0 },
          });
          await waitForVppWeight(w, { vip: HTTP_VIP, address: "172.20.30.12", weight: 100 });
        },
      );

      await t.step("metrics contain the exact series", async () => {
        const text = await d.metrics();
        // Every wrong series is collected, so one run reports all of them.
        const wrong: string[] = [];
        const must = (series: string, check: (v: number) => boolean, what: string) => {
          const v = metricValue(text, series);
          if (v === undefined || !check(v)) wrong.push(`${series} should be ${what}, is ${v}`);
        };
        assert.match(text, /^# TYPE maglev_backend_state gauge$/m);
        for (const [i, b] of NGINX.entries()) {
          const labels = `address="172.20.30.1${i + 1}",backend="${b}",healthcheck="http-check"`;
          must(`maglev_backend_state{${labels},state="up"}`, (v) => v === 1, "1");
          for (const s of ["unknown", "down", "paused", "disabled", "removed"]) {
            must(`maglev_backend_state{${labels},state="${s}"}`, (v) => v === 0, "0");
          }
          must(
            `maglev_probe_total{backend="${b}",code="L7OK",result="success",type="http"}`,
            (v) => v >= 1,
            ">= 1",
          );
          must(
            `maglev_probe_duration_seconds_count{backend="${b}",type="http"}`,
            (v) => v >= 1,
            ">= 1",
          );
          must(`maglev_backend_enabled{backend="${b}"}`, (v) => v === 1, "1");
        }
        assert.match(text, /^# TYPE maglev_probe_duration_seconds histogram$/m);
        for (
          const le of [".001", ".0025", ".005", ".01", ".025", ".05", ".1", ".25", ".5", "1", "2.5"]
        ) {
          const bound = String(Number(le));
          // client_golang (and so upstream) prints the bucket bound last.
          must(
            `maglev_probe_duration_seconds_bucket{backend="nginx1",type="http",le="${bound}"}`,
            (v) => v >= 0,
            "present",
          );
        }
        must(
          `maglev_probe_duration_seconds_bucket{backend="nginx1",type="http",le="+Inf"}`,
          (v) => v >= 1,
          ">= 1",
        );
        must(
          'maglev_frontend_pool_backend_weight{backend="nginx1",frontend="http-vip",pool="primary"}',
          (v) => v === 100,
          "100",
        );
        must(
          'maglev_frontend_pool_backend_weight{backend="nginx3",frontend="http-vip",pool="fallback"}',
          (v) => v === 100,
          "100",
        );
        must(
          'maglev_frontend_pool_backend_effective_weight{backend="nginx3",frontend="http-vip",pool="fallback"}',
          (v) => v === 0,
          "0 (standby)",
        );
        const intoUp = transitionsInto(text, { backend: "nginx1", to: "up" });
        if (intoUp < 1) wrong.push(`nginx1 transitions into up should be >= 1, are ${intoUp}`);
        must("maglev_vpp_connected", (v) => v === 1, "1");
        // Static backends produce no probe metrics (spec 3.6).
        if (/^maglev_probe_total\{backend="static-primary"/m.test(text)) {
          wrong.push("static-primary has maglev_probe_total series");
        }
        const related = (l: string) =>
          /^maglev_(probe_duration_seconds_(bucket|count)\{backend="nginx1"|backend_transitions|frontend_pool)/
            .test(l);
        assert.deepEqual(
          wrong,
          [],
          `wrong or missing series:\n  ${wrong.join("\n  ")}\n--- related exposition lines ---\n` +
            text.split("\n").filter(related).join("\n"),
        );
      });

      await t.step(
        "failover with static backends: disable primary, fallback takes 100; enable, back",
        async () => {
          await waitForEffective(d, {
            frontend: "failover-vip",
            want: {
              "static-primary": 100,
              "static-fallback": 0,
            },
          });
          await d.cliOk("set", "backend", "static-primary", "disable");
          const fe = await waitForEffective(d, {
            frontend: "failover-vip",
            want: {
              "static-primary": 0,
              "static-fallback": 100,
            },
          });
          assert.match(fe, /^\s*static-primary\s+weight\s+100\s+effective\s+0\s+\[disabled\]$/m);
          await waitForVppWeight(w, { vip: FAILOVER_VIP, address: "172.20.30.22", weight: 100 });
          await waitForVppWeight(w, { vip: FAILOVER_VIP, address: "172.20.30.21", weight: 0 });

          await d.cliOk("set", "backend", "static-primary", "enable");
          await waitForState(d, { backend: "static-primary", state: "up", timeoutMs: 3_000 });
          await waitForEffective(d, {
            frontend: "failover-vip",
            want: {
              "static-primary": 100,
              "static-fallback": 0,
            },
          });
          await waitForVppWeight(w, { vip: FAILOVER_VIP, address: "172.20.30.21", weight: 100 });
          await waitForVppWeight(w, { vip: FAILOVER_VIP, address: "172.20.30.22", weight: 0 });
        },
      );

      await t.step(
        "a killed backend goes down, drains to 0 with a flush in VPP, and comes back",
        async () => {
          const logFrom = d.logs.length;
          await lab.stopBackend("nginx2");
          const down = await waitForState(d, {
            backend: "nginx2",
            state: "down",
            timeoutMs: 5_000,
          });
          assert.match(transitionsOf(down)[0], /^up -> down L4CON$/);
          await waitForVppWeight(w, { vip: HTTP_VIP, address: "172.20.30.12", weight: 0 });
          await d.waitForLog("vpp-lb-as-weight", { backend: "nginx2", weight: 0, flush: true }, {
            from: logFrom,
          });
          await waitForEffective(d, {
            frontend: "http-vip",
            want: { nginx1: 100, nginx2: 0, nginx3: 0 },
          });

          await lab.startBackend("nginx2");
          await waitForState(d, { backend: "nginx2", state: "up", timeoutMs: 5_000 });
          await waitForVppWeight(w, { vip: HTTP_VIP, address: "172.20.30.12", weight: 100 });
          await waitForEffective(d, {
            frontend: "http-vip",
            want: { nginx1: 100, nginx2: 100, nginx3: 0 },
          });
        },
      );

      await t.step("SIGTERM stops the daemon with exit code 0", async () => {
        const code = await d.stop();
        assert.equal(code, 0, d.tail());
        assert.ok(d.logsNamed("stopped").length === 1, "the daemon logs `stopped`");
        // Stopping maglevd leaves VPP serving (restart neutrality).
        assert.ok(await vppHolds(w, STEADY_WEIGHTS), await describeVpp(w));
      });
    } finally {
      await w.close();
      console.log(`e2e health: ${((performance.now() - t0) / 1000).toFixed(1)}s wall time`);
    }
  },
});
