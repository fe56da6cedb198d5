/**
 * End-to-end, as an operator: what maglevd programs into VPP (the double, or
 * a real VPP with `MAGLEV_TEST_VPP=real`), a VPP restart (the daemon
 * re-programs it), and a daemon restart (restart neutrality: no up backend is
 * ever written to weight 0). One lab and one VPP serve every step, in order.
 */
import { strict as assert } from "node:assert";
import {
  announceSkip,
  describeVpp,
  LB_MUTATIONS,
  SKIP_REASON,
  startWorld,
  STEADY_WEIGHTS,
  vppHolds,
  vppView,
  waitFor,
  waitForState,
} from "./harness_test_util.ts";

announceSkip("tests/e2e/vpp_test.ts");

const ALL = ["nginx1", "nginx2", "nginx3", "static-primary", "static-fallback"];
// The ASes of backends that are up in the active pool: never weight 0 across a restart.
const SERVING = Object.entries(STEADY_WEIGHTS).filter(([, w]) => w > 0).map(([k]) => k);

Deno.test({
  name: "e2e: VPP programming, VPP restart and daemon restart on the root lab",
  ignore: SKIP_REASON !== undefined,
  async fn(t) {
    const t0 = performance.now();
    const w = await startWorld("vpp");
    try {
      await t.step("VPP holds every frontend with the effective weights", async () => {
        for (const b of ALL) await waitForState(w.daemon, { backend: b, state: "up" });
        await waitFor("VPP to hold the steady weights", () => vppHolds(w, STEADY_WEIGHTS), {
          describe: () => describeVpp(w),
        });
        assert.deepEqual((await vppView(w)).vips.sort(), ["192.0.2.1/32", "192.0.2.2/32"]);
        const conf = await w.vpp.lbConf();
        assert.equal(String(conf.ip4_src_address), "192.0.2.254");
        assert.equal(String(conf.ip6_src_address), "2001:db8::254");
        const state = await w.daemon.cliOk("show", "vpp", "lb", "state");
        for (const s of ["192.0.2.1/32", "192.0.2.2/32", "172.20.30.11", "172.20.30.22"]) {
          assert.ok(state.includes(s), `show vpp lb state lacks ${s}:\n${state}`);
        }
      });

      await t.step("VPP restarted: the daemon reconnects and re-programs it", async () => {
        const logFrom = w.daemon.logs.length;
        await w.vpp.restart();
        assert.deepEqual((await vppView(w)).vips, [], "a restarted VPP starts empty");
        await w.daemon.waitForLog("vpp-disconnect", {}, { from: logFrom });
        await w.daemon.waitForLog("vpp-connect", {}, { from: logFrom, timeoutMs: 15_000 });
        await waitFor("VPP to be re-programmed", () => vppHolds(w, STEADY_WEIGHTS), {
          timeoutMs: 15_000,
          describe: () => describeVpp(w),
        });
        const conf = await w.vpp.lbConf();
        assert.equal(String(conf.ip4_src_address), "192.0.2.254", "lb_conf is pushed again");
        const info = await w.daemon.cliOk("show", "vpp", "info");
        assert.match(info, /^version\s+\S+/m);
      });

      await t.step("daemon restarted: no weight-0 write for up backends", async () => {
        const old = w.daemon;
        assert.equal(await old.stop(), 0, old.tail());
        assert.ok(
          await vppHolds(w, STEADY_WEIGHTS),
          `a stopped maglevd leaves VPP as it was\n${await describeVpp(w)}`,
        );

        const eventsFrom = w.vpp.events?.length ?? 0;
        // Sample VPP while the new daemon starts, connects and warms up: any
        // moment where a serving AS is not at its weight is a traffic loss.
        const glitches: string[] = [];
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const v = await vppView(w);
            for (const key of SERVING) {
              const got = v.ases.get(key)?.weight;
              if (got !== STEADY_WEIGHTS[key]) glitches.push(`${key}: ${got ?? "absent"}`);
            }
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        let d: typeof old;
        try {
          d = w.startDaemon();
          await d.waitForLog("vpp-connect", {}, { timeoutMs: 15_000 });
          // The watchdog path (full sync at startup-max-delay = 3s) must not write either.
          await d.waitForLog("vpp-lb-warmup-max-delay-elapsed", {}, { timeoutMs: 15_000 });
          for (const b of ALL) await waitForState(d, { backend: b, state: "up" });
        } finally {
          sampling = false;
          await sampler;
        }
        assert.deepEqual(glitches, [], "serving ASes changed weight during the restart");
        const zeroWrites = d.logsNamed("vpp-lb-as-weight").filter((r) => r.weight === 0);
        assert.deepEqual(zeroWrites, [], "weight-0 writes after the restart");
        for (const msg of ["vpp-lb-as-del", "vpp-lb-vip-del", "vpp-lb-vip-recreate"]) {
          assert.deepEqual(d.logsNamed(msg), [], `${msg} after the restart`);
        }
        assert.ok(await vppHolds(w, STEADY_WEIGHTS), await describeVpp(w));
        // VPP already held the desired state: the new daemon had nothing to write. Only the
        // double records the requests it served; on a real VPP the sampler above judges.
        if (w.vpp.events) {
          const requests = w.vpp.events.slice(eventsFrom).filter((e) => e.kind === "request");
          assert.ok(
            requests.some((e) => e.attrs.name === "lb_vip_dump"),
            "the new daemon read VPP's lb state (the double's request record works)",
          );
          const writes = requests
            .filter((e) => LB_MUTATIONS.includes(String(e.attrs.name)))
            .map((e) => String(e.attrs.name));
          assert.deepEqual(writes, [], "lb write requests VPP received from the new daemon");
        }
      });

      await t.step("SIGTERM stops the restarted daemon with exit code 0", async () => {
        assert.equal(await w.daemon.stop(), 0, w.daemon.tail());
      });
    } finally {
      await w.close();
      console.log(`e2e vpp: ${((performance.now() - t0) / 1000).toFixed(1)}s wall time`);
    }
  },
});
