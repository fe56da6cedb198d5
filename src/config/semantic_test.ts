import { strict as assert } from "node:assert";
import { type BadCase, doc, frontendDoc, testBadCases } from "./bad_case_test_util.ts";
import { parseConfig } from "./mod.ts";

/** A health check `hc` with `extra` settings on line 3. */
function check(extra: string): string {
  return doc("maglev:", "  healthchecks:", `    hc: { type: tcp, port: 80, ${extra} }`);
}

/** `vpp.lb` with one setting on line 4. */
function lb(setting: string): string {
  return doc("maglev:", "  vpp:", "    lb:", `      ${setting}`);
}

const HC = "maglev.healthchecks.hc";
const LB = "maglev.vpp.lb";

const SEMANTIC_BAD: BadCase[] = [
  // ---- 12.3: every duration has a maximum below the timers' 2^31-1 ms ----
  {
    name: "interval above 1h",
    text: check("interval: 2h"),
    kind: "semantic",
    path: `${HC}.interval`,
    line: 3,
    column: 42,
    message: "must be at most 1h, got 2h",
  },
  {
    name: "fast-interval of 720h",
    text: check("fast-interval: 720h"),
    kind: "semantic",
    path: `${HC}.fast-interval`,
    line: 3,
    column: 47,
    message: "must be at most 1h, got 720h",
  },
  {
    name: "down-interval of 720h",
    text: check("down-interval: 720h"),
    kind: "semantic",
    path: `${HC}.down-interval`,
    line: 3,
    column: 47,
    message: "must be at most 1h, got 720h",
  },
  {
    name: "timeout of 700h",
    text: check("interval: 1h, timeout: 700h"),
    kind: "semantic",
    path: `${HC}.timeout`,
    line: 3,
    column: 55,
    message: "must be at most 1h, got 700h",
  },
  {
    name: "sync-interval of 720h",
    text: lb("sync-interval: 720h"),
    kind: "semantic",
    path: `${LB}.sync-interval`,
    line: 4,
    column: 22,
    message: "must be at most 24h, got 720h",
  },
  {
    name: "startup-max-delay above 1h",
    text: lb("startup-max-delay: 90m"),
    kind: "semantic",
    path: `${LB}.startup-max-delay`,
    line: 4,
    column: 26,
    message: "must be at most 1h, got 1h30m",
  },
  {
    name: "startup-min-delay above 1h",
    text: doc("maglev:", "  vpp:", "    lb: { startup-min-delay: 25h, startup-max-delay: 0s }"),
    kind: "semantic",
    path: `${LB}.startup-min-delay`,
    line: 3,
    column: 30,
    message: "must be at most 1h, got 25h",
  },
  {
    name: "a duration past Go's range is a parse error",
    text: check("interval: 9999999999h"),
    kind: "parse",
    path: `${HC}.interval`,
    line: 3,
    column: 42,
    message: "too large (the largest duration is 2562047h)",
  },
  // ---- 12.5: what VPP keys by address ----
  {
    name: "two backends with one address in one pool, naming both",
    text: frontendDoc(
      ["a: { address: 10.0.0.1 }", "b: { address: 10.0.0.1 }"],
      ["a: {}, b: {}"],
    ),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[0].backends.b",
    line: 11,
    column: 42,
    message: 'backend "b" has the same address 10.0.0.1 as backend "a" (pools[0])',
  },
  {
    name: "two backends with one IPv6 address written two ways, in two pools",
    text: frontendDoc(
      ['a: { address: "2001:db8::1" }', 'b: { address: "2001:DB8:0::1" }'],
      ["a: {}", "b: {}"],
    ),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[1].backends.b",
    line: 12,
    column: 35,
    message: 'backend "b" has the same address 2001:db8::1 as backend "a" (pools[0])',
  },
  {
    name: "an IPv6 backend inside ::/96 (::1)",
    text: doc("maglev:", "  backends:", '    lo: { address: "::1" }'),
    kind: "semantic",
    path: "maglev.backends.lo.address",
    line: 3,
    column: 20,
    message: "IPv6 address ::1 is inside ::/96, which VPP reads as IPv4",
  },
  {
    name: "an IPv4-compatible IPv6 backend (::10.0.0.1)",
    text: doc("maglev:", "  backends:", '    c: { address: "::10.0.0.1" }'),
    kind: "semantic",
    path: "maglev.backends.c.address",
    line: 3,
    column: 19,
    message: "is inside ::/96",
  },
  {
    name: "the unspecified IPv6 address as a backend",
    text: doc("maglev:", "  backends:", '    z: { address: "::" }'),
    kind: "semantic",
    path: "maglev.backends.z.address",
    line: 3,
    column: 19,
    message: "is inside ::/96",
  },
  {
    name: "an IPv6 VIP inside ::/96",
    text: doc(
      "maglev:",
      "  frontends:",
      '    fe: { address: "::1", protocol: tcp, port: 80, pools: [] }',
    ),
    kind: "semantic",
    path: "maglev.frontends.fe.address",
    line: 3,
    column: 20,
    message: "IPv6 address ::1 is inside ::/96, which VPP reads as IPv4",
  },
  // ---- 12.6: Object.prototype names are ordinary names ----
  {
    name: "a backend named __proto__ is checked, not dropped",
    text: doc("maglev:", "  backends:", "    __proto__: { address: 10.0.0.1, healthcheck: hc }"),
    kind: "semantic",
    path: "maglev.backends.__proto__.healthcheck",
    line: 3,
    column: 50,
    message: 'unknown healthcheck "hc"',
  },
  {
    name: "a healthcheck named toString does not exist unless written",
    text: doc("maglev:", "  backends:", "    b: { address: 10.0.0.1, healthcheck: toString }"),
    kind: "semantic",
    path: "maglev.backends.b.healthcheck",
    line: 3,
    column: 42,
    message: 'unknown healthcheck "toString"',
  },
  {
    name: "a pool member named constructor does not exist unless written",
    text: frontendDoc(["b: { address: 10.0.0.1 }"], ["b: {}, constructor: {}"]),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[0].backends.constructor",
    line: 10,
    column: 42,
    message: 'unknown backend "constructor"',
  },
  {
    name: "a pool member named hasOwnProperty does not exist unless written",
    text: frontendDoc(["b: { address: 10.0.0.1 }"], ["hasOwnProperty: {}"]),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[0].backends.hasOwnProperty",
    line: 10,
    column: 35,
    message: 'unknown backend "hasOwnProperty"',
  },
];

