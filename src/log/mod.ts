/**
 * Structured logging with the spec's event names as messages
 * (`log.info("backend-transition", {backend, from, to})`).
 *
 * This is the daemon-wide API every module uses. Records flow through LogTape
 * (category `maglev`) to one sink that writes the configured output (text or
 * JSON lines, filtered by `--log-level`) and hands every record to listeners
 * (the WatchEvents log stream), which filter by their own level.
 *
 * Probe records fire thousands of times a second at debug level, so a record
 * nobody wants (below the output level and below every listener's level) is
 * dropped before anything is allocated. A sync logs thousands of mutation
 * lines in a burst, so a line that is written costs about 1 us: no copy of
 * its attributes, a JSON line built as a string, and stdout written once per
 * batch (see `flushLog`).
 * @module
 */
import {
  configureSync,
  getLogger,
  type LogLevel as LogtapeLevel,
  type LogRecord as LogtapeRecord,
} from "@logtape/logtape";

/** Log levels, lowest first. */
export type Level = "debug" | "info" | "warn" | "error";

/** Level order for comparisons. */
export const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

/** Attribute values a record may carry. */
export type AttrValue = string | number | boolean | null | undefined;

/** One structured record. */
export interface LogRecord {
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly level: Level;
  /** The event name, e.g. `backend-transition`. */
  readonly msg: string;
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/** Receives every record at or above its own level. */
export type LogListener = (record: LogRecord) => void;

/** Options of {@link addLogListener}. */
export interface LogListenerOptions {
  /**
   * Lowest level this listener receives (default `debug`: everything). Give
   * the real minimum: a listener at `debug` makes every debug record be built.
   */
  level?: Level;
}

const RANK: Readonly<Record<Level, number>> = { debug: 0, info: 1, warn: 2, error: 3 };
const TO_LOGTAPE: Readonly<Record<Level, LogtapeLevel>> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

/** True when `level` is at least `min`. */
export function levelAtLeast(level: Level, min: Level): boolean {
  return RANK[level] >= RANK[min];
}

/** Output settings. */
export interface LogSetup {
  level: Level;
  format: "text" | "json";
  /** Where lines go; defaults to stdout. */
  write?: (line: string) => void;
}

interface ListenerEntry {
  readonly fn: LogListener;
  readonly rank: number;
}

let setup: LogSetup = { level: "info", format: "json" };
let outputRank = RANK.info;
const listeners = new Set<ListenerEntry>();
/** The lowest rank anyone wants; records below it are dropped at once. */
let gateRank = RANK.info;
let logtapeReady = false;
const CATEGORY: readonly string[] = ["maglev"];
const logger = getLogger(["maglev"]);
const encoder = new TextEncoder();

/**
 * Stdout lines not yet written. Lines are batched into one write per
 * microtask checkpoint (a sync logs thousands of mutation lines in a burst;
 * one syscall each cost more than formatting them), flushed before the event
 * loop turns, when 64 KiB pile up, and at exit.
 */
let pending: string[] = [];
let pendingBytes = 0;
let flushQueued = false;
const FLUSH_BYTES = 64 * 1024;

/** Writes every buffered stdout line now (the daemon calls it before it exits). */
export function flushLog(): void {
  flushQueued = false;
  if (pending.length === 0) return;
  const bytes = encoder.encode(pending.join(""));
  pending = [];
  pendingBytes = 0;
  // A pipe may take part of a large write.
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

function defaultWrite(line: string): void {
  pending.push(line + "\n");
  pendingBytes += line.length + 1;
  if (pendingBytes >= FLUSH_BYTES) {
    flushLog();
  } else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushLog);
  }
}

globalThis.addEventListener("unload", flushLog);

function recomputeGate(): void {
  let min = outputRank;
  for (const l of listeners) if (l.rank < min) min = l.rank;
  gateRank = min;
}

function fromLogtapeLevel(level: LogtapeLevel): Level {
  switch (level) {
    case "trace":
    case "debug":
      return "debug";
    case "info":
      return "info";
    case "warning":
      return "warn";
    default:
      return "error";
  }
}

