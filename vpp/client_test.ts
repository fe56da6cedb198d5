import { strict as assert } from "node:assert";
import { VppClient, type VppObserverEvent } from "./client.ts";
import {
  VppApiError,
  VppClosedError,
  VppIncompatibleError,
  VppRequestError,
  VppTimeoutError,
} from "./errors.ts";
import { encodeMessage } from "./codec.ts";
import { type FakeRequest, FakeVppServer, ManualTimers } from "./vpp_test_util.ts";

Deno.test("client: handshake registers as vpp-maglev and reads the message table", async () => {
  const server = await FakeVppServer.start({ idBase: 431 });
  const events: VppObserverEvent[] = [];
  const client = await VppClient.connect(server.path, { observer: (e) => events.push(e) });
  try {
    assert.equal(client.clientIndex, 0x80000001);
    assert.equal(
      client.messageTable.get("lb_as_set_weight_2d89bdbd"),
      server.idOf("lb_as_set_weight"),
    );
    assert.equal(client.messageTable.get("sockclnt_create_455fb9c4"), 15);
    assert.deepEqual(server.received[0], {
      name: "sockclnt_create",
      msg: { context: server.received[0].msg.context, name: "vpp-maglev" },
    });
    const ping = await client.request("control_ping", {});
    assert.equal(ping.vpe_pid, 4242);
    assert.equal(server.received[1].msg.client_index, 0x80000001);
    assert.deepEqual(events.slice(0, 2), [
      { msg: "sockclnt_create", direction: "send", ok: true },
      { msg: "sockclnt_create_reply", direction: "recv", ok: true },
    ]);
    assert.ok(events.some((e) => e.msg === "control_ping_reply" && e.direction === "recv"));
  } finally {
    await client.close();
    await server.close();
  }
  assert.equal(server.received.at(-1)?.name, "sockclnt_delete");
  assert.equal(server.received.at(-1)?.msg.index, 0x80000001);
  assert.ok((await client.closed) instanceof VppClosedError);
});

