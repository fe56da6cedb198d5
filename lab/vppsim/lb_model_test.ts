import { strict as assert } from "node:assert";
import { FakeClock } from "../../src/clock.ts";
import { LbModel, VppCrashError } from "./lb_model.ts";

type Row = Record<string, unknown>;

const V4 = { pfx: "198.51.100.1/32", protocol: 6, port: 80 };
const V6 = { pfx: "2001:db8::1/128", protocol: 6, port: 80 };

function retval(m: LbModel, msg: string, fields: Row): number {
  return (m.apply(msg, fields) as Row).retval as number;
}

function addVip(m: LbModel, vip: Row, extra: Row = {}): number {
  const encap = String(vip.pfx).includes(":") ? "LB_API_ENCAP_TYPE_GRE6" : "LB_API_ENCAP_TYPE_GRE4";
  return retval(m, "lb_add_del_vip_v2", { ...vip, encap, ...extra });
}

function addAs(m: LbModel, vip: Row, as: string, weight = 100): number {
  return retval(m, "lb_add_del_as_v2", { ...vip, as_address: as, weight });
}

function delAs(m: LbModel, vip: Row, as: string): number {
  return retval(m, "lb_add_del_as_v2", { ...vip, as_address: as, is_del: true });
}

function vips(m: LbModel): Row[] {
  return m.apply("lb_vip_dump", {}) as Row[];
}

function ases(m: LbModel, filter: Row = {}): Row[] {
  return m.apply("lb_as_v2_dump", filter) as Row[];
}

function asRow(m: LbModel, address: string): Row[] {
  return ases(m).filter((r) => r.app_srv === address);
}

Deno.test("lb model: add and delete a VIP, duplicates and unknown VIPs", () => {
  const m = new LbModel({ clock: new FakeClock() });
  assert.equal(addVip(m, V4), 0);
  assert.equal(addVip(m, V4), -81, "same prefix/protocol/port twice");
  assert.deepEqual(vips(m).map((v) => v.vip), [V4]);
  assert.equal(retval(m, "lb_add_del_vip_v2", { ...V4, is_del: true }), 0);
  assert.deepEqual(vips(m), []);
  assert.equal(retval(m, "lb_add_del_vip_v2", { ...V4, is_del: true }), -6);
  assert.equal(retval(m, "lb_add_del_vip_v2", { ...V6, is_del: true }), -6);
});

Deno.test("lb model: port 0 forces protocol 255 and all-port/per-port VIPs exclude each other", () => {
  const m = new LbModel({ clock: new FakeClock() });
  assert.equal(addVip(m, { pfx: "198.51.100.2/32", protocol: 6, port: 0 }), 0);
  assert.deepEqual(vips(m)[0].vip, { pfx: "198.51.100.2/32", protocol: 255, port: 0 });
  assert.equal(addVip(m, { pfx: "198.51.100.2/32", protocol: 6, port: 443 }), -81);
  assert.equal(addVip(m, V4), 0);
  assert.equal(addVip(m, { pfx: "198.51.100.1/32", protocol: 17, port: 0 }), -81);
});

Deno.test("lb model: VIP validation errors -70, -73, -97 and the ip6-gre6 fall-through", () => {
  const m = new LbModel({ clock: new FakeClock() });
  assert.equal(addVip(m, V4, { new_flows_table_length: 1000 }), -70);
  assert.equal(retval(m, "lb_conf", { sticky_buckets_per_core: 3 }), -70);
  assert.equal(addVip(m, V4), 0);
  // Another port on the same prefix must use the same VIP type.
  assert.equal(
    addVip(m, { ...V4, port: 443 }, { encap: "LB_API_ENCAP_TYPE_GRE6" }),
    -73,
  );
  assert.equal(
    retval(m, "lb_add_del_vip_v2", {
      ...V4,
      pfx: "198.51.100.9/32",
      encap: "LB_API_ENCAP_TYPE_NAT6",
    }),
    -97,
  );
  // IPv6 VIP with an IPv4-only encap silently becomes ip6-gre6.
  assert.equal(retval(m, "lb_add_del_vip_v2", { ...V6, encap: "LB_API_ENCAP_TYPE_NAT4" }), 0);
  assert.equal(vips(m).find((v) => (v.vip as Row).pfx === V6.pfx)?.encap, 1);
  assert.match(m.showVipsVerbose(), / ip6-gre6 \[2\] 2001:db8::1\/128\n/);
  assert.deepEqual(vips(m).map((v) => (v.vip as Row).pfx).sort(), [V4.pfx, V6.pfx].sort());
});

