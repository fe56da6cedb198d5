import { strict as assert } from "node:assert";
import {
  addLogListener,
  configureLog,
  formatJson,
  formatText,
  type Level,
  levelAtLeast,
  log,
  logEnabled,
  logLevel,
  type LogRecord,
} from "./mod.ts";

/** Points the output at an array for one test, restoring the default after. */
function capture(level: Level, format: "text" | "json"): { lines: string[]; done(): void } {
  const lines: string[] = [];
  configureLog({ level, format, write: (line) => lines.push(line) });
  return {
    lines,
    done: () => configureLog({ level: "info", format: "json", write: () => {} }),
  };
}

Deno.test("json lines carry time, level, msg and attributes", () => {
  const out = capture("info", "json");
  try {
    const before = Date.now();
    log.info("backend-transition", {
      backend: "nginx1",
      from: "unknown",
      to: "up",
      gone: undefined,
    });
    assert.equal(out.lines.length, 1);
    const rec = JSON.parse(out.lines[0]);
    assert.deepEqual(Object.keys(rec), ["time", "level", "msg", "backend", "from", "to"]);
    assert.equal(rec.level, "INFO");
    assert.equal(rec.msg, "backend-transition");
    assert.equal(rec.backend, "nginx1");
    assert.equal(rec.to, "up");
    const t = Date.parse(rec.time);
    assert.ok(t >= before - 1 && t <= Date.now() + 1, `time ${rec.time}`);
    assert.match(rec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  } finally {
    out.done();
  }
});

Deno.test("json keeps an attribute named msg beside the event name", () => {
  const out = capture("info", "json");
  try {
    log.warn("vpp-disconnect", { msg: "EOF" });
    const rec = JSON.parse(out.lines[0]);
    assert.equal(rec.msg, "vpp-disconnect");
    assert.equal(rec.attr_msg, "EOF");
    assert.equal(rec.level, "WARN");
  } finally {
    out.done();
  }
});

Deno.test("text lines: time LEVEL msg k=v, quoting values that need it", () => {
  const out = capture("debug", "text");
  try {
    log.debug("probe-done", {
      backend: "nginx1",
      ok: true,
      code: "L7STS",
      detail: "HTTP 503",
      n: 3,
    });
    log.error("vpp-lb-sync-error", { err: "" });
    assert.equal(out.lines.length, 2);
    assert.match(
      out.lines[0],
      /^\d{4}-\d\d-\d\dT[\d:.]+Z DEBUG probe-done backend=nginx1 ok=true code=L7STS detail="HTTP 503" n=3$/,
    );
    assert.match(out.lines[1], /^\S+Z ERROR vpp-lb-sync-error err=""$/);
  } finally {
    out.done();
  }
});

Deno.test("the output drops records below --log-level", () => {
  const out = capture("warn", "json");
  try {
    assert.equal(logLevel(), "warn");
    log.debug("probe-start", { backend: "a" });
    log.info("backend-start", { backend: "a" });
    log.warn("event-drop", { frontend: "f", backend: "a" });
    log.error("vpp-lbsync-error", { err: "boom" });
    assert.deepEqual(out.lines.map((l) => JSON.parse(l).msg), ["event-drop", "vpp-lbsync-error"]);
  } finally {
    out.done();
  }
});

Deno.test("listeners receive records below the output level, filtered by their own", () => {
  const out = capture("error", "json");
  const all: LogRecord[] = [];
  const infoUp: LogRecord[] = [];
  const offAll = addLogListener((r) => all.push(r));
  const offInfo = addLogListener((r) => infoUp.push(r), { level: "info" });
  try {
    log.debug("probe-start", { backend: "nginx1", type: "http" });
    log.info("backend-start", { backend: "nginx1" });
    assert.equal(out.lines.length, 0);
    assert.deepEqual(all.map((r) => [r.level, r.msg]), [
      ["debug", "probe-start"],
      ["info", "backend-start"],
    ]);
    assert.deepEqual(all[0].attrs, { backend: "nginx1", type: "http" });
    assert.ok(Math.abs(all[0].atMs - Date.now()) < 60_000);
    assert.deepEqual(infoUp.map((r) => r.msg), ["backend-start"]);
  } finally {
    offAll();
    offInfo();
    out.done();
  }
  log.info("after-remove");
  assert.equal(all.length, 2);
});

Deno.test("a throwing listener does not stop the output or other listeners", () => {
  const out = capture("info", "json");
  const got: string[] = [];
  const off1 = addLogListener(() => {
    throw new Error("subscriber broke");
  });
  const off2 = addLogListener((r) => got.push(r.msg));
  try {
    log.info("starting", { version: "1.0.0" });
    assert.equal(out.lines.length, 1);
    assert.deepEqual(got, ["starting"]);
  } finally {
    off1();
    off2();
    out.done();
  }
});

Deno.test("debug records are dropped early when nobody wants them", () => {
  const out = capture("info", "json");
  try {
    assert.equal(logEnabled("debug"), false);
    assert.equal(logEnabled("info"), true);
    const off = addLogListener(() => {}, { level: "debug" });
    assert.equal(logEnabled("debug"), true);
    off();
    assert.equal(logEnabled("debug"), false);
    const attrs = {
      get backend(): string {
        throw new Error("attributes of a dropped record must not be read");
      },
    };
    log.debug("probe-start", attrs);
    assert.equal(out.lines.length, 0);
  } finally {
    out.done();
  }
});

Deno.test("configureLog rejects an unknown level or format and keeps the old setup", () => {
  const out = capture("info", "json");
  try {
    assert.throws(
      () => configureLog({ level: "verbose" as Level, format: "json" }),
      /log level "verbose"/,
    );
    assert.throws(
      () => configureLog({ level: "info", format: "xml" as "json" }),
      /log format "xml"/,
    );
    log.info("still-here");
    assert.equal(out.lines.length, 1);
  } finally {
    out.done();
  }
});

Deno.test("formatters and helpers", () => {
  const rec: LogRecord = { atMs: 0, level: "info", msg: "x", attrs: { a: "b c", n: null } };
  assert.equal(
    formatJson(rec),
    '{"time":"1970-01-01T00:00:00.000Z","level":"INFO","msg":"x","a":"b c","n":null}',
  );
  assert.equal(formatText(rec), '1970-01-01T00:00:00.000Z INFO  x a="b c" n=null');
  assert.ok(levelAtLeast("warn", "info"));
  assert.ok(!levelAtLeast("debug", "info"));
});

Deno.test("json values: escapes what needs it, like JSON.stringify", () => {
  const attrs = {
    quote: 'say "hi"',
    nl: "a\nb",
    uni: "caf\u00e9 \u2028",
    back: "c:\\x",
    inf: Infinity,
    nan: NaN,
    neg: -1.5,
    t: true,
    f: false,
    nil: null,
    time: "t-attr",
  };
  const line = formatJson({ atMs: 0, level: "error", msg: 'm"1', attrs });
  const rec = JSON.parse(line);
  assert.deepEqual(rec, {
    time: "1970-01-01T00:00:00.000Z",
    level: "ERROR",
    msg: 'm"1',
    quote: 'say "hi"',
    nl: "a\nb",
    uni: "caf\u00e9 \u2028",
    back: "c:\\x",
    inf: null,
    nan: null,
    neg: -1.5,
    t: true,
    f: false,
    nil: null,
    attr_time: "t-attr",
  });
});

Deno.test("stdout lines are buffered but every one is written, in order, by exit", async () => {
  const script = new URL("./testdata/log_then_exit.ts", import.meta.url).pathname;
  // 3 lines stay below the batch size; 5,000 (about 400 KiB) cross it many times.
  for (const [n, end] of [[3, "exit"], [3, "return"], [5000, "exit"], [5000, "return"]] as const) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, String(n), end],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stdout).split("\n");
    assert.equal(lines.pop(), "", "the output ends with a newline");
    assert.equal(lines.length, n, `${n} lines then ${end}`);
    lines.forEach((l, i) => assert.equal(JSON.parse(l).seq, i));
    assert.equal(out.code, end === "exit" ? 3 : 0);
  }
});

