/**
 * Checks of the YAML document itself, before it becomes values: what the
 * parser reported, and what YAML allows but a config must not hold (deep
 * nesting, tags other than the core ones, list or map keys, aliases to
 * nothing). Every issue has the line:column of its node.
 * @module
 */

import { type Document, isAlias, isCollection, isPair, isScalar, Lexer, type Node } from "yaml";
import type { ConfigIssue } from "./issue.ts";
import type { Locator, Position } from "./locate.ts";

/** A config is six levels deep; far beyond that is a mistake or an attack. */
export const MAX_NESTING = 64;

const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

function issue(pos: Position, message: string): ConfigIssue {
  return { path: "", line: pos.line, column: pos.column, message: `YAML: ${message}` };
}

/** The position where an unclosed quoted scalar opens: the last quote of its kind before `end`. */
function quoteStart(text: string, end: number, quote: string): number | undefined {
  for (let i = Math.min(end, text.length) - 1; i >= 0; i--) {
    if (text[i] !== quote) continue;
    // Inside a quoted scalar, `\"` (double) and `''` (single) are not the opening quote.
    if (quote === '"' && text[i - 1] === "\\") continue;
    if (quote === "'" && text[i - 1] === "'") {
      i--;
      continue;
    }
    return i;
  }
  return undefined;
}

/** The lexer's control tokens, which stand for no source text. */
const CONTROL_TOKENS = new Set(["\x02", "\x18", "\x1f"]);

/**
 * Where flow nesting (`[` and `{`) first exceeds `MAX_NESTING`, by the
 * lexer, which is iterative: the parser's own stack overflow happens at a
 * depth that depends on the machine, this offset does not.
 */
function deepFlowOffset(text: string): number | undefined {
  let offset = 0;
  let depth = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === "[" || token === "{") {
      if (++depth > MAX_NESTING) return offset;
    } else if (token === "]" || token === "}") {
      depth--;
    }
    if (!CONTROL_TOKENS.has(token)) offset += token.length;
  }
  return undefined;
}

/** What {@linkcode parserIssues} reads besides the document: its locator and its text. */
export interface ParserIssuesOptions {
  readonly loc: Locator;
  readonly text: string;
}

/**
 * The parser's errors as issues. An unclosed quote swallows the rest of the
 * file, so it is reported alone, where the quote opens; a stack overflow of
 * the parser is reported once, as the nesting it is.
 */
export function parserIssues(doc: Document, { loc, text }: ParserIssuesOptions): ConfigIssue[] {
  const unclosed = doc.errors.find((e) => e.code === "MISSING_CHAR" && /quote/.test(e.message));
  if (unclosed !== undefined) {
    const quote = unclosed.message.includes("'quote") ? "'" : '"';
    const start = quoteStart(text, unclosed.pos[0], quote);
    if (start === undefined) {
      return [issue(loc.at(unclosed.pos[0]), `missing closing ${quote} quote`)];
    }
    const p = loc.at(start);
    const where = `the ${quote} opened at line ${p.line}, column ${p.column} is never closed`;
    return [issue(p, `missing closing ${quote} quote (${where})`)];
  }
  const overflow = doc.errors.find((e) => /call stack/i.test(e.message));
  if (overflow !== undefined) {
    const at = deepFlowOffset(text) ?? overflow.pos[0];
    return [issue(loc.at(at), `nesting deeper than ${MAX_NESTING} levels`)];
  }
  return doc.errors.map((e) =>
    issue(
      loc.at(e.pos[0]),
      e.code === "MULTIPLE_DOCS"
        ? "the file must hold one YAML document (found a second `---`)"
        : e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, ""),
    )
  );
}

function nodeIssue(node: Node, doc: Document, depth: number): string | undefined {
  if (depth > MAX_NESTING) return `nesting deeper than ${MAX_NESTING} levels`;
  if (isAlias(node)) {
    return node.resolve(doc) === undefined
      ? `alias *${node.source} refers to no anchor (an anchor &${node.source} must come first)`
      : undefined;
  }
  const tag = (node as { tag?: string }).tag;
  if (tag !== undefined && !CORE_TAGS.has(tag)) {
    const shown = tag.replace(/^tag:yaml\.org,2002:/, "!!");
    return `tag ${shown} is not supported (only plain strings, numbers, booleans, lists and maps)`;
  }
  return undefined;
}

/**
 * Walks the document without recursion (so that nesting cannot overflow
 * the stack) and reports the first problem of each kind per node.
 */
export function documentIssues(doc: Document, loc: Locator): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const at = (n: Node) => loc.at(n.range?.[0] ?? 0);
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node === null || node === undefined || isPair(node)) continue;
    const n = node as Node;
    const problem = nodeIssue(n, doc, depth);
    if (problem !== undefined) {
      out.push(issue(at(n), problem));
      // Below too-deep nesting everything is too deep; one issue says it.
      if (depth > MAX_NESTING) return out;
      continue;
    }
    if (!isCollection(n)) continue;
    for (const item of n.items) {
      if (isPair(item)) {
        const key = item.key as Node | null;
        if (isScalar(key)) {
          stack.push({ node: key, depth: depth + 1 });
        } else if (key !== null) {
          out.push(issue(at(key), "keys must be plain scalars, not a list, a map or an alias"));
        }
        stack.push({ node: item.value, depth: depth + 1 });
      } else {
        stack.push({ node: item, depth: depth + 1 });
      }
    }
  }
  return out;
}
