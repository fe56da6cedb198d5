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
 * lines in a burst, often as the first code a fresh process runs that hot,
 * so a line that is written costs little and allocates little: no copy of its
 * attributes, no record beside LogTape's unless someone listens, a JSON line
 * built from cached pieces by code whose type feedback its values do not
 * change (see `Field`), and stdout written once per batch (see `flushLog`).
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
/** LogTape's level for each of ours, by rank. */
const TO_LOGTAPE: readonly LogtapeLevel[] = ["debug", "info", "warning", "error"];

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
// The output's format and writer, resolved once by configureLog rather than
// looked up on every line.
let jsonOutput = true;
let output: (line: string) => void = defaultWrite;
const listeners = new Set<ListenerEntry>();
/** The lowest rank anyone wants; records below it are dropped at once. */
let gateRank = RANK.info;
let logtapeReady = false;
const CATEGORY: readonly string[] = ["maglev"];
const NO_ATTRS: Readonly<Record<string, AttrValue>> = Object.freeze({});
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
  const bytes = encoder.encode(pending.join("\n") + "\n");
  pending = [];
  pendingBytes = 0;
  // A pipe may take part of a large write.
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

function defaultWrite(line: string): void {
  // The newlines are added by the join: no second string a line.
  pending.push(line);
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

function rankOfLogtape(level: LogtapeLevel): number {
  switch (level) {
    case "trace":
    case "debug":
      return RANK.debug;
    case "info":
      return RANK.info;
    case "warning":
      return RANK.warn;
    default:
      return RANK.error;
  }
}

function writeLine(atMs: number, rank: number, msg: string, attrs: Attrs): void {
  output(jsonOutput ? jsonLine(atMs, rank, msg, attrs) : textLine(atMs, rank, msg, attrs));
}

/**
 * The one sink: the configured output, then every listener that wants it.
 * The line is formatted from the LogTape record's own fields; a `LogRecord`
 * is built only when someone listens (a sync's burst of lines has nobody).
 */
function maglevSink(raw: LogtapeRecord): void {
  const rank = rankOfLogtape(raw.level);
  const msg = typeof raw.rawMessage === "string" ? raw.rawMessage : raw.rawMessage.join("");
  const attrs = raw.properties as Attrs;
  if (rank >= outputRank) writeLine(raw.timestamp, rank, msg, attrs);
  if (listeners.size === 0) return;
  const record: LogRecord = { atMs: raw.timestamp, level: LEVELS[rank], msg, attrs };
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
  writeLine(raw.timestamp, rankOfLogtape(raw.level), "logtape", {
    message: raw.message.map((part) => String(part)).join(""),
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
  jsonOutput = next.format === "json";
  output = next.write ?? defaultWrite;
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

type Attrs = Readonly<Record<string, AttrValue>>;

/** By rank. */
const LEVEL_JSON: readonly string[] = ['"DEBUG"', '"INFO"', '"WARN"', '"ERROR"'];
const LEVEL_TEXT: readonly string[] = ["DEBUG", "INFO ", "WARN ", "ERROR"];

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

/**
 * One attribute position of an event's line: its key text, and the last
 * value written there (its string form, and whether it was a string) with
 * its `,"key":json`. A VIP's 17 lines repeat its frontend and VIP, and most
 * lines carry the same weight and flags: a repeated value costs one
 * concatenation. A new one goes through JSON.stringify whatever its type
 * (NaN and Infinity turn to null as JSON.stringify writes them).
 *
 * The checker's thousands of all-string lines come before a sync's first
 * numbers and flags, and the formatter is optimized on them. So the path a
 * value takes never depends on its type, and values are compared with
 * `Object.is`, which V8 does not specialize on what it has seen: `===` and
 * `typeof` would be compiled for the checker's (internalized) strings and
 * the optimized formatter thrown away at the sync's first number, leaving
 * the sync's burst of lines to the interpreter. For the same reason the
 * positions are a chain of objects of one kind, not an array, whose
 * elements kind changes when a new event's first field is stored.
 */
interface Field {
  readonly key: string;
  /** `,"key":` */
  readonly text: string;
  value: string;
  isString: boolean;
  valueText: string;
  /** The next position. */
  next: Field | undefined;
}

function newField(k: string, next: Field | undefined): Field {
  // An attribute named like a fixed key is written as `attr_<name>`.
  const key = k === "time" || k === "level" || k === "msg" ? `attr_${k}` : k;
  const text = `,${JSON.stringify(key)}:`;
  return { key: k, text, value: "", isString: false, valueText: "", next };
}

/**
 * JSON of a value. What is not an AttrValue still gets a line rather than
 * losing it: a bigint (a counter) its digits; an object, an array, a
 * function or a symbol `null` (their string forms, which the field cache
 * compares, do not tell two objects apart).
 */
function jsonOf(v: AttrValue): string {
  try {
    const json = JSON.stringify(v);
    return json === undefined || json[0] === "{" || json[0] === "[" ? "null" : json;
  } catch {
    return typeof v === "bigint" ? String(v) : "null";
  }
}

/**
 * An event is logged with the same fields in the same order, line after line
 * (17,000 `vpp-lb-as-add` in an initial sync): its name's JSON and its
 * fields are kept by position, with the line's start (time, level, name)
 * for the last millisecond it was written in.
 */
interface Shape {
  /** LogTape's message parts of every record of this event (records share it). */
  readonly message: readonly unknown[];
  readonly msg: string;
  first: Field | undefined;
  prefixAt: number;
  prefixRank: number;
  prefix: string;
}

const SHAPES = new Map<string, Shape>();
// Lines of one event come in runs (a VIP's 16 `vpp-lb-as-add`): the last
// shape is checked before the map.
let lastShape: Shape | undefined;
let lastShapeMsg = "";

function shapeOf(msg: string): Shape {
  if (msg === lastShapeMsg && lastShape !== undefined) return lastShape;
  let shape = SHAPES.get(msg);
  if (shape === undefined) {
    shape = {
      message: Object.freeze([msg]),
      msg: JSON.stringify(msg),
      first: undefined,
      prefixAt: NaN,
      prefixRank: -1,
      prefix: "",
    };
    if (SHAPES.size < 1024) SHAPES.set(msg, shape);
  }
  lastShape = shape;
  lastShapeMsg = msg;
  return shape;
}

function jsonPrefix(shape: Shape, atMs: number, rank: number): string {
  if (atMs !== shape.prefixAt || rank !== shape.prefixRank) {
    shape.prefix = `{"time":"${isoTime(atMs)}","level":${LEVEL_JSON[rank]},"msg":${shape.msg}`;
    shape.prefixAt = atMs;
    shape.prefixRank = rank;
  }
  return shape.prefix;
}

/**
 * One JSON line (`time`, `level`, `msg`, attributes). The line is built as a
 * string from cached pieces, not an object handed to `JSON.stringify`: a
 * sync writes thousands of lines in a burst.
 */
function jsonLine(atMs: number, rank: number, msg: string, attrs: Attrs): string {
  const shape = shapeOf(msg);
  let line = jsonPrefix(shape, atMs, rank);
  let prev: Field | undefined;
  for (const k in attrs) {
    const v = attrs[k];
    let field = prev === undefined ? shape.first : prev.next;
    if (field === undefined || field.key !== k) {
      // Another key at this position: the event changed shape here.
      field = newField(k, field?.next);
      if (prev === undefined) shape.first = field;
      else prev.next = field;
    }
    prev = field;
    if (v === undefined) continue;
    // A string is its own string form; a number's comes from V8's cache.
    const value = String(v);
    const isString = Object.is(v, value);
    if (!Object.is(value, field.value) || isString !== field.isString) {
      field.valueText = field.text + jsonOf(v);
      field.value = value;
      field.isString = isString;
    }
    line += field.valueText;
  }
  return line + "}";
}

/**
 * Formats a record as one JSON line (`time`, `level`, `msg`, attributes). An
 * attribute named like a fixed key (`vpp-disconnect` carries `msg`) is written
 * as `attr_<name>`, so neither the event name nor the attribute is lost;
 * undefined attributes are left out.
 */
export function formatJson(record: LogRecord): string {
  return jsonLine(record.atMs, RANK[record.level], record.msg, record.attrs);
}

const NEEDS_QUOTES = /[\s"=]/;

function textLine(atMs: number, rank: number, msg: string, attrs: Attrs): string {
  let line = `${isoTime(atMs)} ${LEVEL_TEXT[rank]} ${msg}`;
  for (const k in attrs) {
    const v = attrs[k];
    if (v === undefined) continue;
    const s = String(v);
    line += ` ${k}=${NEEDS_QUOTES.test(s) || s === "" ? JSON.stringify(s) : s}`;
  }
  return line;
}

/** Formats a record as one human line: `time LEVEL msg k=v ...`. */
export function formatText(record: LogRecord): string {
  return textLine(record.atMs, RANK[record.level], record.msg, record.attrs);
}

function emit(rank: number, msg: string, attrs: Attrs | undefined): void {
  if (rank < gateRank) return;
  ensureLogtape();
  // With its category set, LogTape dispatches the record as is (no copy).
  const record: LogtapeRecord = {
    category: CATEGORY,
    level: TO_LOGTAPE[rank],
    message: shapeOf(msg).message,
    rawMessage: msg,
    timestamp: Date.now(),
    properties: attrs ?? NO_ATTRS,
  };
  logger.emit(record);
}

/** The logger. */
export const log = {
  debug: (msg: string, attrs?: Record<string, AttrValue>): void => emit(RANK.debug, msg, attrs),
  info: (msg: string, attrs?: Record<string, AttrValue>): void => emit(RANK.info, msg, attrs),
  warn: (msg: string, attrs?: Record<string, AttrValue>): void => emit(RANK.warn, msg, attrs),
  error: (msg: string, attrs?: Record<string, AttrValue>): void => emit(RANK.error, msg, attrs),
};
