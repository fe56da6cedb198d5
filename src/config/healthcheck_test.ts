import { strict as assert } from "node:assert";
import { buildHealthCheck } from "./healthcheck.ts";
import { locatorOf } from "./locate_test_util.ts";
import { SemanticRules } from "./rules.ts";
import type { RawHealthCheck } from "./schema.ts";
import type { HealthCheck } from "./types.ts";

/** Builds check `h` from `raw`; returns it and its issues as `key: message`. */
function build(raw: RawHealthCheck): { hc: HealthCheck; issues: string[] } {
  const c = new SemanticRules(locatorOf("maglev:\n  healthchecks:\n    h: {}\n"));
  const hc = buildHealthCheck(c, "h", raw);
  const issues = c.issues.map((i) =>
    `${i.path.slice("maglev.healthchecks.h.".length)}: ${i.message}`
  );
  return { hc, issues };
}

Deno.test("healthcheck: a bad interval is blamed once, not on the keys that inherit it", () => {
  const cases: [RawHealthCheck, string[]][] = [
    [{ type: "tcp", port: 80, interval: 0 }, ["interval: must be greater than 0, got 0s"]],
    [{ type: "tcp", port: 80, interval: 7_200_000 }, ["interval: must be at most 1h, got 2h"]],
    // Written keys are checked on their own.
    [{ type: "tcp", port: 80, interval: 0, "fast-interval": 0 }, [
      "interval: must be greater than 0, got 0s",
      "fast-interval: must be greater than 0, got 0s",
    ]],
    [{ type: "tcp", port: 80, "down-interval": -1 }, [
      "down-interval: must be greater than 0, got -1ms",
    ]],
    [{ type: "tcp", port: 80, interval: 0, timeout: 500 }, [
      "interval: must be greater than 0, got 0s",
    ]],
  ];
  for (const [raw, want] of cases) assert.deepEqual(build(raw).issues, want, JSON.stringify(raw));
});

Deno.test("healthcheck: timeout is checked once: > 0, then at most 1h, then within interval", () => {
  const cases: [number, string[]][] = [
    [0, ["timeout: must be greater than 0, got 0s"]],
    [7_200_000, ["timeout: must be at most 1h, got 2h"]],
    [2500, ["timeout: must not exceed interval (2s), got 2.5s"]],
    [2000, []],
  ];
  for (const [timeout, want] of cases) {
    assert.deepEqual(build({ type: "icmp", timeout }).issues, want, String(timeout));
  }
});

Deno.test("healthcheck: port by type", () => {
  const cases: [RawHealthCheck, number, string[]][] = [
    [{ type: "icmp" }, 0, []],
    [{ type: "icmp", port: 7 }, 0, ["port: not allowed for type icmp (ICMP has no ports)"]],
    [{ type: "https" }, 0, ["port: required for type https"]],
    [{ type: "tcp", port: 65536 }, 0, ["port: must be from 1 to 65535, got 65536"]],
    [{ type: "tcp", port: 65535 }, 65535, []],
  ];
  for (const [raw, port, want] of cases) {
    const { hc, issues } = build(raw);
    assert.deepEqual([hc.port, issues], [port, want], JSON.stringify(raw));
  }
});

Deno.test("healthcheck: params keys by type, each refused key named", () => {
  const { hc, issues } = build({
    type: "tcp",
    port: 22,
    params: { path: "/x", host: "h", ssl: true, "server-name": "s" },
  });
  assert.deepEqual(issues, [
    "params.path: not allowed for type tcp (allowed for tcp: ssl, server-name, insecure-skip-verify)",
    "params.host: not allowed for type tcp (allowed for tcp: ssl, server-name, insecure-skip-verify)",
  ]);
  assert.deepEqual(hc.tcp, { ssl: true, serverName: "s", insecureSkipVerify: false });
  assert.equal(hc.http, undefined);
  assert.deepEqual(build({ type: "icmp", params: { ssl: false } }).issues, [
    "params.ssl: not allowed for type icmp (icmp health checks take no params)",
  ]);
  assert.deepEqual(build({ type: "icmp", params: null }).issues, [], "an empty params map");
});

Deno.test("healthcheck: TLS settings reach an https check only", () => {
  const params = { "server-name": "example.com", "insecure-skip-verify": true };
  const https = build({ type: "https", port: 443, params });
  assert.deepEqual(https.issues, []);
  assert.deepEqual(
    [https.hc.http?.serverName, https.hc.http?.insecureSkipVerify],
    ["example.com", true],
  );
  const http = build({ type: "http", port: 80, params });
  assert.equal(http.issues.length, 2, http.issues.join("; "));
  assert.deepEqual([http.hc.http?.serverName, http.hc.http?.insecureSkipVerify], ["", false]);
});

Deno.test("healthcheck: response-code bounds and the regexp error text", () => {
  const code = (min: number, max: number) =>
    build({ type: "http", port: 80, params: { "response-code": { min, max } } }).issues;
  const want = (r: string) =>
    `params.response-code: must be a status code or range within 100-599 with min <= max, got ${r}`;
  assert.deepEqual(code(99, 200), [want("99-200")]);
  assert.deepEqual(code(200, 600), [want("200-600")]);
  assert.deepEqual(code(100, 599), []);
  const re = build({ type: "http", port: 80, params: { "response-regexp": "(" } }).issues;
  assert.equal(re.length, 1);
  assert.match(re[0], /^params\.response-regexp: is not a valid RE2 expression: ./);
});

Deno.test("healthcheck: probe sources are canonical, a bad one is reported and left empty", () => {
  const ok = build({
    type: "icmp",
    "probe-ipv4-src": "10.0.0.9",
    "probe-ipv6-src": "2001:DB8:0::9",
  });
  assert.deepEqual([ok.hc.probeIpv4Src, ok.hc.probeIpv6Src, ok.issues], [
    "10.0.0.9",
    "2001:db8::9",
    [],
  ]);
  const bad = build({ type: "icmp", "probe-ipv4-src": "2001:db8::9", "probe-ipv6-src": "x" });
  assert.deepEqual([bad.hc.probeIpv4Src, bad.hc.probeIpv6Src, bad.issues], ["", "", [
    'probe-ipv4-src: must be an IPv4 address, got IPv6 address "2001:db8::9"',
    'probe-ipv6-src: invalid IPv6 address "x"',
  ]]);
});
