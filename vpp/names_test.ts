import { strict as assert } from "node:assert";
import {
  ENCAP_GRE4,
  ENCAP_GRE6,
  encapName,
  PROTO_ANY,
  PROTO_TCP,
  PROTO_UDP,
  protocolName,
  vipProtocol,
} from "./names.ts";

Deno.test("names come from the generated enums", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(encapName), [
    "gre4",
    "gre6",
    "l3dsr",
    "nat4",
    "nat6",
    "5",
  ]);
  assert.deepEqual([6, 17, 255, 47, 99].map(protocolName), ["tcp", "udp", "any", "gre", "99"]);
  assert.deepEqual([PROTO_TCP, PROTO_UDP, PROTO_ANY, ENCAP_GRE4, ENCAP_GRE6], [6, 17, 255, 0, 1]);
});

Deno.test("an all-port VIP is keyed by protocol 255", () => {
  assert.equal(vipProtocol(PROTO_TCP, 0), 255);
  assert.equal(vipProtocol(PROTO_UDP, 53), 17);
});
