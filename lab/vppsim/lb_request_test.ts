import { strict as assert } from "node:assert";
import { decodeAddress, decodePrefix, normalizeRequest } from "./lb_request.ts";
import { IP4_PAD } from "./lb_addr.ts";

Deno.test("lb_request: omitted fields take the JSON default; enums by name or number", () => {
  const m = normalizeRequest("lb_add_del_vip_v2", {
    pfx: "192.0.2.1/32",
    encap: "LB_API_ENCAP_TYPE_GRE6",
  });
  assert.equal(m.pfx, "192.0.2.1/32");
  assert.equal(m.encap, 1);
  assert.equal(m.is_del, false);
  assert.equal(m.port, 0);
});

Deno.test("lb_request: bad input is a TypeError naming the field", () => {
  assert.throws(() => normalizeRequest("lb_add_del_vip_v2", { nope: 1 }), /unknown field "nope"/);
  assert.throws(
    () => normalizeRequest("lb_add_del_vip_v2", { port: 70000 }),
    /port: expected a u16/,
  );
  assert.throws(() => normalizeRequest("lb_nope", {}), /unknown VPP message/);
  assert.throws(() => decodeAddress("x", "not-an-ip"), /x: not an IP address/);
  assert.throws(() => decodePrefix("x", "192.0.2.1"), /x: not an IP prefix/);
});

Deno.test("lb_request: an IPv4 prefix gets 96 added to its length, as api.c does", () => {
  assert.deepEqual(decodePrefix("x", "192.0.2.1/32"), {
    a: IP4_PAD + "c0000201",
    plen: 128,
    raw: "c0000201" + IP4_PAD,
  });
  assert.equal(decodeAddress("x", "2001:db8::1").af, 1);
});
