/**
 * Build identity, printed by `--version`, the `starting` log record, the
 * User-Agent of HTTP probes and `show version`.
 * @module
 */

/** The release version. */
export const VERSION = "0.1.0";

/** The commit the binary was built from; `deno task compile` may override via env. */
export const COMMIT: string = readEnv("MAGLEV_BUILD_COMMIT") || "dev";

/** The build date. */
export const BUILD_DATE: string = readEnv("MAGLEV_BUILD_DATE") || "unknown";

function readEnv(name: string): string {
  try {
    return Deno.env.get(name) ?? "";
  } catch {
    return "";
  }
}
