/**
 * The daemon reporting on itself, through the real `maglevd` subprocess
 * (issue 17): systemd readiness on a NOTIFY_SOCKET of the test's own,
 * `/healthz` and `/ready`, the build, process, reload and fingerprint
 * metrics (promtool clean), GetStatus after a SIGHUP, every VIP's counters in
 * the first scrape after a connect or a reload.
 */
import { strict as assert } from "node:assert";
import { startBackends } from "../lab/backends.ts";
import { startVppSim } from "../lab/vppsim/server.ts";
import { createClient } from "../src/grpc/client.ts";
import type { StatusInfo } from "../proto/maglev_pb.ts";
import { bindNotifySink } from "../src/systemd/notify_test_util.ts";
import {
  DaemonProcess,
  describeSim,
  freePort,
  labBackends,
  labConfig,
  metricValue,
  promtoolCheck,
  simView,
  waitFor,
} from "./helpers/mod.ts";

const NET = "127.0.62";

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

Deno.test("daemon: READY=1 after warmup, RELOADING=1/READY=1 around SIGHUP, health and self metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-surface-test-" });
  const hcPort = freePort();
  const backends = startBackends(labBackends(NET, hcPort));
  const sim = await startVppSim({ socketPath: `${dir}/vpp-api.sock` });
  const sink = bindNotifySink(`${dir}/notify.sock`);
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, labConfig({ net: NET, hcPort }));
  let d: DaemonProcess | undefined;
  try {
    d = await DaemonProcess.start(configPath, {
      vppSocket: sim.socketPath,
      env: { NOTIFY_SOCKET: sink.path },
    });
    const base = `http://${d.metricsAddr}`;
    assert.deepEqual(await get(`${base}/healthz`), { status: 200, body: "ok\n" });
    // Warmup (startup-max-delay 1s) ends with READY=1; /ready agrees from then on.
    assert.equal(await sink.next(), "READY=1");
    assert.deepEqual(await get(`${base}/ready`), { status: 200, body: "ready\n" });

    const text = await d.metrics();
    assert.match(text, /^maglev_build_info\{commit="[^"]*",version="[^"]+"\} 1$/m);
    assert.equal(metricValue(text, "maglev_config_last_reload_success"), 1);
    assert.ok((metricValue(text, "maglev_config_last_reload_timestamp_seconds") ?? 0) > 1.7e9);
    assert.ok((metricValue(text, "process_resident_memory_bytes") ?? 0) > 0);
    assert.ok((metricValue(text, "process_open_fds") ?? 0) > 0);
    assert.ok((metricValue(text, "process_start_time_seconds") ?? 0) > 1.7e9);
    assert.ok(metricValue(text, "process_cpu_seconds_total") !== undefined);
    assert.match(
      text,
      /^maglev_vip_fingerprint_info\{fingerprint="[0-9a-f]{16}",frontend="http-vip"\} 1$/m,
    );
    const promtool = await promtoolCheck(text);
    if (promtool) assert.ok(promtool.ok, promtool.output);

    // A bad file: the reload fails (no RELOADING: nothing was applied), metrics say so.
    await Deno.writeTextFile(configPath, "maglev: [\n");
    d.signal("SIGHUP");
    const client = createClient(d.grpcAddr);
    try {
      let status: StatusInfo;
      do status = await client.call("GetStatus", {}); while (status.last_reload?.at_ns === "0");
      assert.equal(status.last_reload?.ok, false);
      assert.match(status.last_reload!.error, /maglev\.yaml: YAML: .*\(line 2, column 1\)/);
      assert.equal(metricValue(await d.metrics(), "maglev_config_last_reload_success"), 0);
      // A good file: RELOADING=1, then READY=1.
      await Deno.writeTextFile(configPath, labConfig({ net: NET, hcPort, withNewFrontend: true }));
      d.signal("SIGHUP");
      assert.equal(await sink.next(), "RELOADING=1");
      assert.equal(await sink.next(), "READY=1");
      status = await client.call("GetStatus", {});
      assert.equal(status.last_reload?.ok, true);
      assert.equal(status.vpp?.state, "connected");
      assert.equal(status.warmup, "done");
      assert.match(status.config_hash, /^[0-9a-f]{64}$/);
      assert.equal(metricValue(await d.metrics(), "maglev_config_last_reload_success"), 1);
    } finally {
      client.close();
    }
    assert.equal(await d.stop(), 0);
    assert.equal(await sink.next(), "STOPPING=1");
  } finally {
    await d?.kill();
    sink.close();
    await sim.close();
    await backends.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("daemon: /ready is 503 with the manager's reason while VPP is not connected", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-ready-test-" });
  const hcPort = freePort();
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, labConfig({ net: NET, hcPort }));
  const sink = bindNotifySink(`${dir}/notify.sock`);
  let d: DaemonProcess | undefined;
  try {
    d = await DaemonProcess.start(configPath, {
      vppSocket: `${dir}/nobody-listens.sock`,
      env: { NOTIFY_SOCKET: sink.path },
    });
    const base = `http://${d.metricsAddr}`;
    assert.equal((await get(`${base}/healthz`)).status, 200);
    assert.equal(await sink.next(), "READY=1", "warmup completes without VPP");
    const ready = await get(`${base}/ready`);
    assert.deepEqual(ready, { status: 503, body: "not ready: VPP is not connected\n" });
    assert.equal(await d.stop(), 0);
  } finally {
    await d?.kill();
    sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("daemon: the first scrape after vpp-connect has every VIP's packet counters", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-first-scrape-test-" });
  const hcPort = freePort();
  const backends = startBackends(labBackends(NET, hcPort));
  const sim = await startVppSim({ socketPath: `${dir}/vpp-api.sock` });
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, labConfig({ net: NET, hcPort }));
  // Spawned, not started: start() scrapes /metrics to see the daemon listen.
  const d = DaemonProcess.spawn(configPath, { vppSocket: sim.socketPath });
  try {
    await d.waitForLog("vpp-connect");
    await waitFor("VPP to hold both VIPs", () => simView(sim).vips.length === 2, {
      describe: () => describeSim(sim),
    });
    await waitFor("the metrics listener", async () => {
      const health = await get(`http://${d.metricsAddr}/healthz`).catch(() => undefined);
      return health?.status === 200;
    }, { describe: () => d.tail() });
    const vips = [["192.0.2.1", "http-vip", 80], ["192.0.2.2", "failover-vip", 80]] as const;
    const assertCounters = (text: string, want: readonly (readonly [string, string, number])[]) => {
      for (const [address, frontend, port] of want) {
        for (const kind of ["next", "first", "untracked", "no-server"]) {
          const s = `maglev_vip_packets_total{address="${address}",frontend="${frontend}",` +
            `kind="${kind}",port="${port}",protocol="tcp"}`;
          assert.notEqual(metricValue(text, s), undefined, `${s} missing:\n${text}`);
        }
      }
    };
    assertCounters(await d.metrics(), vips);
    // A VIP a reload adds is in the first scrape after VPP holds it, though
    // the counters were read a moment before.
    await Deno.writeTextFile(configPath, labConfig({ net: NET, hcPort, withNewFrontend: true }));
    d.signal("SIGHUP");
    await waitFor("VPP to hold the new VIP", () => simView(sim).vips.length === 3, {
      describe: () => describeSim(sim),
    });
    assertCounters(await d.metrics(), [...vips, ["192.0.2.3", "new-vip", 443]]);
    assert.equal(await d.stop(), 0);
  } finally {
    await d.kill();
    await backends.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});
