/**
 * The runner of the bad-config tables: each case is a file that must be
 * rejected with an issue at a given path and line:column.
 * @module
 */
import { strict as assert } from "node:assert";
import { formatIssue, parseConfig } from "./mod.ts";

/** Joins lines into a file with a trailing newline. */
export function doc(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

/**
 * A file with `backends` from line 3 and frontend `fe` (192.0.2.1 tcp 80)
 * whose pools list `pools` (one pool a line, `p0`, `p1`, ...).
 */
export function frontendDoc(backends: string[], pools: string[]): string {
  return doc(
    "maglev:",
    "  backends:",
    ...backends.map((b) => `    ${b}`),
    "  frontends:",
    "    fe:",
    "      address: 192.0.2.1",
    "      protocol: tcp",
    "      port: 80",
    "      pools:",
    ...pools.map((p, i) => `        - { name: p${i}, backends: { ${p} } }`),
  );
}

/** One config that must fail, and where. */
export interface BadCase {
  name: string;
  text: string;
  kind: "parse" | "semantic";
  path: string;
  line: number;
  column: number;
  /** A part of the message that must be present. */
  message: string;
  vppEnabled?: boolean;
}

/** Registers one `Deno.test` per case, named `<prefix>: <case name>`. */
export function testBadCases(prefix: string, cases: readonly BadCase[]): void {
  for (const c of cases) {
    Deno.test(`${prefix}: ${c.name}`, () => {
      const result = parseConfig(c.text, { vppEnabled: c.vppEnabled ?? false });
      assert.equal(result.ok, false, "config should be rejected");
      if (result.ok) return;
      assert.equal(result.kind, c.kind, JSON.stringify(result.issues));
      const issue = result.issues.find((i) => i.path === c.path);
      assert.ok(issue, `no issue at ${c.path}: ${JSON.stringify(result.issues)}`);
      const text = formatIssue(issue, "f.yaml");
      const prefix = c.path === "" ? "f.yaml: " : `f.yaml: ${c.path}: `;
      assert.ok(text.startsWith(prefix), text);
      assert.ok(text.endsWith(` (line ${c.line}, column ${c.column})`), text);
      assert.ok(issue.message.includes(c.message), `${issue.message} lacks ${c.message}`);
    });
  }
}
