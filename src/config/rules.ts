/**
 * The issue collector of the semantic stage: each rule reports through it,
 * and it attaches the YAML path and line:column of the offending node.
 * @module
 */

import { isV4CompatibleRange, parseAddress } from "./address.ts";
import { DURATION_MAX_MS } from "./defaults.ts";
import { formatDuration } from "./duration.ts";
import type { ConfigIssue } from "./issue.ts";
import { formatPath, type Locator, type PathSegment } from "./locate.ts";

/** `IPv4` or `IPv6`. */
export function familyName(f: 4 | 6): string {
  return `IPv${f}`;
}

/** True for 1, 2, 4, 8, ... */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Collects issues with positions from the YAML document. */
export class SemanticRules {
  /** Every issue reported so far. */
  readonly issues: ConfigIssue[] = [];
  readonly #loc: Locator;

  /** Reports against the nodes `loc` finds. */
  constructor(loc: Locator) {
    this.#loc = loc;
  }

  /** An error about the value at `path`. */
  value(path: readonly PathSegment[], message: string): void {
    const pos = this.#loc.valuePos(path);
    this.issues.push({ path: formatPath(path), line: pos.line, column: pos.column, message });
  }

  /** An error about the entry (key) at `path`, e.g. a name that refers to nothing. */
  key(path: readonly PathSegment[], message: string): void {
    const pos = this.#loc.keyPos(path);
    this.issues.push({ path: formatPath(path), line: pos.line, column: pos.column, message });
  }

  /** Names of the map at `path` in YAML order (falls back to `fallback`'s order). */
  order(path: readonly PathSegment[], fallback: readonly string[]): string[] {
    const fromYaml = this.#loc.keysInOrder(path).filter((k) => fallback.includes(k));
    return fromYaml.length === fallback.length ? fromYaml : [...fallback];
  }

  /**
   * Parses an address at `path`; when `family` is given it must match.
   * Reports and returns undefined when invalid.
   */
  address(
    path: readonly PathSegment[],
    text: string,
    family?: 4 | 6,
  ): { address: string; family: 4 | 6 } | undefined {
    const a = parseAddress(text);
    if (a === undefined) {
      const hint = text.includes("/") ? " (write the address without a prefix length)" : "";
      const what = family === undefined ? "IP" : familyName(family);
      this.value(path, `invalid ${what} address ${JSON.stringify(text)}${hint}`);
      return undefined;
    }
    if (family !== undefined && a.family !== family) {
      this.value(
        path,
        `must be an ${familyName(family)} address, got ${familyName(a.family)} address ${
          JSON.stringify(text)
        }`,
      );
      return undefined;
    }
    return a;
  }

  /**
   * An address VPP will hold (a VIP or an application server): as
   * {@linkcode address}, and not an IPv6 address inside `::/96`, which VPP's
   * ip46 decoding reads as IPv4 and then refuses (INVALID_ADDRESS_FAMILY).
   */
  vppAddress(
    path: readonly PathSegment[],
    text: string,
  ): { address: string; family: 4 | 6 } | undefined {
    const a = this.address(path, text);
    if (a?.family !== 6 || !isV4CompatibleRange(a.address)) return a;
    this.value(
      path,
      `IPv6 address ${a.address} is inside ::/96, which VPP reads as IPv4 ` +
        `(it would refuse it); use a routable IPv6 address or the IPv4 address`,
    );
    return a;
  }

  /**
   * A duration must not exceed its key's maximum (`DURATION_MAX_MS`, named
   * by the last path segment); reports and returns false when it does.
   */
  bounded(path: readonly PathSegment[], ms: number): boolean {
    const max = DURATION_MAX_MS[String(path[path.length - 1])];
    if (max === undefined || ms <= max) return true;
    this.value(path, `must be at most ${formatDuration(max)}, got ${formatDuration(ms)}`);
    return false;
  }

  /** A duration that must be > 0 and within its maximum. */
  positive(path: readonly PathSegment[], ms: number): void {
    if (!(ms > 0)) this.value(path, `must be greater than 0, got ${formatDuration(ms)}`);
    else this.bounded(path, ms);
  }

  /** An integer that must be >= min. */
  atLeast(path: readonly PathSegment[], n: number, min: number): void {
    if (n < min) this.value(path, `must be at least ${min}, got ${n}`);
  }
}
