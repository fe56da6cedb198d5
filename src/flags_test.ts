import { strict as assert } from "node:assert";
import {
  DEFAULT_SERVER,
  flagTakesValue,
  isClientFlag,
  logSettings,
  normalizeArgs,
  parseClientFlags,
  parseDaemonFlags,
  parseFlagArgs,
} from "./flags.ts";

const noEnv = () => undefined;

Deno.test("defaults", () => {
  const f = parseDaemonFlags([], { env: noEnv });
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
  const f = parseDaemonFlags(["-config", "a.yaml", "--vpp-api-addr=", "--reflection=false"], {
    env: noEnv,
  });
  assert.equal(f.config, "a.yaml");
  assert.equal(f.vppApiAddr, "");
  assert.equal(f.reflection, false);
});

Deno.test("flag beats env, env beats default", () => {
  const env = (n: string) =>
    ({ MAGLEV_CONFIG: "env.yaml", MAGLEV_LOG_LEVEL: "debug" } as Record<string, string>)[n];
  const f = parseDaemonFlags(["--config", "flag.yaml"], { env });
  assert.equal(f.config, "flag.yaml");
  assert.equal(f.logLevel, "debug");
});

Deno.test("bad flags name the culprit", () => {
  assert.throws(() => parseDaemonFlags(["--nope"], { env: noEnv }), /nope/);
  assert.throws(
    () => parseDaemonFlags(["--log-level", "loud"], { env: noEnv }),
    /--log-level: "loud"/,
  );
  assert.throws(() => parseDaemonFlags(["--log-format", "xml"], { env: noEnv }), /--log-format/);
});

Deno.test("daemon: -h is --help", () => {
  assert.equal(parseDaemonFlags(["-h"], { env: noEnv }).help, true);
});

Deno.test("client flags: anywhere among the words, env, NO_COLOR, --color forms", () => {
  assert.deepEqual(parseClientFlags(["show", "version"]), {
    server: DEFAULT_SERVER,
    color: false,
    timeoutMs: 5000,
    json: false,
    help: false,
    command: ["show", "version"],
  });
  const f = parseClientFlags(["show", "--json", "frontends", "-server", "h:1", "--timeout=2s"]);
  assert.deepEqual(f.command, ["show", "frontends"]);
  assert.equal(f.server, "h:1");
  assert.equal(f.json, true);
  assert.equal(f.timeoutMs, 2000);
  assert.equal(parseClientFlags(["--timeout", "1.5"]).timeoutMs, 1500);
  const env = (n: string) => ({ MAGLEV_SERVER: "10.1.1.1:9000", NO_COLOR: "1" } as never)[n];
  assert.equal(parseClientFlags([], { env }).server, "10.1.1.1:9000");
  assert.equal(parseClientFlags(["--server", "/run/m.sock"], { env }).server, "/run/m.sock");
  assert.equal(parseClientFlags([], { isTerminal: true }).color, true);
  assert.equal(parseClientFlags([], { isTerminal: true, env }).color, false, "NO_COLOR");
  assert.equal(parseClientFlags(["--color"], { isTerminal: true, env }).color, true);
  assert.equal(parseClientFlags(["--color=false"], { isTerminal: true }).color, false);
  assert.equal(parseClientFlags(["-h"]).help, true);
  assert.deepEqual(parseClientFlags(["sh", "--", "--x"]).command, ["sh", "--x"]);
});

Deno.test("client flags: bad ones name the culprit", () => {
  assert.throws(() => parseClientFlags(["--colour"]), /unknown flag "--colour"/);
  assert.throws(() => parseClientFlags(["--color=maybe"]), /invalid value "maybe" for flag/);
  assert.throws(() => parseClientFlags(["--server"]), /flag --server needs a value/);
  assert.throws(() => parseClientFlags(["--timeout", "0s"]), /--timeout must be more than 0/);
  assert.throws(() => parseClientFlags(["--timeout", "x"]), /invalid duration "x"/);
});

Deno.test("role detection helpers: value flags of both roles, client-only flags", () => {
  assert.equal(flagTakesValue("--server"), true);
  assert.equal(flagTakesValue("-config"), true);
  assert.equal(flagTakesValue("--config=x"), false);
  assert.equal(flagTakesValue("--json"), false);
  assert.equal(isClientFlag("--json"), true);
  assert.equal(isClientFlag("--help"), false);
  assert.equal(isClientFlag("-h"), false);
  assert.equal(isClientFlag("--config"), false);
});

Deno.test("parseFlagArgs: the rules every command shares", () => {
  const types = { config: "string", check: "boolean" } as const;
  assert.deepEqual(parseFlagArgs(["-config", "a", "--check=false", "-h"], types), {
    config: "a",
    check: false,
    help: true,
  });
  // A string flag keeps `=false` as its value.
  assert.deepEqual(parseFlagArgs(["--config=false"], types), { config: "false" });
  assert.throws(() => parseFlagArgs(["--bogus"], types), (e: Error) => {
    assert.match(e.message, /--bogus/);
    assert.doesNotMatch(e.message, /To specify/);
    return true;
  });
  assert.throws(() => parseFlagArgs(["stray"], types), /stray/);
});

Deno.test("logSettings: levels and formats named in errors; format by terminal", () => {
  assert.deepEqual(logSettings("warn", "", { isTty: true }), {
    logLevel: "warn",
    logFormat: "text",
  });
  assert.deepEqual(logSettings("info", undefined, { isTty: false }), {
    logLevel: "info",
    logFormat: "json",
  });
  assert.throws(
    () => logSettings("loud", "", { isTty: false }),
    /--log-level: "loud" is not one of debug/,
  );
  assert.throws(
    () => logSettings("info", "xml", { isTty: false }),
    /--log-format: "xml" is not one of text/,
  );
});
