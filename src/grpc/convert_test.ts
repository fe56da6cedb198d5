import { strict as assert } from "node:assert";
import { encapName, eventMessage, msToNs, protocolName } from "./convert.ts";

Deno.test("msToNs: exact decimal nanoseconds, sub-millisecond kept to the microsecond", () => {
  assert.equal(msToNs(0), "0");
  assert.equal(msToNs(1_700_000_000_123), "1700000000123000000");
  assert.equal(msToNs(1.5), "1500000");
  assert.equal(msToNs(0.0015), "2000");
  assert.equal(msToNs(Number.NaN), "0");
});

Deno.test("protocol and encap names", () => {
  assert.deepEqual([6, 17, 255, 1, 99].map(protocolName), ["tcp", "udp", "any", "icmp", "99"]);
  assert.deepEqual([0, 1, 2, 3, 4, 9].map(encapName), [
    "gre4",
    "gre6",
    "l3dsr",
    "nat4",
    "nat6",
    "9",
  ]);
});

Deno.test("a resync event is stamped with the current time", () => {
  assert.deepEqual(eventMessage({ kind: "resync", seq: 7, reason: "slow" }, 1000), {
    seq: "7",
    at_ns: "1000000000",
    event: "resync",
    resync: { reason: "slow" },
  });
});
