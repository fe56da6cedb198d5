/**
 * Traffic through a real VPP, programmed by the real daemon, judged from
 * VPP's own counters (only a real dataplane can judge these; the double
 * forwards no packet). UDP flows from VPP's packet generator enter at
 * `ip4-input` towards the VIP; the ASes are loopback addresses whose HTTP
 * health servers this test runs, reached by VPP through `pg0`.
 *
 * One VPP, one set of backends and one daemon serve every step, in order:
 * a daemon restart, a SIGHUP reload, a drain and a disable black-hole no
 * packet; drain keeps a backend's sticky flows and flush-on-down moves a
 * dead backend's; failover to the fallback pool keeps `no server
 * configured` at 0.
 */
import { strict as assert } from "node:assert";
import { startBackends } from "../lab/backends.ts";
import { DaemonProcess, freePort, waitFor } from "./helpers/mod.ts";
import { type CounterDelta, Dataplane, delta } from "./helpers/traffic.ts";
import {
  announceVppSkip,
  readLbView,
  realVppSkipReason,
  startVppUnderTest,
} from "./helpers/vpp_under_test.ts";

const SKIP = realVppSkipReason();
announceVppSkip("tests/traffic_real_test.ts", SKIP);

const NET = "127.0.77";
const VIP = "10.77.0.1";
const PREFIX = `${VIP}/32`;
const PORT = 53;
const BE = { be1: `${NET}.1`, be2: `${NET}.2`, be3: `${NET}.3` };

function config(hcPort: number, be2Weight = 100): string {
  return `maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      # Room for every flow of the run: a full 4-way sticky bucket leaves a flow untracked.
      sticky-buckets-per-core: 65536
      sync-interval: 30s
      startup-min-delay: 0s
      startup-max-delay: 2s
  healthchecks:
    http-check:
      type: http
      port: ${hcPort}
      params: { path: /healthz, response-code: 200 }
      # The backends are served by this test process: a loaded machine can hold a reply for
      # well over 200 ms, and a first probe that times out after a restart is unknown -> down
      # at once (spec 3.3), a flush the restart step would pin on the daemon.
      interval: 500ms
      fast-interval: 200ms
      down-interval: 200ms
      timeout: 500ms
      rise: 2
      fall: 3
  backends:
    be1: { address: ${BE.be1}, healthcheck: http-check }
    be2: { address: ${BE.be2}, healthcheck: http-check }
    be3: { address: ${BE.be3}, healthcheck: http-check }
  frontends:
    dns:
      address: ${VIP}
      protocol: udp
      port: ${PORT}
      pools:
        - { name: primary, backends: { be1: {}, be2: { weight: ${be2Weight} } } }
        - { name: fallback, backends: { be3: {} } }
`;
}

/** No packet lost: every packet that came in went out, no drop, no "no server configured". */
function assertNothingBlackholed(what: string, d: CounterDelta): void {
  assert.ok(d.received > 0, `${what}: no packet was sent (${JSON.stringify(d)})`);
  assert.deepEqual(
    { noServer: d.noServer, drops: d.drops, forwarded: d.forwarded },
    { noServer: 0, drops: {}, forwarded: d.received },
    `${what}: VPP dropped packets`,
  );
}

