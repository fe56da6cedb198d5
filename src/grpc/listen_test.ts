import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import { maglevService } from "./proto.ts";
import type { ListFrontendsResponse } from "../../proto/maglev_pb.ts";
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
    // Long enough that the silent clients are all still open when the fourth connects on a
    // loaded machine (with 300 ms the first could be cut before the cap was reached).
    server: { maxConnections: 4, handshakeTimeoutMs: 2_000 },
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
    await until("only the client's connection left", () => rig.server.connections() === 1, {
      timeoutMs: 15_000,
    });
    assert.equal((await rig.client.listFrontends()).names.length, 2, "still serving");
  } finally {
    await rig.close();
  }
});

/** Resolves once `channel` is no longer READY: its client has seen the connection close. */
async function leftReady(channel: grpc.Client): Promise<void> {
  const ch = channel.getChannel();
  while (ch.getConnectivityState(false) === grpc.connectivityState.READY) {
    await new Promise<void>((resolve, reject) =>
      ch.watchConnectivityState(
        grpc.connectivityState.READY,
        Date.now() + 10_000,
        (err) => err ? reject(err) : resolve(),
      )
    );
  }
}

Deno.test("gRPC listener: a connection without calls is closed after the idle timeout", async () => {
  // grpc-js counts a session idle from its start, so the first call must arrive within the
  // timeout: 200 ms was shorter than a loaded machine takes to connect and send it.
  const rig = await startRig(undefined, { vpp: "disabled", server: { idleTimeoutMs: 2_000 } });
  // A channel of its own, to see when the client (not only the server) has seen the close.
  const channel = new grpc.Client(rig.server.addresses[0], grpc.credentials.createInsecure());
  const def = maglevService().ListFrontends;
  const list = () =>
    new Promise<ListFrontendsResponse>((resolve, reject) =>
      channel.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        {},
        new grpc.Metadata(),
        {},
        (err, value) => err ? reject(err) : resolve(value as ListFrontendsResponse),
      )
    );
  try {
    await list();
    assert.equal(rig.server.connections(), 1);
    await until("the idle connection to close", () => rig.server.connections() === 0, {
      timeoutMs: 15_000,
    });
    // The client reconnects on its next call. A call sent in the instant between the server's
    // close and the client reading it fails UNAVAILABLE (grpc-js retries no stream it started);
    // under load that instant is long, so the call waits for the client to see the close.
    await leftReady(channel);
    assert.equal((await list()).names.length, 2);
  } finally {
    channel.close();
    await rig.close();
  }
});
