import { strict as assert } from "node:assert";
import { startRig, until } from "./rig_test_util.ts";

/** Resolves when the server closes `conn` (EOF or a reset). */
async function closedByServer(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(1024);
  try {
    while ((await conn.read(buf)) !== null) { /* a GOAWAY or settings frame, if any */ }
  } catch {
    // A reset is a close too.
  }
  conn.close();
}

Deno.test("gRPC listener: a connection cap, silent and slowloris clients closed", async () => {
  const rig = await startRig(undefined, {
    vpp: "disabled",
    server: { maxConnections: 4, handshakeTimeoutMs: 300 },
  });
  const [host, port] = rig.server.addresses[0].split(":");
  const connect = () => Deno.connect({ hostname: host, port: Number(port) });
  try {
    // The rig's own client holds one connection once it has called.
    await rig.client.listFrontends();
    const silent = [await connect(), await connect()];
    const slow = await connect();
    await slow.write(new TextEncoder().encode("PRI * HTTP/2.0\r\n")); // half a preface
    await until("the listener to hold 4 connections", () => rig.server.connections() === 4);
    const extra = await connect();
    await closedByServer(extra);
    await Promise.all([...silent, slow].map(closedByServer));
    await until("only the client's connection left", () => rig.server.connections() === 1);
    assert.equal((await rig.client.listFrontends()).names.length, 2, "still serving");
  } finally {
    await rig.close();
  }
});

Deno.test("gRPC listener: a connection without calls is closed after the idle timeout", async () => {
  const rig = await startRig(undefined, { vpp: "disabled", server: { idleTimeoutMs: 200 } });
  try {
    await rig.client.listFrontends();
    assert.equal(rig.server.connections(), 1);
    await until("the idle connection to close", () => rig.server.connections() === 0);
    // The client reconnects on its next call.
    assert.equal((await rig.client.listFrontends()).names.length, 2);
  } finally {
    await rig.close();
  }
});
