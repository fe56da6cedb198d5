import { strict as assert } from "node:assert";
import {
  backendNotFound,
  errorMessage,
  frontendNotFound,
  healthcheckNotFound,
  MaglevError,
} from "./errors.ts";

Deno.test("errors: MaglevError carries its kind and is an Error", () => {
  const e = new MaglevError("FAILED_PRECONDITION", "VPP is not connected");
  assert.ok(e instanceof Error);
  assert.deepEqual([e.name, e.kind, e.message], [
    "MaglevError",
    "FAILED_PRECONDITION",
    "VPP is not connected",
  ]);
});

Deno.test("errors: the NOT_FOUND texts quote the name as Go's %q does", () => {
  const cases: [MaglevError, string][] = [
    [frontendNotFound("web"), 'frontend "web" not found'],
    [backendNotFound('we"ird'), 'backend "we\\"ird" not found'],
    [healthcheckNotFound(""), 'healthcheck "" not found'],
  ];
  for (const [e, want] of cases) assert.deepEqual([e.kind, e.message], ["NOT_FOUND", want]);
});

Deno.test("errors: errorMessage takes an Error's message, else the thrown value's text", () => {
  const cases: [unknown, string][] = [
    [new TypeError("bad"), "bad"],
    [new MaglevError("INTERNAL", "x"), "x"],
    ["plain", "plain"],
    [42, "42"],
    [undefined, "undefined"],
    [null, "null"],
  ];
  for (const [thrown, want] of cases) assert.equal(errorMessage(thrown), want);
});
