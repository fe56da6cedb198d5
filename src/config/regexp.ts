/**
 * The one owner of `response-regexp` semantics: RE2 syntax (as Go's `regexp`,
 * which upstream used), matched anywhere in the body by a linear-time engine,
 * so that no backend's body can stall the daemon's event loop (issue 12.4).
 * The config check and the prober both compile through here, so what `check`
 * accepts is exactly what the prober runs.
 * @module
 */

import { errorMessage } from "../errors.ts";
// A full specifier, not the import map: the prober imports this module and its
// netns agent runs with --no-config (src/prober/agent.ts).
// deno-lint-ignore no-import-prefix
import { RE2JS } from "npm:re2js@^2.10.0";

/** A compiled `response-regexp`. */
export interface ResponseRegexp {
  /** True when the pattern matches somewhere in `body` (unanchored, as Go's `MatchString`). */
  test(body: string): boolean;
}

/** Why an RE2 error happened, in words an operator coming from PCRE or JavaScript recognises. */
function hint(source: string): string {
  if (/\\[1-9]|\\k</.test(source)) return " (backreferences are not supported by RE2)";
  if (/\(\?<?[=!]/.test(source)) return " (lookahead and lookbehind are not supported by RE2)";
  return "";
}

/**
 * Compiles `source` with RE2 semantics. Throws an Error whose message says
 * what is unsupported or malformed, e.g.
 * `invalid escape sequence: "\1" (backreferences are not supported by RE2)`.
 */
export function compileResponseRegexp(source: string): ResponseRegexp {
  let re: RE2JS;
  try {
    // No flags: LOOKBEHINDS would leave linear time behind.
    re = RE2JS.compile(source);
  } catch (e) {
    const raw = errorMessage(e);
    const why = raw.replace(/^error parsing regexp: /, "").replace(
      /`([^`]*)`/g,
      (_, s) => JSON.stringify(s),
    );
    throw new Error(`${why}${hint(source)}`);
  }
  return { test: (body) => re.matcher(body).find() };
}
