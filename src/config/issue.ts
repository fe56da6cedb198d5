/**
 * A config error with the YAML path and position of the offending node.
 * @module
 */

/** One problem in a config file. `line`/`column` are 1-based; 0 when unknown. */
export interface ConfigIssue {
  /** Dotted YAML path, e.g. `maglev.frontends.web.pools[0].backends.nginx9`; empty for the file itself. */
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * `maglev.frontends.web.pools[0].backends.nginx9: unknown backend "nginx9" (line 41, column 11)`,
 * prefixed with `source: ` when a file name is given.
 */
export function formatIssue(issue: ConfigIssue, source?: string): string {
  let out = source ? `${source}: ` : "";
  if (issue.path !== "") out += `${issue.path}: `;
  out += issue.message;
  if (issue.line > 0) out += ` (line ${issue.line}, column ${issue.column})`;
  return out;
}

/** Orders issues as they appear in the file, so operators can fix them top-down. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}
