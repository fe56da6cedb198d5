/**
 * `maglevd dashboard` flags: each has a `MAGLEV_DASHBOARD_` environment
 * variable, and a flag beats its variable. The admin credentials come from
 * the environment only, so they never show in `ps`.
 * @module
 */
import { parseListenAddress } from "../listen/mod.ts";
import { type FlagOptions, logSettings, parseFlagArgs } from "../flags.ts";
import type { Level } from "../log/mod.ts";
import type { Credentials } from "./auth.ts";

/** The dashboard's settings after flags and environment are merged. */
export interface DashboardFlags {
  /** maglevd gRPC addresses (`host:port`, `/path` or `unix:/path`). */
  servers: string[];
  /** Where the page listens. */
  listen: { host: string; port: number };
  logLevel: Level;
  logFormat: "text" | "json";
  /** Set when both user and password are. */
  credentials: Credentials | undefined;
  /** Stream the daemons' debug records for the probe heartbeat. */
  heartbeat: boolean;
  help: boolean;
}

/** Default listen address: loopback, next to the daemon's 9090/9091. */
export const DEFAULT_LISTEN = "localhost:9092";

/** Usage of `maglevd dashboard`. */
export const DASHBOARD_USAGE = `usage: maglevd dashboard --server ADDR[,ADDR...] [flags]

Serves a live web view of one or more maglevd (their gRPC APIs).

flags (env var in brackets):
  --server ADDR[,ADDR...]  maglevd gRPC addresses, host:port or a unix socket path
                           [MAGLEV_DASHBOARD_SERVER] (required)
  --listen HOST:PORT       where the page listens [MAGLEV_DASHBOARD_LISTEN] (default ${DEFAULT_LISTEN})
  --log-level LEVEL        debug|info|warn|error [MAGLEV_DASHBOARD_LOG_LEVEL] (default info)
  --log-format FORMAT      text|json [MAGLEV_DASHBOARD_LOG_FORMAT] (default json when not a TTY)
  --heartbeat[=bool]       while a browser watches, stream the daemons' probe records for the
                           probe heartbeat (costs the daemon CPU per probe)
                           [MAGLEV_DASHBOARD_HEARTBEAT] (default true)
  --help                   print this

environment only:
  MAGLEV_DASHBOARD_USER, MAGLEV_DASHBOARD_PASSWORD
                           both set: the admin area /admin/ (basic auth) with pause, resume,
                           enable, disable and set weight
`;

/** Parses the dashboard's flags; throws an Error naming the bad flag or value. */
export function parseDashboardFlags(
  args: readonly string[],
  { env = (n) => Deno.env.get(n), isTty = false }: FlagOptions = {},
): DashboardFlags {
  const values = parseFlagArgs(args, {
    server: "string",
    listen: "string",
    "log-level": "string",
    "log-format": "string",
    heartbeat: "boolean",
  });
  const get = (flag: string, name: string) =>
    (values[flag] as string | undefined) ?? env(`MAGLEV_DASHBOARD_${name}`);
  const help = values.help === true;
  const servers = (get("server", "SERVER") ?? "").split(",").map((s) => s.trim()).filter((s) =>
    s !== ""
  );
  if (servers.length === 0 && !help) {
    throw new Error("--server: give at least one maglevd address (or MAGLEV_DASHBOARD_SERVER)");
  }
  const dup = servers.find((s, i) => servers.indexOf(s) !== i);
  if (dup !== undefined) throw new Error(`--server: ${dup} is listed twice`);
  const listenText = get("listen", "LISTEN") ?? DEFAULT_LISTEN;
  const listen = parseListenAddress(listenText, { what: "--listen:" });
  const { logLevel, logFormat } = logSettings(
    get("log-level", "LOG_LEVEL") ?? "info",
    get("log-format", "LOG_FORMAT"),
    { isTty },
  );
  const heartbeatEnv = env("MAGLEV_DASHBOARD_HEARTBEAT");
  if (heartbeatEnv !== undefined && !["true", "false"].includes(heartbeatEnv)) {
    throw new Error(`MAGLEV_DASHBOARD_HEARTBEAT: "${heartbeatEnv}" is not true or false`);
  }
  const heartbeat = (values.heartbeat as boolean | undefined) ??
    (heartbeatEnv === undefined ? true : heartbeatEnv === "true");
  const user = env("MAGLEV_DASHBOARD_USER") ?? "";
  const password = env("MAGLEV_DASHBOARD_PASSWORD") ?? "";
  if ((user === "") !== (password === "")) {
    throw new Error(
      "MAGLEV_DASHBOARD_USER and MAGLEV_DASHBOARD_PASSWORD: set both for the admin area, or neither",
    );
  }
  return {
    servers,
    listen,
    logLevel,
    logFormat,
    credentials: user === "" ? undefined : { user, password },
    heartbeat,
    help,
  };
}