Deno.test("lb model: AS add, duplicate, family mismatch, delete keeps the row with flags 0", () => {
  const m = new LbModel({ clock: new FakeClock() });
  assert.equal(addAs(m, V4, "10.0.0.1"), -6, "no such VIP");
  addVip(m, V4);
  assert.equal(addAs(m, V4, "10.0.0.1", 50), 0);
  assert.equal(addAs(m, V4, "10.0.0.1", 60), -81);
  assert.equal(addAs(m, V4, "2001:db8:a::1"), -97);
  assert.equal(delAs(m, V4, "10.0.0.9"), -6, "not attached");
  assert.equal(delAs(m, V4, "10.0.0.1"), 0);
  assert.deepEqual(asRow(m, "10.0.0.1").map((r) => [r.flags, r.weight, r.num_buckets]), [[
    0,
    50,
    0,
  ]]);
  assert.equal(delAs(m, V4, "10.0.0.1"), 0, "deleting a removed AS is accepted");
  assert.equal(
    retval(m, "lb_as_set_weight", { ...V4, as_address: "10.0.0.1", weight: 5 }),
    -6,
    "set-weight on a removed AS",
  );
  assert.match(m.showVipsVerbose(), /10\.0\.0\.1 weight:50 buckets:0 flows:0 dpo:\d+ {2}removed\n/);
  // Re-adding revives it with the new weight; the legacy message uses 100.
  assert.equal(addAs(m, V4, "10.0.0.1", 7), 0);
  assert.deepEqual(asRow(m, "10.0.0.1").map((r) => [r.flags, r.weight]), [[1, 7]]);
  delAs(m, V4, "10.0.0.1");
  assert.equal(retval(m, "lb_add_del_as", { ...V4, as_address: "10.0.0.1" }), 0);
  assert.deepEqual(asRow(m, "10.0.0.1").map((r) => [r.flags, r.weight]), [[1, 100]]);
});

Deno.test("lb model: weights are stored unchecked and drive the bucket counts", () => {
  const m = new LbModel({ clock: new FakeClock() });
  addVip(m, V4, { new_flows_table_length: 32768 });
  addAs(m, V4, "10.0.0.1", 10);
  addAs(m, V4, "10.0.0.2", 20);
  addAs(m, V4, "10.0.0.3", 30);
  const counts = ases(m).map((r) => r.num_buckets as number);
  assert.equal(counts.reduce((a, b) => a + b), 32768);
  counts.forEach((c, i) => {
    const want = ((i + 1) * 10) / 60;
    assert.ok(Math.abs(c / 32768 - want) < 0.005, `AS ${i + 1}: ${c} buckets, want ~${want}`);
  });
  assert.equal(retval(m, "lb_as_set_weight", { ...V4, as_address: "10.0.0.3", weight: 255 }), 0);
  assert.equal(asRow(m, "10.0.0.3")[0].weight, 255);
  // Weight 0 drains: no buckets, still used.
  retval(m, "lb_as_set_weight", { ...V4, as_address: "10.0.0.1", weight: 0 });
  assert.deepEqual(asRow(m, "10.0.0.1").map((r) => [r.flags, r.num_buckets]), [[1, 0]]);
  // Every weight 0: no AS owns a bucket.
  retval(m, "lb_as_set_weight", { ...V4, as_address: "10.0.0.2", weight: 0 });
  retval(m, "lb_as_set_weight", { ...V4, as_address: "10.0.0.3", weight: 0 });
  assert.deepEqual(ases(m).map((r) => r.num_buckets), [0, 0, 0]);
});

Deno.test("lb model: flush always answers 0; lb_conf round-trips through lb_conf_get", () => {
  const m = new LbModel({ clock: new FakeClock() });
  assert.equal(retval(m, "lb_flush_vip", V4), 0, "unknown VIP");
  addVip(m, V4);
  assert.equal(retval(m, "lb_flush_vip", V4), 0);
  assert.deepEqual(m.apply("lb_conf_get", {}), {
    retval: 0,
    ip4_src_address: "255.255.255.255",
    ip6_src_address: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    sticky_buckets_per_core: 1024,
    flow_timeout: 40,
  });
  assert.equal(
    retval(m, "lb_conf", {
      ip4_src_address: "192.0.2.254",
      ip6_src_address: "2001:db8::254",
      flow_timeout: 120,
    }),
    0,
  );
  const conf = m.apply("lb_conf_get", {}) as Row;
  assert.deepEqual([conf.ip4_src_address, conf.sticky_buckets_per_core, conf.flow_timeout], [
    "192.0.2.254",
    1024,
    120,
  ]);
});

