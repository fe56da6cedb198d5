/**
 * The `vpp/` client over a real unix socket. Handshake, pipelining, dumps
 * and a VPP restart run against the VPP under test (the double, or a fresh
 * real VPP with `MAGLEV_TEST_VPP=real`); stalls, a loss mid-dump and
 * malformed frames need the in-process double's fault controls (a real VPP
 * cannot be told to misbehave), so they run on the double only.
 */
import { strict as assert } from "node:assert";
import { startVppSim, type VppSim } from "../lab/vppsim/server.ts";
import { VppApiError, VppClient } from "../vpp/mod.ts";
import {
  announceVppSkip,
  vppSkipReason,
  vppTest,
  type VppUnderTest,
} from "./helpers/vpp_under_test.ts";

announceVppSkip("tests/vpp_session_test.ts", vppSkipReason());

/** A test against the VPP under test, in its own temp dir. */
function sessionTest(name: string, fn: (vpp: VppUnderTest) => Promise<void>): void {
  vppTest(name, fn, { prefix: "vpp-session-" });
}

/** Runs `fn` on the in-process double, for its fault controls (double only, whatever the kind). */
async function withSim(fn: (sim: VppSim, socket: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vpp-session-" });
  const socket = `${dir}/api.sock`;
  const sim = await startVppSim({ socketPath: socket });
  try {
    await fn(sim, socket);
  } finally {
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const VIP = { pfx: "192.0.2.1/32", protocol: 6, port: 80 };

sessionTest(
  "handshake: client index with the high bit, plugin ids looked up, not assumed",
  async (vpp) => {
    const c = await VppClient.connect(vpp.socket);
    try {
      assert.ok((c.clientIndex & 0x80000000) !== 0);
      const id = c.messageTable.get("lb_as_set_weight_2d89bdbd");
      assert.ok(id !== undefined && id > c.messageTable.get("control_ping_51077d14")!, `id ${id}`);
      const pong = await c.request("control_ping", {});
      assert.equal(Number(pong.vpe_pid), vpp.pid, "vpe_pid is the VPP process");
      const ver = await c.request("show_version", {});
      assert.match(String(ver.version), /\S/);
    } finally {
      await c.close();
    }
  },
);

Deno.test("handshake: the double's plugin ids are its own, read from the table", async () => {
  await withSim(async (sim, socket) => {
    const c = await VppClient.connect(socket);
    assert.equal(
      c.messageTable.get("lb_as_set_weight_2d89bdbd"),
      sim.messageTable.get("lb_as_set_weight_2d89bdbd"),
    );
    await c.close();
  });
});

sessionTest("pipelined requests are answered by context, in any volume", async (vpp) => {
  {
    const c = await VppClient.connect(vpp.socket);
    await c.request("lb_add_del_vip_v2", { ...VIP, encap: 0, new_flows_table_length: 1024 });
    const adds = [];
    for (let i = 1; i <= 200; i++) {
      adds.push(
        c.request("lb_add_del_as_v2", {
          ...VIP,
          as_address: `10.0.${i >> 8}.${i & 255}`,
          weight: 1,
        }),
      );
    }
    await Promise.all(adds);
    const rows = await c.dump("lb_as_v2_dump", {
      pfx: "0.0.0.0/0",
      protocol: 0,
      port: 0,
    }) as unknown[];
    assert.equal(rows.length, 200);
    await assert.rejects(
      () => c.request("lb_add_del_vip_v2", { ...VIP, encap: 0, new_flows_table_length: 1024 }),
      (e: unknown) => e instanceof VppApiError && e.retval === -81,
    );
    await c.close();
  }
});

sessionTest("a VPP restart ends the session; the new VPP is reachable and empty", async (vpp) => {
  const c = await VppClient.connect(vpp.socket);
  await c.request("lb_add_del_vip_v2", { ...VIP, encap: 0, new_flows_table_length: 1024 });
  const oldPid = vpp.pid;
  await vpp.restart();
  const err = await c.closed;
  assert.ok(err instanceof Error, "the session reports why it closed");
  await assert.rejects(
    () => c.request("control_ping", {}, { timeoutMs: 2000 }),
    /closed|lost|EOF/i,
  );
  await c.close();
  const again = await VppClient.connect(vpp.socket);
  try {
    assert.notEqual(vpp.pid, oldPid);
    assert.deepEqual(await again.dump("lb_vip_dump", {}), [], "restarted empty");
    assert.equal(Number((await again.request("control_ping", {})).vpe_pid), vpp.pid);
  } finally {
    await again.close();
  }
});

Deno.test("a stalled VPP times requests out; the session survives", async () => {
  await withSim(async (sim, socket) => {
    const c = await VppClient.connect(socket);
    sim.stall(true);
    await assert.rejects(() => c.request("control_ping", {}, { timeoutMs: 100 }), /time/i);
    sim.stall(false);
    await c.request("control_ping", {});
    await c.close();
  });
});

Deno.test("the double going away mid-dump fails the dump, and a restarted double is reachable again", async () => {
  await withSim(async (sim, socket) => {
    const c = await VppClient.connect(socket);
    await c.request("lb_add_del_vip_v2", { ...VIP, encap: 0, new_flows_table_length: 1024 });
    sim.stall(true);
    const dump = c.dump("lb_vip_dump", {});
    const failed = assert.rejects(() => dump, /closed|lost|EOF/i);
    sim.restart();
    await failed;
    await c.closed;
    sim.stall(false);
    const again = await VppClient.connect(socket);
    assert.deepEqual(await again.dump("lb_vip_dump", {}), [], "restarted empty");
    await again.close();
    await c.close();
  });
});

Deno.test("a malformed frame from the double closes the session with a clear error", async () => {
  await withSim(async (sim, socket) => {
    const c = await VppClient.connect(socket);
    const pending = c.request("control_ping", {}, { timeoutMs: 2000 }).catch((e) => e as Error);
    sim.sendMalformed();
    const err = await c.closed;
    assert.match(String(err.message), /frame|length|decode|closed/i);
    const failed = await pending;
    assert.ok(failed instanceof Error, "the pending request fails with the session");
    await c.close();
  });
});

// Found on the real VPP (issue 14): an unknown command is retval -1, `show lb` exists, and the
// first AS of a fresh VPP stacks on load-balance 9. The double answered 0, "unknown input" and 8.
sessionTest(
  "the debug CLI answers as VPP does: show lb, dpo numbers, unknown input",
  async (vpp) => {
    const c = await VppClient.connect(vpp.socket);
    try {
      await c.request("lb_add_del_vip_v2", { ...VIP, encap: 0, new_flows_table_length: 1024 });
      await c.request("lb_add_del_as_v2", { ...VIP, as_address: "10.0.0.1", weight: 30 });
      const cli = async (cmd: string) => {
        const r = await c.requestRaw("cli_inband", { cmd });
        return [r.retval, r.reply];
      };
      assert.deepEqual(await cli("show lb"), [
        0,
        "lb_main ip4-src-address: 255.255.255.255 \n" +
        " ip6-src-address: ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \n #vips: 2\n #ass: 1\n",
      ]);
      const [rv, verbose] = await cli("show lb vips verbose");
      assert.equal(rv, 0);
      assert.match(
        String(verbose),
        /\n {4}10\.0\.0\.1 weight:30 buckets:1024 flows:0 dpo:9 used\n/,
      );
      assert.deepEqual(await cli("show nonsense"), [-1, "show: unknown input `nonsense'\n"]);
      assert.deepEqual(await cli("foo bar"), [-1, "unknown input `foo bar'\n"]);
      await assert.rejects(() => c.request("cli_inband", { cmd: "foo" }), VppApiError);
    } finally {
      await c.close();
    }
  },
);
