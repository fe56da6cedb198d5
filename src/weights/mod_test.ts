import { strict as assert } from "node:assert";
import type { Backend, Frontend } from "../config/types.ts";
import type { State, StateSource } from "../health/types.ts";
import { frontend } from "../checker/checker_test_util.ts";
import { parseIp4, parseIp6 } from "../../vpp/ip.ts";
import {
  activePoolIndex,
  type Adoption,
  asFromBackend,
  type AsWeight,
  compareIps,
  desiredFromFrontend,
  effectiveWeights,
  frontendState,
  heldWeight,
  placedWeight,
  sortedIpKeys,
  withAdopted,
} from "./mod.ts";

/** A frontend `web`; pools: list of [poolName, {backend: weight}]. */
function fe(pools: [string, Record<string, number>][], extra: Partial<Frontend> = {}): Frontend {
  return frontend("web", pools, extra);
}

/** Adoptions of what VPP held (backend -> weight), at `f`'s pool weights. */
function adopted(f: Frontend, held: Record<string, number>): Map<string, Adoption> {
  return new Map(
    Object.entries(held).map(([name, weight]) => [name, {
      weight,
      cfgWeight: placedWeight(f, name) ?? 0,
    }]),
  );
}

function states(m: Record<string, State>): StateSource {
  return { backendState: (n) => m[n] };
}

function backends(m: Record<string, string>): Record<string, Backend> {
  const out: Record<string, Backend> = {};
  for (const [name, address] of Object.entries(m)) {
    out[name] = {
      name,
      address,
      family: address.includes(":") ? 6 : 4,
      healthcheck: "",
      enabled: true,
      description: "",
    };
  }
  return out;
}

Deno.test("weights: asFromBackend truth table (spec 5.2)", () => {
  const cases: [State, number, number, number, boolean, AsWeight][] = [
    // state, poolIdx, activePool, cfgWeight, flushOnDown -> result
    ["up", 0, 0, 100, true, { weight: 100, flush: false }],
    ["up", 0, 0, 37, false, { weight: 37, flush: false }],
    ["up", 0, 0, 0, true, { weight: 0, flush: false }],
    ["up", 1, 1, 50, true, { weight: 50, flush: false }],
    ["up", 1, 0, 100, true, { weight: 0, flush: false }], // standby tier
    ["up", 0, 1, 100, true, { weight: 0, flush: false }], // demoted primary
    ["up", 2, 1, 100, false, { weight: 0, flush: false }],
    ["down", 0, 0, 100, true, { weight: 0, flush: true }],
    ["down", 0, 0, 100, false, { weight: 0, flush: false }],
    ["down", 1, 0, 100, true, { weight: 0, flush: true }],
    ["down", 1, 0, 100, false, { weight: 0, flush: false }],
    ["disabled", 0, 0, 100, true, { weight: 0, flush: true }],
    ["disabled", 0, 0, 100, false, { weight: 0, flush: true }],
    ["disabled", 1, 0, 100, false, { weight: 0, flush: true }],
    ["unknown", 0, 0, 100, true, { weight: 0, flush: false }],
    ["unknown", 1, 0, 100, false, { weight: 0, flush: false }],
    ["paused", 0, 0, 100, true, { weight: 0, flush: false }],
    ["paused", 1, 1, 100, false, { weight: 0, flush: false }],
    ["removed", 0, 0, 100, false, { weight: 0, flush: true }],
  ];
  assert.ok(cases.length >= 15);
  for (const [state, poolIdx, activePool, cfgWeight, flushOnDown, want] of cases) {
    const got = asFromBackend(state, { poolIdx, activePool, cfgWeight, flushOnDown });
    assert.deepEqual(
      { ...got },
      want,
      `${state} pool=${poolIdx} active=${activePool} w=${cfgWeight} fod=${flushOnDown}`,
    );
  }
});

