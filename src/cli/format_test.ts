import { strict as assert } from "node:assert";
import type { BackendSnapshot } from "../checker/types.ts";
import type { FrontendView } from "./backend.ts";
import {
  formatAge,
  formatBackend,
  formatBackendList,
  formatError,
  formatEventLine,
  formatFrontend,
  formatFrontendList,
  keyValues,
  rpcErrorText,
  stripAnsi,
  stripGrpcPrefix,
  table,
} from "./format.ts";

const NOW = Date.UTC(2026, 3, 1, 12, 0, 0);
const plain = { color: false, now: NOW };
const colour = { color: true, now: NOW };

const frontend: FrontendView = {
  fingerprint: "",
  warning: "",
  name: "web",
  address: "192.0.2.1",
  protocol: "tcp",
  port: 80,
  srcIpSticky: false,
  flushOnDown: true,
  description: "",
  state: "up",
  activePool: "primary",
  pools: [
    {
      name: "primary",
      backends: [
        { name: "nginx1", weight: 100, effectiveWeight: 100, enabled: true },
        { name: "nginx-long-name", weight: 5, effectiveWeight: 0, enabled: false },
      ],
    },
    {
      name: "fallback",
      backends: [{ name: "static3", weight: 10, effectiveWeight: 0, enabled: true }],
    },
  ],
};

const backend: BackendSnapshot = {
  name: "nginx1",
  address: "10.0.0.1",
  description: "",
  state: "up",
  enabled: false,
  healthcheck: "http",
  health: 3,
  healthMax: 4,
  transitions: [
    { from: "unknown", to: "up", atMs: NOW - 65_000, code: "L7OK", detail: "HTTP 200" },
    { from: "down", to: "unknown", atMs: NOW - 7_200_000, code: "start", detail: "" },
  ],
  probes: [{ atMs: NOW - 2000, ok: true, code: "L7OK", detail: "HTTP 200", durationMs: 3 }],
};

/** Column where the value starts on each key/value line (visible text). */
function valueColumns(text: string): number[] {
  return stripAnsi(text).split("\n").filter((l) => /^\S+\s{2,}\S/.test(l)).map((l) =>
    l.search(/\s{2,}\S/) + (l.match(/\s{2,}/)?.[0].length ?? 0)
  );
}

