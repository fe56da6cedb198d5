import { strict as assert } from "node:assert";
import { VppClient, type VppRequestQueue } from "./client.ts";
import { encodeMessage } from "./codec.ts";
import { isStatusLayout, STATUS_BODY_LENGTH } from "./decode.ts";
import {
  VppApiError,
  VppClosedError,
  VppDecodeError,
  VppRequestError,
  VppTimeoutError,
} from "./errors.ts";
import { messageByName, MESSAGES } from "./messages.ts";
import {
  type FakeConnection,
  type FakeRequest,
  FakeVppServer,
  ManualTimers,
} from "./vpp_test_util.ts";

/** Item `i` of a batch: a weight for AS 10.0.0.(i+1). */
function setWeight(q: VppRequestQueue, i: number): void {
  q.request("lb_as_set_weight", {
    pfx: "198.51.100.1/32",
    protocol: 6,
    port: 80,
    as_address: `10.0.0.${i + 1}`,
    weight: i,
  });
}

/** Which item a received request is (its weight, see `setWeight`). */
function itemOf(r: FakeRequest): number {
  return r.msg.weight as number;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A fake that holds every `lb_as_set_weight` until the test answers it. */
async function holdingServer(): Promise<{ server: FakeVppServer; held: FakeRequest[] }> {
  const held: FakeRequest[] = [];
  const server = await FakeVppServer.start({
    handle: (req) => {
      if (req.name !== "lb_as_set_weight") return undefined;
      held.push(req);
      return "stall";
    },
  });
  return { server, held };
}

/** Everything the client wrote before now has reached the fake (it answers in order). */
async function drained(client: VppClient): Promise<void> {
  await client.request("control_ping", {});
}

function answer(conn: FakeConnection, req: FakeRequest, retval = 0): Promise<void> {
  return conn.send("lb_as_set_weight_reply", { context: req.msg.context, retval });
}

Deno.test("requestEach: in item order, at most the window in flight, each item's error", async () => {
  const { server, held } = await holdingServer();
  const client = await VppClient.connect(server.path);
  try {
    const done = client.requestEach(range(10), setWeight, { window: 3 });
    await server.waitFor((r) => r.name === "lb_as_set_weight" && itemOf(r) === 2);
    await drained(client);
    assert.deepEqual(held.map(itemOf), [0, 1, 2]);
    const conn = await server.connection(0);
    // Item 4 is refused by VPP; every answer lets exactly one more out.
    for (let answered = 0; answered < 10; answered++) {
      const req = held[answered];
      await answer(conn, req, itemOf(req) === 4 ? -81 : 0);
      if (answered + 3 < 10) {
        await server.waitFor((r) => r.name === "lb_as_set_weight" && itemOf(r) === answered + 3);
      }
      await drained(client);
      assert.equal(held.length, Math.min(10, answered + 4));
    }
    const errors = await done;
    assert.deepEqual(held.map(itemOf), range(10));
    assert.equal(errors.length, 10);
    errors.forEach((e, i) => {
      if (i === 4) {
        assert.ok(e instanceof VppApiError && /lb_as_set_weight/.test(e.message));
        assert.match(e.message, /VALUE_EXIST/);
      } else assert.equal(e, undefined);
    });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("requestEach: bad fields fail their item before sending; the others go out", async () => {
  const server = await FakeVppServer.start();
  const client = await VppClient.connect(server.path);
  try {
    const errors = await client.requestEach(range(4), (q, i) => {
      if (i === 1) {
        q.request("lb_as_set_weight", { pfx: "198.51.100.1/32", as_address: "no-ip" });
      } else if (i === 2) throw new Error("send failed for item 2");
      else setWeight(q, i);
    }, { window: 2 });
    assert.ok(errors[1] instanceof VppRequestError && /as_address/.test(errors[1].message));
    assert.match(errors[2]!.message, /send failed for item 2/);
    assert.deepEqual([errors[0], errors[3]], [undefined, undefined]);
    assert.deepEqual(
      server.received.filter((r) => r.name === "lb_as_set_weight").map(itemOf),
      [0, 3],
    );
    assert.deepEqual(await client.requestEach([], setWeight, { window: 8 }), []);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("requestEach: a reply for an unknown context is ignored; the batch goes on", async () => {
  const { server, held } = await holdingServer();
  const client = await VppClient.connect(server.path);
  try {
    const done = client.requestEach(range(2), setWeight, { window: 2 });
    await server.waitFor((r) => r.name === "lb_as_set_weight" && itemOf(r) === 1);
    const conn = await server.connection(0);
    const unknown = 0x7fff0000;
    await conn.send("lb_as_set_weight_reply", { context: unknown, retval: -6 });
    // A reply of another request's type under a batch item's context is not its answer.
    await conn.send("lb_add_del_as_v2_reply", { context: held[0].msg.context, retval: -6 });
    await drained(client);
    await answer(conn, held[0]);
    await answer(conn, held[1]);
    assert.deepEqual(await done, [undefined, undefined]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("requestEach: a timeout fails the items in flight; later items are sent and answered", async () => {
  const timers = new ManualTimers();
  const { server, held } = await holdingServer();
  const client = await VppClient.connect(server.path, { timers });
  try {
    const done = client.requestEach(range(4), setWeight, { window: 2, timeoutMs: 40 });
    await server.waitFor((r) => r.name === "lb_as_set_weight" && itemOf(r) === 1);
    const conn = await server.connection(0);
    await answer(conn, held[0]);
    await server.waitFor((r) => r.name === "lb_as_set_weight" && itemOf(r) === 2);
    // Item 1 never gets an answer: its (and item 2's) timer fires.
    assert.ok([...timers.timers.values()].every((t) => t.ms === 40));
    timers.fireAll();
    await server.waitFor((r) => r.name === "lb_as_set_weight" && itemOf(r) === 3);
    await answer(conn, held[1]); // late: ignored
    await answer(conn, held[3]);
    const errors = await done;
    assert.equal(errors[0], undefined);
    assert.ok(errors[1] instanceof VppTimeoutError && /lb_as_set_weight/.test(errors[1].message));
    assert.ok(errors[2] instanceof VppTimeoutError);
    assert.equal(errors[3], undefined);
    assert.equal(client.isClosed, false);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("requestEach: the connection closing mid-batch fails every item left", async () => {
  const { server, held } = await holdingServer();
  const client = await VppClient.connect(server.path);
  try {
    const done = client.requestEach(range(6), setWeight, { window: 2 });
    await server.waitFor((r) => r.name === "lb_as_set_weight" && itemOf(r) === 1);
    const conn = await server.connection(0);
    await answer(conn, held[0]);
    await server.waitFor((r) => r.name === "lb_as_set_weight" && itemOf(r) === 2);
    conn.drop();
    const errors = await done;
    assert.equal(errors[0], undefined);
    for (const e of errors.slice(1)) {
      assert.ok(e instanceof VppClosedError && /lb_as_set_weight/.test(e.message), String(e));
    }
    assert.match((await client.closed).message, /VPP closed the connection/);
    assert.deepEqual(held.map(itemOf), [0, 1, 2]);
    const after = await client.requestEach(range(1), setWeight, { window: 1 });
    assert.ok(after[0] instanceof VppClosedError);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("status replies: only context + retval layouts qualify; the others are decoded", () => {
  const status = MESSAGES.filter(isStatusLayout).map((m) => m.name);
  for (const n of ["lb_add_del_vip_v2_reply", "lb_add_del_as_v2_reply", "lb_as_set_weight_reply"]) {
    assert.ok(status.includes(n), n);
  }
  for (const n of ["control_ping_reply", "lb_conf_get_reply", "show_version_reply", "lb_conf"]) {
    assert.equal(isStatusLayout(messageByName(n)!), false, n);
  }
  const body = encodeMessage("lb_as_set_weight_reply", 1, { context: 1, retval: 0 });
  assert.equal(body.length, STATUS_BODY_LENGTH);
});

Deno.test("status replies: request() gets the decoded shape; a longer body is decoded and refused", async () => {
  const server = await FakeVppServer.start({
    handle: (req, conn) => {
      if (req.name !== "lb_as_set_weight" || req.msg.weight !== 7) return undefined;
      // Two trailing bytes after retval: not a status body, so the decoder sees it.
      const body = encodeMessage("lb_as_set_weight_reply", server.idOf("lb_as_set_weight_reply"), {
        context: req.msg.context,
        retval: 0,
      });
      void conn.sendRaw(Uint8Array.of(...body, 0, 0));
      return "stall";
    },
  });
  const client = await VppClient.connect(server.path);
  try {
    const fields = { pfx: "198.51.100.1/32", as_address: "10.0.0.1", weight: 1 };
    const reply = await client.request("lb_as_set_weight", fields);
    assert.deepEqual(reply, { context: reply.context, retval: 0 });
    assert.deepEqual(Object.keys(reply), ["context", "retval"]);
    const raw = await client.requestRaw("lb_as_set_weight", fields);
    assert.equal(raw.retval, 0);
    await assert.rejects(
      client.request("lb_as_set_weight", { ...fields, weight: 7 }),
      (e: Error) => e instanceof VppDecodeError && /trailing/.test(e.message),
    );
  } finally {
    await client.close();
    await server.close();
  }
});
