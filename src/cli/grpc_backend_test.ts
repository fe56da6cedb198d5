import { strict as assert } from "node:assert";
import { backendView, eventView, frontendView, nsToMs, transportError } from "./grpc_backend.ts";
import { RpcError } from "../grpc/client.ts";

Deno.test("nanosecond strings become milliseconds", () => {
  assert.equal(nsToMs("1500000"), 1.5);
  assert.equal(nsToMs("0"), 0);
  assert.equal(nsToMs(""), 0);
});

Deno.test("FrontendInfo and BackendInfo map onto the client's views", () => {
  const f = frontendView({
    name: "web",
    address: "192.0.2.1",
    protocol: "tcp",
    port: 80,
    pools: [{
      name: "p",
      backends: [{
        name: "b",
        weight: 9,
        effective_weight: 0,
        enabled: false,
        state: "up",
        address: "x",
        adopted: false,
      }],
    }],
    description: "d",
    src_ip_sticky: true,
    flush_on_down: false,
    state: "down",
    vpp_sync_error: "",
    flow_table_length: 1024,
    flow_table_length_auto: true,
    active_pool: "",
    fingerprint: "",
    warning: "",
  });
  assert.deepEqual(f.pools[0].backends[0], {
    name: "b",
    weight: 9,
    effectiveWeight: 0,
    enabled: false,
    adopted: false,
  });
  assert.equal(f.srcIpSticky, true);
  const b = backendView({
    name: "b",
    address: "10.0.0.1",
    state: "up",
    enabled: true,
    healthcheck: "h",
    health: 2,
    health_max: 4,
    description: "",
    transitions: [{ from: "unknown", to: "up", at_ns: "1000000000", code: "L7OK", detail: "" }],
    probes: [{ at_ns: "2000000000", ok: true, code: "L7OK", detail: "", duration_ns: "3000000" }],
  });
  assert.equal(b.transitions[0].atMs, 1000);
  assert.equal(b.probes[0].durationMs, 3);
  assert.equal(b.healthMax, 4);
});

Deno.test("events flatten to one view per kind", () => {
  assert.deepEqual(
    eventView({
      seq: "7",
      at_ns: "5000000",
      event: "frontend",
      frontend: { frontend: "web", from: "up", to: "down" },
    }),
    { seq: 7, atMs: 5, kind: "frontend", frontend: "web", from: "up", to: "down" },
  );
  assert.deepEqual(
    eventView({
      seq: "8",
      at_ns: "0",
      event: "backend",
      backend: {
        frontend: "web",
        backend: "b",
        address: "10.0.0.1",
        transition: { from: "up", to: "down", at_ns: "0", code: "L4CON", detail: "refused" },
      },
    }),
    {
      seq: 8,
      atMs: 0,
      kind: "backend",
      frontend: "web",
      backend: "b",
      address: "10.0.0.1",
      from: "up",
      to: "down",
      code: "L4CON",
      detail: "refused",
    },
  );
  assert.deepEqual(
    eventView({
      seq: "9",
      at_ns: "0",
      event: "log",
      log: { level: "warn", msg: "m", attrs: [{ key: "k", value: "v" }] },
    }).attrs,
    { k: "v" },
  );
});

Deno.test("transport failures name the server", () => {
  assert.equal(
    (transportError(
      new RpcError(
        14,
        "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ",
      ),
      { server: "127.0.0.1:1", timeoutMs: 5000 },
    ) as Error).message,
    "cannot connect to maglevd at 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1",
  );
  assert.equal(
    (transportError(new RpcError(4, "Deadline exceeded"), {
      server: "h:1",
      timeoutMs: 5000,
    }) as Error).message,
    "no answer from h:1 within 5s",
  );
  const nf = new RpcError(5, 'backend "x" not found');
  assert.equal(transportError(nf, { server: "h:1", timeoutMs: 5000 }), nf);
});
