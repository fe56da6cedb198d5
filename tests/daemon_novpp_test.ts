/**
 * The daemon with VPP integration disabled (`--vpp-api-addr ""`): health
 * checking, the CLI and metrics work, VPP commands fail with a clear
 * UNAVAILABLE message, no VPP series are exported, SIGTERM exits 0.
 */
import { strict as assert } from "node:assert";
import { startBackends } from "../lab/backends.ts";
import {
  DaemonProcess,
  freePort,
  hasAnsi,
  labBackends,
  labConfig,
  metricValue,
  promtoolCheck,
  waitFor,
} from "./helpers/mod.ts";

const NET = "127.0.62";

Deno.test("daemon without VPP: health checking, CLI, metrics, SIGTERM", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-novpp-test-" });
  const hcPort = freePort();
  const backends = startBackends(labBackends(NET, hcPort));
  const configPath = `${dir}/maglev.yaml`;
  // The VPP section is optional without VPP: drop it to prove it.
  const config = labConfig({ net: NET, hcPort }).replace(/^ {2}vpp:\n(?: {4}.*\n)+/m, "");
  assert.doesNotMatch(config, /ipv4-src-address/);
  await Deno.writeTextFile(configPath, config);
  let d: DaemonProcess | undefined;
  try {
    d = await DaemonProcess.start(configPath, { vppSocket: "" });
    const daemon = d;

    await t.step("backends come up; show frontends prints effective weights", async () => {
      const out = await waitFor("http-vip with nginx1 and nginx2 at effective 100", async () => {
        const r = await daemon.cli("show", "frontends", "http-vip");
        return r.code === 0 &&
            /^\s*nginx1\s+weight\s+100\s+effective\s+100\b/m.test(r.stdout) &&
            /^\s*nginx2\s+weight\s+\d+\s+effective\s+100\b/m.test(r.stdout)
          ? r.stdout
          : undefined;
      }, { describe: async () => (await daemon.cli("show", "frontends", "http-vip")).stdout });
      assert.match(out, /^\s*nginx3\s+weight\s+\d+\s+effective\s+0\b/m, out);
      const b = await daemon.cliOk("show", "backends", "nginx3");
      assert.match(b, /^state\s+up$/m, b);
    });

    await t.step("VPP commands fail with a clear message and a non-zero exit", async () => {
      const r = await daemon.cli("show", "vpp", "info");
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /VPP integration is disabled/, r.stderr);
      assert.ok(!hasAnsi(r.stderr), r.stderr);
      assert.doesNotMatch(r.stderr, /UNAVAILABLE|\b14 /, r.stderr);
    });

    await t.step("metrics: backend series present, no VPP series, promtool clean", async () => {
      const text = await daemon.metrics();
      assert.equal(
        metricValue(
          text,
          `maglev_backend_state{address="${NET}.13",backend="nginx3",healthcheck="http-check",state="up"}`,
        ),
        1,
      );
      assert.equal(
        metricValue(
          text,
          `maglev_frontend_pool_backend_weight{backend="nginx1",frontend="http-vip",pool="primary"}`,
        ),
        100,
      );
      assert.doesNotMatch(text, /^maglev_vpp_connected\b/m);
      const check = await promtoolCheck(text);
      if (check === undefined) {
        console.log("promtool not installed (Debian package prometheus): check skipped");
      } else {
        assert.ok(check.ok, `promtool check metrics:\n${check.output}`);
      }
    });

    await t.step(
      "SIGHUP on a FIFO or /dev/zero: refused at once, every time, config kept",
      async () => {
        const good = await Deno.readTextFile(configPath);
        const before = await daemon.cliOk("show", "frontends");
        const reloadError = async (pattern: RegExp) => {
          const from = daemon.logs.length;
          daemon.signal("SIGHUP");
          const rec = await daemon.waitForLog("config-reload-parse-error", {}, { from });
          assert.match(String(rec.err), pattern);
          assert.ok(String(rec.err).includes(configPath), String(rec.err));
        };
        try {
          await Deno.remove(configPath);
          const fifo = await new Deno.Command("mkfifo", { args: [configPath] }).output();
          assert.ok(fifo.success, new TextDecoder().decode(fifo.stderr));
          // A read of a FIFO with no writer would block; a second SIGHUP must not queue behind it.
          await reloadError(/is a FIFO, not a regular file/);
          await reloadError(/is a FIFO, not a regular file/);
          await Deno.remove(configPath);
          await Deno.symlink("/dev/zero", configPath);
          await reloadError(/is a character device, not a regular file/);
        } finally {
          await Deno.remove(configPath).catch(() => {});
          await Deno.writeTextFile(configPath, good);
        }
        assert.equal(await daemon.cliOk("show", "frontends"), before);
        const from = daemon.logs.length;
        daemon.signal("SIGHUP");
        await daemon.waitForLog("config-reload", { file: configPath }, { from });
      },
    );

    await t.step("SIGTERM: exit 0 and `stopped` logged", async () => {
      assert.equal(await daemon.stop(), 0, daemon.tail());
      assert.equal(daemon.logsNamed("stopped").length, 1, daemon.tail());
      d = undefined;
    });
  } finally {
    await d?.kill();
    await backends.close();
    await Deno.remove(dir, { recursive: true });
  }
});
