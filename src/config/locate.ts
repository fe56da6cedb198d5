/**
 * Maps a path inside the config (`["maglev", "frontends", "web", "pools", 0]`)
 * to its text (`maglev.frontends.web.pools[0]`) and to the line:column of the
 * YAML node, so that every error points at what the operator must edit.
 * @module
 */

import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from "yaml";

/** One step of a config path: a map key or a list index. */
export type PathSegment = string | number;

/** A 1-based line and column; 0/0 when there is no position. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** `maglev.frontends.web.pools[0].backends.nginx9` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

/** Finds nodes of a parsed YAML document and turns offsets into positions. */
export class Locator {
  readonly #doc: Document;
  readonly #lines: LineCounter;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  /** The position of a character offset. */
  at(offset: number): Position {
    const p = this.#lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  #resolve(node: unknown): Node | undefined {
    if (isAlias(node)) return node.resolve(this.#doc) as Node | undefined;
    return (node ?? undefined) as Node | undefined;
  }

  /**
   * Walks `path` as far as it exists; returns the key node and the value node
   * of the last step reached, and how many steps were reached.
   */
  walk(path: readonly PathSegment[]): { key?: Node; value?: Node; depth: number } {
    let value = this.#resolve(this.#doc.contents);
    let key: Node | undefined;
    let depth = 0;
    for (const seg of path) {
      if (isMap(value)) {
        const pair = value.items.find((p) => {
          const k = isScalar(p.key) ? p.key.value : p.key;
          return String(k) === String(seg);
        });
        if (pair === undefined) break;
        key = pair.key as Node;
        value = this.#resolve(pair.value);
      } else if (isSeq(value) && typeof seg === "number" && seg < value.items.length) {
        key = undefined;
        value = this.#resolve(value.items[seg]);
      } else {
        break;
      }
      depth++;
      if (value === undefined) break;
    }
    return { key, value, depth };
  }

  #nodePos(node: Node | undefined): Position | undefined {
    const r = node?.range;
    return r ? this.at(r[0]) : undefined;
  }

  /**
   * Where the value at `path` is written; if it is missing, where its nearest
   * existing ancestor's key (or value) is.
   */
  valuePos(path: readonly PathSegment[]): Position {
    const w = this.walk(path);
    if (w.depth === path.length) {
      const v = w.value;
      // An empty value (`key:`) has no text of its own; point at the key.
      if (v === undefined || (isScalar(v) && v.value === null && v.source === "")) {
        return this.#nodePos(w.key) ?? this.#nodePos(v) ?? { line: 1, column: 1 };
      }
      return this.#nodePos(v) ?? this.#nodePos(w.key) ?? { line: 1, column: 1 };
    }
    return this.#nodePos(w.key) ?? this.#nodePos(w.value) ?? { line: 1, column: 1 };
  }

  /** Where the key of the entry at `path` is written (for a list item: the item). */
  keyPos(path: readonly PathSegment[]): Position {
    const w = this.walk(path);
    if (w.depth === path.length) {
      return this.#nodePos(w.key) ?? this.#nodePos(w.value) ?? { line: 1, column: 1 };
    }
    return this.valuePos(path);
  }

  /** The key names written in the map at `path`, in YAML order. */
  keysInOrder(path: readonly PathSegment[]): string[] {
    const w = this.walk(path);
    if (w.depth !== path.length || !isMap(w.value)) return [];
    return w.value.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key));
  }
}