Deno.test("weights: activePoolIndex (spec 5.1)", () => {
  const three = fe([["primary", { a: 100, b: 100 }], ["fallback", { c: 100 }], ["last", {
    d: 100,
  }]]);
  const cases: [string, Frontend, Record<string, State>, number][] = [
    ["primary up", three, { a: "up", b: "up", c: "up", d: "up" }, 0],
    ["one primary up is enough", three, { a: "down", b: "up", c: "up" }, 0],
    ["primary all down → fallback", three, { a: "down", b: "down", c: "up" }, 1],
    ["cascade to third tier", three, { a: "down", b: "paused", c: "down", d: "up" }, 2],
    ["nothing up → 0", three, { a: "down", b: "down", c: "down", d: "unknown" }, 0],
    ["disabled primary → fallback", three, { a: "disabled", b: "disabled", c: "up" }, 1],
    ["unknown primary does not count", three, { a: "unknown", b: "unknown", c: "up" }, 1],
    ["backends missing from the source are not up", three, { c: "up" }, 1],
    // Weighted failover (5 subcases): weight 0 is not "serving".
    [
      "weighted: primary all weight 0 → fallback",
      fe([["p", { a: 0, b: 0 }], ["f", { c: 100 }]]),
      { a: "up", b: "up", c: "up" },
      1,
    ],
    [
      "weighted: one primary backend weight > 0 keeps primary",
      fe([["p", { a: 0, b: 1 }], ["f", { c: 100 }]]),
      { a: "up", b: "up", c: "up" },
      0,
    ],
    [
      "weighted: the weighted primary backend is down → fallback",
      fe([["p", { a: 0, b: 100 }], ["f", { c: 100 }]]),
      { a: "up", b: "down", c: "up" },
      1,
    ],
    [
      "weighted: fallback also weight 0 → third tier",
      fe([["p", { a: 0 }], ["f", { c: 0 }], ["t", { d: 10 }]]),
      { a: "up", c: "up", d: "up" },
      2,
    ],
    [
      "weighted: every pool weight 0 → 0",
      fe([["p", { a: 0 }], ["f", { c: 0 }]]),
      { a: "up", c: "up" },
      0,
    ],
  ];
  for (const [name, f, st, want] of cases) {
    assert.equal(activePoolIndex(f, states(st)), want, name);
  }
});

/** Desired ASes as `address=weight[!]` (! = flush), in VPP order. */
function desiredText(f: Frontend, st: Record<string, State>, bs: Record<string, Backend>): string {
  const d = desiredFromFrontend(f, states(st), bs);
  return sortedIpKeys(d.ases.keys()).map((ip) => {
    const a = d.ases.get(ip)!;
    return `${a.backend}=${a.weight}${a.flush ? "!" : ""}`;
  }).join(" ");
}

Deno.test("weights: desiredFromFrontend failover scenarios (spec 5.4)", () => {
  const bs = backends({ p1: "10.0.0.1", p2: "10.0.0.2", f1: "10.0.1.1", t1: "10.0.2.1" });
  const twoTier = fe([["primary", { p1: 100 }], ["fallback", { f1: 100 }]]);
  // 1. Primary up, fallback standby.
  assert.equal(desiredText(twoTier, { p1: "up", f1: "up" }, bs), "p1=100 f1=0");
  // 2. Disable primary: primary 0 with flush, fallback takes over.
  assert.equal(desiredText(twoTier, { p1: "disabled", f1: "up" }, bs), "p1=0! f1=100");
  // 3. Enable primary again: unknown first (still failed over), then up.
  assert.equal(desiredText(twoTier, { p1: "unknown", f1: "up" }, bs), "p1=0 f1=100");
  assert.equal(desiredText(twoTier, { p1: "up", f1: "up" }, bs), "p1=100 f1=0");
  // 4. Three-tier cascade, then nothing up.
  const three = fe([["a", { p1: 100, p2: 50 }], ["b", { f1: 100 }], ["c", { t1: 100 }]]);
  assert.equal(
    desiredText(three, { p1: "down", p2: "down", f1: "down", t1: "up" }, bs),
    "p1=0! p2=0! f1=0! t1=100",
  );
  assert.equal(
    desiredText(three, { p1: "down", p2: "down", f1: "paused", t1: "unknown" }, bs),
    "p1=0! p2=0! f1=0 t1=0",
  );
  // 5. Weighted failover: a primary whose backends all weigh 0 yields.
  const weighted = fe([["primary", { p1: 0, p2: 0 }], ["fallback", { f1: 80 }]]);
  assert.equal(
    desiredText(weighted, { p1: "up", p2: "up", f1: "up" }, bs),
    "p1=0 p2=0 f1=80",
  );
  // flush-on-down false: down drains without flush.
  const noFlush = fe([["primary", { p1: 100 }], ["fallback", { f1: 100 }]], {
    flushOnDown: false,
  });
  assert.equal(desiredText(noFlush, { p1: "down", f1: "up" }, bs), "p1=0 f1=100");
});

