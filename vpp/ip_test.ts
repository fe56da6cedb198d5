import { strict as assert } from "node:assert";
import { formatIp6, ip16, parseIp, parseIp4, parseIp4Into, parsePrefix } from "./ip.ts";

Deno.test("ip: RFC 5952 formatting", () => {
  const cases: [string, string][] = [
    ["2001:db8:a::1", "2001:db8:a::1"],
    ["2001:0DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    // RFC 5952 section 5: IPv4-mapped addresses keep the dotted tail.
    ["::ffff:c000:201", "::ffff:192.0.2.1"],
  ];
  for (const [input, want] of cases) assert.equal(formatIp6(parseIp(input).bytes), want, input);
});

Deno.test("ip: IPv4 edge values", () => {
  assert.deepEqual([...parseIp4("0.0.0.0")!], [0, 0, 0, 0]);
  assert.deepEqual([...parseIp4("255.255.255.255")!], [255, 255, 255, 255]);
  assert.deepEqual([...parseIp4("10.100.0.9")!], [10, 100, 0, 9]);
});

Deno.test("ip: parseIp4Into writes the 4 bytes at the position and nothing around them", () => {
  const out = new Uint8Array(8).fill(7);
  assert.equal(parseIp4Into("192.0.2.254", { buf: out, pos: 2 }), true);
  assert.deepEqual([...out], [7, 7, 192, 0, 2, 254, 7, 7]);
  for (const bad of ["1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "::1", ""]) {
    assert.equal(parseIp4Into(bad, { buf: new Uint8Array(4), pos: 0 }), false, bad);
  }
});

Deno.test("ip: parse rejects junk with the culprit in the message", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1.2.3.4.",
      ".1.2.3",
      "1..2.3",
      "1.2.3.4 ",
      "1.2.3.0004",
      "1.2.3.-4",
      "1.2.3.4.5",
      "1::2::3",
      "12345::",
      "g::",
      ":::",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    assert.throws(
      () => parseIp(bad),
      new RegExp(JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
    );
  }
  assert.throws(() => parsePrefix("10.0.0.0/40"), /bad prefix length/);
  assert.throws(() => parsePrefix("2001:db8::/129"), /bad prefix length/);
  assert.deepEqual(parsePrefix("2001:db8::/128").len, 128);
});

Deno.test("ip: 16-byte form puts IPv4 after 12 zero bytes", () => {
  assert.deepEqual([...ip16("10.0.0.2")], [...new Array(12).fill(0), 10, 0, 0, 2]);
  assert.equal(ip16("2001:db8::1")[0], 0x20);
});