Deno.test("lb model: deleted VIPs linger and a re-created VIP is a new one", () => {
  const m = new LbModel({ clock: new FakeClock() });
  addVip(m, V4);
  addAs(m, V4, "10.0.0.1");
  assert.equal(retval(m, "lb_add_del_vip_v2", { ...V4, is_del: true }), 0);
  assert.deepEqual(vips(m), []);
  assert.deepEqual(asRow(m, "10.0.0.1").map((r) => [r.vip, r.flags]), [[V4, 0]]);
  assert.equal(addAs(m, V4, "10.0.0.1"), -6, "the removed VIP is not found");
  addVip(m, V4);
  addAs(m, V4, "10.0.0.1");
  assert.deepEqual(asRow(m, "10.0.0.1").map((r) => r.flags).sort(), [0, 1]);
  const cli = m.showVipsVerbose();
  assert.match(cli, / ip4-gre4 \[1\] 198\.51\.100\.1\/32 removed\n/);
  assert.match(cli, / ip4-gre4 \[2\] 198\.51\.100\.1\/32\n/);
});

Deno.test("lb model: lb_as_v2_dump's IPv4 filter matches nothing, IPv6 works, lb_vip_dump ignores filters", () => {
  const m = new LbModel({ clock: new FakeClock() });
  addVip(m, V4);
  addVip(m, V6);
  addAs(m, V4, "10.0.0.1");
  addAs(m, V6, "2001:db8:a::1");
  assert.deepEqual(ases(m, V4), []);
  assert.deepEqual(ases(m, V6).map((r) => r.app_srv), ["2001:db8:a::1"]);
  assert.equal(ases(m).length, 2);
  assert.equal((m.apply("lb_vip_dump", { pfx: "203.0.113.9/32", port: 1 }) as Row[]).length, 2);
});

Deno.test("lb model: u16 flow_table_length and L3DSR's srv_type quirk", () => {
  const m = new LbModel({ clock: new FakeClock() });
  addVip(m, V4, { new_flows_table_length: 65536 });
  assert.equal(vips(m)[0].flow_table_length, 0);
  retval(m, "lb_add_del_vip_v2", {
    pfx: "198.51.100.2/32",
    encap: "LB_API_ENCAP_TYPE_L3DSR",
    dscp: 46,
  });
  const l3 = vips(m).find((v) => v.encap === 2)!;
  assert.deepEqual([l3.dscp, l3.srv_type], [46, 46 * 2 ** 24]);
});

Deno.test("lb model: new_flows_table_length 0 crashes VPP, but only after validation", () => {
  const m = new LbModel({ clock: new FakeClock() });
  addVip(m, V4);
  assert.equal(addVip(m, V4, { new_flows_table_length: 0 }), -81);
  assert.throws(() => addVip(m, V6, { new_flows_table_length: 0 }), VppCrashError);
  assert.ok(m.crashed);
  assert.throws(() => vips(m), VppCrashError);
});

Deno.test("lb model: garbage collection frees deleted ASes and removed VIPs after the delays", async () => {
  const clock = new FakeClock();
  const m = new LbModel({ clock });
  addVip(m, V4);
  addAs(m, V4, "10.0.0.1");
  addAs(m, V4, "10.0.0.2");
  delAs(m, V4, "10.0.0.1");
  await clock.advance(5_000);
  m.collectGarbage();
  assert.equal(ases(m).length, 2, "VIP collected less than 60 s ago");
  await clock.advance(60_000);
  m.collectGarbage();
  assert.deepEqual(ases(m).map((r) => r.app_srv), ["10.0.0.2"]);
  retval(m, "lb_add_del_vip_v2", { ...V4, is_del: true });
  await clock.advance(61_000);
  m.collectGarbage();
  assert.equal(m.vipCount, 0);
  assert.equal(m.showVipsVerbose(), "");
  // The freed pool slot is reused: the next VIP is [1] again.
  addVip(m, V6);
  assert.match(m.showVipsVerbose(), /^ ip6-gre6 \[1\] /);
});

Deno.test("lb model: bad input names the field and changes nothing", () => {
  const m = new LbModel({ clock: new FakeClock() });
  addVip(m, V4);
  const before = m.showVipsVerbose();
  assert.throws(() => addAs(m, V4, "10.0.0.300"), /as_address.*10\.0\.0\.300/);
  assert.throws(() => m.apply("lb_add_del_vip_v2", { pfx: "198.51.100.1" }), /pfx/);
  assert.throws(() => m.apply("lb_add_del_as_v2", { ...V4, wieght: 1 }), /wieght/);
  assert.throws(() => m.apply("lb_add_del_as_v2", { ...V4, weight: 256 }), /weight/);
  assert.throws(() => m.apply("show_version", {}), /not an lb request/);
  assert.equal(m.showVipsVerbose(), before);
});
