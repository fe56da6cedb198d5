import { strict as assert } from "node:assert";
import { chooseRole } from "./main.ts";

Deno.test("role: flags alone run the daemon, a command word makes a client", () => {
  const table: [string[], string, string?][] = [
    [[], "daemon"],
    [["--config", "x.yaml"], "daemon"],
    [["-config", "x.yaml", "--vpp-api-addr", ""], "daemon"],
    [["--version"], "daemon"],
    [["check", "--config", "x.yaml"], "check"],
    [["show", "frontends"], "client"],
    [["sh", "fr", "http-vip"], "client"],
    [["shell"], "client"],
    [["--server", "h:1", "sh", "fr"], "client"],
    [["--server=h:1", "--color=false", "show", "backends"], "client"],
    [["-server", "unix:/run/m.sock", "set", "backend", "a", "pause"], "client"],
    [["--color=false", "show", "version"], "client"],
    [["--server", "h:1"], "client"],
    [["bogus"], "client"],
    [["--bogus", "show", "frontends"], "client"],
    [["show", "frontends", "--server", "h:1"], "client"],
    [["--server", "h:1", "--help"], "client"],
    [["--json"], "client"],
    [["--help"], "daemon"],
    [["-h"], "daemon"],
    [["--config", "show"], "daemon"],
    [["--log-level", "debug", "--grpc-addr", "x"], "daemon"],
    [[], "client", "/usr/bin/maglevc"],
    [["--config", "x"], "daemon", "/usr/sbin/maglevd"],
  ];
  for (const [args, want, invokedAs] of table) {
    assert.equal(chooseRole(args, invokedAs), want, JSON.stringify(args));
  }
});
