/**
 * readLbState against the double: conf, VIPs and their live ASes (spec 0.4:
 * an AS without the "used" flag is absent, and so is every AS row of a VIP
 * `lb_vip_dump` no longer lists), what only `show lb vips verbose` tells, and
 * the VIP key.
 */
import { strict as assert } from "node:assert";
import { startVppSim, type VppSim } from "../../lab/vppsim/server.ts";
import { ENCAP_GRE4, ENCAP_GRE6, VppClient } from "../../vpp/mod.ts";
import { recording } from "./harness_test_util.ts";
import { type LbClient, readLbState, vipKey } from "./lb_state.ts";

const WEB = { pfx: "192.0.2.1/32", protocol: 6, port: 80 };
const GONE = { pfx: "192.0.2.5/32", protocol: 6, port: 80 };
const V6 = { pfx: "2001:db8::1/128", protocol: 17, port: 0 };

/** A double programmed on its own side: a sticky IPv4 VIP with one AS live and one
 * deleted, a deleted VIP, and an all-port IPv6 VIP. */
async function programmed(): Promise<{ sim: VppSim; client: VppClient; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-lbstate-" });
  const sim = await startVppSim({ socketPath: `${dir}/api.sock`, pluginIdBase: 300 });
  const m = sim.model;
  m.apply("lb_conf", {
    ip4_src_address: "192.0.2.254",
    ip6_src_address: "2001:db8::254",
    sticky_buckets_per_core: 2048,
    flow_timeout: 60,
  });
  const vip = (v: object, encap: number, len: number, sticky = false) =>
    m.apply("lb_add_del_vip_v2", {
      ...v,
      encap,
      new_flows_table_length: len,
      src_ip_sticky: sticky,
    });
  vip(WEB, ENCAP_GRE4, 1024, true);
  vip(GONE, ENCAP_GRE4, 1024);
  vip(V6, ENCAP_GRE6, 2048);
  const as = (v: object, address: string, weight: number, del = false) =>
    m.apply("lb_add_del_as_v2", { ...v, as_address: address, weight, is_del: del, is_flush: del });
  as(WEB, "10.0.0.1", 40);
  as(WEB, "10.0.0.2", 40);
  as(WEB, "10.0.0.2", 0, true);
  as(GONE, "10.0.0.7", 40);
  as(GONE, "10.0.0.7", 0, true);
  m.apply("lb_add_del_vip_v2", { ...GONE, new_flows_table_length: 1024, is_del: true });
  as(V6, "2001:db8::10", 30);
  const client = await VppClient.connect(sim.socketPath);
  return {
    sim,
    client,
    close: async () => {
      await client.close();
      await sim.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("readLbState: conf, each VIP listed with its live ASes, and the CLI text's sticky flag and index", async () => {
  const r = await programmed();
  try {
    const state = await readLbState(r.client);
    assert.deepEqual(state.conf, {
      ip4SrcAddress: "192.0.2.254",
      ip6SrcAddress: "2001:db8::254",
      stickyBucketsPerCore: 2048,
      flowTimeout: 60,
    });
    const web = vipKey(WEB.pfx, WEB);
    const v6 = vipKey(V6.pfx, V6);
    assert.deepEqual([...state.vips.keys()], [web, v6], "the deleted VIP is gone");
    assert.deepEqual(state.vips.get(web), {
      prefix: "192.0.2.1/32",
      protocol: 6,
      port: 80,
      encap: ENCAP_GRE4,
      srcIpSticky: true,
      flowTableLength: 1024,
      ases: new Map([["10.0.0.1", { weight: 40 }]]),
      index: 1,
      rows: [{ address: "10.0.0.1", weight: 40, flags: 1, inUseSince: 0, buckets: 1024 }],
    });
    assert.deepEqual(state.vips.get(v6), {
      prefix: "2001:db8::1/128",
      protocol: 255,
      port: 0,
      encap: ENCAP_GRE6,
      srcIpSticky: false,
      flowTableLength: 2048,
      ases: new Map([["2001:db8::10", { weight: 30 }]]),
      index: 3,
      rows: [{ address: "2001:db8::10", weight: 30, flags: 1, inUseSince: 0, buckets: 2048 }],
    });
  } finally {
    await r.close();
  }
});

Deno.test("readLbState: a used AS row of a VIP that lb_vip_dump no longer lists is a leftover, not a VIP", async () => {
  const r = await programmed();
  try {
    // As real VPP does (vpp-api.md 5): the unfiltered AS dump still shows a
    // deleted VIP's AS as used.
    const leftover = {
      vip: { pfx: GONE.pfx, protocol: GONE.protocol, port: GONE.port },
      app_srv: "10.0.0.7",
      flags: 1,
      in_use_since: 0,
      weight: 40,
      num_buckets: 1024,
    };
    const s = recording(r.client, []);
    const client: LbClient = {
      ...s,
      dump: (name, fields) => {
        const rows = s.dump(name, fields);
        // One dump's rows typed as the union's: the added row is an AS row.
        return name === "lb_as_v2_dump" ? rows.then((x) => [...x, leftover] as typeof x) : rows;
      },
    };
    const state = await readLbState(client);
    assert.deepEqual([...state.vips.values()].map((v) => [v.prefix, [...v.ases.keys()]]), [
      ["192.0.2.1/32", ["10.0.0.1"]],
      ["2001:db8::1/128", ["2001:db8::10"]],
    ]);
  } finally {
    await r.close();
  }
});

Deno.test("readLbState: the CLI text comes from the text session; refused, sticky is unknown and the index -1", async () => {
  const r = await programmed();
  const other = await VppClient.connect(r.sim.socketPath);
  try {
    const mainCli = { n: 0 };
    const textCli = { n: 0 };
    const state = await readLbState(recording(r.client, [], { cli: mainCli }), {
      text: recording(other, [], { cli: textCli }),
    });
    assert.deepEqual([mainCli.n, textCli.n], [0, 1]);
    assert.equal(state.vips.get(vipKey(WEB.pfx, { protocol: 6, port: 80 }))?.srcIpSticky, true);
    const s = recording(r.client, []);
    const refusing: LbClient = {
      ...s,
      request: (name, fields) =>
        name === "cli_inband"
          ? Promise.reject(new Error("cli_inband refused"))
          : s.request(name, fields),
    };
    const blind = await readLbState(refusing);
    const web = blind.vips.get(vipKey(WEB.pfx, { protocol: 6, port: 80 }))!;
    assert.deepEqual([web.srcIpSticky, web.index], [undefined, -1]);
    assert.deepEqual([...web.ases], [["10.0.0.1", { weight: 40 }]], "the API's part stands");
  } finally {
    await other.close();
    await r.close();
  }
});

Deno.test("vipKey: an all-port VIP is keyed by protocol 255 whatever protocol it was given", () => {
  assert.equal(vipKey("192.0.2.1/32", { protocol: 6, port: 80 }), "192.0.2.1/32|6|80");
  assert.equal(vipKey("192.0.2.1/32", { protocol: 6, port: 0 }), "192.0.2.1/32|255|0");
  assert.equal(
    vipKey("192.0.2.1/32", { protocol: 17, port: 0 }),
    vipKey("192.0.2.1/32", { protocol: 6, port: 0 }),
  );
  assert.notEqual(
    vipKey("192.0.2.1/32", { protocol: 17, port: 53 }),
    vipKey("192.0.2.1/32", { protocol: 6, port: 53 }),
  );
});
