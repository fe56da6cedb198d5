import { strict as assert } from "node:assert";
import { describe, fileSchema, knownKeysAt, type RawFile } from "./schema.ts";

/** A file whose only health check `h` has the fields `fields`. */
function withCheck(fields: Record<string, unknown>): unknown {
  return { maglev: { healthchecks: { h: { type: "http", ...fields } } } };
}

function parsed(input: unknown): RawFile {
  const r = fileSchema.safeParse(input);
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  return r.data;
}

/** The one issue `input` raises: its path (dotted) and message. */
function onlyIssue(input: unknown): [string, string] {
  const r = fileSchema.safeParse(input);
  assert.ok(!r.success, "input should be rejected");
  assert.equal(r.error.issues.length, 1, JSON.stringify(r.error.issues));
  const [issue] = r.error.issues;
  return [issue.path.join("."), issue.message];
}

Deno.test("schema: response-code takes a number or a range string, spaces allowed", () => {
  const cases: [unknown, { min: number; max: number }][] = [
    [204, { min: 204, max: 204 }],
    ["200", { min: 200, max: 200 }],
    [" 200 - 399 ", { min: 200, max: 399 }],
    // Reversed and out-of-range codes pass here: healthcheck.ts rejects them with the range rule.
    ["399-200", { min: 399, max: 200 }],
  ];
  for (const [code, want] of cases) {
    const hc = parsed(withCheck({ params: { "response-code": code } })).maglev.healthchecks!.h;
    assert.deepEqual(hc.params?.["response-code"], want, String(code));
  }
});

Deno.test("schema: a response-code that is no code names the value it got", () => {
  const want = 'must be a status code (200) or a range string ("200-399"), got ';
  const cases: [unknown, string][] = [
    [200.5, "number 200.5"],
    ["200-", '"200-"'],
    [[200], "a list"],
    [null, "an empty value"],
  ];
  for (const [code, got] of cases) {
    assert.deepEqual(
      onlyIssue(withCheck({ params: { "response-code": code } })),
      ["maglev.healthchecks.h.params.response-code", want + got],
    );
  }
});

Deno.test("schema: a duration that is not a string names the value it got", () => {
  const [path, message] = onlyIssue(withCheck({ timeout: true }));
  assert.equal(path, "maglev.healthchecks.h.timeout");
  assert.match(message, /^must be a duration string, got boolean true; write a number with a unit/);
  assert.match(
    onlyIssue(withCheck({ interval: { s: 1 } }))[1],
    /^must be a duration string, got a map;/,
  );
  assert.equal(parsed(withCheck({ interval: "1m30s" })).maglev.healthchecks!.h.interval, 90_000);
});

Deno.test("schema: flow-table-length is auto or an integer", () => {
  const frontend = (length: unknown) => ({
    maglev: {
      frontends: {
        f: {
          address: "192.0.2.1",
          protocol: "tcp",
          port: 80,
          pools: [{ name: "p", backends: { b: null } }],
          "flow-table-length": length,
        },
      },
    },
  });
  assert.deepEqual(parsed(frontend("auto")).maglev.frontends!.f["flow-table-length"], {
    auto: true,
  });
  assert.deepEqual(parsed(frontend(2048)).maglev.frontends!.f["flow-table-length"], {
    auto: false,
    value: 2048,
  });
  assert.deepEqual(onlyIssue(frontend(1024.5)), [
    "maglev.frontends.f.flow-table-length",
    'must be "auto" or a power of two from 1024 to 32768, got number 1024.5',
  ]);
});

Deno.test("schema: name maps are null-prototype records that keep every written key", () => {
  const raw = parsed({
    maglev: { backends: JSON.parse('{"__proto__": {"address": "10.0.0.1"}}') },
  });
  const backends = raw.maglev.backends!;
  assert.equal(Object.getPrototypeOf(backends), null);
  assert.deepEqual(Object.keys(backends), ["__proto__"]);
  assert.equal(backends["__proto__"].address, "10.0.0.1");
  assert.equal("toString" in backends, false);
});

Deno.test("schema: a name map's bad entry is reported under its name, the others kept", () => {
  const r = fileSchema.safeParse({
    maglev: { backends: { good: { address: "10.0.0.1" }, bad: { address: 7 } } },
  });
  assert.ok(!r.success);
  assert.deepEqual(r.error.issues.map((i) => i.path.join(".")), ["maglev.backends.bad.address"]);
});

Deno.test("schema: a name map given as a list, a string or nothing is an object type error", () => {
  const cases: [unknown, string][] = [[[], "array"], ["x", "string"], [undefined, "undefined"]];
  for (const [value, received] of cases) {
    const r = fileSchema.safeParse({
      maglev: {
        frontends: {
          f: { address: "a", protocol: "tcp", port: 1, pools: [{ name: "p", backends: value }] },
        },
      },
    });
    assert.ok(!r.success);
    const issue = r.error.issues[0] as { path: unknown[]; expected?: string; received?: string };
    assert.deepEqual(
      [issue.path.join("."), issue.expected, issue.received],
      ["maglev.frontends.f.pools.0.backends", "object", received],
    );
  }
});

Deno.test("schema: describe names a YAML value for a message", () => {
  const cases: [unknown, string][] = [
    [null, "an empty value"],
    [undefined, "an empty value"],
    [[1], "a list"],
    [{}, "a map"],
    ["80", '"80"'],
    [80, "number 80"],
    [false, "boolean false"],
  ];
  for (const [v, want] of cases) assert.equal(describe(v), want, String(v));
});

Deno.test("schema: knownKeysAt follows fixed maps, name maps and lists", () => {
  const cases: [(string | number)[], string[]][] = [
    [[], ["maglev"]],
    [["maglev", "healthchecker"], ["transition-history", "netns"]],
    [["maglev", "vpp"], ["lb"]],
    [["maglev", "healthchecks", "any-name", "params"], [
      "path",
      "host",
      "response-code",
      "response-regexp",
      "ssl",
      "server-name",
      "insecure-skip-verify",
    ]],
    [["maglev", "backends", "b"], ["address", "healthcheck", "enabled", "description"]],
    [["maglev", "frontends", "f", "pools", 3], ["name", "backends"]],
    [["maglev", "frontends", "f", "pools", 0, "backends", "b"], ["weight"]],
    // Not a fixed-key map: a name map itself, a scalar, a path that leads nowhere.
    [["maglev", "backends"], []],
    [["maglev", "backends", "b", "address"], []],
    [["maglev", "nowhere", "x"], []],
  ];
  for (const [path, want] of cases) assert.deepEqual(knownKeysAt(path), want, path.join("."));
});