Deno.test("weights: desiredFromFrontend VIP fields, membership and encap", () => {
  const bs = backends({ a: "10.0.0.1", b: "10.0.0.2", gone: "10.0.0.3" });
  const f = fe([["p", { a: 100, b: 20, gone: 100, ghost: 100 }], ["q", {
    a: 5,
    gone: 1,
    ghost: 1,
  }]], {
    srcIpSticky: true,
    flowTableLength: 4096,
  });
  const d = desiredFromFrontend(f, states({ a: "up", b: "disabled", gone: "removed" }), bs);
  assert.equal(d.prefix, "192.0.2.1/32");
  assert.equal(d.protocol, 6);
  assert.equal(d.port, 80);
  assert.equal(d.encap, 0);
  assert.equal(d.srcIpSticky, true);
  assert.equal(d.flowTableLength, 4096);
  // a appears once (first pool wins); removed and unconfigured backends are
  // absent, in every pool that lists them.
  assert.deepEqual([...d.ases.entries()], [
    ["10.0.0.1", { weight: 100, flush: false, backend: "a" }],
    ["10.0.0.2", { weight: 0, flush: true, backend: "b" }],
  ]);

  const bs6 = backends({ a: "2001:db8::1" });
  const v6vip = fe([["p", { a: 100 }]], { address: "2001:db8::80", family: 6, protocol: "udp" });
  const d6 = desiredFromFrontend(v6vip, states({ a: "up" }), bs6);
  assert.equal(d6.prefix, "2001:db8::80/128");
  assert.equal(d6.protocol, 17);
  assert.equal(d6.encap, 1);

  // A v6 VIP with v4 backends is IP6_GRE4: encap follows the backends.
  const mixed = fe([["p", { a: 100 }]], { address: "2001:db8::80", family: 6 });
  assert.equal(desiredFromFrontend(mixed, states({ a: "up" }), bs).encap, 0);

  // All-port VIP: VPP forces protocol 255.
  const allPort = fe([["p", { a: 100 }]], { port: 0 });
  assert.equal(desiredFromFrontend(allPort, states({ a: "up" }), bs).protocol, 255);

  // No desired backend: the VIP family decides.
  const empty = desiredFromFrontend(v6vip, states({}), bs6);
  assert.equal(empty.ases.size, 0);
  assert.equal(empty.encap, 1);
});

Deno.test("weights: effectiveWeights per pool", () => {
  const f = fe([["primary", { a: 100, b: 40 }], ["fallback", { c: 100 }]]);
  const toObj = (m: Map<string, Map<string, number>>) =>
    Object.fromEntries([...m].map(([k, v]) => [k, Object.fromEntries(v)]));
  assert.deepEqual(toObj(effectiveWeights(f, states({ a: "up", b: "up", c: "up" }))), {
    primary: { a: 100, b: 40 },
    fallback: { c: 0 },
  });
  assert.deepEqual(toObj(effectiveWeights(f, states({ a: "down", b: "paused", c: "up" }))), {
    primary: { a: 0, b: 0 },
    fallback: { c: 100 },
  });
  assert.deepEqual(toObj(effectiveWeights(f, states({ c: "up" }))), {
    primary: { a: 0, b: 0 },
    fallback: { c: 100 },
  });
});

