/**
 * Daemon flags (spec 9.1 and 0.1): a flag beats its environment variable, and
 * Go-style single-dash long flags (`-config x`) are accepted.
 * @module
 */
import { errorMessage } from "./errors.ts";
import { parseArgs } from "node:util";
import type { Level } from "./log/mod.ts";

/** The daemon's settings after flags and environment are merged. */
export interface DaemonFlags {
  config: string;
  grpcAddr: string;
  grpcSocket: string;
  grpcAllowRemoteAdmin: boolean;
  metricsAddr: string;
  vppApiAddr: string;
  vppStatsAddr: string;
  logLevel: Level;
  logFormat: "text" | "json";
  check: boolean;
  reflection: boolean;
  version: boolean;
  help: boolean;
}

/** Flag table: name, env var, default, kind. One place for names and defaults. */
const FLAGS = {
  "config": { env: "MAGLEV_CONFIG", def: "/etc/vpp-maglev/maglev.yaml", type: "string" },
  "grpc-addr": { env: "MAGLEV_GRPC_ADDR", def: "localhost:9090", type: "string" },
  "grpc-socket": { env: "MAGLEV_GRPC_SOCKET", def: "", type: "string" },
  "grpc-allow-remote-admin": { env: "", def: false, type: "boolean" },
  "metrics-addr": { env: "MAGLEV_METRICS_ADDR", def: ":9091", type: "string" },
  "vpp-api-addr": { env: "MAGLEV_VPP_API_ADDR", def: "/run/vpp/api.sock", type: "string" },
  "vpp-stats-addr": { env: "MAGLEV_VPP_STATS_ADDR", def: "/run/vpp/stats.sock", type: "string" },
  "log-level": { env: "MAGLEV_LOG_LEVEL", def: "info", type: "string" },
  "log-format": { env: "MAGLEV_LOG_FORMAT", def: "", type: "string" },
  "check": { env: "", def: false, type: "boolean" },
  "reflection": { env: "", def: true, type: "boolean" },
  "version": { env: "", def: false, type: "boolean" },
  "help": { env: "", def: false, type: "boolean" },
} as const;

/** Usage text for `--help`. */
export const USAGE = `usage: maglevd [flags]            run the daemon
       maglevd check --config FILE  validate a config file
       maglevd <command ...>        client: show, set, sync, watch, config, shell, version

flags (env var in brackets):
  --config FILE              YAML config [MAGLEV_CONFIG] (default /etc/vpp-maglev/maglev.yaml)
  --grpc-addr HOST:PORT      gRPC listener, "" for none [MAGLEV_GRPC_ADDR] (default localhost:9090)
  --grpc-socket PATH         gRPC unix socket listener [MAGLEV_GRPC_SOCKET]
  --grpc-allow-remote-admin  allow mutating RPCs on a non-loopback TCP listener
  --metrics-addr HOST:PORT   Prometheus /metrics, "" disables [MAGLEV_METRICS_ADDR] (default :9091)
  --vpp-api-addr PATH        VPP binary API socket, "" disables VPP [MAGLEV_VPP_API_ADDR]
                             (default /run/vpp/api.sock)
  --vpp-stats-addr PATH      VPP stats socket [MAGLEV_VPP_STATS_ADDR] (default /run/vpp/stats.sock)
  --log-level LEVEL          debug|info|warn|error [MAGLEV_LOG_LEVEL] (default info)
  --log-format FORMAT        text|json (default json when stdout is not a TTY)
  --check                    validate the config and exit 0 (ok), 1 (parse), 2 (semantic)
  --reflection[=bool]        gRPC server reflection (default true)
  --version                  print version and exit
`;

/** Turns `-flag` into `--flag` so Go-style invocations keep working. */
export function normalizeArgs(args: readonly string[]): string[] {
  return args.map((a) => (/^-[a-z][a-z-]+(=.*)?$/.test(a) ? "-" + a : a));
}

/** Parses daemon flags; throws an Error naming the bad flag or value. */
export function parseDaemonFlags(
  args: readonly string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  isTty = false,
): DaemonFlags {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, f] of Object.entries(FLAGS)) options[name] = { type: f.type };
  const boolFlags = Object.entries(FLAGS).filter(([, f]) => f.type === "boolean").map(([n]) => n);
  // `--reflection=false` style for booleans: parseArgs only knows bare booleans.
  const explicitBools: Record<string, boolean> = {};
  const rest: string[] = [];
  for (const a of normalizeArgs(args)) {
    const m = /^--([a-z-]+)=(true|false)$/.exec(a);
    if (m && boolFlags.includes(m[1])) explicitBools[m[1]] = m[2] === "true";
    else rest.push(a);
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new Error(errorMessage(e).replace(/\. To specify.*$/s, ""));
  }
  const get = (name: keyof typeof FLAGS): string | boolean => {
    if (name in explicitBools) return explicitBools[name];
    const v = values[name];
    if (v !== undefined) return v;
    const f = FLAGS[name];
    const e = f.env ? env(f.env) : undefined;
    if (e !== undefined) return f.type === "boolean" ? e === "true" : e;
    return f.def;
  };
  const logLevel = String(get("log-level"));
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new Error(`--log-level: "${logLevel}" is not one of debug, info, warn, error`);
  }
  let logFormat = String(get("log-format"));
  if (logFormat === "") logFormat = isTty ? "text" : "json";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new Error(`--log-format: "${logFormat}" is not one of text, json`);
  }
  return {
    config: String(get("config")),
    grpcAddr: String(get("grpc-addr")),
    grpcSocket: String(get("grpc-socket")),
    grpcAllowRemoteAdmin: Boolean(get("grpc-allow-remote-admin")),
    metricsAddr: String(get("metrics-addr")),
    vppApiAddr: String(get("vpp-api-addr")),
    vppStatsAddr: String(get("vpp-stats-addr")),
    logLevel: logLevel as Level,
    logFormat,
    check: Boolean(get("check")),
    reflection: Boolean(get("reflection")),
    version: Boolean(get("version")),
    help: Boolean(get("help")),
  };
}
