import { strict as assert } from "node:assert";
import { parseShowVipsVerbose } from "./vip_text.ts";

const SAMPLE = ` ip4-gre4 [1] 192.0.2.1/32 src_ip_sticky
  new_size:1024
  protocol:6 port:80
  counters:
    packet from existing sessions: 12
    first session packet: 3
    untracked packet: 0
    no server configured: 7
  #as:2
    10.0.0.2 weight:100 buckets:512 flows:0 dpo:13 used
    10.0.0.3 weight:100 buckets:512 flows:0 dpo:14 used

 ip6-gre6 [2] 2001:db8::1/128 removed
  new_size:2048
  counters:
    packet from existing sessions: 0
    first session packet: 0
    untracked packet: 0
    no server configured: 0
  #as:0
`;

Deno.test("parses index, sticky, removed, ports and counters", () => {
  const vips = parseShowVipsVerbose(SAMPLE);
  assert.equal(vips.length, 2);
  assert.deepEqual(vips[0], {
    type: "ip4-gre4",
    index: 1,
    prefix: "192.0.2.1/32",
    protocol: 6,
    port: 80,
    srcIpSticky: true,
    removed: false,
    newSize: 1024,
    counters: { next: 12, first: 3, untracked: 0, noServer: 7 },
  });
  assert.equal(vips[1].protocol, 255);
  assert.equal(vips[1].port, 0);
  assert.equal(vips[1].removed, true);
  assert.equal(vips[1].srcIpSticky, false);
});

Deno.test("empty text has no VIPs", () => {
  assert.deepEqual(parseShowVipsVerbose(""), []);
});
