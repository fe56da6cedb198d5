/**
 * Go-style duration strings (`150ms`, `2s`, `1m30s`, `1h`), the only form
 * the config accepts for times (spec 0.2).
 * @module
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const COMPONENT = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/;

/** The largest duration Go can hold (2^63-1 ns), in milliseconds. */
const MAX_DURATION_MS = 9_223_372_036_854.775;

/** The accepted form, quoted in every duration error so the fix is obvious. */
export const DURATION_FORM = 'a number with a unit, e.g. "150ms", "2s", "1m30s", "1h"' +
  " (units: ns, us, ms, s, m, h)";

/**
 * Parses a Go-style duration into milliseconds (may be fractional below 1ms,
 * may be negative with a leading `-`). Throws an Error whose message quotes
 * the input and the accepted form; a bare number is rejected because its unit
 * would be a guess.
 */
export function parseDuration(text: string): number {
  const original = text;
  const fail = (why: string): never => {
    throw new Error(`invalid duration ${JSON.stringify(original)}: ${why}; write ${DURATION_FORM}`);
  };
  let s = text.trim();
  if (s === "") fail("empty");
  let sign = 1;
  if (s[0] === "-" || s[0] === "+") {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (/^[0-9]*\.?[0-9]*$/.test(s)) fail("missing unit");
  let total = 0;
  while (s.length > 0) {
    const m = COMPONENT.exec(s);
    if (m === null) fail(`cannot read ${JSON.stringify(s)}`);
    const [whole, num, unit] = m as RegExpExecArray;
    if (num === "" || num === ".") fail(`missing number before "${unit}"`);
    total += Number(num) * UNIT_MS[unit];
    s = s.slice(whole.length);
  }
  // Go's limit (int64 nanoseconds); beyond it the number means nothing.
  if (!(total <= MAX_DURATION_MS)) fail("too large (the largest duration is 2562047h)");
  return sign * total;
}

/**
 * Formats milliseconds the way Go's `time.Duration` prints them, without
 * trailing zero units: `150ms`, `1.5s`, `1m30s`, `1h`, `1h0m5s`, `1h2m5s`,
 * `500µs`; to the microsecond. The one duration printer of the tree: the
 * config's messages, the logs and the CLI all use it, and `parseDuration`
 * reads back what it prints.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const us = Math.round(ms * 1000);
  if (us === 0) return "0s";
  if (us < 0) return "-" + formatDuration(-ms);
  if (us < 1000) return `${us}µs`;
  if (us < 1_000_000) return `${us / 1000}ms`;
  const h = Math.floor(us / 3_600_000_000);
  const m = Math.floor((us % 3_600_000_000) / 60_000_000);
  const secUs = us % 60_000_000;
  let out = h > 0 ? `${h}h` : "";
  if (m > 0 || (h > 0 && secUs > 0)) out += `${m}m`;
  if (secUs > 0) out += `${secUs / 1_000_000}s`;
  return out;
}
