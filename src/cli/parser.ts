/**
 * Resolves typed words against the command tree (spec 8.2): unique-prefix
 * keyword matching where an exact match wins, targeted errors that name the
 * first bad token, `?` help and tab completion.
 * @module
 */
import type { ArgValue, SlotKind, TreeNode } from "./tree.ts";

/** A resolved command line. */
export interface WalkOk {
  readonly ok: true;
  /** The command identifier (see `COMMANDS`). */
  readonly command: string;
  readonly args: Readonly<Record<string, ArgValue>>;
  /** The canonical words matched, e.g. `["show", "frontends"]`. */
  readonly path: readonly string[];
}

/** Why a line did not resolve. */
export interface WalkError {
  readonly ok: false;
  /** One line naming the culprit token. */
  readonly error: string;
  /** Index of the culprit token; `tokens.length` when the line is incomplete. */
  readonly index: number;
  /** For ambiguity: the keywords the token could mean. */
  readonly candidates?: readonly string[];
}

/** What `walk` returns. */
export type WalkResult = WalkOk | WalkError;

/** One line of `?` help. */
export interface HelpEntry {
  readonly word: string;
  readonly help: string;
}

/**
 * Live names for slots; `args` carries what the line already chose (e.g.
 * the frontend), `partial` the word being typed (file names need it).
 */
export type NameSource = (
  kind: SlotKind,
  args: Readonly<Record<string, ArgValue>>,
  partial: string,
) => Promise<readonly string[]>;

/** Splits a line into words. Names never contain blanks, so no quoting. */
export function tokenize(line: string): string[] {
  return line.trim().split(/\s+/).filter((t) => t !== "");
}

interface Descent {
  node: TreeNode;
  args: Record<string, ArgValue>;
  path: string[];
  error?: WalkError;
}

type Match =
  | { kind: "node"; node: TreeNode; value?: ArgValue; word: string }
  | { kind: "ambiguous"; candidates: string[] }
  | { kind: "bad"; error: string }
  | { kind: "none" };

function matchChild(node: TreeNode, token: string): Match {
  const lower = token.toLowerCase();
  for (const c of node.children) {
    if (c.slot === undefined && c.word === lower) return { kind: "node", node: c, word: c.word };
    if (c.slot === "choice" && c.choices?.includes(lower)) {
      return { kind: "node", node: c, value: lower, word: lower };
    }
  }
  const hits: { node: TreeNode; word: string; value?: string }[] = [];
  for (const c of node.children) {
    if (c.slot === undefined && !c.alias && c.word.startsWith(lower)) {
      hits.push({ node: c, word: c.word });
    }
    if (c.slot === "choice") {
      for (const w of c.choices ?? []) {
        if (w.startsWith(lower)) hits.push({ node: c, word: w, value: w });
      }
    }
  }
  if (hits.length === 1) return { kind: "node", ...hits[0] };
  if (hits.length > 1) return { kind: "ambiguous", candidates: hits.map((h) => h.word) };
  const free = node.children.find((c) => c.slot !== undefined && c.slot !== "choice");
  if (free === undefined) return { kind: "none" };
  if (free.slot === "number") {
    const min = free.min ?? 0;
    const max = free.max ?? Number.MAX_SAFE_INTEGER;
    const n = /^\d+$/.test(token) ? Number(token) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      return {
        kind: "bad",
        error: `${free.arg} must be a whole number from ${min} to ${max}, got ${
          JSON.stringify(token)
        }`,
      };
    }
    return { kind: "node", node: free, value: n, word: token };
  }
  return { kind: "node", node: free, value: token, word: token };
}

/** Words a node accepts next, for error messages and `?`. */
function expectedWords(node: TreeNode): string[] {
  const out: string[] = [];
  for (const c of node.children) {
    if (c.alias) continue;
    if (c.slot === "choice") out.push(...(c.choices ?? []));
    else out.push(c.word);
  }
  return out;
}

function listWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

function descend(tokens: readonly string[], root: TreeNode): Descent {
  let node = root;
  const args: Record<string, ArgValue> = {};
  const path: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const where = path.length === 0 ? "" : ` after "${path.join(" ")}"`;
    if (node.children.length === 0) {
      return {
        node,
        args,
        path,
        error: {
          ok: false,
          index: i,
          error: `unexpected ${JSON.stringify(token)}: "${path.join(" ")}" takes nothing more`,
        },
      };
    }
    const m = matchChild(node, token);
    if (m.kind === "ambiguous") {
      return {
        node,
        args,
        path,
        error: {
          ok: false,
          index: i,
          candidates: m.candidates,
          error: `ambiguous ${JSON.stringify(token)}${where}: could be ${listWords(m.candidates)}`,
        },
      };
    }
    if (m.kind === "bad") {
      return { node, args, path, error: { ok: false, index: i, error: m.error } };
    }
    if (m.kind === "none") {
      return {
        node,
        args,
        path,
        error: {
          ok: false,
          index: i,
          error: `unknown word ${JSON.stringify(token)}${where}; expected ${
            listWords(expectedWords(node))
          }`,
        },
      };
    }
    node = m.node;
    path.push(m.word);
    if (node.arg !== undefined && m.value !== undefined) args[node.arg] = m.value;
    for (const [k, v] of Object.entries(node.sets ?? {})) args[k] = v;
  }
  return { node, args, path };
}