Deno.test("a record reaches listeners with the attributes it was logged with, uncopied", () => {
  const got: LogRecord[] = [];
  const off = addLogListener((r) => got.push(r), { level: "info" });
  try {
    const attrs = { frontend: "web", weight: 100 };
    log.info("vpp-lb-as-weight", attrs);
    assert.equal(got.length, 1);
    assert.equal(got[0].attrs, attrs);
  } finally {
    off();
  }
});

const LEVEL_NAMES: Readonly<Record<Level, string>> = {
  debug: "DEBUG",
  info: "INFO",
  warn: "WARN",
  error: "ERROR",
};

/**
 * What a JSON line must be, built the slow and obvious way: each attribute
 * through JSON.stringify, in order, undefined ones left out, a fixed key's
 * name prefixed with `attr_`.
 */
function referenceJson(record: LogRecord): string {
  let line = `{"time":"${new Date(record.atMs).toISOString()}","level":"${
    LEVEL_NAMES[record.level]
  }","msg":${JSON.stringify(record.msg)}`;
  for (const [k, v] of Object.entries(record.attrs)) {
    if (v === undefined) continue;
    const key = k === "time" || k === "level" || k === "msg" ? `attr_${k}` : k;
    line += `,${JSON.stringify(key)}:${JSON.stringify(v)}`;
  }
  return line + "}";
}