function writeRecord(record: LogRecord): void {
  const line = setup.format === "json" ? formatJson(record) : formatText(record);
  (setup.write ?? defaultWrite)(line);
}

/** The one sink: the configured output, then every listener that wants it. */
function maglevSink(raw: LogtapeRecord): void {
  const level = fromLogtapeLevel(raw.level);
  const rank = RANK[level];
  const record: LogRecord = {
    atMs: raw.timestamp,
    level,
    msg: typeof raw.rawMessage === "string" ? raw.rawMessage : raw.rawMessage.join(""),
    attrs: raw.properties as Record<string, AttrValue>,
  };
  if (rank >= outputRank) writeRecord(record);
  // No iterator a record when nobody listens (a sync's burst of lines).
  if (listeners.size === 0) return;
  for (const l of listeners) {
    if (rank < l.rank) continue;
    // A broken subscriber must not stop the log or the other subscribers.
    try {
      l.fn(record);
    } catch {
      // ignored on purpose
    }
  }
}

// LogTape copies every record's properties before a sink sees it, in case
// the sink keeps the record; that copy was half of a line's cost. Ours uses
// the record at once and never keeps it, and says so the way LogTape's own
// immediate sinks do (its registry symbol; `markSinkAsImmediate` is not
// exported).
Object.defineProperty(maglevSink, Symbol.for("LogTape.sinkSnapshotPolicy.immediate"), {
  value: true,
});

/** LogTape's own diagnostics (a throwing sink, ...) end up in our output. */
function metaSink(raw: LogtapeRecord): void {
  writeRecord({
    atMs: raw.timestamp,
    level: fromLogtapeLevel(raw.level),
    msg: "logtape",
    attrs: { message: raw.message.map((part) => String(part)).join("") },
  });
}

function ensureLogtape(): void {
  if (logtapeReady) return;
  configureSync({
    reset: true,
    sinks: { maglev: maglevSink, meta: metaSink },
    loggers: [
      // Filtering happens in emit() and the sink, so LogTape passes everything.
      // The root logger has no sinks: "override" spares LogTape a walk up to
      // it on every record.
      { category: ["maglev"], sinks: ["maglev"], lowestLevel: "debug", parentSinks: "override" },
      { category: ["logtape", "meta"], sinks: ["meta"], lowestLevel: "warning" },
    ],
  });
  logtapeReady = true;
}

/** Sets level, format and output. */
export function configureLog(next: LogSetup): void {
  if (!(next.level in RANK)) {
    throw new Error(`log level ${JSON.stringify(next.level)}: want debug, info, warn or error`);
  }
  if (next.format !== "text" && next.format !== "json") {
    throw new Error(`log format ${JSON.stringify(next.format)}: want text or json`);
  }
  setup = { ...next };
  outputRank = RANK[next.level];
  recomputeGate();
  ensureLogtape();
}

/** The current output level. */
export function logLevel(): Level {
  return setup.level;
}

/** Adds a listener; returns a function that removes it. */
export function addLogListener(
  listener: LogListener,
  options: LogListenerOptions = {},
): () => void {
  const entry: ListenerEntry = { fn: listener, rank: RANK[options.level ?? "debug"] };
  listeners.add(entry);
  recomputeGate();
  return () => {
    listeners.delete(entry);
    recomputeGate();
  };
}

/** True when a record at `level` would reach the output or some listener. */
export function logEnabled(level: Level): boolean {
  return RANK[level] >= gateRank;
}

const LEVEL_JSON: Readonly<Record<Level, string>> = {
  debug: '"DEBUG"',
  info: '"INFO"',
  warn: '"WARN"',
  error: '"ERROR"',
};
const LEVEL_TEXT: Readonly<Record<Level, string>> = {
  debug: "DEBUG",
  info: "INFO ",
  warn: "WARN ",
  error: "ERROR",
};

// A burst of records shares its millisecond: format each instant once.
let lastAtMs = NaN;
let lastIso = "";

function isoTime(atMs: number): string {
  if (atMs !== lastAtMs) {
    lastIso = new Date(atMs).toISOString();
    lastAtMs = atMs;
  }
  return lastIso;
}

