/**
 * The pool weight range (spec 2.6): one owner for the config check, the
 * runtime `set ... weight` and the disruption preview.
 * @module
 */

/** The largest pool weight. */
export const MAX_WEIGHT = 100;

/** Why `weight` is not a pool weight, or undefined when it is one. */
export function weightRangeError(weight: number): string | undefined {
  if (Number.isInteger(weight) && weight >= 0 && weight <= MAX_WEIGHT) return undefined;
  return `weight ${weight} out of range [0, ${MAX_WEIGHT}]`;
}
