import { strict as assert } from "node:assert";
import { errorText, hostPort } from "./result.ts";

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

Deno.test("result: errorText gives the short text of a socket error", () => {
  const cases: [unknown, string][] = [
    [withCode("connect ECONNREFUSED 10.0.0.1:80", "ECONNREFUSED"), "connection refused"],
    [withCode("read ECONNRESET", "ECONNRESET"), "connection reset by peer"],
    [withCode("x", "EHOSTUNREACH"), "no route to host"],
    [withCode("x", "EPERM"), "operation not permitted"],
    [new Deno.errors.ConnectionRefused("Connection refused (os error 111)"), "connection refused"],
    [
      new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"),
      "connection reset by peer",
    ],
    [new Deno.errors.AddrNotAvailable("x (os error 99)"), "cannot assign requested address"],
    // Otherwise the message, without Deno's errno suffix and past its first line.
    [new Error("No route to host (os error 113)"), "No route to host"],
    [new Error("tls: bad certificate\n    at stack"), "tls: bad certificate"],
    [withCode("odd failure", "EWHATEVER"), "odd failure"],
    [withCode("not an errno", "constructor"), "not an errno"],
    ["a thrown string", "a thrown string"],
    [7, "7"],
  ];
  for (const [err, want] of cases) assert.equal(errorText(err), want);
});

Deno.test("result: hostPort brackets IPv6", () => {
  assert.equal(hostPort("10.0.0.1", 80), "10.0.0.1:80");
  assert.equal(hostPort("2001:db8::1", 443), "[2001:db8::1]:443");
});