Deno.test("key/value lines align, and colour does not move the columns", () => {
  const rows = [["name", "web"], ["src-ip-sticky", "false"], ["port", "80"]] as const;
  const p = keyValues(rows, plain);
  assert.equal(p, "name           web\nsrc-ip-sticky  false\nport           80\n");
  const c = keyValues(rows, colour);
  assert.notEqual(c, p);
  assert.equal(stripAnsi(c), p);
  // Every label carries the same escape sequences (dark blue, reset).
  for (const line of c.trimEnd().split("\n")) {
    // deno-lint-ignore no-control-regex
    assert.match(line, /^\x1b\[34m[a-z-]+\x1b\[0m /);
  }
});

Deno.test("table rows align in plain and colour output alike", () => {
  const t = table(["name", "state"], [["a", "up"], ["longer", "down"]], plain);
  assert.equal(t, "name    state\na       up\nlonger  down\n");
  assert.equal(stripAnsi(table(["name", "state"], [["a", "up"], ["longer", "down"]], colour)), t);
});

Deno.test("show frontends <name>: pool rows match the robot regexes with colour on and off", () => {
  for (const o of [plain, colour]) {
    const out = formatFrontend(frontend, o);
    assert.match(out, /nginx1\s+weight\s+\d+\s+effective\s+100\b/);
    assert.match(out, /nginx-long-name\s+weight\s+5\s+effective\s+0\b\s+\[disabled\]/);
    assert.match(out, /static3\s+weight\s+10\s+effective\s+0\b/);
    assert.doesNotMatch(out, /nginx1.*\[disabled\]/);
    // Key/value labels carry colour, so those regexes hold on the visible text.
    assert.match(stripAnsi(out), /state\s+up/);
    assert.match(stripAnsi(out), /^protocol\s+tcp$/m);
    assert.match(stripAnsi(out), /^flush-on-down\s+true$/m);
    // description only when non-empty
    assert.doesNotMatch(out, /description/);
  }
  const lines = formatFrontend(frontend, plain).split("\n");
  assert.deepEqual(lines.slice(0, 8), [
    "name           web",
    "address        192.0.2.1",
    "protocol       tcp",
    "port           80",
    "src-ip-sticky  false",
    "flush-on-down  true",
    "state          up",
    "active-pool    primary",
  ]);
  // The weight and effective columns line up across pools.
  const rows = lines.filter((l) => l.includes(" weight "));
  assert.equal(new Set(rows.map((r) => r.indexOf("weight"))).size, 1);
  assert.equal(new Set(rows.map((r) => r.indexOf("effective"))).size, 1);
  assert.equal(rows[0], "    nginx1           weight 100  effective 100");
  assert.equal(rows[1], "    nginx-long-name  weight 5    effective 0    [disabled]");
  assert.match(
    formatFrontend({ ...frontend, description: "public" }, plain),
    /^description\s+public$/m,
  );
  const adopted = formatFrontend({
    ...frontend,
    pools: [{
      name: "primary",
      backends: [{
        name: "nginx1",
        weight: 100,
        effectiveWeight: 80,
        enabled: true,
        adopted: true,
      }],
    }],
  }, plain);
  assert.match(
    adopted,
    /^ {4}nginx1 {2}weight 100 {2}effective 80 {2}\[adopted from VPP, awaiting first result\]$/m,
  );
});

Deno.test("show backends <name>: state, enabled, health, transitions newest first, probes", () => {
  for (const o of [plain, colour]) {
    const out = stripAnsi(formatBackend(backend, o));
    assert.match(out, /state\s+up/);
    assert.match(out, /enabled\s+false/);
    assert.match(out, /healthcheck\s+http/);
    assert.match(out, /health\s+3\/4/);
  }
  const out = formatBackend(backend, plain);
  assert.equal(
    out,
    [
      "name         nginx1",
      "address      10.0.0.1",
      "state        up",
      "enabled      false",
      "healthcheck  http",
      "health       3/4",
      "transitions",
      "  unknown -> up    L7OK   1m5s ago  HTTP 200",
      "  down -> unknown  start  2h ago",
      "probes",
      "  2s ago  ok  L7OK  3ms  HTTP 200",
      "",
    ].join("\n"),
  );
  assert.deepEqual(valueColumns(formatBackend(backend, colour)), valueColumns(out));
});

Deno.test("list formats: one aligned row per item with the spec's columns", () => {
  const fl = formatFrontendList(
    [frontend, { ...frontend, name: "dns", port: 53, activePool: "" }],
    plain,
  );
  assert.equal(
    fl,
    "name  address    protocol  port  state  active-pool\n" +
      "web   192.0.2.1  tcp       80    up     primary\n" +
      "dns   192.0.2.1  tcp       53    up     -\n",
  );
  const bl = formatBackendList([backend, { ...backend, name: "b2", transitions: [] }], plain);
  assert.equal(
    bl,
    "name    address   state  enabled  healthcheck  last-transition\n" +
      "nginx1  10.0.0.1  up     false    http         1m5s ago\n" +
      "b2      10.0.0.1  up     false    http         -\n",
  );
});

Deno.test("ages round to the second in the config's duration form", () => {
  assert.equal(formatAge(NOW - 150, plain), "150ms ago");
  assert.equal(formatAge(NOW - 65_400, plain), "1m5s ago");
  assert.equal(formatAge(NOW - 3_725_000, plain), "1h2m5s ago");
  assert.equal(formatAge(NOW + 5, plain), "0s ago");
  assert.equal(formatAge(0, plain), "-");
});

Deno.test("watch lines: local time, kind, backend, from -> to, code, detail", () => {
  const at = new Date(2026, 3, 1, 14, 5, 6, 7).getTime();
  assert.equal(
    formatEventLine({
      seq: 1,
      atMs: at,
      kind: "backend",
      frontend: "web",
      backend: "nginx1",
      from: "up",
      to: "down",
      code: "L4CON",
      detail: "connection refused",
    }),
    "2026-04-01 14:05:06.007  backend   nginx1  up -> down  L4CON  connection refused" +
      "  (frontend web)\n",
  );
  assert.equal(
    formatEventLine({
      seq: 2,
      atMs: at,
      kind: "frontend",
      frontend: "web",
      from: "up",
      to: "down",
    }),
    "2026-04-01 14:05:06.007  frontend  web  up -> down\n",
  );
  assert.equal(
    formatEventLine({
      seq: 3,
      atMs: at,
      kind: "log",
      level: "warn",
      msg: "vpp-disconnect",
      attrs: { err: "EOF", api: "/run/vpp/api.sock" },
    }),
    "2026-04-01 14:05:06.007  log       warn  vpp-disconnect  err=EOF api=/run/vpp/api.sock\n",
  );
  assert.equal(
    formatEventLine({ seq: 4, atMs: at, kind: "resync", reason: "fell behind" }),
    "2026-04-01 14:05:06.007  resync    fell behind\n",
  );
});

Deno.test("errors: gRPC boilerplate stripped, red only with colour", () => {
  assert.equal(
    stripGrpcPrefix('rpc error: code = NotFound desc = backend "x" not found'),
    'backend "x" not found',
  );
  assert.equal(stripGrpcPrefix('5 NOT_FOUND: backend "x" not found'), 'backend "x" not found');
  assert.equal(stripGrpcPrefix("plain message"), "plain message");
  assert.equal(
    rpcErrorText(new Error("14 UNAVAILABLE: VPP is not connected")),
    "VPP is not connected",
  );
  // grpc-js puts the bare message in `details`.
  assert.equal(rpcErrorText({ message: "9 FAILED_PRECONDITION: x", details: "x" }), "x");
  assert.equal(
    rpcErrorText("3 INVALID_ARGUMENT: weight 101 out of range"),
    "weight 101 out of range",
  );
  assert.equal(formatError("boom", { color: false }), "boom\n");
  assert.equal(formatError("boom", { color: true }), "\x1b[31mboom\x1b[0m\n");
});
