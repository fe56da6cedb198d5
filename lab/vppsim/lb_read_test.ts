import { strict as assert } from "node:assert";
import { LbModel } from "./lb_model.ts";

// lb_read answers through the model: a VIP with one AS read back every way.
Deno.test("lb_read: dumps and CLI text of one VIP with one AS", () => {
  const m = new LbModel();
  const vip = { pfx: "192.0.2.1/32", protocol: 6, port: 80 };
  m.apply("lb_add_del_vip_v2", { ...vip, new_flows_table_length: 1024 });
  m.apply("lb_add_del_as_v2", { ...vip, as_address: "10.0.0.1", weight: 30 });
  const vips = m.apply("lb_vip_dump", {}) as Record<string, unknown>[];
  assert.deepEqual(vips.map((v) => [v.vip, v.flow_table_length]), [[vip, 1024]]);
  const ases = m.apply("lb_as_v2_dump", {}) as Record<string, unknown>[];
  assert.deepEqual(ases.map((a) => [a.app_srv, a.weight, a.num_buckets, a.flags]), [[
    "10.0.0.1",
    30,
    1024,
    1,
  ]]);
  assert.deepEqual(
    m.apply("lb_as_v2_dump", { pfx: "192.0.2.1/32", protocol: 6, port: 80 }),
    [],
    "an IPv4 filter never matches (VPP compares the raw union)",
  );
  assert.match(
    m.showVips(),
    /^ip4-gre4 192\.0\.2\.1\/32 new_size:1024 #as:1 {2}protocol:6 port:80/,
  );
  assert.match(m.showVipsVerbose(), /10\.0\.0\.1 weight:30 buckets:1024 flows:0 dpo:\d+ used/);
});
