/**
 * executePlan against the double: refused calls come back in op order, the
 * mirror follows exactly what VPP accepted, every accepted mutation logs one
 * INFO line with the spec's event name, and the stats count what was written.
 */
import { strict as assert } from "node:assert";
import { startVppSim, type VppSim } from "../../lab/vppsim/server.ts";
import { VppClient } from "../../vpp/mod.ts";
import { addLogListener, type LogRecord } from "../log/mod.ts";
import { recording, type Write } from "./harness_test_util.ts";
import { readLbState, vipKey } from "./lb_state.ts";
import type { LbOp, VipId } from "./plan.ts";
import {
  addStats,
  emptyStats,
  executePlan,
  isEmptyStats,
  type Mirror,
  PIPELINE_WINDOW,
} from "./sync.ts";

const A: VipId = { prefix: "192.0.2.1/32", protocol: 6, port: 80 };
const B: VipId = { prefix: "192.0.2.9/32", protocol: 6, port: 80 };
const KEY_A = vipKey(A.prefix, A.protocol, A.port);

/** A client of a fresh double, with its writes recorded, and what each test logs. */
interface Rig {
  sim: VppSim;
  client: VppClient;
  session: ReturnType<typeof recording>;
  writes: Write[];
  logs: LogRecord[];
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-sync-" });
  const sim = await startVppSim({ socketPath: `${dir}/api.sock`, pluginIdBase: 300 });
  const client = await VppClient.connect(sim.socketPath);
  const writes: Write[] = [];
  const logs: LogRecord[] = [];
  const off = addLogListener((r) => logs.push(r), { level: "info" });
  return {
    sim,
    client,
    session: recording(client, writes),
    writes,
    logs,
    close: async () => {
      off();
      await client.close();
      await sim.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A test on a fresh rig, closed however it ends. */
function rigTest(name: string, fn: (r: Rig) => Promise<void>): void {
  Deno.test(name, async () => {
    const r = await rig();
    try {
      await fn(r);
    } finally {
      await r.close();
    }
  });
}

function asAdd(vip: VipId, address: string, weight: number): LbOp {
  return { op: "as-add", vip, frontend: "web", backend: `b-${address}`, address, weight };
}

function asWeight(vip: VipId, address: string, weight: number, flush = false): LbOp {
  return { op: "as-weight", vip, frontend: "web", backend: `b-${address}`, address, weight, flush };
}

function asDel(vip: VipId, address: string): LbOp {
  return { op: "as-del", vip, frontend: "web", backend: `b-${address}`, address, flush: true };
}

const VIP_ADD: LbOp = {
  op: "vip-add",
  vip: A,
  frontend: "web",
  encap: 0,
  srcIpSticky: false,
  flowTableLength: 1024,
};

rigTest(
  "executePlan: accepted calls change the mirror and log once each; refused ones come back in op order",
  async (r) => {
    const ops: LbOp[] = [
      VIP_ADD,
      asAdd(A, "10.0.0.1", 100),
      asAdd(A, "10.0.0.2", 50),
      asAdd(B, "10.0.0.3", 100), // B does not exist: NO_SUCH_ENTRY
      asWeight(A, "10.0.0.1", 0, true),
      asAdd(A, "10.0.0.1", 100), // already there: VALUE_EXIST
      asDel(A, "10.0.0.2"),
      asWeight(A, "10.0.0.9", 10), // no such AS
      { op: "vip-del", vip: B, frontend: "web" }, // no such VIP
    ];
    const mirror: Mirror = new Map();
    const res = await executePlan(r.session, ops, mirror);
    assert.deepEqual(
      res.errors.map((
        e,
      ) => [ops.indexOf(e.op), /VALUE_EXIST|NO_SUCH_ENTRY/.exec(e.error.message)?.[0]]),
      [[3, "NO_SUCH_ENTRY"], [5, "VALUE_EXIST"], [7, "NO_SUCH_ENTRY"], [8, "NO_SUCH_ENTRY"]],
    );
    assert.deepEqual(res.accepted, [ops[0], ops[1], ops[2], ops[4], ops[6]]);
    assert.deepEqual(res.stats, {
      vipAdded: 1,
      vipRemoved: 0,
      asAdded: 2,
      asRemoved: 1,
      asWeightUpdated: 1,
    });
    // The mirror is what VPP holds: read it back from the double.
    const truth = await readLbState(r.client);
    assert.deepEqual([...mirror.keys()], [KEY_A]);
    assert.deepEqual([...mirror.get(KEY_A)!.ases], [...truth.vips.get(KEY_A)!.ases]);
    assert.deepEqual([...mirror.get(KEY_A)!.ases], [["10.0.0.1", { weight: 0 }]]);
    const { ases: _, ...held } = mirror.get(KEY_A)!;
    const { prefix, protocol, port, encap, flowTableLength } = truth.vips.get(KEY_A)!;
    assert.deepEqual(held, { prefix, protocol, port, encap, flowTableLength, srcIpSticky: false });
    // Every call went out, in op order.
    assert.deepEqual(r.writes.map((w) => w.fields.as_address ?? w.fields.pfx), [
      "192.0.2.1/32",
      "10.0.0.1",
      "10.0.0.2",
      "10.0.0.3",
      "10.0.0.1",
      "10.0.0.1",
      "10.0.0.2",
      "10.0.0.9",
      "192.0.2.9/32",
    ]);
    const vip = "192.0.2.1/32 tcp/80";
    assert.deepEqual(r.logs.map((l) => [l.level, l.msg, l.attrs]), [
      ["info", "vpp-lb-vip-add", {
        frontend: "web",
        vip,
        encap: "gre4",
        "src-ip-sticky": false,
        "flow-table-length": 1024,
      }],
      ["info", "vpp-lb-as-add", {
        frontend: "web",
        vip,
        backend: "b-10.0.0.1",
        address: "10.0.0.1",
        weight: 100,
        flush: false,
      }],
      ["info", "vpp-lb-as-add", {
        frontend: "web",
        vip,
        backend: "b-10.0.0.2",
        address: "10.0.0.2",
        weight: 50,
        flush: false,
      }],
      ["warn", "vpp-lbsync-error", {
        frontend: "web",
        vip: "192.0.2.9/32 tcp/80",
        op: "as-add",
        address: "10.0.0.3",
        err: res.errors[0].error.message,
      }],
      ["info", "vpp-lb-as-weight", {
        frontend: "web",
        vip,
        backend: "b-10.0.0.1",
        address: "10.0.0.1",
        weight: 0,
        flush: true,
      }],
      ["warn", "vpp-lbsync-error", {
        frontend: "web",
        vip,
        op: "as-add",
        address: "10.0.0.1",
        err: res.errors[1].error.message,
      }],
      ["info", "vpp-lb-as-del", {
        frontend: "web",
        vip,
        backend: "b-10.0.0.2",
        address: "10.0.0.2",
        weight: 0,
        flush: true,
      }],
      ["warn", "vpp-lbsync-error", {
        frontend: "web",
        vip,
        op: "as-weight",
        address: "10.0.0.9",
        err: res.errors[2].error.message,
      }],
      ["warn", "vpp-lbsync-error", {
        frontend: "web",
        vip: "192.0.2.9/32 tcp/80",
        op: "vip-del",
        address: undefined,
        err: res.errors[3].error.message,
      }],
    ]);
  },
);

rigTest(
  "executePlan: a VIP delete takes the VIP out of the mirror; an empty plan writes and logs nothing",
  async (r) => {
    const mirror: Mirror = new Map();
    await executePlan(r.session, [VIP_ADD, asAdd(A, "10.0.0.1", 100)], mirror);
    r.logs.length = 0;
    const res = await executePlan(r.session, [
      asDel(A, "10.0.0.1"),
      { op: "vip-del", vip: A, frontend: "web" },
    ], mirror);
    assert.deepEqual(res.errors, []);
    assert.deepEqual(res.stats, { ...emptyStats(), asRemoved: 1, vipRemoved: 1 });
    assert.deepEqual([...mirror.keys()], []);
    assert.deepEqual((await readLbState(r.client)).vips.size, 0);
    assert.deepEqual(r.logs.map((l) => l.msg), ["vpp-lb-as-del", "vpp-lb-vip-del"]);
    assert.deepEqual(r.logs[1].attrs, { frontend: "web", vip: "192.0.2.1/32 tcp/80" });
    r.logs.length = 0;
    const before = r.writes.length;
    const none = await executePlan(r.session, [], mirror);
    assert.ok(isEmptyStats(none.stats));
    assert.deepEqual([none.errors, none.accepted, r.logs], [[], [], []]);
    assert.equal(r.writes.length, before);
  },
);

rigTest(
  "executePlan: beyond one pipeline window, calls leave in op order and each refusal lands at its op",
  async (r) => {
    const mirror: Mirror = new Map();
    // Three windows of calls; every third one names an AS that does not exist.
    const ops: LbOp[] = [VIP_ADD];
    const refused = new Set<number>();
    for (let i = 0; i < PIPELINE_WINDOW * 3; i++) {
      const address = `10.1.${i >> 8}.${i & 255}`;
      if (i % 3 === 2) {
        refused.add(ops.length);
        ops.push(asWeight(A, `10.2.${i >> 8}.${i & 255}`, 5));
      } else {
        ops.push(asAdd(A, address, 1 + (i % 100)));
      }
    }
    const res = await executePlan(r.session, ops, mirror);
    assert.deepEqual(res.errors.map((e) => ops.indexOf(e.op)), [...refused]);
    assert.equal(res.accepted.length, ops.length - refused.size);
    assert.deepEqual(
      r.writes.map((w) => w.fields.as_address ?? w.fields.pfx),
      ops.map((o) => "address" in o ? o.address : o.vip.prefix),
    );
    const truth = await readLbState(r.client);
    assert.deepEqual(
      [...mirror.get(KEY_A)!.ases].sort(),
      [...truth.vips.get(KEY_A)!.ases].sort(),
    );
    assert.equal(r.logs.filter((l) => l.level === "info").length, res.accepted.length);
  },
);

Deno.test("stats: addStats sums field by field; isEmptyStats is true only for all zeros", () => {
  const total = emptyStats();
  assert.ok(isEmptyStats(total));
  addStats(total, { vipAdded: 1, vipRemoved: 2, asAdded: 3, asRemoved: 4, asWeightUpdated: 5 });
  addStats(total, { vipAdded: 10, vipRemoved: 0, asAdded: 0, asRemoved: 0, asWeightUpdated: 1 });
  assert.deepEqual(total, {
    vipAdded: 11,
    vipRemoved: 2,
    asAdded: 3,
    asRemoved: 4,
    asWeightUpdated: 6,
  });
  for (const k of Object.keys(total) as (keyof typeof total)[]) {
    assert.equal(isEmptyStats({ ...emptyStats(), [k]: 1 }), false, k);
  }
});
