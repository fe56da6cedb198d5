/**
 * The gRPC transport (TCP, unix sockets, listener policy, health, reflection,
 * streams) over real parts: the rig's `Checker` on a fake prober and clock,
 * `ConfigState` on a file and `VppManager` with VPP off (api_test.ts has it
 * on the double).
 */
import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { Buffer } from "node:buffer";
import { MAGLEV_RPCS, MUTATING_METHODS, startGrpcServer } from "./server.ts";
import { WATCH_BUFFER_SIZE } from "./watch.ts";
import type { GrpcServerHandle, GrpcServerOptions } from "./server.ts";
import type { GrpcObserver } from "./observer.ts";
import { createClient, RpcError } from "./client.ts";
import type { MaglevClient } from "./client.ts";
import { healthService, maglevService } from "./proto.ts";
import { type Rig as RealRig, sharedFrontendsYaml, startRig, until } from "./rig_test_util.ts";
import type { Event } from "../../proto/maglev_pb.ts";
import { FAIL } from "../checker/checker_test_util.ts";
import { configureLog, log } from "../log/mod.ts";

/**
 * The transport tests' world: the shared `web` (nginx3 as fallback) and
 * `dns` (on a static backend).
 */
const TRANSPORT_YAML = `maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.254, ipv6-src-address: "2001:db8::fe" }
  healthchecks:
    web-http:
      type: http
      port: 80
      params: { path: /healthz }
      interval: 2s
      fast-interval: 500ms
      down-interval: 5s
      timeout: 1s
      rise: 2
      fall: 3
    plain-tcp:
      type: tcp
      port: 443
      params: { ssl: true, server-name: example.org }
  backends:
    nginx1: { address: 10.0.0.1, healthcheck: web-http, description: nginx1 box }
    nginx2: { address: 10.0.0.2, healthcheck: web-http }
    nginx3: { address: 10.0.0.3, healthcheck: web-http }
    static1: { address: 10.0.0.9 }
${
  sharedFrontendsYaml({
    description: "the web site",
    fallback: "nginx3: { weight: 100 }",
    dns: "static1: { weight: 10 }",
  })
}`;

interface Rig extends RealRig {
  calls: string[];
}

/**
 * Runs `fn` on a rig listening on `listen`, once nginx1 and nginx3 are up
 * and nginx2 (its probes fail) is down.
 */
