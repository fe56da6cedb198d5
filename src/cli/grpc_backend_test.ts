import { strict as assert } from "node:assert";
import { backendView, eventJson, frontendView, nsToMs } from "./grpc_backend.ts";

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

Deno.test("events print only the member of the oneof that is set", () => {
  const j = eventJson({
    seq: "7",
    at_ns: "5",
    event: "frontend",
    frontend: { frontend: "web", from: "up", to: "down" },
  });
  assert.equal(
    JSON.stringify(j),
    '{"seq":"7","at_ns":"5","frontend":{"frontend":"web","from":"up","to":"down"}}',
  );
});
