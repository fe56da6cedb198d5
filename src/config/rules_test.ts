import { strict as assert } from "node:assert";
import { locatorOf } from "./locate_test_util.ts";
import { familyName, isPowerOfTwo, SemanticRules } from "./rules.ts";

/** Lines 1..6; `a.b` at 2:6, `a.c` at 3:6, `a.d` (empty) at 4:3, `a.e[1]` at 5:10. */
const TEXT = "a:\n  b: 10.0.0.1/24\n  c: ::1\n  d:\n  e: [x, y]\n  f: 5s\n";

function rules(): SemanticRules {
  return new SemanticRules(locatorOf(TEXT));
}

Deno.test("rules: isPowerOfTwo and familyName", () => {
  const cases: [number, boolean][] = [
    [1, true],
    [2, true],
    [1024, true],
    [32768, true],
    [0, false],
    [-2, false],
    [3, false],
    [1536, false],
    [2.5, false],
    [NaN, false],
  ];
  for (const [n, want] of cases) assert.equal(isPowerOfTwo(n), want, String(n));
  assert.deepEqual([familyName(4), familyName(6)], ["IPv4", "IPv6"]);
});

Deno.test("rules: value and key point at the value or the key of the entry", () => {
  const r = rules();
  r.value(["a", "b"], "at the value");
  r.key(["a", "b"], "at the key");
  r.key(["a", "e", 1], "a list item has no key: at the item");
  r.value(["a", "d"], "an empty value: at its key");
  r.value(["a", "missing", "deeper"], "missing: at the nearest ancestor");
  assert.deepEqual(r.issues.map((i) => [i.path, i.line, i.column, i.message]), [
    ["a.b", 2, 6, "at the value"],
    ["a.b", 2, 3, "at the key"],
    ["a.e[1]", 5, 10, "a list item has no key: at the item"],
    ["a.d", 4, 3, "an empty value: at its key"],
    ["a.missing.deeper", 1, 1, "missing: at the nearest ancestor"],
  ]);
});

Deno.test("rules: order is the YAML order, or the fallback's when the names differ", () => {
  const r = rules();
  assert.deepEqual(r.order(["a"], ["e", "b", "c", "d", "f"]), ["b", "c", "d", "e", "f"]);
  // A subset of the written keys: only those, in YAML order.
  assert.deepEqual(r.order(["a"], ["f", "b"]), ["b", "f"]);
  // A name the YAML lacks (e.g. from a merge): the fallback order as given.
  assert.deepEqual(r.order(["a"], ["f", "zz", "b"]), ["f", "zz", "b"]);
  assert.deepEqual(r.order(["nowhere"], ["y", "x"]), ["y", "x"]);
});

Deno.test("rules: address parses, names the family and hints at a prefix length", () => {
  const r = rules();
  assert.deepEqual(r.address(["a", "c"], "2001:db8::1"), { address: "2001:db8::1", family: 6 });
  assert.deepEqual(r.address(["a", "c"], "10.0.0.1", 4), { address: "10.0.0.1", family: 4 });
  assert.equal(r.address(["a", "b"], "10.0.0.1/24"), undefined);
  assert.equal(r.address(["a", "b"], "bogus", 6), undefined);
  assert.equal(r.address(["a", "c"], "::1", 4), undefined);
  assert.deepEqual(r.issues.map((i) => [i.path, i.message]), [
    ["a.b", 'invalid IP address "10.0.0.1/24" (write the address without a prefix length)'],
    ["a.b", 'invalid IPv6 address "bogus"'],
    ["a.c", 'must be an IPv4 address, got IPv6 address "::1"'],
  ]);
});

Deno.test("rules: vppAddress refuses IPv6 inside ::/96 but returns it for the later rules", () => {
  const r = rules();
  assert.deepEqual(r.vppAddress(["a", "c"], "::ffff:10.0.0.1"), {
    address: "::ffff:10.0.0.1",
    family: 6,
  });
  assert.equal(r.issues.length, 0, "::ffff:0:0/96 is outside ::/96");
  // Reported, and still returned so that family and duplicate rules see the address.
  assert.deepEqual(r.vppAddress(["a", "c"], "::1"), { address: "::1", family: 6 });
  assert.equal(r.vppAddress(["a", "b"], "10.0.0.1/24"), undefined);
  assert.deepEqual(r.issues.map((i) => [i.path, i.message]), [
    [
      "a.c",
      "IPv6 address ::1 is inside ::/96, which VPP reads as IPv4 (it would refuse it); " +
      "use a routable IPv6 address or the IPv4 address",
    ],
    ["a.b", 'invalid IP address "10.0.0.1/24" (write the address without a prefix length)'],
  ]);
});

Deno.test("rules: bounded takes the maximum from the key's name; positive also wants > 0", () => {
  const r = rules();
  const hour = 3_600_000;
  assert.equal(r.bounded(["a", "interval"], hour), true);
  assert.equal(r.bounded(["a", "interval"], hour + 1), false);
  assert.equal(r.bounded(["a", "sync-interval"], 24 * hour), true);
  assert.equal(r.bounded(["a", "f"], 1e12), true, "a key without a maximum is unbounded");
  r.positive(["a", "timeout"], 0);
  r.positive(["a", "timeout"], -1);
  r.positive(["a", "timeout"], 2 * hour);
  r.positive(["a", "timeout"], 1);
  assert.deepEqual(r.issues.map((i) => [i.path, i.message]), [
    ["a.interval", "must be at most 1h, got 1h0m0.001s"],
    ["a.timeout", "must be greater than 0, got 0s"],
    ["a.timeout", "must be greater than 0, got -1ms"],
    ["a.timeout", "must be at most 1h, got 2h"],
  ]);
});

Deno.test("rules: atLeast reports below the minimum only", () => {
  const r = rules();
  r.atLeast(["a", "e", 1], 1, 1);
  r.atLeast(["a", "e", 1], 0, 1);
  assert.deepEqual(r.issues, [{
    path: "a.e[1]",
    line: 5,
    column: 10,
    message: "must be at least 1, got 0",
  }]);
});
