import { strict as assert } from "node:assert";
import { compileResponseRegexp } from "./regexp.ts";

Deno.test("compileResponseRegexp matches anywhere in the body, with RE2 syntax", () => {
  const re = compileResponseRegexp("status: (ok|degraded)");
  assert.equal(re.test("{\n status: ok\n}"), true);
  assert.equal(re.test("status: down"), false);
  assert.equal(compileResponseRegexp("(?i)^HEALTHY$").test("healthy"), true);
  assert.equal(compileResponseRegexp("\\d{3}").test("code 200"), true);
});

Deno.test("compileResponseRegexp runs a catastrophic pattern in linear time", () => {
  // ^(a+)+$ against a's and a "!" takes minutes with a backtracking engine; RE2 answers at once.
  const re = compileResponseRegexp("^(a+)+$");
  assert.equal(re.test("a".repeat(64 * 1024) + "!"), false);
  assert.equal(re.test("a".repeat(1000)), true);
});

Deno.test("compileResponseRegexp rejects what RE2 cannot run, saying what", () => {
  const cases: [string, RegExp][] = [
    ["(a)\\1", /backreferences are not supported by RE2/],
    ["(?<n>a)\\k<n>", /backreferences are not supported by RE2/],
    ["foo(?=bar)", /lookahead and lookbehind are not supported by RE2/],
    ["(?<!x)y", /lookahead and lookbehind are not supported by RE2/],
    ["(unclosed", /missing closing \)/],
    ["a**", /invalid nested repetition operator/],
  ];
  for (const [source, want] of cases) {
    assert.throws(() => compileResponseRegexp(source), want, source);
  }
});
