import * as assert from "node:assert/strict";
import { isLoopbackAddress, joinHostPort, parseListenAddress } from "./address.ts";
import { defaultConnectionCap } from "./limits.ts";

const what = { what: "grpc listen address" };

Deno.test("parseListenAddress reads :port, host:port and [v6]:port", () => {
  assert.deepEqual(parseListenAddress(":9091", what), { host: "", port: 9091 });
  assert.deepEqual(parseListenAddress("127.0.0.1:0", what), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListenAddress("localhost:9091", what), { host: "localhost", port: 9091 });
  assert.deepEqual(parseListenAddress("[::1]:9091", what), { host: "::1", port: 9091 });
});

Deno.test("parseListenAddress names the listener and the address", () => {
  for (const bad of ["9091", "::1:9091", "[::1]9091", "host:http", "host:65536", ""]) {
    assert.throws(
      () => parseListenAddress(bad, what),
      (e: Error) => e.message.startsWith(`grpc listen address ${JSON.stringify(bad)}: `),
      bad,
    );
  }
});

Deno.test("loopback is judged by the bound address, never by a name", () => {
  for (
    const a of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]
  ) {
    assert.equal(isLoopbackAddress(a), true, a);
  }
  for (const a of ["localhost", "0.0.0.0", "::", "192.0.2.1", "::ffff:192.0.2.1", "128.0.0.1"]) {
    assert.equal(isLoopbackAddress(a), false, a);
  }
});

Deno.test("joinHostPort brackets IPv6 hosts", () => {
  assert.equal(joinHostPort("::1", 80), "[::1]:80");
  assert.equal(joinHostPort("127.0.0.1", 80), "127.0.0.1:80");
});

Deno.test("the connection cap stays below the fd limit", () => {
  assert.equal(defaultConnectionCap(1024), 256);
  assert.equal(defaultConnectionCap(20), 8);
  assert.equal(defaultConnectionCap(1 << 20), 4096);
});
