import { strict as assert } from "node:assert";
import { DEFAULT_LISTEN, parseDashboardFlags } from "./flags.ts";

const env = (vars: Record<string, string>) => (n: string) => vars[n];

Deno.test("servers, listen and log flags; defaults", () => {
  const f = parseDashboardFlags(["--server", "r1:9090, /run/maglev.sock"], { env: env({}) });
  assert.deepEqual(f.servers, ["r1:9090", "/run/maglev.sock"]);
  assert.equal(DEFAULT_LISTEN, "localhost:9092");
  assert.deepEqual(f.listen, { host: "localhost", port: 9092 });
  assert.equal(f.logFormat, "json");
  assert.equal(f.credentials, undefined);
  assert.equal(f.heartbeat, true);
  assert.equal(
    parseDashboardFlags(["--server", "a:1", "--heartbeat=false"], { env: env({}) }).heartbeat,
    false,
  );
  const g = parseDashboardFlags(["-server=a:1", "-listen", "[::1]:8080"], {
    env: env({}),
    isTty: true,
  });
  assert.deepEqual(g.listen, { host: "::1", port: 8080 });
  assert.equal(g.logFormat, "text");
});

Deno.test("every flag has a MAGLEV_DASHBOARD_ variable; a flag beats it", () => {
  const vars = env({
    MAGLEV_DASHBOARD_SERVER: "a:1,b:2",
    MAGLEV_DASHBOARD_LISTEN: ":9999",
    MAGLEV_DASHBOARD_LOG_LEVEL: "debug",
    MAGLEV_DASHBOARD_USER: "ops",
    MAGLEV_DASHBOARD_PASSWORD: "pw",
  });
  const f = parseDashboardFlags([], { env: vars });
  assert.deepEqual(f.servers, ["a:1", "b:2"]);
  assert.deepEqual(f.listen, { host: "", port: 9999 });
  assert.equal(f.logLevel, "debug");
  assert.deepEqual(f.credentials, { user: "ops", password: "pw" });
  assert.deepEqual(parseDashboardFlags(["--server", "c:3"], { env: vars }).servers, ["c:3"]);
  const off = env({ MAGLEV_DASHBOARD_SERVER: "a:1", MAGLEV_DASHBOARD_HEARTBEAT: "false" });
  assert.equal(parseDashboardFlags([], { env: off }).heartbeat, false);
  assert.equal(parseDashboardFlags(["--heartbeat"], { env: off }).heartbeat, true);
});

Deno.test("bad input names the culprit", () => {
  const bad: [string[], Record<string, string>, RegExp][] = [
    [[], {}, /--server: give at least one maglevd address/],
    [["--server", "a:1,a:1"], {}, /--server: a:1 is listed twice/],
    [["--server", "a:1", "--listen", "9092"], {}, /--listen: "9092": missing port/],
    [["--server", "a:1", "--log-level", "loud"], {}, /--log-level: "loud"/],
    [["--server", "a:1", "--bogus"], {}, /Unknown option '--bogus'/],
    [["--server", "a:1"], { MAGLEV_DASHBOARD_USER: "ops" }, /set both for the admin area/],
    [["--server", "a:1"], { MAGLEV_DASHBOARD_HEARTBEAT: "no" }, /HEARTBEAT: "no" is not true/],
  ];
  for (const [args, vars, why] of bad) {
    assert.throws(() => parseDashboardFlags(args, { env: env(vars) }), why, args.join(" "));
  }
  assert.equal(
    parseDashboardFlags(["--help"], { env: env({}) }).help,
    true,
    "--help needs no server",
  );
});
