import { strict as assert } from "node:assert";
import {
  apiAddressText,
  bswap16,
  cliAddressText,
  cliPrefixText,
  IP4_PAD,
  isPow2,
  loopGt,
  normalize,
  prefixIsIp4,
} from "./lb_addr.ts";

const V4 = IP4_PAD + "c0000201"; // 192.0.2.1

Deno.test("lb_addr: IPv4 in ip46 form, text forms for the API and the CLI", () => {
  assert.equal(apiAddressText(V4), "192.0.2.1");
  assert.equal(cliAddressText(V4), "192.0.2.1");
  assert.equal(cliPrefixText(V4, 128), "192.0.2.1/32");
  assert.ok(prefixIsIp4(V4, 128));
  assert.equal(apiAddressText("20010db8" + "0".repeat(23) + "1"), "2001:db8::1");
});

Deno.test("lb_addr: normalize masks host bits; vppinfra quirks kept", () => {
  assert.equal(normalize(V4, 120), IP4_PAD + "c0000200");
  assert.equal(normalize(V4, 0), "0".repeat(32));
  assert.ok(isPow2(0), "0 counts as a power of two, as in vppinfra");
  assert.ok(isPow2(1024) && !isPow2(1000));
  assert.equal(bswap16(0x1234), 0x3412);
  assert.ok(loopGt(1, 0xffffffff), "wraps around the u32 clock");
  assert.ok(!loopGt(0xffffffff, 1));
});
