/**
 * Reading a config file without trusting it: only a regular file, at most
 * `MAX_CONFIG_BYTES`, within `READ_TIMEOUT_MS`, strict UTF-8. A FIFO, a
 * device such as `/dev/zero` or a hung file system must not block the daemon
 * or fill its memory (issue 12.7).
 * @module
 */

import { type Clock, realClock } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import { formatDuration } from "./duration.ts";
import type { ConfigIssue } from "./issue.ts";

/** The largest config accepted; real ones are a few hundred KiB at most. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** How long stat, open and read of the file may take together. */
export const READ_TIMEOUT_MS = 5_000;

/** Options of {@linkcode readConfigText}. */
export interface ReadOptions {
  /** Times the read (default: the real clock). */
  readonly clock?: Clock;
  /** Default {@linkcode READ_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Default {@linkcode MAX_CONFIG_BYTES}. */
  readonly maxBytes?: number;
  /** The file system calls; tests replace them to simulate a hung mount. */
  readonly fs?: {
    stat(path: string): Promise<Deno.FileInfo>;
    open(path: string): Promise<Deno.FsFile>;
  };
}

/** The text of a config file, or the one issue that says why there is none. */
export type ReadResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly issue: ConfigIssue };

const REAL_FS = {
  stat: (path: string) => Deno.stat(path),
  open: (path: string) => Deno.open(path, { read: true }),
};

class ReadRefused extends Error {}

function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

async function readBytes(
  path: string,
  fs: NonNullable<ReadOptions["fs"]>,
  limits: { maxBytes: number; onOpen: (f: Deno.FsFile) => void },
): Promise<Uint8Array> {
  const info = await fs.stat(path);
  if (!info.isFile) throw new ReadRefused(`is ${kindOf(info)}, not a regular file`);
  const tooBig = () => new ReadRefused(`is larger than ${limits.maxBytes} bytes`);
  if (info.size > limits.maxBytes) throw tooBig();
  const file = await fs.open(path);
  limits.onOpen(file);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    total += n;
    // The file may grow after stat: the cap holds for what is read.
    if (total > limits.maxBytes) throw tooBig();
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The length of the UTF-8 sequence that byte `b` starts; 0 when `b` starts none. */
function sequenceLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** The byte offset of the first invalid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const len = sequenceLength(b);
    if (len === 0 || i + len > bytes.length) return i;
    // The second byte's range excludes overlong forms, surrogates and > U+10FFFF.
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += len;
  }
  return -1;
}

function decode(bytes: Uint8Array): ReadResult {
  const bad = firstInvalidUtf8(bytes);
  if (bad < 0) {
    return { ok: true, text: new TextDecoder("utf-8", { ignoreBOM: false }).decode(bytes) };
  }
  const before = new TextDecoder().decode(bytes.subarray(0, bad));
  const lineStart = before.lastIndexOf("\n") + 1;
  const hex = bytes[bad].toString(16).padStart(2, "0");
  return {
    ok: false,
    issue: {
      path: "",
      line: before.split("\n").length,
      column: [...before.slice(lineStart)].length + 1,
      message: `the file is not valid UTF-8 (byte 0x${hex} at offset ${bad})`,
    },
  };
}

/**
 * Reads a config file as text. Never throws; a file that is missing, not
 * regular, too large, slower than the timeout or not UTF-8 is one issue.
 */
export async function readConfigText(path: string, options: ReadOptions = {}): Promise<ReadResult> {
  const clock = options.clock ?? realClock;
  const timeoutMs = options.timeoutMs ?? READ_TIMEOUT_MS;
  const fail = (why: string): ReadResult => ({
    ok: false,
    issue: {
      path: "",
      line: 0,
      column: 0,
      message: `cannot read config file ${JSON.stringify(path)}: ${why}`,
    },
  });
  let file: Deno.FsFile | undefined;
  let timer: number | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = clock.setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const read = readBytes(path, options.fs ?? REAL_FS, {
    maxBytes: options.maxBytes ?? MAX_CONFIG_BYTES,
    onOpen: (f) => file = f,
  });
  try {
    const got = await Promise.race([read, timeout]);
    if (got === "timeout") {
      // The stuck call cannot be cancelled; its late result is dropped.
      read.then(() => {}, () => {});
      return fail(`no answer from the file system within ${formatDuration(timeoutMs)}`);
    }
    return decode(got);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return fail("no such file");
    return fail(errorMessage(e));
  } finally {
    clock.clearTimeout(timer!);
    try {
      file?.close();
    } catch {
      // Already closed.
    }
  }
}