testBadCases("bad semantics", SEMANTIC_BAD);

Deno.test("Object.prototype names are ordinary names throughout the config", () => {
  const r = parseConfig(
    doc(
      "maglev:",
      "  healthchecks:",
      "    toString: { type: tcp, port: 80 }",
      "  backends:",
      "    __proto__: { address: 10.0.0.1, healthcheck: toString }",
      "    constructor: { address: 10.0.0.2 }",
      "  frontends:",
      "    hasOwnProperty:",
      "      address: 192.0.2.1",
      "      protocol: tcp",
      "      port: 80",
      "      pools:",
      "        - { name: __proto__, backends: { __proto__: {}, constructor: { weight: 5 } } }",
    ),
    { vppEnabled: false },
  );
  assert.ok(r.ok, JSON.stringify(r));
  const c = r.config;
  assert.deepEqual(Object.keys(c.backends), ["__proto__", "constructor"]);
  assert.equal(c.backends["__proto__"].address, "10.0.0.1");
  assert.equal(c.backends["__proto__"].healthcheck, "toString");
  assert.equal(c.healthchecks["toString"].port, 80);
  assert.deepEqual(
    c.frontends["hasOwnProperty"].pools[0].backends.map((b) => `${b.name}=${b.weight}`),
    ["__proto__=100", "constructor=5"],
  );
  // A name nobody wrote is absent, whatever Object.prototype holds.
  assert.equal(c.healthchecks["valueOf"], undefined);
  assert.equal(c.frontends["toString"], undefined);
  assert.equal(Object.hasOwn(c.backends, "toString"), false);
});

Deno.test("interval x rise above startup-max-delay warns, naming the check", () => {
  const r = parseConfig(
    doc(
      "maglev:",
      "  vpp:",
      "    lb: { startup-max-delay: 5s }",
      "  healthchecks:",
      "    slow: { type: tcp, port: 80, interval: 20s, rise: 2 }",
      "    quick: { type: tcp, port: 80, interval: 1s, rise: 3 }",
      "    unused: { type: tcp, port: 80, interval: 1h }",
      "  backends:",
      "    a: { address: 10.0.0.1, healthcheck: slow }",
      "    b: { address: 10.0.0.2, healthcheck: quick }",
    ),
    { vppEnabled: false },
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.config.warnings, [
    'healthcheck "slow": interval x rise (20s x 2 = 40s) exceeds vpp.lb.startup-max-delay (5s); ' +
    "after a restart its backends may still be unknown when warmup ends",
  ]);
});

Deno.test("no warmup warning when warmup is off (startup-max-delay 0)", () => {
  const r = parseConfig(
    doc(
      "maglev:",
      "  vpp:",
      "    lb: { startup-max-delay: 0s, startup-min-delay: 0s }",
      "  healthchecks:",
      "    slow: { type: tcp, port: 80, interval: 1h }",
      "  backends:",
      "    a: { address: 10.0.0.1, healthcheck: slow }",
    ),
    { vppEnabled: false },
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.config.warnings, []);
});

Deno.test("the largest allowed durations load", () => {
  const r = parseConfig(
    doc(
      "maglev:",
      "  vpp:",
      "    lb: { sync-interval: 24h, startup-max-delay: 1h, startup-min-delay: 1h }",
      "  healthchecks:",
      "    hc: { type: tcp, port: 80, interval: 1h, timeout: 1h, down-interval: 1h }",
    ),
    { vppEnabled: false },
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.config.vpp.lb.syncIntervalMs, 24 * 3_600_000);
});