Deno.test({
  name: "traffic on a real VPP: restart, reload, drain, disable, flush-on-down and failover",
  ignore: SKIP !== undefined,
  async fn(t) {
    const vpp = await startVppUnderTest({ kind: "real", prefix: "maglev-traffic-" });
    const hcPort = freePort(BE.be1);
    const backends = startBackends(
      Object.entries(BE).map(([name, address]) => ({ name, address, port: hcPort })),
    );
    const dir = await Deno.makeTempDir({ prefix: "maglev-traffic-cfg-" });
    const configPath = `${dir}/maglev.yaml`;
    await Deno.writeTextFile(configPath, config(hcPort));
    let dp: Dataplane | undefined;
    let daemon: DaemonProcess | undefined;
    const start = async () => {
      daemon = await DaemonProcess.start(configPath, {
        vppSocket: vpp.socket,
        logFile: `${dir}/maglevd.log`,
      });
      return daemon;
    };
    /** Waits until VPP holds `want` (address -> weight) for the VIP. */
    const holds = (want: Record<string, number>) => {
      let last = "";
      return waitFor(`VPP to hold ${JSON.stringify(want)}`, async () => {
        const ases = (await readLbView(vpp.socket)).ases;
        last = [...ases.values()].map((a) => `${a.address}=${a.weight}`).join(" ");
        return Object.entries(want).every(([b, w]) =>
          ases.get(`${PREFIX} ${BE[b as keyof typeof BE]}`)?.weight === w
        );
      }, { timeoutMs: 15_000, describe: () => last });
    };
    /** Runs `during` with a stream of `flows` flows at 2,000 packets/s, and returns the delta. */
    const underTraffic = async (srcNet: string, during: () => Promise<void>) => {
      const before = await dp!.counters(PREFIX);
      const s = await dp!.stream({ vip: VIP, port: PORT, srcNet, flows: 200 }, { rate: 2000 });
      try {
        await during();
      } finally {
        await s.stop();
      }
      return delta(before, await dp!.counters(PREFIX));
    };
    /** Sends one packet per flow from `<srcNet>.1..n` and returns the delta. */
    const burst = async (srcNet: string, n = 200) => {
      const before = await dp!.counters(PREFIX);
      await dp!.stream({ vip: VIP, port: PORT, srcNet, flows: n }, { packets: n });
      return delta(before, await dp!.counters(PREFIX));
    };
    /** Sets `b`'s weight in the `dns` primary pool through the CLI. */
    const setWeight = (b: keyof typeof BE, weight: number) =>
      daemon!.cliOk(
        "set",
        "frontend",
        "dns",
        "pool",
        "primary",
        "backend",
        b,
        "weight",
        `${weight}`,
      );
    const flowsOf = async (b: keyof typeof BE) =>
      (await dp!.counters(PREFIX)).ases.get(BE[b])?.flows ?? 0;
    try {
      dp = await Dataplane.open(vpp.socket, { net: NET, asAddresses: Object.values(BE) });
      await start();
      await holds({ be1: 100, be2: 100, be3: 0 });

      await t.step("the VIP serves traffic, and nothing is dropped", async () => {
        const d = await burst("198.18.1");
        assertNothingBlackholed("steady state", d);
        assert.equal(d.first, 200, "200 new flows");
      });

      await t.step("a daemon restart black-holes no packet", async () => {
        const d = await underTraffic("198.18.2", async () => {
          assert.equal(await daemon!.stop(), 0, daemon!.tail());
          const next = await start();
          await next.waitForLog("vpp-connect", {}, { timeoutMs: 15_000 });
          await next.waitForLog("vpp-lb-warmup-max-delay-elapsed", {}, { timeoutMs: 15_000 });
        });
        assertNothingBlackholed("daemon restart", d);
        await holds({ be1: 100, be2: 100, be3: 0 });
      });

      await t.step("a SIGHUP reload black-holes no packet", async () => {
        // 100 -> 90 keeps the auto flow-table length (8 x 290 and 8 x 300 both round up to
        // 4096). A weight change that crosses a power of two (100 -> 50: 2048) recreates the
        // VIP by spec 0.2, and on a real VPP that drops every sticky flow and the packets in
        // between: a finding for the reconciler's owner, not a property to pin here.
        const d = await underTraffic("198.18.3", async () => {
          await Deno.writeTextFile(configPath, config(hcPort, 90));
          const from = daemon!.logs.length;
          daemon!.signal("SIGHUP");
          await daemon!.waitForLog("config-reload", {}, { from });
          await holds({ be1: 100, be2: 90, be3: 0 });
        });
        assertNothingBlackholed("reload", d);
        assert.deepEqual(
          daemon!.logsNamed("vpp-lb-vip-recreate"),
          [],
          "the reload recreated no VIP",
        );
      });

      await t.step(
        "a drain black-holes no packet and keeps the backend's sticky flows",
        async () => {
          await burst("198.18.4");
          const stuck = await flowsOf("be1");
          assert.ok(stuck > 0, "be1 holds sticky flows");
          const d = await underTraffic("198.18.5", async () => {
            await setWeight("be1", 0);
            await holds({ be1: 0, be2: 90, be3: 0 });
          });
          assertNothingBlackholed("drain", d);
          const again = await burst("198.18.4");
          assertNothingBlackholed("drained flows", again);
          assert.equal(again.existing, 200, "every old flow is still an existing session");
          assert.ok(await flowsOf("be1") >= stuck, "be1 keeps its sticky flows while drained");
          const fresh = await burst("198.18.6");
          assert.equal(fresh.first, 200);
          await setWeight("be1", 100);
          await holds({ be1: 100, be2: 90, be3: 0 });
        },
      );

      await t.step("a disable black-holes no packet and flushes the backend's flows", async () => {
        await burst("198.18.7");
        assert.ok(await flowsOf("be1") > 0, "be1 holds sticky flows");
        const d = await underTraffic("198.18.7", async () => {
          await daemon!.cliOk("set", "backend", "be1", "disable");
          await holds({ be1: 0, be2: 90, be3: 0 });
        });
        assertNothingBlackholed("disable", d);
        assert.equal(await flowsOf("be1"), 0, "a disabled backend keeps no sticky flow");
        await daemon!.cliOk("set", "backend", "be1", "enable");
        await holds({ be1: 100, be2: 90, be3: 0 });
      });

      await t.step("flush-on-down moves a dead backend's sticky flows", async () => {
        await burst("198.18.8");
        const onBe1 = await flowsOf("be1");
        assert.ok(onBe1 > 0, "be1 holds sticky flows");
        backends.failing.add("be1");
        await holds({ be1: 0, be2: 90, be3: 0 });
        assert.equal(await flowsOf("be1"), 0, "a down backend's sticky flows are flushed");
        const again = await burst("198.18.8");
        assertNothingBlackholed("flows of a dead backend", again);
        assert.ok(again.first >= onBe1, `be1's ${onBe1} flows were placed anew (${again.first})`);
        assert.equal(await flowsOf("be1"), 0, "no flow went back to the dead backend");
        backends.failing.delete("be1");
        await holds({ be1: 100, be2: 90, be3: 0 });
      });

      await t.step("failover to the fallback pool keeps 'no server configured' at 0", async () => {
        const d = await underTraffic("198.18.9", async () => {
          backends.failing.add("be1");
          backends.failing.add("be2");
          await holds({ be1: 0, be2: 0, be3: 100 });
          backends.failing.clear();
          await holds({ be1: 100, be2: 90, be3: 0 });
        });
        assertNothingBlackholed("failover and back", d);
      });
    } finally {
      await daemon?.kill();
      await dp?.close().catch(() => {});
      await vpp.stop();
      await backends.close();
      // MAGLEV_E2E_KEEP=1 keeps the config and the daemon's log for a post-mortem.
      if (Deno.env.get("MAGLEV_E2E_KEEP") === "1") console.log(`kept ${dir}`);
      else await Deno.remove(dir, { recursive: true });
    }
  },
});
