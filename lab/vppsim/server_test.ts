import { strict as assert } from "node:assert";
import { VppClient } from "../../vpp/client.ts";
import { decodeMessage, encodeMessage, messageIdOf } from "../../vpp/codec.ts";
import { VppTimeoutError } from "../../vpp/errors.ts";
import { frameMessage, FrameReader } from "../../vpp/framing.ts";
import { startVppSim, type VppSim } from "./server.ts";

const VIP = { pfx: "198.51.100.1/32", protocol: 6, port: 80 };

async function withSim(
  fn: (sim: VppSim, path: string) => Promise<void>,
  options: { pluginIdBase?: number } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vppsim-test-" });
  const path = `${dir}/api.sock`;
  const sim = await startVppSim({ socketPath: path, ...options });
  try {
    await fn(sim, path);
  } finally {
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A hand-driven socket client, for what our own client refuses to send. */
class RawClient {
  #reader = new FrameReader();
  #queue: Uint8Array[] = [];
  private constructor(readonly conn: Deno.Conn) {}

  static async open(path: string): Promise<RawClient> {
    return new RawClient(await Deno.connect({ transport: "unix", path }));
  }

  async send(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += await this.conn.write(bytes.subarray(done));
  }

  /** The next message body, or null at EOF. */
  async next(): Promise<Uint8Array | null> {
    const buf = new Uint8Array(65536);
    while (this.#queue.length === 0) {
      const n = await this.conn.read(buf);
      if (n === null) return null;
      this.#queue.push(...this.#reader.push(buf.subarray(0, n)));
    }
    return this.#queue.shift()!;
  }

  /** Registers; returns the client index and the message table. */
  async register(): Promise<{ index: number; table: Map<string, number> }> {
    await this.send(
      frameMessage(encodeMessage({ name: "sockclnt_create", id: 15 }, { context: 1, name: "raw" })),
    );
    const reply = decodeMessage("sockclnt_create_reply", (await this.next())!);
    const table = new Map<string, number>();
    for (const e of reply.message_table as { index: number; name: string }[]) {
      table.set(e.name, e.index);
    }
    return { index: reply.index as number, table };
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed by the server
    }
  }
}

Deno.test("vppsim server: handshake, message table with real CRCs, plugin ids at the offset", async () => {
  await withSim(async (sim, path) => {
    const c = await VppClient.connect(path);
    try {
      assert.equal(c.clientIndex, 0x80000001);
      assert.equal(c.messageTable.get("sockclnt_create_455fb9c4"), 15);
      assert.equal(c.messageTable.get("control_ping_51077d14"), 23);
      assert.equal(c.messageTable.get("lb_conf_56cd3261"), 321);
      assert.equal(c.messageTable.get("lb_as_set_weight_2d89bdbd"), 333);
      assert.equal(c.messageTable.size, sim.messageTable.size);
      const pong = await c.request("control_ping", {});
      assert.equal(pong.vpe_pid, Deno.pid);
      assert.equal((await c.request("show_version", {})).program, "vpe");
    } finally {
      await c.close();
    }
  }, { pluginIdBase: 321 });
});

Deno.test("vppsim server: the plugin offset is random by default and checked when given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vppsim-test-" });
  try {
    await assert.rejects(
      () => startVppSim({ socketPath: `${dir}/a.sock`, pluginIdBase: 20 }),
      /pluginIdBase 20/,
    );
    await Deno.writeTextFile(`${dir}/file`, "x");
    await assert.rejects(() => startVppSim({ socketPath: `${dir}/file` }), /not a socket/);
    assert.equal(await Deno.readTextFile(`${dir}/file`), "x");
    const bases = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const sim = await startVppSim({ socketPath: `${dir}/s${i}.sock` });
      bases.add(sim.pluginIdBase);
      await sim.close();
    }
    assert.ok(bases.size > 1, `four runs all used base ${[...bases]}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vppsim server: lb requests go through the model, dumps end at control_ping", async () => {
  await withSim(async (sim, path) => {
    const c = await VppClient.connect(path);
    try {
      await c.request("lb_add_del_vip_v2", { ...VIP, encap: "LB_API_ENCAP_TYPE_GRE4" });
      const replies = await Promise.all([
        c.requestRaw("lb_add_del_as_v2", { ...VIP, as_address: "10.0.0.1", weight: 30 }),
        c.requestRaw("lb_add_del_as_v2", { ...VIP, as_address: "10.0.0.2", weight: 10 }),
        c.requestRaw("lb_add_del_as_v2", { ...VIP, as_address: "10.0.0.2", weight: 10 }),
      ]);
      assert.deepEqual(replies.map((r) => r.retval), [0, 0, -81]);
      const rows = await c.dump("lb_as_v2_dump", {});
      assert.deepEqual(rows.map((r) => r.num_buckets).reduce((a, b) => a + b), 1024);
      assert.equal(
        (await c.request("cli_inband", { cmd: "show lb vips verbose" })).reply,
        sim.model.showVipsVerbose(),
      );
      // As on the real VPP: an unknown command is retval -1 with VPP's own message.
      const unknown = await c.requestRaw("cli_inband", { cmd: "show interfaces" });
      assert.deepEqual([unknown.retval, unknown.reply], [-1, "show: unknown input `interfaces'\n"]);
      const lb = await c.requestRaw("cli_inband", { cmd: "sh lb" });
      assert.deepEqual(
        [lb.retval, lb.reply],
        [
          0,
          "lb_main ip4-src-address: 255.255.255.255 \n ip6-src-address: " +
          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \n #vips: 2\n #ass: 2\n",
        ],
      );
    } finally {
      await c.close();
    }
  });
});

