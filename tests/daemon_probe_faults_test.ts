/**
 * The real daemon under faults of its own host and of hostile backends
 * (issue 12.2 and 12.4): a full fd table must not take healthy backends
 * down, and a backtracking response-regexp must not stall anything.
 */
import { strict as assert } from "node:assert";
import { startBackends } from "../lab/backends.ts";
import { startVppSim, type VppSimEvent } from "../lab/vppsim/server.ts";
import {
  DaemonProcess,
  describeSim,
  freePort,
  labBackends,
  labConfig,
  metricValue,
  simHolds,
  waitFor,
} from "./helpers/mod.ts";

const NET = "127.0.62";
const HTTP_VIP = "192.0.2.1/32";
const FAILOVER_VIP = "192.0.2.2/32";
const STEADY: Record<string, number> = {
  [`${HTTP_VIP} ${NET}.11`]: 100,
  [`${HTTP_VIP} ${NET}.12`]: 100,
  [`${HTTP_VIP} ${NET}.13`]: 0,
  [`${FAILOVER_VIP} ${NET}.21`]: 100,
  [`${FAILOVER_VIP} ${NET}.22`]: 0,
};
const WEIGHT_WRITES = ["lb_add_del_as", "lb_add_del_as_v2", "lb_as_set_weight", "lb_flush_vip"];

function openFds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

async function prlimitNofile(pid: number, soft: number, hard: number): Promise<void> {
  const out = await new Deno.Command("prlimit", {
    args: [`--pid=${pid}`, `--nofile=${soft}:${hard}`],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`prlimit: ${new TextDecoder().decode(out.stderr)}`);
}

function hardNofile(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/limits`).split("\n")
    .find((l) => l.startsWith("Max open files"))!;
  return Number(line.split(/\s+/)[4]);
}

Deno.test({
  name: "daemon: a full fd table moves no backend and writes no weight 0 (prlimit)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "maglev-fd-test-" });
    const hcPort = freePort();
    const backends = startBackends(labBackends(NET, hcPort));
    const simEvents: VppSimEvent[] = [];
    const sim = await startVppSim({
      socketPath: `${dir}/vpp-api.sock`,
      onEvent: (ev) => simEvents.push(ev),
    });
    const configPath = `${dir}/maglev.yaml`;
    await Deno.writeTextFile(configPath, labConfig({ net: NET, hcPort }));
    let d: DaemonProcess | undefined;
    try {
      d = await DaemonProcess.start(configPath, { vppSocket: sim.socketPath });
      const daemon = d;
      await waitFor("VPP to hold the steady weights", () => simHolds(sim, STEADY), {
        describe: () => describeSim(sim),
      });
      const pid = daemon.child.pid;
      const hard = hardNofile(pid);
      const from = simEvents.length;
      const logFrom = daemon.logs.length;
      // No fd left: every probe's socket() fails with EMFILE.
      await prlimitNofile(pid, openFds(pid), hard);
      try {
        await waitFor("three local probe errors in the log", () => {
          const errs = daemon.logs.slice(logFrom).filter((r) => r.msg === "probe-local-error");
          return errs.length >= 3 ? errs : undefined;
        }, { timeoutMs: 15_000 });
      } finally {
        await prlimitNofile(pid, hard, hard);
      }
      const errs = daemon.logs.slice(logFrom).filter((r) => r.msg === "probe-local-error");
      assert.equal(errs[0].level, "ERROR");
      assert.match(String(errs[0].detail), /too many open files/i);
      const moved = daemon.logs.slice(logFrom).filter((r) => r.msg === "backend-transition");
      assert.deepEqual(moved, [], "no backend changed state");
      const writes = simEvents.slice(from).filter((e) =>
        e.kind === "request" && WEIGHT_WRITES.includes(String(e.attrs.name))
      );
      assert.deepEqual(writes, [], "VPP got no weight change");
      assert.ok(simHolds(sim, STEADY), describeSim(sim));
      const text = await (await fetch(`http://${daemon.metricsAddr}/metrics`)).text();
      const counted = metricValue(
        text,
        `maglev_probe_local_errors_total{backend="nginx1",type="http"}`,
      );
      assert.ok((counted ?? 0) >= 1, `maglev_probe_local_errors_total for nginx1: ${counted}`);
      const up = await daemon.cliOk("show", "backends", "nginx1");
      assert.match(up, /^state\s+up$/m, up);
    } finally {
      await d?.stop();
      await sim.close();
      await backends.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