Deno.test("weights: adopted weights hold only while the backend has no result", () => {
  const f = fe([["primary", { a: 100, b: 40 }], ["fallback", { c: 100 }]]);
  const toObj = (m: Map<string, Map<string, number>>) =>
    Object.fromEntries([...m].map(([k, v]) => [k, Object.fromEntries(v)]));
  const held = adopted(f, { a: 70, b: 0, c: 100 });
  // [states, effective weights, active pool index, a's held weight]
  const table: [Record<string, State>, Record<string, Record<string, number>>, number, number?][] =
    [
      // Nobody has spoken: VPP's weights stand, and a (held > 0) keeps primary active.
      [
        { a: "unknown", b: "unknown", c: "unknown" },
        {
          primary: { a: 70, b: 0 },
          fallback: { c: 100 },
        },
        0,
        70,
      ],
      // c's result decides c (standby: 0); a and b still wait.
      [
        { a: "unknown", b: "unknown", c: "up" },
        {
          primary: { a: 70, b: 0 },
          fallback: { c: 0 },
        },
        0,
        70,
      ],
      // a's first result says down: its own rule from then on, failover to c.
      [
        { a: "down", b: "unknown", c: "up" },
        {
          primary: { a: 0, b: 0 },
          fallback: { c: 100 },
        },
        1,
        undefined,
      ],
      // An operator action is a result too.
      [
        { a: "disabled", b: "unknown", c: "unknown" },
        {
          primary: { a: 0, b: 0 },
          fallback: { c: 100 },
        },
        1,
        undefined,
      ],
    ];
  for (const [m, want, active, aHeld] of table) {
    const s = withAdopted(states(m), held);
    assert.deepEqual(toObj(effectiveWeights(f, s)), want, JSON.stringify(m));
    assert.equal(activePoolIndex(f, s), active, JSON.stringify(m));
    assert.equal(heldWeight(s, "a"), aHeld, JSON.stringify(m));
  }
  const d = desiredFromFrontend(
    f,
    withAdopted(states({ a: "unknown", b: "up", c: "up" }), held),
    backends({ a: "10.0.0.1", b: "10.0.0.2", c: "10.0.0.3" }),
  );
  assert.deepEqual(d.ases.get("10.0.0.1"), { weight: 70, flush: false, backend: "a" });
  assert.deepEqual(d.ases.get("10.0.0.2"), { weight: 40, flush: false, backend: "b" });
  // Nothing adopted: the states themselves.
  const plain = states({ a: "up" });
  assert.equal(withAdopted(plain, new Map()), plain);
});

Deno.test("weights: an operator's pool weight on an adopted backend applies where VPP serves it", () => {
  const f = fe([["primary", { a: 40, b: 0 }], ["fallback", { c: 30, a: 90 }]]);
  assert.equal(placedWeight(f, "a"), 40, "the first pool places it");
  assert.equal(placedWeight(f, "x"), undefined);
  // [states, what VPP held, the pool weight then (of each held backend), effective weights]
  const table: [Record<string, State>, Record<string, number>, number, Record<string, number>][] = [
    // Adopted at 100 each, set since: a and b were served, so a takes its 40
    // as an up backend would and b its 0; c was held at 0 (standby) and
    // stays there until its first result.
    [{ a: "unknown", b: "unknown", c: "unknown" }, { a: 100, b: 50, c: 0 }, 100, {
      a: 40,
      b: 0,
      c: 0,
    }],
    // The primary pool is down and VPP serves c: the fallback is active, c gets its 30.
    [{ a: "down", b: "down", c: "unknown" }, { c: 20 }, 100, { a: 0, b: 0, c: 30 }],
    // A pool weight unchanged since the adoption keeps VPP's weight.
    [{ a: "unknown", b: "up", c: "up" }, { a: 70 }, 40, { a: 70, b: 0, c: 0 }],
  ];
  for (const [m, held, cfgWeight, want] of table) {
    const s = withAdopted(
      states(m),
      new Map(Object.entries(held).map(([n, weight]) => [n, { weight, cfgWeight }])),
    );
    const got: Record<string, number> = {};
    for (const pools of effectiveWeights(f, s).values()) {
      for (const [name, w] of pools) got[name] ??= w;
    }
    assert.deepEqual(got, want, JSON.stringify([m, held]));
  }
});

Deno.test("weights: frontendState aggregate (spec 3.1)", () => {
  const f = fe([["primary", { a: 100 }], ["fallback", { b: 100 }]]);
  const cases: [Record<string, State>, string][] = [
    [{ a: "unknown", b: "unknown" }, "unknown"],
    [{}, "unknown"],
    [{ a: "up", b: "unknown" }, "up"],
    [{ a: "down", b: "up" }, "up"],
    [{ a: "down", b: "unknown" }, "down"],
    [{ a: "paused", b: "disabled" }, "down"],
    [{ a: "down", b: "down" }, "down"],
  ];
  for (const [st, want] of cases) {
    assert.equal(frontendState(f, states(st)), want, JSON.stringify(st));
  }
  const zero = fe([["primary", { a: 0 }]]);
  assert.equal(frontendState(zero, states({ a: "up" })), "down");
  assert.equal(frontendState(fe([]), states({})), "unknown");
});

