import { strict as assert } from "node:assert";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("parseDuration reads Go-style durations in milliseconds", () => {
  const cases: [string, number][] = [
    ["150ms", 150],
    ["2s", 2000],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["1.5s", 1500],
    [".5s", 500],
    ["1h2m3s4ms", 3_723_004],
    ["500us", 0.5],
    ["500µs", 0.5],
    ["1000000ns", 1],
    ["0s", 0],
    ["-1s", -1000],
    ["+2m", 120_000],
    [" 3s ", 3000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("parseDuration rejects a bare number and shows the accepted form", () => {
  for (const text of ["2", "0", "1.5", "30"]) {
    assert.throws(() => parseDuration(text), (e: Error) => {
      assert.match(
        e.message,
        new RegExp(`invalid duration "${text.replace(".", "\\.")}": missing unit`),
      );
      assert.match(e.message, /"150ms", "2s", "1m30s"/);
      return true;
    });
  }
});

Deno.test("parseDuration rejects malformed text", () => {
  for (const text of ["", "s", "2 s", "2sec", "1d", "ms", "1.2.3s", "2s3", "-", "abc"]) {
    assert.throws(() => parseDuration(text), /invalid duration/, text);
  }
});

Deno.test("formatDuration writes the operator's form", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(200), "200ms");
  assert.equal(formatDuration(1500), "1.5s");
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(formatDuration(-1000), "-1s");
  // Issue 13: one printer; 3,725,000 ms is 1h2m5s everywhere.
  assert.equal(formatDuration(3_725_000), "1h2m5s");
  assert.equal(formatDuration(3_605_000), "1h0m5s");
  assert.equal(formatDuration(3_660_000), "1h1m");
  assert.equal(formatDuration(1000), "1s");
  assert.equal(formatDuration(150), "150ms");
  assert.equal(formatDuration(12.3456789), "12.346ms");
  assert.equal(formatDuration(0.5), "500µs");
  assert.equal(formatDuration(76 * 3_600_000), "76h");
  for (const ms of [0.5, 1, 999, 1000, 61_000, 3_605_000, 7_322_000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});

Deno.test("parseDuration refuses a duration beyond Go's int64 nanoseconds", () => {
  assert.throws(() => parseDuration("2562048h"), /too large \(the largest duration is 2562047h\)/);
  assert.throws(() => parseDuration("9".repeat(400) + "h"), /too large/);
  assert.equal(parseDuration("2562047h"), 2562047 * 3_600_000);
});