Deno.test("vppsim server: unknown ids, truncated requests and foreign client indexes get no reply", async () => {
  await withSim(async (_sim, path) => {
    const raw = await RawClient.open(path);
    try {
      const { index, table } = await raw.register();
      const ping = (context: number, ci = index) =>
        frameMessage(
          encodeMessage({ name: "control_ping", id: table.get("control_ping_51077d14")! }, {
            client_index: ci,
            context,
          }),
        );
      const conf = encodeMessage({ name: "lb_conf", id: table.get("lb_conf_56cd3261")! }, {
        client_index: index,
        context: 2,
      });
      const unknown = new Uint8Array([0xff, 0xfe, 0, 0, 0, 0]);
      // Unknown id, truncated lb_conf, a ping naming no client, then a good ping:
      // only the last one is answered, on the same connection.
      await raw.send(frameMessage(unknown));
      await raw.send(frameMessage(conf.subarray(0, conf.length - 3)));
      await raw.send(ping(3, 0x80000077));
      await raw.send(ping(4));
      const body = (await raw.next())!;
      assert.equal(messageIdOf(body), table.get("control_ping_reply_f6b0b8ca"));
      assert.equal(decodeMessage("control_ping_reply", body).context, 4);
    } finally {
      raw.close();
    }
  });
});

Deno.test("vppsim server: new_flows_table_length 0 crashes it: connections drop, state is gone", async () => {
  await withSim(async (sim, path) => {
    const c = await VppClient.connect(path);
    await c.request("lb_add_del_vip_v2", { ...VIP, encap: "LB_API_ENCAP_TYPE_GRE4" });
    await c.close();
    const raw = await RawClient.open(path);
    try {
      const { index, table } = await raw.register();
      await raw.send(frameMessage(
        encodeMessage({ name: "lb_add_del_vip_v2", id: table.get("lb_add_del_vip_v2_7c520e0f")! }, {
          client_index: index,
          context: 9,
          pfx: "198.51.100.7/32",
          new_flows_table_length: 0,
        }),
      ));
      assert.equal(await raw.next(), null, "the socket closes without a reply");
    } finally {
      raw.close();
    }
    assert.equal(sim.restarts, 1);
    const again = await VppClient.connect(path);
    try {
      assert.equal(again.clientIndex, 0x80000001);
      assert.deepEqual(await again.dump("lb_vip_dump", {}), []);
    } finally {
      await again.close();
    }
  });
});

Deno.test("vppsim server: dropConnections and restart end sessions; restart forgets state", async () => {
  await withSim(async (sim, path) => {
    const c = await VppClient.connect(path);
    await c.request("lb_add_del_vip_v2", { ...VIP, encap: "LB_API_ENCAP_TYPE_GRE4" });
    sim.dropConnections();
    await c.closed;
    const c2 = await VppClient.connect(path);
    assert.equal(
      (await c2.dump("lb_vip_dump", {})).length,
      1,
      "state survives a dropped connection",
    );
    sim.restart();
    await c2.closed;
    assert.equal(sim.connectionCount, 0);
    const c3 = await VppClient.connect(path);
    try {
      assert.deepEqual(await c3.dump("lb_vip_dump", {}), []);
    } finally {
      await c.close();
      await c2.close();
      await c3.close();
    }
  });
});

Deno.test("vppsim server: stall holds replies until released, in order", async () => {
  await withSim(async (sim, path) => {
    const c = await VppClient.connect(path);
    try {
      sim.stall(true);
      await assert.rejects(() => c.request("control_ping", {}, { timeoutMs: 50 }), VppTimeoutError);
      const held = c.request("lb_conf_get", {});
      sim.stall(false);
      assert.equal((await held).flow_timeout, 40);
      await c.request("control_ping", {});
    } finally {
      await c.close();
    }
  });
});

Deno.test("vppsim server: a malformed frame makes our client drop the connection", async () => {
  await withSim(async (sim, path) => {
    const c = await VppClient.connect(path);
    sim.sendMalformed();
    const reason = await c.closed;
    assert.ok(reason instanceof Error);
    await c.close();
  });
});

Deno.test("vppsim server: keepalives are answered by our client", async () => {
  await withSim(async (sim, path) => {
    const c = await VppClient.connect(path);
    try {
      await sim.sendKeepalive();
      await c.request("control_ping", {});
    } finally {
      await c.close();
    }
  });
});

Deno.test("vppsim server: GC runs every 60 s on the injected clock", async () => {
  const { FakeClock } = await import("../../src/clock.ts");
  const clock = new FakeClock();
  const dir = await Deno.makeTempDir({ prefix: "vppsim-test-" });
  const sim = await startVppSim({ socketPath: `${dir}/api.sock`, clock });
  try {
    sim.model.apply("lb_add_del_vip_v2", { ...VIP, encap: 0 });
    sim.model.apply("lb_add_del_as_v2", { ...VIP, as_address: "10.0.0.1" });
    sim.model.apply("lb_add_del_as_v2", { ...VIP, as_address: "10.0.0.1", is_del: true });
    await clock.advance(59_000);
    assert.equal((sim.model.apply("lb_as_v2_dump", {}) as unknown[]).length, 1);
    await clock.advance(1_000);
    assert.equal((sim.model.apply("lb_as_v2_dump", {}) as unknown[]).length, 0);
  } finally {
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});
