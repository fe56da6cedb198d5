/**
 * The real daemon's gRPC listener after a full fd table (issue 12 item 1):
 * once the fds come back, the CLI is answered again; under Deno's
 * `node:net` an accept() that failed with EMFILE never accepts again, so
 * this proves the listener's watchdog listens anew.
 */
import { strict as assert } from "node:assert";
import { hardNofile, Lab, openFds, prlimitNofile, runCli, waitFor } from "./helpers/mod.ts";

const NET = "127.0.62";

Deno.test({
  name: "daemon: gRPC answers again after accept() failed with EMFILE (prlimit)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const lab = await Lab.start({ prefix: "maglev-grpc-emfile-test-", net: NET, vpp: false });
    try {
      const socket = `${lab.dir}/grpc.sock`;
      const daemon = await lab.startDaemon({ extraArgs: ["--grpc-socket", socket] });
      const pid = daemon.child.pid;
      const hard = hardNofile(pid);
      const logFrom = daemon.logs.length;
      // Below the lowest free fd: the accept of the CLI's connection fails with EMFILE.
      assert.ok(openFds(pid) > 16, "the daemon holds more than 16 fds");
      await prlimitNofile(pid, { soft: 16, hard });
      try {
        const during = await Promise.all([
          daemon.cli("show", "backends"),
          runCli(socket, ["show", "backends"]),
        ]);
        for (const r of during) {
          assert.notEqual(r.code, 0, `answered with a full fd table: ${r.stdout}`);
        }
      } finally {
        await prlimitNofile(pid, { soft: hard, hard });
      }
      const out = await waitFor("the CLI to be answered again", async () => {
        const r = await daemon.cli("show", "backends");
        return r.code === 0 ? r.stdout : undefined;
      }, { timeoutMs: 40_000, describe: () => daemon.tail() });
      assert.match(out, /nginx1/, out);
      // The unix socket listener stalled alike and is bound again too.
      const unix = await waitFor("the unix socket to be answered again", async () => {
        const r = await runCli(socket, ["show", "backends"]);
        return r.code === 0 ? r.stdout : undefined;
      }, { timeoutMs: 40_000, describe: () => daemon.tail() });
      assert.match(unix, /nginx1/, unix);
      const stalled = daemon.logsNamed("grpc-accept-error", {}, logFrom);
      assert.equal(stalled[0]?.level, "ERROR", daemon.tail());
      assert.match(String(stalled[0].err), /accept\(\) stalled/);
      const again = daemon.logsNamed("grpc-listen", { reason: "accept() stalled" }, logFrom);
      assert.deepEqual(again.map((r) => r.addr).sort(), [daemon.grpcAddr, `unix:${socket}`].sort());
    } finally {
      await lab.close();
    }
  },
});