async function withRig(
  listen: GrpcServerOptions["listen"],
  fn: (rig: Rig) => Promise<void>,
  extra: Partial<GrpcServerOptions> = {},
): Promise<void> {
  const calls: string[] = [];
  const observer: GrpcObserver = {
    started: (m) => calls.push(`started ${m.method} ${m.type}`),
    handled: (m, code) => calls.push(`handled ${m.method} ${m.type} ${grpc.status[code]}`),
    msgReceived: () => {},
    msgSent: () => {},
  };
  const rig = await startRig(TRANSPORT_YAML, {
    vpp: "disabled",
    server: { listen, observer, ...extra },
  });
  try {
    rig.prober.behaviour.set("nginx2", FAIL);
    await rig.clock.advance(20_000);
    await fn({ ...rig, calls });
  } finally {
    await rig.close();
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RpcError, `not an RpcError: ${err}`);
    assert.equal(err.codeName, code, `${err.codeName}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Every RPC and every error code it can return, run on one transport. */
async function everyRpc(rig: Rig): Promise<void> {
  const { client: c, checker, configPath } = rig;

  // ListFrontends / GetFrontend
  const fl = await c.listFrontends();
  assert.deepEqual(fl.names, ["dns", "web"]);
  assert.equal(fl.frontends[1].name, "web");
  const web = await c.getFrontend({ name: "web" });
  assert.equal(web.address, "192.0.2.1");
  assert.equal(web.protocol, "tcp");
  assert.equal(web.port, 80);
  assert.equal(web.description, "the web site");
  assert.equal(web.src_ip_sticky, false);
  assert.equal(web.state, "up");
  assert.equal(web.active_pool, "primary");
  assert.deepEqual(
    web.pools.map((p) => [p.name, p.backends.map((b) => [b.name, b.weight, b.effective_weight])]),
    [["primary", [["nginx1", 100, 100], ["nginx2", 50, 0]]], ["fallback", [["nginx3", 100, 0]]]],
  );
  assert.equal(web.pools[0].backends[1].state, "down");
  await rejectsWith(c.getFrontend({ name: "nope" }), "NOT_FOUND", /^frontend "nope" not found$/);
  await rejectsWith(c.getFrontend({}), "INVALID_ARGUMENT", /frontend name is required/);

  // ListBackends / GetBackend
  const bl = await c.listBackends();
  assert.deepEqual(bl.names, ["nginx1", "nginx2", "nginx3", "static1"]);
  assert.equal(bl.backends.length, 4);
  const b1 = await c.getBackend({ name: "nginx1" });
  assert.equal(b1.address, "10.0.0.1");
  assert.equal(b1.state, "up");
  assert.equal(b1.enabled, true);
  assert.equal(b1.healthcheck, "web-http");
  assert.equal(b1.health, b1.health_max);
  assert.equal(b1.description, "nginx1 box");
  const t = b1.transitions[0];
  assert.deepEqual([t.to, t.code, t.detail], ["up", "L7OK", "HTTP 200"]);
  assert.equal(
    t.at_ns,
    `${BigInt(checker.getBackend("nginx1").transitions[0].atMs) * 1_000_000n}`,
  );
  assert.deepEqual(
    [b1.probes[0].ok, b1.probes[0].code, b1.probes[0].detail, b1.probes[0].duration_ns],
    [true, "L7OK", "HTTP 200", "1000000"],
  );
  await rejectsWith(c.getBackend({ name: "nginx9" }), "NOT_FOUND", /^backend "nginx9" not found$/);
  await rejectsWith(c.getBackend({ name: "" }), "INVALID_ARGUMENT");

  // Pause / Resume / Disable / Enable
  assert.equal((await c.pauseBackend({ name: "nginx2" })).state, "paused");
  assert.equal((await c.resumeBackend({ name: "nginx2" })).state, "unknown");
  await rejectsWith(c.pauseBackend({ name: "nginx9" }), "NOT_FOUND");
  await rejectsWith(c.resumeBackend({ name: "nginx9" }), "NOT_FOUND");
  await rejectsWith(c.disableBackend({ name: "nginx9" }), "NOT_FOUND");
  await rejectsWith(c.enableBackend({ name: "nginx9" }), "NOT_FOUND");
  const disabled = await c.disableBackend({ name: "nginx2" });
  assert.equal(disabled.state, "disabled");
  assert.equal(disabled.enabled, false);
  await rejectsWith(
    c.pauseBackend({ name: "nginx2" }),
    "FAILED_PRECONDITION",
    /^backend "nginx2" is disabled; enable it first$/,
  );
  await rejectsWith(c.resumeBackend({ name: "nginx2" }), "FAILED_PRECONDITION");
  assert.equal(checker.backendState("nginx2"), "disabled", "a refused RPC changes nothing");
  const enabled = await c.enableBackend({ name: "nginx2" });
  assert.equal(enabled.enabled, true);

  // ListHealthChecks / GetHealthCheck
  const hl = await c.listHealthChecks();
  assert.deepEqual(hl.names, ["plain-tcp", "web-http"]);
  const hc = await c.getHealthCheck({ name: "web-http" });
  assert.equal(hc.type, "http");
  assert.equal(hc.port, 80);
  assert.equal(hc.interval_ns, "2000000000");
  assert.equal(hc.fast_interval_ns, "500000000");
  assert.equal(hc.down_interval_ns, "5000000000");
  assert.equal(hc.timeout_ns, "1000000000");
  assert.equal(hc.rise, 2);
  assert.equal(hc.fall, 3);
  assert.equal(hc.http?.path, "/healthz");
  assert.equal(hc.tcp, null);
  const tcp = await c.getHealthCheck({ name: "plain-tcp" });
  assert.deepEqual(tcp.tcp, { ssl: true, server_name: "example.org", insecure_skip_verify: false });
  await rejectsWith(
    c.getHealthCheck({ name: "nope" }),
    "NOT_FOUND",
    /^healthcheck "nope" not found$/,
  );

  // SetFrontendPoolBackendWeight
  const set = { frontend: "web", pool: "primary", backend: "nginx1" };
  const after = await c.setFrontendPoolBackendWeight({ ...set, weight: 30, flush: true });
  assert.equal(after.pools[0].backends[0].weight, 30);
  assert.equal(after.pools[0].backends[0].effective_weight, 30);
  assert.equal(checker.config().frontends.web.pools[0].backends[0].weight, 30);
  // The weight range and pool membership are the checker's rules: api_test.ts
  // tests them through the real checker.

  // CheckConfig / ReloadConfig on the config file.
  assert.deepEqual(await c.checkConfig(), { ok: true, parse_error: "", semantic_error: "" });
  assert.equal((await c.reloadConfig()).ok, true);
  await Deno.writeTextFile(configPath, "maglev:\n  backends: {}\n  backends: {}\n");
  const parse = await c.checkConfig();
  assert.deepEqual([parse.ok, parse.semantic_error], [false, ""]);
  assert.match(parse.parse_error, /maglev\.yaml: .*\(line 3, column 3\)/);
  const reloadParse = await c.reloadConfig();
  assert.deepEqual([reloadParse.ok, reloadParse.parse_error], [false, parse.parse_error]);
  await Deno.writeTextFile(configPath, TRANSPORT_YAML.replace("static1: { weight: 10 }", "x: {}"));
  const semantic = await c.checkConfig();
  assert.deepEqual([semantic.ok, semantic.parse_error], [false, ""]);
  assert.match(semantic.semantic_error, /"x"/);
  assert.equal((await c.reloadConfig()).semantic_error, semantic.semantic_error);
  assert.deepEqual(Object.keys(checker.config().frontends).sort(), ["dns", "web"], "kept");
  await Deno.writeTextFile(configPath, TRANSPORT_YAML);

  // VPP RPCs: api_test.ts, through the real manager and the VPP double.

  // Request size bound.
  await rejectsWith(c.getFrontend({ name: "x".repeat(70 * 1024) }), "RESOURCE_EXHAUSTED");

  // WatchEvents argument errors.
  const bad = c.watchEvents({ log: true, log_level: "loud" });
  await assert.rejects(
    (async () => {
      for await (const _ of bad) { /* nothing arrives */ }
    })(),
    (err: unknown) =>
      err instanceof RpcError && err.codeName === "INVALID_ARGUMENT" &&
      /log_level "loud"/.test(err.message),
  );
}

/** Runs `fn` with the daemon log captured instead of printed. */
async function capturingLog(fn: (lines: string[]) => Promise<void>): Promise<void> {
  const lines: string[] = [];
  configureLog({ level: "info", format: "json", write: (l) => lines.push(l) });
  try {
    await fn(lines);
  } finally {
    configureLog({ level: "info", format: "json" });
  }
}

Deno.test("every RPC and error code over TCP loopback", async () => {
  await withRig({ tcp: "127.0.0.1:0" }, (rig) =>
    capturingLog(async (lines) => {
      await everyRpc(rig);
      assert.ok(!lines.some((l) => /grpc-internal-error/.test(l)), "no INTERNAL error");
      // Every handled call was observed with its code.
      assert.ok(rig.calls.includes("handled GetFrontend unary OK"));
      assert.ok(rig.calls.includes("handled GetFrontend unary NOT_FOUND"));
      assert.ok(rig.calls.includes("handled PauseBackend unary FAILED_PRECONDITION"));
      assert.ok(rig.calls.includes("handled WatchEvents server_stream INVALID_ARGUMENT"));
    }));
});

Deno.test("an unexpected error answers INTERNAL with its message and is logged", async () => {
  // The daemon's wiring failing in a way no rule foresaw (here its config check).
  const checkConfig = () => Promise.reject(new Error("kaboom"));
  await withRig({ tcp: "127.0.0.1:0" }, (rig) =>
    capturingLog(async (lines) => {
      await rejectsWith(rig.client.checkConfig(), "INTERNAL", /kaboom/);
      assert.ok(
        lines.some((l) => /"msg":"grpc-internal-error".*"method":"CheckConfig".*kaboom/.test(l)),
        "an INTERNAL error is logged",
      );
      assert.ok(rig.calls.includes("handled CheckConfig unary INTERNAL"));
    }), { checkConfig });
});

Deno.test("every RPC and error code over a unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/maglev.sock`;
  try {
    await withRig({ unix: path }, async (rig) => {
      assert.deepEqual(rig.server.addresses, [`unix:${path}`]);
      await capturingLog(() => everyRpc(rig));
    });
    await assert.rejects(Deno.lstat(path), "shutdown removes the socket");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client given a bare socket path reaches the server", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/m.sock`;
  try {
    // A leftover socket of a crashed run is replaced.
    const stale = Deno.listen({ transport: "unix", path });
    stale.close();
    await withRig({ unix: `unix:${path}` }, async () => {
      const c = createClient(path);
      try {
        assert.deepEqual((await c.listFrontends()).names, ["dns", "web"]);
      } finally {
        c.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function mutatingCalls(c: MaglevClient): [string, () => Promise<unknown>][] {
  return [
    ["PauseBackend", () => c.pauseBackend({ name: "nginx1" })],
    ["ResumeBackend", () => c.resumeBackend({ name: "nginx1" })],
    ["EnableBackend", () => c.enableBackend({ name: "nginx1" })],
    ["DisableBackend", () => c.disableBackend({ name: "nginx1" })],
    [
      "SetFrontendPoolBackendWeight",
      () =>
        c.setFrontendPoolBackendWeight({
          frontend: "web",
          pool: "primary",
          backend: "nginx1",
          weight: 5,
        }),
    ],
    ["ReloadConfig", () => c.reloadConfig()],
    ["SyncVPPLBState", () => c.syncVPPLBState({})],
  ];
}

Deno.test("mutating RPCs are refused on a non-loopback listener", async () => {
  await withRig({ tcp: "0.0.0.0:0" }, async ({ client, checker }) => {
    const calls = mutatingCalls(client);
    assert.deepEqual(calls.map(([m]) => m).sort(), [...MUTATING_METHODS].sort());
    for (const [method, p] of calls) {
      await rejectsWith(p(), "PERMISSION_DENIED", new RegExp(`^${method} refused on listener`));
    }
    assert.equal(checker.backendState("nginx1"), "up", "nothing changed");
    assert.equal(checker.config().frontends.web.pools[0].backends[0].weight, 100);
    // Read-only RPCs are always allowed.
    assert.equal((await client.getFrontend({ name: "web" })).name, "web");
    assert.equal((await client.checkConfig()).ok, true);
    assert.deepEqual((await client.listHealthChecks()).names, ["plain-tcp", "web-http"]);
  });
});

Deno.test("--grpc-allow-remote-admin allows mutating RPCs on any listener", async () => {
  await withRig({ tcp: "0.0.0.0:0" }, async ({ client }) => {
    for (const [method, p] of mutatingCalls(client)) {
      // Allowed: whatever the answer (SyncVPPLBState: VPP is disabled here), not a refusal.
      await p().catch((e: RpcError) => assert.notEqual(e.codeName, "PERMISSION_DENIED", method));
    }
  }, { allowRemoteAdmin: true });
});

Deno.test("the default listener is localhost:9090 and bad addresses are named", async () => {
  const rig = await startRig(TRANSPORT_YAML, { vpp: "disabled" });
  const base = {
    checker: rig.checker,
    vpp: rig.manager,
    checkConfig: () => rig.state.check(),
    reload: rig.state.reloader(rig.checker, { applied: () => rig.manager.configApplied() }),
  };
  await assert.rejects(
    startGrpcServer({ ...base, listen: { tcp: "localhost" } }),
    /grpc listen address "localhost": missing port \(want host:port or :port\)/,
  );
  await assert.rejects(
    startGrpcServer({ ...base, listen: { unix: "relative.sock" } }),
    /grpc socket "relative.sock": want an absolute path/,
  );
  let server: GrpcServerHandle | undefined;
  try {
    server = await startGrpcServer({ ...base, listen: {} });
    assert.deepEqual(server.addresses, ["localhost:9090"]);
  } catch (err) {
    // Another process may hold the port on a shared machine; the message says so.
    assert.match(String(err), /grpc listen "localhost:9090"/);
  } finally {
    await server?.shutdown();
    await rig.close();
  }
});

/** A health Watch of the whole server on `ch`. */
function healthWatch(ch: grpc.Client): grpc.ClientReadableStream<unknown> {
  const def = healthService();
  return ch.makeServerStreamRequest(
    def.Watch.path,
    def.Watch.requestSerialize,
    def.Watch.responseDeserialize,
    { service: "" },
  );
}

Deno.test("the health service answers SERVING, then NOT_SERVING at shutdown", async () => {
  await withRig({ tcp: "127.0.0.1:0" }, async ({ server }) => {
    const def = healthService();
    const ch = new grpc.Client(server.addresses[0], grpc.credentials.createInsecure());
    try {
      const check = (service: string) =>
        new Promise<unknown>((resolve, reject) =>
          ch.makeUnaryRequest(
            def.Check.path,
            def.Check.requestSerialize,
            def.Check.responseDeserialize,
            { service },
            (err, value) => err ? reject(err) : resolve(value),
          )
        );
      assert.deepEqual(await check(""), { status: "SERVING" });
      assert.deepEqual(await check("maglev.v1.Maglev"), { status: "SERVING" });
      await assert.rejects(check("other.Svc"), (e: grpc.ServiceError) => e.code === 5);

      const watch = healthWatch(ch);
      const seen: unknown[] = [];
      const ended = new Promise<void>((resolve) => watch.on("end", resolve));
      watch.on("data", (d) => {
        seen.push(d);
        if (seen.length === 1) void server.shutdown();
      });
      await ended;
      assert.deepEqual(seen, [{ status: "SERVING" }, { status: "NOT_SERVING" }]);
    } finally {
      ch.close();
    }
  });
});

/** Two threads that keep the CPU busy while `fn` runs (a loaded machine). */
async function underLoad(fn: () => Promise<void>): Promise<void> {
  const src = "const end = Date.now() + 60_000; while (Date.now() < end) {}";
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const workers = [0, 1].map(() => new Worker(url, { type: "module" }));
  try {
    await fn();
  } finally {
    for (const w of workers) w.terminate();
    URL.revokeObjectURL(url);
  }
}

Deno.test("shutdown ends health and event streams cleanly under load, every time", async () => {
  await underLoad(async () => {
    for (let round = 0; round < 10; round++) {
      await withRig({ tcp: "127.0.0.1:0" }, async ({ server }) => {
        const ch = new grpc.Client(server.addresses[0], grpc.credentials.createInsecure());
        try {
          const streams = [0, 1, 2, 3].map(() => {
            const watch = healthWatch(ch);
            const seen: unknown[] = [];
            const first = new Promise<void>((resolve) =>
              watch.on("data", (d) => {
                seen.push(d);
                resolve();
              })
            );
            // The stream's end as the client sees it: a status, OK or not.
            const status = new Promise<number>((resolve) => {
              watch.on("status", (st: grpc.StatusObject) => resolve(st.code));
              watch.on("error", () => {});
            });
            return { first, status, seen };
          });
          await Promise.all(streams.map((st) => st.first));
          await server.shutdown();
          for (const st of streams) {
            const code = await st.status;
            assert.equal(
              code,
              grpc.status.OK,
              `round ${round}: ended ${grpc.status[code]}, not OK`,
            );
            assert.deepEqual(st.seen, [{ status: "SERVING" }, { status: "NOT_SERVING" }]);
          }
        } finally {
          ch.close();
        }
      });
    }
  });
});

/** A reflection client built from the reflection proto's small subset. */
const REFLECTION_PROTO = `
syntax = "proto3";
package grpc.reflection.v1;
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    string list_services = 7;
  }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ServiceResponse { string name = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}`;

Deno.test("server reflection lists and describes the service", async () => {
  await withRig({ tcp: "127.0.0.1:0" }, async ({ server }) => {
    const root = protobuf.parse(REFLECTION_PROTO, { keepCase: true }).root;
    const Req = root.lookupType("grpc.reflection.v1.ServerReflectionRequest");
    const Res = root.lookupType("grpc.reflection.v1.ServerReflectionResponse");
    const ch = new grpc.Client(server.addresses[0], grpc.credentials.createInsecure());
    try {
      const ask = (req: Record<string, unknown>) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const call = ch.makeBidiStreamRequest(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            (v: unknown) =>
              Buffer.from(Req.encode(Req.fromObject(v as Record<string, unknown>)).finish()),
            (b: Uint8Array) => Res.toObject(Res.decode(b), { defaults: false }),
          );
          call.on("data", (d) => {
            resolve(d);
            call.end();
          });
          call.on("error", reject);
          call.write(req);
        });
      const list = await ask({ list_services: "" }) as {
        list_services_response: { service: { name: string }[] };
      };
      const names = list.list_services_response.service.map((s) => s.name);
      assert.ok(names.includes("maglev.v1.Maglev"), names.join(","));
      assert.ok(names.includes("grpc.health.v1.Health"), names.join(","));
      const file = await ask({ file_containing_symbol: "maglev.v1.Maglev" }) as {
        file_descriptor_response: { file_descriptor_proto: Uint8Array[] };
      };
      const protos = file.file_descriptor_response.file_descriptor_proto;
      assert.equal(protos.length, 1);
      const text = new TextDecoder().decode(protos[0]);
      assert.ok(text.includes("maglev.proto") && text.includes("WatchEvents"));
    } finally {
      ch.close();
    }
  });
});

Deno.test("reflection can be switched off", async () => {
  await withRig({ tcp: "127.0.0.1:0" }, async ({ server }) => {
    const ch = new grpc.Client(server.addresses[0], grpc.credentials.createInsecure());
    try {
      const call = ch.makeBidiStreamRequest(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        () => Buffer.alloc(0),
        (b: Uint8Array) => b,
      );
      const code = await new Promise<number>((resolve) => {
        call.on("error", (e: grpc.ServiceError) => resolve(e.code));
        call.on("data", () => {});
        call.write({});
        call.end();
      });
      assert.equal(code, grpc.status.UNIMPLEMENTED);
    } finally {
      ch.close();
    }
  }, { reflection: false });
});

async function take(it: AsyncIterator<Event>, n: number): Promise<Event[]> {
  const out: Event[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

Deno.test("WatchEvents: snapshot, live events, filters and log level", async () => {
  await withRig({ tcp: "127.0.0.1:0" }, async ({ client, checker, server, calls }) => {
    const stream = client.watchEvents({ log: true, log_level: "debug", backend: true });
    const it = stream[Symbol.asyncIterator]();
    // The snapshot: every backend as from == to, no frontend (not asked for).
    const snapshot = await take(it, 4);
    assert.deepEqual(
      snapshot.map((e) => [e.event, e.backend?.backend, e.backend?.transition?.to]).sort(),
      [
        ["backend", "nginx1", "up"],
        ["backend", "nginx2", "down"],
        ["backend", "nginx3", "up"],
        ["backend", "static1", "up"],
      ],
    );

    log.debug("probe-done", {
      backend: "nginx1",
      ok: true,
      elapsed: 3,
      nothing: undefined,
      gone: null,
    });
    checker.disable("static1"); // and so frontend dns goes down: not streamed
    log.debug("test-end", {});
    const live: Event[] = [];
    while (live.at(-1)?.log?.msg !== "test-end") live.push(...await take(it, 1));
    assert.deepEqual(live.find((e) => e.log?.msg === "probe-done")?.log, {
      level: "debug",
      msg: "probe-done",
      attrs: [
        { key: "backend", value: "nginx1" },
        { key: "ok", value: "true" },
        { key: "elapsed", value: "3" },
        { key: "gone", value: "null" },
      ],
    });
    const transitions = live.filter((e) => e.event === "backend");
    assert.equal(transitions.length, 1);
    const t = checker.getBackend("static1").transitions[0];
    assert.deepEqual(transitions[0].backend?.transition?.to, "disabled");
    assert.equal(transitions[0].at_ns, `${BigInt(t.atMs) * 1_000_000n}`);
    assert.equal(live.filter((e) => e.event === "frontend").length, 0);
    assert.ok(live.some((e) => e.log?.msg === "backend-transition"), "the daemon's own log");
    assert.equal(server.activeStreams(), 1);

    // Disconnecting frees the stream.
    stream.cancel();
    assert.equal((await it.next()).done, true);
    await until("the stream freed", () => server.activeStreams() === 0);
    assert.ok(calls.includes("started WatchEvents server_stream"));
  });
});

Deno.test("WatchEvents: default filters, resume and shutdown ends the stream", async () => {
  const dir = await Deno.makeTempDir();
  await withRig({ unix: `${dir}/w.sock` }, async ({ client, checker, server }) => {
    const from = checker.lastSeq();
    const resumed = client.watchEvents({ after_seq: from });
    const it = resumed[Symbol.asyncIterator]();
    // Whether the stream subscribed before or after, the bus replays from `from`.
    checker.disable("static1");
    log.info("not-streamed", {});
    const got = await take(it, 2);
    assert.deepEqual(
      got.map((e) => [e.seq, e.event]),
      [[String(from + 1), "backend"], [String(from + 2), "frontend"]],
      "no snapshot when resuming",
    );
    assert.equal(got[0].backend?.backend, "static1");
    assert.deepEqual(got[1].frontend, { frontend: "dns", from: "up", to: "down" });
    await server.shutdown();
    assert.equal((await it.next()).done, true, "shutdown ends the stream cleanly, no log");
  });
  await Deno.remove(dir, { recursive: true });
});

/**
 * Disables and enables `static1` (the only backend of `dns`) until `n`
 * frontend events were published; returns how many were.
 */
async function toggleDns(
  checker: RealRig["checker"],
  n: number,
  options: { yieldEvery?: number } = {},
): Promise<number> {
  let published = 0;
  const op = (f: () => void) => {
    const was = checker.frontendState("dns");
    f();
    if (checker.frontendState("dns") !== was) published++;
  };
  for (let i = 0; published < n; i++) {
    assert.ok(i < 4 * n, "disable/enable static1 no longer moves dns");
    op(() => checker.disable("static1"));
    op(() => checker.enable("static1"));
    // Let the server write what it can between bursts.
    if (options.yieldEvery && i % options.yieldEvery === 0) {
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  return published;
}

Deno.test("WatchEvents: a burst from the checker reaches every subscriber whole and in order", async () => {
  await withRig({ tcp: "127.0.0.1:0" }, async ({ checker, server }) => {
    const clients = [0, 1, 2].map(() => createClient(server.addresses[0]));
    try {
      const its = clients.map((c) => c.watchEvents({ frontend: true })[Symbol.asyncIterator]());
      for (const it of its) assert.equal((await take(it, 2)).length, 2, "the snapshot");
      // More than a subscriber may have in flight, published at once: the
      // server writes what each wakeup brings and waits for HTTP/2 to drain.
      // Below the resync bound: a burst that fits is delivered whole.
      const total = await toggleDns(checker, WATCH_BUFFER_SIZE - 10);
      for (const it of its) {
        const got = await take(it, total);
        assert.equal(got.length, total);
        assert.ok(got.every((e) => e.event === "frontend" && e.frontend?.frontend === "dns"));
        assert.ok(got.every((e, i) => i === 0 || BigInt(e.seq) > BigInt(got[i - 1].seq)));
      }
      assert.equal(server.activeStreams(), 3);
    } finally {
      for (const c of clients) c.close();
    }
  });
});

Deno.test("every method is listed for metrics pre-registration", () => {
  assert.equal(MAGLEV_RPCS.length, 22);
  assert.deepEqual(MAGLEV_RPCS.find((r) => r.method === "WatchEvents")?.type, "server_stream");
});

Deno.test("WatchEvents: a subscriber that stops reading is resynced; its backlog is dropped", async () => {
  await withRig({ tcp: "127.0.0.1:0" }, async ({ checker, server }) => {
    const def = maglevService().WatchEvents;
    const raw = new grpc.Client(server.addresses[0], grpc.credentials.createInsecure());
    const call = raw.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      { frontend: true },
    ) as grpc.ClientReadableStream<Event>;
    const got: Event[] = [];
    let wake: (() => void) | undefined;
    call.on("data", (e: Event) => {
      got.push(e);
      wake?.();
    });
    call.on("error", () => {});
    const untilData = async (cond: () => boolean) => {
      while (!cond()) await new Promise<void>((r) => wake = r);
    };
    try {
      await untilData(() => got.length === 2);
      // The client stops reading: its HTTP/2 window shuts, the server's
      // writes stall, and the bus sees a subscriber that falls behind.
      call.pause();
      await toggleDns(checker, 50_000, { yieldEvery: 500 });
      call.resume();
      await untilData(() => got.some((e) => e.event === "resync"));
      const resyncAt = got.findIndex((e) => e.event === "resync");
      // What reached the client before the resync is what was in flight and
      // buffered: bounded, whatever the backlog, which was dropped.
      assert.ok(resyncAt < 10_000, `${resyncAt} events before the resync`);
      assert.match(got[resyncAt].resync!.reason, /fell more than \d+ events behind/);
      await untilData(() => got.length > resyncAt + 1);
      const next = got[resyncAt + 1].frontend!;
      assert.equal(next.from, next.to, "a fresh snapshot (from == to) follows the resync");
      // A resync carries the newest sequence number, like the snapshot after it: seq never
      // goes back within a stream.
      const seqs = got.map((e) => Number(e.seq));
      assert.ok(seqs.every((s, i) => i === 0 || s >= seqs[i - 1]), `seq went back: ${seqs}`);
      assert.equal(got[resyncAt].seq, got[resyncAt + 1].seq);
    } finally {
      call.cancel();
      raw.close();
    }
  });
});
