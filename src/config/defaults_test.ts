/**
 * The defaults and bounds of defaults.ts as the loader applies them: a
 * config that leaves every optional key out loads with the values the spec
 * documents, and each duration bound and params list is the one the loader
 * enforces, naming the key that breaks it.
 */
import { strict as assert } from "node:assert";
import { type Config, formatDuration, parseConfig } from "./mod.ts";
import { DEFAULT_HTTP_PARAMS, DEFAULTS, DURATION_MAX_MS, PARAMS_BY_TYPE } from "./defaults.ts";
import { doc, frontendDoc } from "./bad_case_test_util.ts";

function load(text: string): Config {
  const r = parseConfig(text, { vppEnabled: false });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

/** The issues of a config that must not load. */
function rejected(text: string): { path: string; message: string }[] {
  const r = parseConfig(text, { vppEnabled: false });
  assert.equal(r.ok, false, `should be rejected:\n${text}`);
  return r.ok ? [] : r.issues.map((i) => ({ path: i.path, message: i.message }));
}

/** One http check `hc` with `hcLines` under it (and `lbLines` under vpp.lb), one backend using it, one frontend. */
function withCheck(hcLines: string[], lbLines: string[] = []): string {
  const head = [
    ...(lbLines.length > 0 ? ["  vpp:", "    lb:", ...lbLines.map((l) => `      ${l}`)] : []),
    "  healthchecks:",
    "    hc:",
    "      type: http",
    "      port: 80",
    ...hcLines.map((l) => `      ${l}`),
  ];
  const rest = frontendDoc(["b1: { address: 10.0.0.1, healthcheck: hc }"], ["b1: {}"]);
  return rest.replace(/^maglev:\n/, doc("maglev:", ...head));
}

Deno.test("defaults: a config without optional keys loads with the spec's defaults", () => {
  const c = load(withCheck([]));
  // Spec 2.2: transition-history 5, netns "" (the daemon's own).
  assert.deepEqual(c.healthchecker, { transitionHistory: 5, netns: "" });
  // Spec 0.2 (sticky-buckets-per-core 1024, flow-timeout 40s) and 2.3
  // (sync-interval 30s, startup-min-delay 5s, startup-max-delay 30s).
  const { ipv4SrcAddress: _4, ipv6SrcAddress: _6, ...lb } = c.vpp.lb;
  assert.deepEqual(lb, {
    stickyBucketsPerCore: 1024,
    flowTimeoutS: 40,
    syncIntervalMs: 30_000,
    startupMinDelayMs: 5_000,
    startupMaxDelayMs: 30_000,
  });
  // Spec 0.2: interval 2s, fast-interval and down-interval = interval,
  // timeout 1s, rise 2, fall 3; http path "/", response-code 200-399.
  const hc = c.healthchecks.hc;
  assert.deepEqual(
    [hc.intervalMs, hc.fastIntervalMs, hc.downIntervalMs, hc.timeoutMs, hc.rise, hc.fall],
    [2_000, 2_000, 2_000, 1_000, 2, 3],
  );
  assert.deepEqual(hc.http, DEFAULT_HTTP_PARAMS);
  assert.deepEqual(
    [hc.http?.path, hc.http?.responseCodeMin, hc.http?.responseCodeMax],
    ["/", 200, 399],
  );
  // Spec 2.6: a pool member written `{}` has weight 100.
  assert.equal(c.frontends.fe.pools[0].backends[0].weight, 100);
});

Deno.test("defaults: DEFAULTS are the values the loader filled in", () => {
  const c = load(withCheck([]));
  const hc = c.healthchecks.hc;
  const lb = c.vpp.lb;
  const applied: Record<keyof typeof DEFAULTS, unknown> = {
    transitionHistory: c.healthchecker.transitionHistory,
    netns: c.healthchecker.netns,
    stickyBucketsPerCore: lb.stickyBucketsPerCore,
    flowTimeoutMs: lb.flowTimeoutS * 1000,
    syncIntervalMs: lb.syncIntervalMs,
    startupMinDelayMs: lb.startupMinDelayMs,
    startupMaxDelayMs: lb.startupMaxDelayMs,
    intervalMs: hc.intervalMs,
    timeoutMs: hc.timeoutMs,
    rise: hc.rise,
    fall: hc.fall,
    httpPath: hc.http?.path,
    responseCodeMin: hc.http?.responseCodeMin,
    responseCodeMax: hc.http?.responseCodeMax,
    weight: c.frontends.fe.pools[0].backends[0].weight,
  };
  assert.deepEqual(applied, { ...DEFAULTS });
});

/** Where each bounded duration key is written, for a value `v`. */
const DURATION_AT: Record<string, (v: string) => string> = {
  interval: (v) => withCheck([`interval: ${v}`, `fast-interval: 1s`, `down-interval: 1s`]),
  "fast-interval": (v) => withCheck([`fast-interval: ${v}`]),
  "down-interval": (v) => withCheck([`down-interval: ${v}`]),
  timeout: (v) => withCheck([`interval: 1h`, `timeout: ${v}`]),
  "flow-timeout": (v) => withCheck([], [`flow-timeout: ${v}`]),
  "sync-interval": (v) => withCheck([], [`sync-interval: ${v}`]),
  "startup-min-delay": (v) => withCheck([], [`startup-min-delay: ${v}`, "startup-max-delay: 1h"]),
  "startup-max-delay": (v) => withCheck([], [`startup-max-delay: ${v}`]),
};

Deno.test("defaults: each duration's maximum loads, one step above is refused by name", () => {
  assert.deepEqual(Object.keys(DURATION_AT).sort(), Object.keys(DURATION_MAX_MS).sort());
  // Spec 0.2: flow-timeout is 1s..1h; the other bounds are our own (see defaults.ts).
  assert.equal(DURATION_MAX_MS["flow-timeout"], 3_600_000);
  for (const [key, max] of Object.entries(DURATION_MAX_MS)) {
    // Timers cannot go past 2^31-1 ms; every bound stays below it.
    assert.ok(max < 2 ** 31 - 1, key);
    const at = DURATION_AT[key];
    load(at(formatDuration(max)));
    // flow-timeout is whole seconds on the wire: its next value is a second on.
    const over = `${key === "flow-timeout" ? max / 1000 + 1 : max + 1}${
      key === "flow-timeout" ? "s" : "ms"
    }`;
    const issues = rejected(at(over));
    assert.ok(
      issues.some((i) =>
        i.path.endsWith(`.${key}`) &&
        // "must be at most 1h, got ..."; flow-timeout: "whole seconds from 1s to 1h, got ..."
        (i.message.includes(`at most ${formatDuration(max)}, got`) ||
          i.message.includes(`to ${formatDuration(max)}, got`))
      ),
      `${key} ${over}: ${JSON.stringify(issues)}`,
    );
  }
});

/** A valid value for each params key. */
const PARAM_VALUE: Record<string, string> = {
  path: "/healthz",
  host: "example.org",
  "response-code": "200",
  "response-regexp": "ok",
  "server-name": "example.org",
  "insecure-skip-verify": "true",
  ssl: "true",
};

function withParams(type: string, key: string): string {
  return doc(
    "maglev:",
    "  healthchecks:",
    "    hc:",
    `      type: ${type}`,
    ...(type === "icmp" ? [] : ["      port: 443"]),
    `      params: { ${key}: ${PARAM_VALUE[key]} }`,
  );
}

Deno.test("defaults: PARAMS_BY_TYPE is what each type accepts; another type's key is refused", () => {
  const all = new Set(Object.values(PARAMS_BY_TYPE).flat());
  assert.deepEqual([...all].sort(), Object.keys(PARAM_VALUE).sort());
  for (const [type, keys] of Object.entries(PARAMS_BY_TYPE)) {
    for (const key of all) {
      if (keys.includes(key)) {
        load(withParams(type, key));
        continue;
      }
      const issues = rejected(withParams(type, key));
      assert.ok(
        issues.some((i) => i.path.includes(key) || i.message.includes(key)),
        `${type} ${key}: ${JSON.stringify(issues)}`,
      );
    }
  }
});
