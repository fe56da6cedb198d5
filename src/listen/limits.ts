/**
 * How many connections a listener may hold: below the process's open-file
 * limit, so that file descriptors stay for probes and the VPP socket
 * (issue 12.2: a full fd table made every probe fail).
 * @module
 */

/** Used when the limit cannot be read (not Linux, or /proc unreadable). */
const FALLBACK_FD_LIMIT = 1024;

/** Largest cap, whatever the limit: nobody needs more operator connections. */
const MAX_CAP = 4096;

/** The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits`. */
export function openFileLimit(): number {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (m) return m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    // Fall through: a cap from the usual default is better than none.
  }
  return FALLBACK_FD_LIMIT;
}

/**
 * The default connection cap of one listener: a quarter of the fd limit
 * (two listeners then use at most half), at least 8 and at most 4,096.
 */
export function defaultConnectionCap(fdLimit: number = openFileLimit()): number {
  return Math.max(8, Math.min(MAX_CAP, Math.floor(fdLimit / 4)));
}