Deno.test("weights: sortedIpKeys is numeric with IPv4 before IPv6", () => {
  assert.deepEqual(
    sortedIpKeys([
      "2001:db8::10",
      "10.0.0.10",
      "::1",
      "10.0.0.2",
      "2001:db8::2",
      "9.255.255.255",
      "2001:db8::1:0",
      "192.168.0.1",
      "::ffff:1.2.3.4",
      "fe80::1",
      "10.0.0.9",
    ]),
    [
      "9.255.255.255",
      "10.0.0.2",
      "10.0.0.9",
      "10.0.0.10",
      "192.168.0.1",
      "::1",
      "::ffff:1.2.3.4",
      "2001:db8::2",
      "2001:db8::10",
      "2001:db8::1:0",
      "fe80::1",
    ],
  );
  assert.equal(compareIps("10.0.0.1", "10.0.0.1"), 0);
  assert.equal(compareIps("2001:DB8::1", "2001:db8:0::1"), 0);
  assert.ok(compareIps("not-an-ip", "10.0.0.1") > 0);
  assert.deepEqual(sortedIpKeys([]), []);
});

Deno.test("weights: sortedIpKeys orders high IPv4 numbers and unparsable text", () => {
  assert.deepEqual(
    sortedIpKeys([
      "zz",
      "255.255.255.255",
      "::",
      "01.2.3.4",
      "128.0.0.1",
      "0.0.0.0",
      "127.255.255.255",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "",
    ]),
    [
      "0.0.0.0",
      "127.255.255.255",
      "128.0.0.1",
      "255.255.255.255",
      "::",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      // Unparsable last, by text: a leading zero is no dotted quad.
      "",
      "01.2.3.4",
      "zz",
    ],
  );
});

/** Reference order: family, then the address bytes, from the wire parsers. */
function byBytes(a: string, b: string): number {
  const pa = parseIp4(a) ?? parseIp6(a);
  const pb = parseIp4(b) ?? parseIp6(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  if (pa.length !== pb.length) return pa.length - pb.length;
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

Deno.test("weights: sortedIpKeys agrees with a byte-wise order on random addresses", () => {
  // A fixed-seed generator: the same addresses on every run.
  let seed = 16;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const ips: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const kind = next(10);
    if (kind < 6) ips.push([next(256), next(256), next(256), next(256)].join("."));
    else if (kind < 9) ips.push(`2001:db8::${next(0x10000).toString(16)}:${next(16).toString(16)}`);
    else ips.push(`host-${next(100)}`);
  }
  const unique = [...new Set(ips)];
  assert.deepEqual(sortedIpKeys(unique), [...unique].sort(byBytes));
});

Deno.test("weights: sortedIpKeys' IPv4-only order is the comparator's, ties in input order", () => {
  // Longer than the first scratch (64), with duplicates and the ends of the range.
  const ips: string[] = ["255.255.255.255", "0.0.0.0", "10.0.0.10", "10.0.0.2", "10.0.0.2"];
  for (let i = 0; i < 300; i++) ips.push(`10.${(i * 37) % 256}.${(i * 11) % 7}.${(i * 53) % 256}`);
  const input = ips.slice();
  const byComparator = ips.slice().sort(compareIps);
  assert.deepEqual(sortedIpKeys(ips), byComparator);
  assert.deepEqual(sortedIpKeys(new Set(ips)), [...new Set(byComparator)]);
  assert.deepEqual(ips, input, "the caller's array is not reordered");
  // One address that is no IPv4 takes the general order for the whole list.
  const mixed = [...ips.slice(0, 20), "::1", "zz"];
  assert.deepEqual(sortedIpKeys(mixed), mixed.slice().sort(compareIps));
});

Deno.test("weights: an up backend's weight is its pool weight, one shared object a weight", () => {
  const placement = { poolIdx: 0, activePool: 0, cfgWeight: 37, flushOnDown: false };
  assert.deepEqual(asFromBackend("up", placement), { weight: 37, flush: false });
  assert.equal(asFromBackend("up", placement), asFromBackend("up", { ...placement }));
  assert.ok(Object.isFrozen(asFromBackend("up", placement)));
  // Out of the validated range (a caller without validation) still gets its weight.
  assert.deepEqual(asFromBackend("up", { ...placement, cfgWeight: 300 }), {
    weight: 300,
    flush: false,
  });
});
