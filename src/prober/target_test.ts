import { strict as assert } from "node:assert";
import { Targets } from "./target.ts";
import { backend, check } from "./prober_test_util.ts";

Deno.test("targets: http request then sockaddr in one buffer, kept per backend and check", () => {
  const targets = new Targets("maglev-test");
  const hc = check("http", 8080, { http: { path: "/healthz" } });
  const b = backend("127.0.0.1");
  const t = targets.of(hc, b)!;
  const request = new TextDecoder().decode(t.bytes.subarray(0, t.requestLen));
  assert.match(request, /^GET \/healthz HTTP\/1\.1\r\nHost: 127\.0\.0\.1:8080\r\n/);
  assert.match(request, /User-Agent: maglev-test\r\n/);
  // sockaddr_in: family 2, port 8080 big-endian, 127.0.0.1.
  assert.deepEqual([...t.bytes.subarray(t.requestLen, t.requestLen + 8)], [
    2,
    0,
    31,
    144,
    127,
    0,
    0,
    1,
  ]);
  assert.equal(t.bytes.length - t.requestLen, 16);
  assert.equal(targets.of(hc, b), t);
  // A reload's new check builds anew.
  const hc2 = check("http", 8081);
  assert.notEqual(targets.of(hc2, b), t);
});

Deno.test("targets: tcp sends nothing, IPv6 is a sockaddr_in6, no IP literal has no target", () => {
  const targets = new Targets("ua");
  const t = targets.of(check("tcp", 22), backend("::1"))!;
  assert.equal(t.requestLen, 0);
  assert.equal(t.family, 6);
  assert.equal(t.bytes.length, 28);
  assert.equal(targets.of(check("tcp", 22), backend("backend.example")), undefined);
});

Deno.test("targets: a source address parses once, a bad one is undefined", () => {
  const targets = new Targets("ua");
  const a = targets.source("10.0.0.1");
  assert.deepEqual([...a!], [10, 0, 0, 1]);
  assert.equal(targets.source("10.0.0.1"), a);
  assert.equal(targets.source("2001:db8::1")?.length, 16);
  assert.equal(targets.source("nope"), undefined);
});
