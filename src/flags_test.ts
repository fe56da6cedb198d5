import { strict as assert } from "node:assert";
import { normalizeArgs, parseDaemonFlags } from "./flags.ts";

const noEnv = () => undefined;

Deno.test("defaults", () => {
  const f = parseDaemonFlags([], noEnv);
  assert.equal(f.config, "/etc/vpp-maglev/maglev.yaml");
  assert.equal(f.grpcAddr, "localhost:9090");
  assert.equal(f.metricsAddr, ":9091");
  assert.equal(f.vppApiAddr, "/run/vpp/api.sock");
  assert.equal(f.logLevel, "info");
  assert.equal(f.logFormat, "json");
  assert.equal(f.reflection, true);
});

Deno.test("single-dash Go-style flags and =value forms", () => {
  assert.deepEqual(normalizeArgs(["-config", "x", "--a", "-v"]), ["--config", "x", "--a", "-v"]);
  const f = parseDaemonFlags(["-config", "a.yaml", "--vpp-api-addr=", "--reflection=false"], noEnv);
  assert.equal(f.config, "a.yaml");
  assert.equal(f.vppApiAddr, "");
  assert.equal(f.reflection, false);
});

Deno.test("flag beats env, env beats default", () => {
  const env = (n: string) =>
    ({ MAGLEV_CONFIG: "env.yaml", MAGLEV_LOG_LEVEL: "debug" } as Record<string, string>)[n];
  const f = parseDaemonFlags(["--config", "flag.yaml"], env);
  assert.equal(f.config, "flag.yaml");
  assert.equal(f.logLevel, "debug");
});

Deno.test("bad flags name the culprit", () => {
  assert.throws(() => parseDaemonFlags(["--nope"], noEnv), /nope/);
  assert.throws(() => parseDaemonFlags(["--log-level", "loud"], noEnv), /--log-level: "loud"/);
  assert.throws(() => parseDaemonFlags(["--log-format", "xml"], noEnv), /--log-format/);
});