/**
 * Resolves `tokens` to a command. Slot values are taken as typed (the server
 * says whether a name exists); numbers are checked against their range here.
 */
export function walk(tokens: readonly string[], tree: TreeNode): WalkResult {
  const d = descend(tokens, tree);
  if (d.error !== undefined) return d.error;
  if (d.node.command === undefined) {
    const line = d.path.join(" ");
    const expected = listWords(expectedWords(d.node));
    return {
      ok: false,
      index: tokens.length,
      error: line === ""
        ? `empty command; expected ${expected}`
        : `incomplete command "${line}": expected ${expected}`,
    };
  }
  return { ok: true, command: d.node.command, args: d.args, path: d.path };
}

/** True when the line asks for help (contains `?`). */
export function wantsHelp(line: string): boolean {
  return line.includes("?");
}

/** The part of a line before its first `?`, split into complete words and the word being typed. */
function splitPartial(text: string): { words: string[]; partial: string } {
  const words = tokenize(text);
  if (text === "" || /\s$/.test(text) || words.length === 0) return { words, partial: "" };
  const partial = words.pop() ?? "";
  return { words, partial };
}

/**
 * The `?` help for `line` (spec 8.2): what may come next at the `?`, or an
 * error when the words before it do not resolve.
 */
export function help(
  line: string,
  tree: TreeNode,
): { ok: true; entries: HelpEntry[] } | WalkError {
  const q = line.indexOf("?");
  const before = q < 0 ? line : line.slice(0, q);
  const { words, partial } = splitPartial(before);
  const d = descend(words, tree);
  if (d.error !== undefined) return d.error;
  const lower = partial.toLowerCase();
  const entries: HelpEntry[] = [];
  for (const c of d.node.children) {
    if (c.alias) continue;
    if (c.slot === "choice") {
      for (const w of c.choices ?? []) {
        if (w.startsWith(lower)) entries.push({ word: w, help: c.help });
      }
    } else if (c.slot !== undefined) {
      const range = c.slot === "number" ? ` (${c.min}-${c.max})` : "";
      if (partial === "" || c.slot !== "number" || /^\d+$/.test(partial)) {
        entries.push({ word: c.word, help: c.help + range });
      }
    } else if (c.word.startsWith(lower)) {
      entries.push({ word: c.word, help: c.help });
    }
  }
  if (partial !== "") {
    // `show fr?` with a complete word typed: also offer what follows it.
    if (entries.length === 0) {
      const e = descend([...words, partial], tree);
      if (e.error !== undefined) return e.error;
    }
  } else if (d.node.command !== undefined && d.path.length > 0) {
    entries.push({ word: "<cr>", help: "run the command" });
  }
  return { ok: true, entries };
}

/**
 * Tab completion for the text before the cursor, in node:readline's shape
 * `[hits, replacedSubstring]`. A single hit gets a trailing blank so the
 * next word can follow at once.
 */
export async function complete(
  line: string,
  tree: TreeNode,
  options: { names?: NameSource } = {},
): Promise<[string[], string]> {
  const { words, partial } = splitPartial(line);
  const d = descend(words, tree);
  if (d.error !== undefined) return [[], partial];
  const lower = partial.toLowerCase();
  const hits = new Set<string>();
  for (const c of d.node.children) {
    if (c.alias) continue;
    if (c.slot === undefined) {
      if (c.word.startsWith(lower)) hits.add(c.word);
    } else if (c.slot === "choice") {
      for (const w of c.choices ?? []) if (w.startsWith(lower)) hits.add(w);
    } else if (c.slot !== "number" && options.names !== undefined) {
      let names: readonly string[] = [];
      try {
        names = await options.names(c.slot, d.args, partial);
      } catch {
        // Completion must never break the line being typed; no names then.
      }
      for (const n of names) if (n.startsWith(partial)) hits.add(n);
    }
  }
  const list = [...hits].sort();
  // A directory is completed further, not ended with a blank.
  if (list.length === 1 && !list[0].endsWith("/")) return [[list[0] + " "], partial];
  return [list, partial];
}

/** Aligned `?` help lines, indented by two blanks. */
export function formatHelp(entries: readonly HelpEntry[]): string {
  if (entries.length === 0) return "  (nothing more can follow here)\n";
  const width = Math.max(...entries.map((e) => e.word.length));
  return entries.map((e) => `  ${e.word.padEnd(width)}  ${e.help}`.trimEnd() + "\n").join("");
}

export type { ArgValue, SlotKind, TreeNode };
