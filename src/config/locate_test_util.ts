/**
 * A {@linkcode Locator} over a YAML text, for the tests of the modules that
 * report positions.
 * @module
 */
import { LineCounter, parseDocument } from "yaml";
import { Locator } from "./locate.ts";

/** Parses `text` as maglev.ts does and locates inside it. */
export function locatorOf(text: string): Locator {
  const lines = new LineCounter();
  return new Locator(parseDocument(text, { lineCounter: lines }), lines);
}
