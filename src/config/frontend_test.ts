import { strict as assert } from "node:assert";
import { buildFrontend } from "./frontend.ts";
import { locatorOf } from "./locate_test_util.ts";
import { SemanticRules } from "./rules.ts";
import type { RawFrontend } from "./schema.ts";
import type { Backend, Frontend } from "./types.ts";

function backend(name: string, address: string, family: 4 | 6 = 4): Backend {
  return { name, address, family, healthcheck: "", enabled: true, description: "" };
}

const BACKENDS: Record<string, Backend> = Object.assign(Object.create(null), {
  a: backend("a", "10.0.0.1"),
  b: backend("b", "10.0.0.2"),
  six: backend("six", "2001:db8::6", 6),
  // A backend whose own address was refused: it still counts as a member.
  broken: backend("broken", ""),
});

/** A frontend `fe` on 192.0.2.1 tcp/80 with `pools`, then `extra` fields. */
function raw(pools: RawFrontend["pools"], extra: Partial<RawFrontend> = {}): RawFrontend {
  return { address: "192.0.2.1", protocol: "tcp", port: 80, pools, ...extra };
}

interface Built {
  frontend: Frontend;
  backendFamily?: 4 | 6;
  addressOk: boolean;
  issues: string[];
  warnings: string[];
}

function build(f: RawFrontend): Built {
  const c = new SemanticRules(locatorOf("maglev:\n"));
  const warnings: string[] = [];
  const out = buildFrontend(c, { name: "fe", raw: f }, { backends: BACKENDS, warnings });
  const issues = c.issues.map((i) =>
    `${i.path.slice("maglev.frontends.fe.".length)}: ${i.message}`
  );
  return { ...out, issues, warnings };
}

Deno.test("frontend: port bounds, 0 meaning all ports", () => {
  const pools = [{ name: "p", backends: { a: null } }];
  const cases: [number, string[]][] = [
    [0, []],
    [65535, []],
    [-1, ["port: must be from 0 (all ports) to 65535, got -1"]],
    [65536, ["port: must be from 0 (all ports) to 65535, got 65536"]],
  ];
  for (const [port, want] of cases) assert.deepEqual(build(raw(pools, { port })).issues, want);
});

Deno.test("frontend: an out-of-range weight is reported and left out of the auto table size", () => {
  // 200 x 8 = 1600 would double the table to 2048; the refused weight must not count.
  const { frontend, issues } = build(
    raw([{ name: "p", backends: { a: { weight: 100 }, b: { weight: 101 } } }]),
  );
  assert.deepEqual(issues, ["pools[0].backends.b.weight: weight 101 out of range [0, 100]"]);
  assert.equal(frontend.flowTableLength, 1024);
  assert.deepEqual(frontend.pools[0].backends, [{ name: "a", weight: 100 }, {
    name: "b",
    weight: 101,
  }]);
});

Deno.test("frontend: pool names must be non-blank and unique", () => {
  const { issues } = build(raw([
    { name: " ", backends: { a: null } },
    { name: "x", backends: { b: null } },
    { name: "x", backends: { six: null } },
  ]));
  assert.deepEqual(issues.filter((i) => i.includes(".name:")), [
    "pools[0].name: must not be empty",
    'pools[2].name: duplicate pool name "x" (also pools[1]); pool names must be unique within a frontend',
  ]);
});

Deno.test("frontend: the backends' family is returned, a refused VIP says so", () => {
  const v6 = build(raw([{ name: "p", backends: { six: null } }], { address: "2001:db8::80" }));
  assert.deepEqual([v6.issues, v6.backendFamily, v6.addressOk], [[], 6, true]);
  assert.deepEqual([v6.frontend.address, v6.frontend.family], ["2001:db8::80", 6]);

  const bad = build(raw([{ name: "p", backends: { a: null } }], { address: "vip" }));
  assert.deepEqual([bad.issues, bad.backendFamily, bad.addressOk], [
    ['address: invalid IP address "vip"'],
    4,
    false,
  ]);
  assert.deepEqual([bad.frontend.address, bad.frontend.family], ["", 4]);
});

Deno.test("frontend: a member without an address joins no family and no address check", () => {
  const { issues, backendFamily } = build(
    raw([{ name: "p", backends: { broken: null, six: null } }]),
  );
  assert.deepEqual([issues, backendFamily], [[], 6]);
});

Deno.test("frontend: optional fields default; flow-table-length outside the range is refused", () => {
  const pools = [{ name: "p", backends: { a: null } }];
  const { frontend } = build(
    raw(pools, { description: "web", "src-ip-sticky": true, "flush-on-down": false }),
  );
  assert.deepEqual(
    [frontend.description, frontend.srcIpSticky, frontend.flushOnDown],
    ["web", true, false],
  );
  const big = build(raw(pools, { "flow-table-length": { auto: false, value: 65536 } }));
  assert.deepEqual(big.issues, [
    'flow-table-length: must be "auto" or a power of two from 1024 to 32768, got 65536',
  ]);
  assert.deepEqual(big.warnings, []);
});
