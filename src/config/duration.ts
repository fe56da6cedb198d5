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
  return sign * total;
}

/** Formats milliseconds the way operators write them (`1m30s`, `200ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 0) return "-" + formatDuration(-ms);
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  let out = "";
  const h = Math.floor(rest / 3_600_000);
  if (h > 0) {
    out += `${h}h`;
    rest -= h * 3_600_000;
  }
  const m = Math.floor(rest / 60_000);
  if (m > 0) {
    out += `${m}m`;
    rest -= m * 60_000;
  }
  if (rest > 0) out += `${rest / 1000}s`;
  return out;
}