Deno.test("client: pipelined requests are all in flight at once, matched by context", async () => {
  const N = 50;
  let conn: import("./vpp_test_util.ts").FakeConnection | undefined;
  const held: FakeRequest[] = [];
  const server = await FakeVppServer.start({
    handle: (req, c) => {
      if (req.name !== "lb_as_set_weight") return undefined;
      conn = c;
      held.push(req);
      if (held.length < N) return "stall";
      // Every request arrived before any reply: answer in reverse order.
      (async () => {
        for (const r of [...held].reverse()) {
          await c.send("lb_as_set_weight_reply", {
            context: r.msg.context,
            retval: r.msg.weight === 7 ? -6 : 0,
          });
        }
      })();
      return "stall";
    },
  });
  const client = await VppClient.connect(server.path);
  try {
    const results = await Promise.allSettled(
      Array.from({ length: N }, (_, i) =>
        client.request("lb_as_set_weight", {
          pfx: "192.0.2.1/32",
          protocol: 6,
          port: 80,
          as_address: `10.0.0.${i + 1}`,
          weight: i,
        })),
    );
    assert.ok(conn);
    results.forEach((r, i) => {
      if (i === 7) {
        assert.equal(r.status, "rejected");
        const e = (r as PromiseRejectedResult).reason;
        assert.ok(e instanceof VppApiError);
        assert.equal(e.retval, -6);
        assert.equal(e.errorName, "NO_SUCH_ENTRY");
        assert.equal(e.msg, "lb_as_set_weight");
      } else assert.equal(r.status, "fulfilled", `request ${i}`);
    });
    assert.equal(new Set(held.map((r) => r.msg.context)).size, N);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client: requestRaw returns negative retvals, request throws VppApiError", async () => {
  const server = await FakeVppServer.start({
    handle: (req) => req.name === "lb_add_del_vip_v2" ? { reply: { retval: -81 } } : undefined,
  });
  const client = await VppClient.connect(server.path);
  try {
    const raw = await client.requestRaw("lb_add_del_vip_v2", { pfx: "198.51.100.1/32" });
    assert.equal(raw.retval, -81);
    await assert.rejects(
      client.request("lb_add_del_vip_v2", { pfx: "198.51.100.1/32" }),
      (e: Error) => e instanceof VppApiError && /VALUE_EXIST/.test(e.message),
    );
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client: dumps collect details until control_ping_reply; concurrent dumps stay apart", async () => {
  const vip = (port: number) => ({
    vip: { pfx: "198.51.100.1/32", protocol: 6, port },
    encap: 0,
    dscp: 0,
    srv_type: 0,
    target_port: 0,
    flow_table_length: 1024,
  });
  const server = await FakeVppServer.start({
    handle: (req) => {
      if (req.name === "lb_vip_dump") return { details: [vip(80), vip(443), vip(8080)] };
      if (req.name === "lb_as_v2_dump") return { details: [] };
      return undefined;
    },
  });
  const client = await VppClient.connect(server.path);
  try {
    const [a, b, c] = await Promise.all([
      client.dump("lb_vip_dump", {}),
      client.dump("lb_as_v2_dump", {}),
      client.dump("lb_vip_dump", {}),
    ]);
    assert.deepEqual(a.map((d) => d.vip.port), [80, 443, 8080]);
    assert.deepEqual(c.map((d) => d.vip.port), [80, 443, 8080]);
    assert.deepEqual(b, []);
    assert.equal(a[0].vip.pfx, "198.51.100.1/32");
    const dumpCtx = server.received.find((r) => r.name === "lb_vip_dump")!.msg.context;
    assert.ok(server.received.some((r) => r.name === "control_ping" && r.msg.context === dumpCtx));
    await assert.rejects(client.request("lb_vip_dump"), VppRequestError);
    await assert.rejects(client.dump("control_ping"), VppRequestError);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client: a request without an answer times out; a late answer is ignored", async () => {
  const timers = new ManualTimers();
  const server = await FakeVppServer.start({
    handle: (req) => req.name === "show_version" ? "stall" : undefined,
  });
  const client = await VppClient.connect(server.path, { timers, timeoutMs: 1234 });
  try {
    const p = client.request("show_version", {}, { timeoutMs: 50 });
    const req = await server.waitFor((r) => r.name === "show_version");
    assert.deepEqual([...timers.timers.values()].map((t) => t.ms), [50]);
    timers.fireAll();
    await assert.rejects(
      p,
      (e: Error) => e instanceof VppTimeoutError && /show_version/.test(e.message),
    );
    const conn = await server.connection(0);
    await conn.send("show_version_reply", { context: req.msg.context, retval: 0 });
    const ping = client.request("control_ping", {});
    assert.deepEqual([...timers.timers.values()].map((t) => t.ms), [1234]);
    assert.equal((await ping).retval, 0);
    assert.equal(timers.timers.size, 0);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client: VPP going away mid-dump fails every pending request", async () => {
  const server = await FakeVppServer.start({
    handle: (req) => {
      if (req.name === "lb_as_set_weight") return "stall";
      if (req.name === "lb_as_v2_dump") {
        return { details: [{ vip: { pfx: "10.0.0.0/8" }, app_srv: "10.0.0.1" }], drop: true };
      }
      return undefined;
    },
  });
  const client = await VppClient.connect(server.path);
  try {
    const stalled = client.request("lb_as_set_weight", {
      pfx: "10.0.0.0/8",
      as_address: "10.0.0.1",
    });
    await server.waitFor((r) => r.name === "lb_as_set_weight");
    const dump = client.dump("lb_as_v2_dump", {});
    await assert.rejects(
      dump,
      (e: Error) => e instanceof VppClosedError && /lb_as_v2_dump/.test(e.message),
    );
    await assert.rejects(stalled, VppClosedError);
    const why = await client.closed;
    assert.match(why.message, /VPP closed the connection/);
    await assert.rejects(client.request("control_ping", {}), VppClosedError);
    assert.equal(client.isClosed, true);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client: a missing or changed CRC is a VppIncompatibleError listing name_crcs", async () => {
  const server = await FakeVppServer.start({
    omit: ["lb_as_set_weight_2d89bdbd", "lb_vip_details_1329ec9b"],
  });
  try {
    await assert.rejects(VppClient.connect(server.path), (e: Error) => {
      assert.ok(e instanceof VppIncompatibleError);
      assert.deepEqual(e.missing, ["lb_as_set_weight_2d89bdbd", "lb_vip_details_1329ec9b"]);
      assert.match(e.message, /lb_as_set_weight_2d89bdbd/);
      return true;
    });
    assert.equal(server.received.at(-1)?.name, "sockclnt_delete");
    // Only what the caller needs is checked.
    const client = await VppClient.connect(server.path, { required: ["control_ping"] });
    await assert.rejects(
      client.request("lb_as_set_weight", { pfx: "10.0.0.0/8" }),
      (e: Error) =>
        e instanceof VppIncompatibleError && e.missing[0] === "lb_as_set_weight_2d89bdbd",
    );
    await client.close();
    await assert.rejects(
      VppClient.connect(server.path, { required: ["no_such_message"] }),
      /not declared/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("client: refuses new_flows_table_length 0 and bad fields before sending", async () => {
  const server = await FakeVppServer.start();
  const client = await VppClient.connect(server.path);
  try {
    const before = server.received.length;
    await assert.rejects(
      client.request("lb_add_del_vip_v2", { pfx: "198.51.100.1/32", new_flows_table_length: 0 }),
      (e: Error) => e instanceof VppRequestError && /new_flows_table_length 0/.test(e.message),
    );
    await assert.rejects(
      client.request("lb_add_del_vip", { pfx: "198.51.100.1/32", new_flows_table_length: 0 }),
      VppRequestError,
    );
    await assert.rejects(
      client.request("lb_as_set_weight", { pfx: "10.0.0.0/8", weight: 300 }),
      /weight/,
    );
    await assert.rejects(client.request("bogus"), /not a known request/);
    await client.request("control_ping", {});
    assert.deepEqual(server.received.slice(before).map((r) => r.name), ["control_ping"]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client: answers memclnt_keepalive, ignores unknown message ids", async () => {
  let keepaliveReply: (r: FakeRequest) => void;
  const gotReply = new Promise<FakeRequest>((r) => (keepaliveReply = r));
  const server = await FakeVppServer.start({
    handle: (req) => {
      if (req.name === "memclnt_keepalive_reply") keepaliveReply(req);
      return undefined;
    },
  });
  const client = await VppClient.connect(server.path);
  try {
    const conn = await server.connection(0);
    await conn.sendRaw(new Uint8Array([0x7f, 0xff, 1, 2, 3]));
    await conn.sendRaw(encodeMessage("lb_conf_reply", 9999, { context: 1 }));
    await conn.send("memclnt_keepalive", { client_index: 0, context: 77 });
    const r = await gotReply;
    assert.deepEqual(r.msg, { context: 77, retval: 0 });
    const v = (await client.request("cli_inband", { cmd: "show lb vips verbose" })).reply;
    assert.equal(v, "");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("client: close is idempotent and fails requests sent afterwards", async () => {
  const server = await FakeVppServer.start();
  const client = await VppClient.connect(server.path);
  await Promise.all([client.close(), client.close()]);
  await assert.rejects(client.request("lb_conf_get", {}), VppClosedError);
  await server.close();
});

Deno.test("client: a server that never answers the handshake times out", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/silent.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const accepted = listener.accept();
  const timers = new ManualTimers();
  const p = VppClient.connect(path, { timers, timeoutMs: 10 });
  const conn = await accepted;
  await timers.armed();
  timers.fireAll();
  await assert.rejects(p, VppTimeoutError);
  conn.close();
  listener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("client: connect to a missing socket fails clearly", async () => {
  await assert.rejects(VppClient.connect("/nonexistent/vpp/api.sock"), Deno.errors.NotFound);
});
