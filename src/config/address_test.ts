import { strict as assert } from "node:assert";
import { parseAddress } from "./address.ts";

Deno.test("IPv4 addresses parse as dotted quads", () => {
  assert.deepEqual(parseAddress("192.0.2.1"), { address: "192.0.2.1", family: 4 });
  assert.deepEqual(parseAddress("0.0.0.0"), { address: "0.0.0.0", family: 4 });
  assert.deepEqual(parseAddress("255.255.255.255"), { address: "255.255.255.255", family: 4 });
});

Deno.test("IPv6 addresses get the RFC 5952 short form", () => {
  const cases: [string, string][] = [
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8::1", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    // The first of two equally long zero runs is shortened.
    ["2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"],
    // A single zero group stays.
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:db8::0:1", "2001:db8::1"],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["::FFFF:c000:0201", "::ffff:192.0.2.1"],
    ["64:ff9b::192.0.2.1", "64:ff9b::c000:201"],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(parseAddress(text), { address: want, family: 6 }, text);
  }
});

Deno.test("invalid addresses are rejected", () => {
  for (
    const text of [
      "",
      "10.0.0",
      "10.0.0.256",
      "010.0.0.1",
      "10.0.0.1/32",
      "1.2.3.4.5",
      "2001:db8::1::2",
      "2001:db8:1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7::8",
      "12345::1",
      "fe80::1%eth0",
      "2001:db8::/64",
      "g::1",
      "example.com",
    ]
  ) {
    assert.equal(parseAddress(text), undefined, text);
  }
});
