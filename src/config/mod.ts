/**
 * Loading maglev.yaml: YAML (with node positions) -> structural check (zod,
 * strict) -> defaults and semantic rules -> a frozen, typed `Config`.
 * Every problem of a file is reported at once, each with its YAML path and
 * line:column. Structural problems are kind "parse" (exit 1); semantic ones
 * only run on a structurally valid file and are kind "semantic" (exit 2).
 * @module
 */

import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import type { Config } from "./types.ts";
import { errorMessage } from "../errors.ts";
import { documentIssues, parserIssues } from "./document.ts";
import { type ConfigIssue, sortIssues } from "./issue.ts";
import { formatPath, Locator, type PathSegment } from "./locate.ts";
import { describe, fileSchema, knownKeysAt } from "./schema.ts";
import { readConfigText, type ReadOptions } from "./read.ts";
import { buildConfig } from "./semantic.ts";
import { didYouMean } from "./suggest.ts";

export type { ConfigIssue } from "./issue.ts";
export { formatIssue } from "./issue.ts";
export { healthCheckEqual } from "./equal.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export { MAX_CONFIG_BYTES, READ_TIMEOUT_MS, type ReadOptions } from "./read.ts";
export { parseAddress, type ParsedAddress } from "./address.ts";
export { DEFAULTS, DURATION_MAX_MS, PARAMS_BY_TYPE } from "./defaults.ts";
export type * from "./types.ts";

/** The outcome of loading a config: the config, or every issue found. */
export type LoadResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly kind: "parse" | "semantic"; readonly issues: ConfigIssue[] };

/** Options of `parseConfig`. */
export interface ParseOptions {
  /** The file name; messages get it through `formatIssue(issue, source)`. */
  readonly source?: string;
  /**
   * Whether VPP integration is active (default true); when it is,
   * `vpp.lb.ipv4-src-address` and `ipv6-src-address` are required.
   */
  readonly vppEnabled?: boolean;
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "true or false",
  object: "a map",
  array: "a list",
};

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, String(seg))) return undefined;
    v = (v as Record<string, unknown>)[String(seg)];
  }
  return v;
}

function structuralIssues(error: z.ZodError, raw: unknown, loc: Locator): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const push = (path: readonly PathSegment[], message: string, onKey: boolean) => {
    const pos = onKey ? loc.keyPos(path) : loc.valuePos(path);
    out.push({ path: formatPath(path), line: pos.line, column: pos.column, message });
  };
  for (const zi of error.issues) {
    const path = zi.path;
    if (zi.code === "unrecognized_keys") {
      const known = knownKeysAt(path);
      for (const key of zi.keys) {
        const hint = key === "<<"
          ? " (YAML merge keys are not supported; repeat the keys or use an alias for the whole map)"
          : didYouMean(key, known) ||
            (known.length > 0 ? ` (known keys: ${known.join(", ")})` : "");
        push([...path, key], `unknown key ${JSON.stringify(key)}${hint}`, true);
      }
    } else if (zi.code === "invalid_type") {
      if (path.length === 0) {
        push(path, 'the file must be a map with a top-level "maglev:" key', false);
      } else if (zi.received === "undefined") {
        push(path, `missing required key ${JSON.stringify(path[path.length - 1])}`, false);
      } else {
        // Enums report their expected type as `'a' | 'b'`.
        const want = EXPECTED[zi.expected] ??
          `one of ${zi.expected.replaceAll("'", '"').replaceAll(" | ", ", ")}`;
        push(path, `must be ${want}, got ${describe(valueAt(raw, path))}`, false);
      }
    } else if (zi.code === "invalid_enum_value") {
      const got = String(zi.received);
      const options = zi.options.map((o) => JSON.stringify(o)).join(", ");
      push(
        path,
        `must be one of ${options}, got ${JSON.stringify(got)}${
          didYouMean(got, zi.options.map(String))
        }`,
        false,
      );
    } else {
      push(path, zi.message, false);
    }
  }
  return out;
}

/** Parses and validates config text. Never throws for bad input. */
export function parseConfig(text: string, options: ParseOptions = {}): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const loc = new Locator(doc, lines);
  const yamlIssues = doc.errors.length > 0
    ? parserIssues(doc, { loc, text })
    : documentIssues(doc, loc);
  if (yamlIssues.length > 0) return { ok: false, kind: "parse", issues: sortIssues(yamlIssues) };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    return {
      ok: false,
      kind: "parse",
      issues: [{ path: "", line: 1, column: 1, message: `YAML: ${errorMessage(e)}` }],
    };
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      kind: "parse",
      issues: sortIssues(structuralIssues(parsed.error, raw, loc)),
    };
  }
  const built = buildConfig(parsed.data, loc, { vppEnabled: options.vppEnabled ?? true });
  if (built.config === undefined) {
    return { ok: false, kind: "semantic", issues: sortIssues(built.issues) };
  }
  return { ok: true, config: built.config };
}

/** Options of {@linkcode loadConfigFile}. */
export interface LoadOptions extends ReadOptions {
  /** As in {@linkcode ParseOptions}. */
  readonly vppEnabled?: boolean;
}

/**
 * Reads and validates a config file. A missing, unreadable, non-regular,
 * oversized, slow or non-UTF-8 file is a "parse" issue naming the path.
 */
export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const read = await readConfigText(path, options);
  if (!read.ok) return { ok: false, kind: "parse", issues: [read.issue] };
  return parseConfig(read.text, { source: path, vppEnabled: options.vppEnabled });
}
