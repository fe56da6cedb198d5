/** The one form of a config error (spec 0.2): path, message, line:column. */
import { strict as assert } from "node:assert";
import { type ConfigIssue, formatIssue, sortIssues } from "./issue.ts";

const NINE: ConfigIssue = {
  path: "maglev.frontends.web.pools[0].backends.nginx9",
  line: 41,
  column: 11,
  message: 'unknown backend "nginx9"',
};

Deno.test("issue: formatIssue in the spec's form, with or without a file and a position", () => {
  assert.equal(
    formatIssue(NINE),
    'maglev.frontends.web.pools[0].backends.nginx9: unknown backend "nginx9" (line 41, column 11)',
  );
  assert.equal(formatIssue(NINE, "maglev.yaml"), `maglev.yaml: ${formatIssue(NINE)}`);
  // The file itself (empty path), position unknown (line 0).
  const file: ConfigIssue = { path: "", line: 0, column: 0, message: "file is empty" };
  assert.equal(formatIssue(file, "maglev.yaml"), "maglev.yaml: file is empty");
  assert.equal(formatIssue(file), "file is empty");
});

Deno.test("issue: sortIssues orders by line, then column, keeping ties and the input", () => {
  const at = (line: number, column: number, message: string): ConfigIssue => ({
    path: "p",
    line,
    column,
    message,
  });
  const input = [at(9, 3, "c"), at(2, 7, "b"), at(2, 1, "a"), at(9, 3, "d")];
  const copy = [...input];
  assert.deepEqual(sortIssues(input).map((i) => i.message), ["a", "b", "c", "d"]);
  assert.deepEqual(input, copy, "the input is not reordered");
});
