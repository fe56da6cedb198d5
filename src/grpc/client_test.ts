import { strict as assert } from "node:assert";
import { createClient, grpcTarget, RpcError, stripBoilerplate, toRpcError } from "./client.ts";

Deno.test("grpcTarget: host:port as is, paths and unix: prefixes as unix sockets", () => {
  assert.equal(grpcTarget("localhost:9090"), "localhost:9090");
  assert.equal(grpcTarget("[::1]:9090"), "[::1]:9090");
  assert.equal(grpcTarget("/run/maglev.sock"), "unix:/run/maglev.sock");
  assert.equal(grpcTarget("unix:/run/maglev.sock"), "unix:/run/maglev.sock");
});

Deno.test("errors carry the code name and the bare server message", () => {
  assert.equal(stripBoilerplate('5 NOT_FOUND: backend "x" not found'), 'backend "x" not found');
  const e = toRpcError({ code: 5, details: 'backend "x" not found', message: "5 NOT_FOUND: ..." });
  assert.ok(e instanceof RpcError);
  assert.equal(e.codeName, "NOT_FOUND");
  assert.equal(e.message, 'backend "x" not found');
  assert.equal(toRpcError(new Error("plain")).codeName, "UNKNOWN");
});

Deno.test("a daemon that is not running gives UNAVAILABLE", async () => {
  const dir = await Deno.makeTempDir();
  const client = createClient(`${dir}/nobody.sock`);
  try {
    await assert.rejects(
      client.listFrontends(),
      (e: unknown) => e instanceof RpcError && e.codeName === "UNAVAILABLE",
    );
  } finally {
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
});