// Names, addresses and numbers need no escaping; anything else goes through JSON.stringify.
const PLAIN = /^[\w .:/@+-]*$/;

function jsonValue(v: Exclude<AttrValue, undefined>): string {
  switch (typeof v) {
    case "string":
      return PLAIN.test(v) ? `"${v}"` : JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    default:
      return "null";
  }
}

/** `,"name":` per attribute name: the few dozen names repeat on every line. */
const KEYS = new Map<string, string>();

function jsonKey(k: string): string {
  const key = k === "time" || k === "level" || k === "msg" ? `attr_${k}` : k;
  const text = `,${JSON.stringify(key)}:`;
  if (KEYS.size < 1024) KEYS.set(k, text);
  return text;
}

/**
 * Formats a record as one JSON line (`time`, `level`, `msg`, attributes). An
 * attribute named like a fixed key (`vpp-disconnect` carries `msg`) is written
 * as `attr_<name>`, so neither the event name nor the attribute is lost.
 * The line is built as a string, not an object handed to `JSON.stringify`:
 * a sync writes thousands of lines in a burst.
 */
export function formatJson(record: LogRecord): string {
  const shape = shapeOf(record.msg);
  let line = `{"time":"${isoTime(record.atMs)}","level":${
    LEVEL_JSON[record.level]
  },"msg":${shape.msg}`;
  const attrs = record.attrs;
  const fields = shape.fields;
  let i = 0;
  for (const k in attrs) {
    const v = attrs[k];
    let field = fields[i++];
    if (field === undefined || field.key !== k) {
      field = { key: k, text: KEYS.get(k) ?? jsonKey(k), plain: undefined };
      fields[i - 1] = field;
    }
    if (v === undefined) continue;
    if (typeof v !== "string") line += field.text + jsonValue(v);
    else if (v === field.plain) line += `${field.text}"${v}"`;
    else {
      // A VIP's lines repeat its frontend and VIP text: test each string once.
      if (PLAIN.test(v)) field.plain = v;
      line += field.text + jsonValue(v);
    }
  }
  return line + "}";
}

/**
 * An event is logged with the same fields in the same order, line after line
 * (17,000 `vpp-lb-as-add` in an initial sync): its message JSON and key texts
 * are kept by position, with the last plain string seen in each field.
 */
interface Shape {
  readonly msg: string;
  readonly fields: { key: string; text: string; plain: string | undefined }[];
}

const SHAPES = new Map<string, Shape>();

function shapeOf(msg: string): Shape {
  let shape = SHAPES.get(msg);
  if (shape === undefined) {
    shape = { msg: JSON.stringify(msg), fields: [] };
    if (SHAPES.size < 1024) SHAPES.set(msg, shape);
  }
  return shape;
}

/** Formats a record as one human line: `time LEVEL msg k=v ...`. */
export function formatText(record: LogRecord): string {
  let line = `${isoTime(record.atMs)} ${LEVEL_TEXT[record.level]} ${record.msg}`;
  const attrs = record.attrs;
  for (const k in attrs) {
    const v = attrs[k];
    if (v === undefined) continue;
    const s = String(v);
    line += ` ${k}=${/[\s"=]/.test(s) || s === "" ? JSON.stringify(s) : s}`;
  }
  return line;
}

function emit(level: Level, msg: string, attrs: Record<string, AttrValue> | undefined): void {
  if (RANK[level] < gateRank) return;
  ensureLogtape();
  // With its category set, LogTape dispatches the record as is (no copy).
  const record: LogtapeRecord = {
    category: CATEGORY,
    level: TO_LOGTAPE[level],
    message: [msg],
    rawMessage: msg,
    timestamp: Date.now(),
    properties: attrs ?? {},
  };
  logger.emit(record);
}

/** The logger. */
export const log = {
  debug: (msg: string, attrs?: Record<string, AttrValue>): void => emit("debug", msg, attrs),
  info: (msg: string, attrs?: Record<string, AttrValue>): void => emit("info", msg, attrs),
  warn: (msg: string, attrs?: Record<string, AttrValue>): void => emit("warn", msg, attrs),
  error: (msg: string, attrs?: Record<string, AttrValue>): void => emit("error", msg, attrs),
};