/**
 * Lines in an order that walks the formatter's caches: an event's values
 * repeating and changing, one field alternating a string, a number and a
 * boolean of the same text, undefined in the middle, shapes changing under
 * one event name, time and level changing under one event, and strings that
 * need escaping.
 */
const CACHE_WALK: LogRecord[] = [
  ["vpp-lb-as-add", { frontend: "web", vip: "192.0.2.1/32 tcp/80", weight: 100, flush: false }],
  ["vpp-lb-as-add", { frontend: "web", vip: "192.0.2.1/32 tcp/80", weight: 100, flush: false }],
  ["vpp-lb-as-add", { frontend: "web", vip: "192.0.2.2/32 tcp/80", weight: 0, flush: true }],
  ["vpp-lb-as-add", { frontend: "1", vip: 1, weight: "1", flush: "false" }],
  ["vpp-lb-as-add", { frontend: 1, vip: "1", weight: true, flush: null }],
  ["vpp-lb-as-add", { frontend: "1", vip: undefined, weight: 1, flush: undefined }],
  ["vpp-lb-as-add", { frontend: "1", vip: 1, weight: "true", flush: false }],
  ["vpp-lb-as-add", { vip: "web", frontend: "192.0.2.1/32 tcp/80" }],
  ["vpp-lb-as-add", {}],
  ["vpp-lb-as-add", { frontend: "web", extra: "x", vip: "v", weight: 1, flush: false, more: 2 }],
  ["vpp-lb-as-add", { frontend: "web", vip: "192.0.2.1/32 tcp/80", weight: 100, flush: false }],
  ["odd-numbers", { nan: NaN, inf: Infinity, ninf: -Infinity, nzero: -0, big: 1e21, tiny: 0.1 }],
  ["odd-numbers", { nan: 0, inf: NaN, ninf: 5e-324, nzero: 0, big: -1e21, tiny: 1 / 3 }],
  ["fixed-keys", { time: "t", level: "l", msg: "m", attr_x: "y" }],
  ["fixed-keys", { msg: "again", time: 0, level: null }],
  ['m"1\\', { quote: 'say "hi"', back: "c:\\x", nl: "a\nb", tab: "a\tb", ctl: "\u0001" }],
  ['m"1\\', { quote: "plain", back: "", nl: "a\n", tab: "\u2028\u2029", ctl: "caf\u00e9" }],
  ['m"1\\', { quote: "\ud800", back: "\udc00x", nl: "<>&'", tab: "{}[]", ctl: "😀" }],
  ["same-text", { a: "x", b: "x", 'key with "quotes"': "x", "": "empty key" }],
  ["same-text", { a: "x", b: "x", 'key with "quotes"': "y", "": "" }],
].map(([msg, attrs], i) => ({
  // Each instant twice, then a new one; the level turns every third line.
  atMs: 1_700_000_000_000 + Math.floor(i / 2) * 1000,
  level: (["info", "warn", "debug", "error"] as const)[Math.floor(i / 3) % 4],
  msg: msg as string,
  attrs: attrs as LogRecord["attrs"],
}));

Deno.test("json lines: the cached formatter writes what JSON.stringify would, line after line", () => {
  // Twice through: the second pass finds every cache warm.
  for (const pass of [1, 2]) {
    for (const [i, rec] of CACHE_WALK.entries()) {
      const line = formatJson(rec);
      assert.equal(line, referenceJson(rec), `pass ${pass}, record ${i} (${rec.msg})`);
      JSON.parse(line);
    }
  }
});

Deno.test("the output writes each record as the formatters format what listeners get", () => {
  for (const format of ["json", "text"] as const) {
    const out = capture("debug", format);
    const got: LogRecord[] = [];
    const off = addLogListener((r) => got.push(r));
    try {
      for (const rec of CACHE_WALK) log[rec.level](rec.msg, { ...rec.attrs });
      assert.equal(got.length, CACHE_WALK.length);
      const fmt = format === "json" ? formatJson : formatText;
      assert.deepEqual(out.lines, got.map(fmt), format);
      assert.deepEqual(
        got.map((r) => [r.level, r.msg, r.attrs]),
        CACHE_WALK.map((r) => [r.level, r.msg, r.attrs]),
      );
    } finally {
      off();
      out.done();
    }
  }
});

Deno.test("json lines: values outside AttrValue still get a line", () => {
  const odd = { big: 2n ** 64n, sym: Symbol("s"), fn: () => 1, obj: { a: 1 }, arr: [1] };
  const attrs = odd as unknown as LogRecord["attrs"];
  for (const pass of [1, 2]) {
    const line = formatJson({ atMs: 0, level: "info", msg: "odd-values", attrs });
    assert.equal(
      line,
      '{"time":"1970-01-01T00:00:00.000Z","level":"INFO","msg":"odd-values",' +
        '"big":18446744073709551616,"sym":null,"fn":null,"obj":null,"arr":null}',
      `pass ${pass}`,
    );
  }
});
