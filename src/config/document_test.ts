import { strict as assert } from "node:assert";
import { type BadCase, doc, frontendDoc, testBadCases } from "./bad_case_test_util.ts";
import { MAX_NESTING } from "./document.ts";
import { parseConfig } from "./mod.ts";

const YAML_BAD: BadCase[] = [
  {
    name: "unknown local tag on a map",
    text: doc("maglev:", "  backends:", "    b: !foo { address: 10.0.0.1 }"),
    kind: "parse",
    path: "",
    line: 3,
    column: 13,
    message: "tag !foo is not supported",
  },
  {
    name: "unknown local tag on a scalar",
    text: doc("maglev:", "  backends:", "    b:", "      address: !ip 10.0.0.1"),
    kind: "parse",
    path: "",
    line: 4,
    column: 20,
    message: "tag !ip is not supported",
  },
  {
    name: "!!binary as a backend (no Buffer method names as keys)",
    text: doc("maglev:", "  backends:", "    b: !!binary aGVsbG8="),
    kind: "parse",
    path: "",
    line: 3,
    column: 17,
    message: "tag !!binary is not supported",
  },
  {
    name: "!!binary as an address",
    text: doc("maglev:", "  backends:", "    b: { address: !!binary aGVsbG8= }"),
    kind: "parse",
    path: "",
    line: 3,
    column: 28,
    message: "tag !!binary is not supported",
  },
  {
    name: "!!set as a section",
    text: doc("maglev:", "  backends: !!set { a, b }"),
    kind: "parse",
    path: "",
    line: 2,
    column: 19,
    message: "tag !!set is not supported",
  },
  {
    name: "!!timestamp as an address",
    text: doc("maglev:", "  backends:", "    b: { address: !!timestamp 2001-12-14 }"),
    kind: "parse",
    path: "",
    line: 3,
    column: 31,
    message: "tag !!timestamp is not supported",
  },
  {
    name: "!!omap as a section",
    text: doc("maglev:", "  healthchecks: !!omap", "    - hc: { type: icmp }"),
    kind: "parse",
    path: "",
    line: 3,
    column: 5,
    message: "tag !!omap is not supported",
  },
  {
    name: "a list as a map key",
    text: doc("maglev:", "  backends:", "    ? [a, b]", "    : { address: 10.0.0.1 }"),
    kind: "parse",
    path: "",
    line: 3,
    column: 7,
    message: "keys must be plain scalars",
  },
  {
    name: "a map as a map key",
    text: doc("maglev:", "  backends:", "    { a: 1 }: { address: 10.0.0.1 }"),
    kind: "parse",
    path: "",
    line: 3,
    column: 5,
    message: "keys must be plain scalars",
  },
  {
    name: "an alias as a map key",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    &n hc: { type: icmp }",
      "  backends:",
      "    *n : { address: 10.0.0.1 }",
    ),
    kind: "parse",
    path: "",
    line: 5,
    column: 5,
    message: "keys must be plain scalars",
  },
  {
    name: "an alias to no anchor",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    hc: { type: icmp }",
      "  backends:",
      "    b: *nope",
    ),
    kind: "parse",
    path: "",
    line: 5,
    column: 8,
    message: "alias *nope refers to no anchor",
  },
  {
    name: "an alias to no anchor inside a pool",
    text: frontendDoc(["b1: { address: 10.0.0.1 }"], ["b1: *w"]),
    kind: "parse",
    path: "",
    line: 10,
    column: 39,
    message: "alias *w refers to no anchor",
  },
  {
    name: "an alias before its anchor",
    text: doc(
      "maglev:",
      "  backends:",
      "    a: *addr",
      "    b: &addr { address: 10.0.0.2 }",
    ),
    kind: "parse",
    path: "",
    line: 3,
    column: 8,
    message: "alias *addr refers to no anchor (an anchor &addr must come first)",
  },
  {
    name: "an unclosed double quote points where it opens",
    text: doc(
      "maglev:",
      "  backends:",
      '    b: { address: "10.0.0.1 }',
      "  frontends: {}",
    ),
    kind: "parse",
    path: "",
    line: 3,
    column: 19,
    message: 'missing closing " quote (the " opened at line 3, column 19 is never closed)',
  },
  {
    name: "an unclosed single quote points where it opens",
    text: doc(
      "maglev:",
      "  backends:",
      "    b:",
      "      address: '10.0.0.1",
      "      healthcheck: hc",
      "  frontends: {}",
    ),
    kind: "parse",
    path: "",
    line: 4,
    column: 16,
    message: "missing closing ' quote",
  },
  {
    name: "an unclosed quote after an escaped one",
    text: doc(
      "maglev:",
      "  backends:",
      '    b: { address: 10.0.0.1, description: "say \\"hi\\" }',
      "  frontends: {}",
    ),
    kind: "parse",
    path: "",
    line: 3,
    column: 42,
    message: 'the " opened at line 3, column 42',
  },
  {
    name: "deep flow nesting is one clear error, not a stack overflow",
    text: doc("maglev:", "  backends: " + "[".repeat(5000) + "]".repeat(5000)),
    kind: "parse",
    path: "",
    line: 2,
    column: 77,
    message: `nesting deeper than ${MAX_NESTING} levels`,
  },
  {
    name: "moderate nesting that the parser survives is refused too",
    text: doc("maglev:", "  backends: " + "[".repeat(100) + "]".repeat(100)),
    kind: "parse",
    path: "",
    line: 2,
    column: 75,
    message: `nesting deeper than ${MAX_NESTING} levels`,
  },
];

testBadCases("bad YAML", YAML_BAD);

Deno.test("deep block nesting gives exactly one issue", () => {
  const text = "maglev:\n" +
    Array.from({ length: 3000 }, (_, i) => " ".repeat(i + 1) + "- ").join("\n") + "x\n";
  const r = parseConfig(text, { vppEnabled: false });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.issues.length, 1, JSON.stringify(r.issues));
  assert.match(r.issues[0].message, /^YAML: nesting deeper than 64 levels$/);
  assert.doesNotMatch(JSON.stringify(r.issues), /call stack/);
});

Deno.test("core tags (!!str, !!int) and anchors set before use are fine", () => {
  const r = parseConfig(
    doc(
      "maglev:",
      "  healthchecks:",
      "    hc: { type: tcp, port: !!int 80 }",
      "  backends:",
      "    a: &base { address: !!str 10.0.0.1, healthcheck: hc }",
      "    b: *base",
    ),
    { vppEnabled: false },
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.config.backends.b.address, "10.0.0.1");
});
