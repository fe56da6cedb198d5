import { strict as assert } from "node:assert";
import { DEFAULT_HTTP_PARAMS } from "./defaults.ts";
import { healthCheckEqual } from "./equal.ts";
import { buildHealthCheck } from "./healthcheck.ts";
import { locatorOf } from "./locate_test_util.ts";
import { SemanticRules } from "./rules.ts";
import type { HealthCheck } from "./types.ts";

/** An http check on port 80 with every default, as the config builds it. */
const BASE: HealthCheck = buildHealthCheck(new SemanticRules(locatorOf("")), "a", {
  type: "http",
  port: 80,
});

Deno.test("healthCheckEqual: the name does not count, every other field does", () => {
  assert.ok(healthCheckEqual(BASE, { ...BASE, name: "b" }), "same settings, different names");
  assert.ok(healthCheckEqual(BASE, { ...BASE, http: { ...DEFAULT_HTTP_PARAMS } }), "a copy");
  const changes: Partial<HealthCheck>[] = [
    { port: 81 },
    { type: "https" },
    { intervalMs: 3000 },
    { fastIntervalMs: 1000 },
    { downIntervalMs: 5000 },
    { timeoutMs: 500 },
    { rise: 3 },
    { fall: 1 },
    { probeIpv4Src: "10.9.9.9" },
    { probeIpv6Src: "2001:db8::9" },
    { http: { ...DEFAULT_HTTP_PARAMS, path: "/x" } },
    { http: { ...DEFAULT_HTTP_PARAMS, responseCodeMin: 200, responseCodeMax: 200 } },
    { http: { ...DEFAULT_HTTP_PARAMS, insecureSkipVerify: true } },
    { tcp: { ssl: false, serverName: "", insecureSkipVerify: false } },
  ];
  for (const change of changes) {
    const other = { ...BASE, name: "b", ...change };
    assert.equal(healthCheckEqual(BASE, other), false, JSON.stringify(change));
    assert.equal(healthCheckEqual(other, BASE), false, `symmetric: ${JSON.stringify(change)}`);
  }
});

Deno.test("healthCheckEqual: an absent params block differs from a present one", () => {
  const { http: _, ...icmpLike } = BASE;
  assert.equal(healthCheckEqual(BASE, icmpLike), false);
  assert.ok(healthCheckEqual(icmpLike, { ...icmpLike }));
});
