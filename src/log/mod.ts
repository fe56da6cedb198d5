/**
 * Structured logging with the spec's event names as messages
 * (`log.info("backend-transition", {backend, from, to})`).
 *
 * This is the daemon-wide API every module uses. Records go to the configured
 * output (text or JSON lines) and to listeners (the WatchEvents log stream).
 * @module
 */

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

/** True when `level` is at least `min`. */
export function levelAtLeast(level: Level, min: Level): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(min);
}

/** Output settings. */
export interface LogSetup {
  level: Level;
  format: "text" | "json";
  /** Where lines go; defaults to stdout. */
  write?: (line: string) => void;
}

let setup: LogSetup = { level: "info", format: "json" };
const listeners = new Set<LogListener>();
const encoder = new TextEncoder();

function defaultWrite(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

/** Sets level, format and output. */
export function configureLog(next: LogSetup): void {
  setup = { ...next };
}

/** The current output level. */
export function logLevel(): Level {
  return setup.level;
}

/** Adds a listener; returns a function that removes it. */
export function addLogListener(listener: LogListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Formats a record as one JSON line (`time`, `level`, `msg`, attributes). */
export function formatJson(record: LogRecord): string {
  const out: Record<string, unknown> = {
    time: new Date(record.atMs).toISOString(),
    level: record.level.toUpperCase(),
    msg: record.msg,
  };
  for (const [k, v] of Object.entries(record.attrs)) if (v !== undefined) out[k] = v;
  return JSON.stringify(out);
}

/** Formats a record as one human line: `time LEVEL msg k=v ...`. */
export function formatText(record: LogRecord): string {
  const parts = [
    new Date(record.atMs).toISOString(),
    record.level.toUpperCase().padEnd(5),
    record.msg,
  ];
  for (const [k, v] of Object.entries(record.attrs)) {
    if (v === undefined) continue;
    const s = String(v);
    parts.push(`${k}=${/[\s"=]/.test(s) || s === "" ? JSON.stringify(s) : s}`);
  }
  return parts.join(" ");
}

function emit(level: Level, msg: string, attrs: Record<string, AttrValue> = {}): void {
  const record: LogRecord = { atMs: Date.now(), level, msg, attrs };
  if (levelAtLeast(level, setup.level)) {
    const line = setup.format === "json" ? formatJson(record) : formatText(record);
    (setup.write ?? defaultWrite)(line);
  }
  for (const l of listeners) l(record);
}

/** The logger. */
export const log = {
  debug: (msg: string, attrs?: Record<string, AttrValue>): void => emit("debug", msg, attrs),
  info: (msg: string, attrs?: Record<string, AttrValue>): void => emit("info", msg, attrs),
  warn: (msg: string, attrs?: Record<string, AttrValue>): void => emit("warn", msg, attrs),
  error: (msg: string, attrs?: Record<string, AttrValue>): void => emit("error", msg, attrs),
};

/** Formats a duration the way the logs show it: `959ms`, `5.2s`, `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return s ? `${m}m${s}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return `${h}h${m % 60}m`;
}
