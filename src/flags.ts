/**
 * Daemon flags (spec 9.1 and 0.1): a flag beats its environment variable, and
 * Go-style single-dash long flags (`-config x`) are accepted.
 * @module
 */
import { errorMessage } from "./errors.ts";
import { parseArgs } from "node:util";
import { parseDuration } from "./config/duration.ts";
import { type Level, LEVELS } from "./log/mod.ts";

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

/** The kind of each long flag of a command, for {@link parseFlagArgs}. */
export type FlagTypes = Readonly<Record<string, "string" | "boolean">>;

/**
 * Parses a command's long flags with the rules every maglevd command shares:
 * Go-style `-flag`, `--bool=true|false` (parseArgs only knows bare booleans),
 * `--help`/`-h`, no positionals, and errors without parseArgs' hint.
 */
export function parseFlagArgs(
  args: readonly string[],
  types: FlagTypes,
): Record<string, string | boolean | undefined> {
  const explicit: Record<string, boolean> = {};
  const rest: string[] = [];
  for (const a of normalizeArgs(args)) {
    const m = /^--([a-z-]+)=(true|false)$/.exec(a);
    if (m && types[m[1]] === "boolean") explicit[m[1]] = m[2] === "true";
    else rest.push(a);
  }
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, type] of Object.entries(types)) options[name] = { type };
  options.help = { type: "boolean", short: "h" };
  try {
    const { values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false });
    return { ...values, ...explicit };
  } catch (e) {
    throw new Error(errorMessage(e).replace(/\. To specify.*$/s, ""));
  }
}

/**
 * Checks `--log-level` and `--log-format`; an empty or absent format is text
 * on a terminal, else JSON.
 */
export function logSettings(
  level: string,
  format: string | undefined,
  { isTty }: { readonly isTty: boolean },
): { logLevel: Level; logFormat: "text" | "json" } {
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new Error(`--log-level: "${level}" is not one of ${LEVELS.join(", ")}`);
  }
  const logFormat = format || (isTty ? "text" : "json");
  if (logFormat !== "text" && logFormat !== "json") {
    throw new Error(`--log-format: "${logFormat}" is not one of text, json`);
  }
  return { logLevel: level as Level, logFormat };
}

/** Where flag parsing reads the environment, and whether stdout is a terminal. */
export interface FlagOptions {
  /** Reads an environment variable; `Deno.env.get` by default. */
  readonly env?: (name: string) => string | undefined;
  /** Picks the text log format when none is given; false by default. */
  readonly isTty?: boolean;
}

function envOf(name: string): string | undefined {
  return Deno.env.get(name);
}

/** Parses daemon flags; throws an Error naming the bad flag or value. */
export function parseDaemonFlags(
  args: readonly string[],
  { env = envOf, isTty = false }: FlagOptions = {},
): DaemonFlags {
  const types: Record<string, "string" | "boolean"> = {};
  for (const [name, f] of Object.entries(FLAGS)) types[name] = f.type;
  const values = parseFlagArgs(args, types);
  const get = (name: keyof typeof FLAGS): string | boolean => {
    const v = values[name];
    if (v !== undefined) return v;
    const f = FLAGS[name];
    const e = f.env ? env(f.env) : undefined;
    if (e !== undefined) return f.type === "boolean" ? e === "true" : e;
    return f.def;
  };
  const { logLevel, logFormat } = logSettings(
    String(get("log-level")),
    String(get("log-format")),
    { isTty },
  );
  return {
    config: String(get("config")),
    grpcAddr: String(get("grpc-addr")),
    grpcSocket: String(get("grpc-socket")),
    grpcAllowRemoteAdmin: Boolean(get("grpc-allow-remote-admin")),
    metricsAddr: String(get("metrics-addr")),
    vppApiAddr: String(get("vpp-api-addr")),
    vppStatsAddr: String(get("vpp-stats-addr")),
    logLevel,
    logFormat,
    check: Boolean(get("check")),
    reflection: Boolean(get("reflection")),
    version: Boolean(get("version")),
    help: Boolean(get("help")),
  };
}

/** The default daemon address of the client (spec 0.1). */
export const DEFAULT_SERVER = "localhost:9090";

/** How long a client call waits for an answer unless `--timeout` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** Client flags: name -> whether it takes a value. One place for the names. */
const CLIENT_FLAGS = {
  server: "value",
  timeout: "value",
  color: "bool",
  json: "bool",
  help: "bool",
  h: "bool",
} as const;

type ClientFlagName = keyof typeof CLIENT_FLAGS;

/** Parsed client flags. */
export interface ClientFlags {
  /** `host:port`, `/path` or `unix:/path`. */
  readonly server: string;
  readonly color: boolean;
  /** Per-call deadline in milliseconds; `watch events` ignores it (it waits forever). */
  readonly timeoutMs: number;
  /** One JSON document (or one object per event line) instead of text. */
  readonly json: boolean;
  readonly help: boolean;
  /** The command words; empty means the shell. */
  readonly command: string[];
}

/** Where the client flags' defaults come from. */
export interface ClientFlagOptions {
  /** Environment lookup (`MAGLEV_SERVER`, `NO_COLOR`). */
  env?: (name: string) => string | undefined;
  /** Whether stdout is a terminal (colour by default). */
  isTerminal?: boolean;
}

/** Splits `--name=value`, `-name`, ... into the name and the inline value. */
function splitFlag(arg: string): { name: string; inline: string | undefined } {
  const body = arg.replace(/^--?/, "");
  const eq = body.indexOf("=");
  return eq < 0
    ? { name: body, inline: undefined }
    : { name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

function isFlag(arg: string): boolean {
  return arg.length > 1 && arg.startsWith("-") && arg !== "--";
}

function parseBool(flag: string, value: string): boolean {
  if (["true", "1", "t", "yes"].includes(value.toLowerCase())) return true;
  if (["false", "0", "f", "no"].includes(value.toLowerCase())) return false;
  throw new Error(`invalid value ${JSON.stringify(value)} for flag ${flag}: want true or false`);
}

function parseTimeout(flag: string, value: string): number {
  // A bare number is seconds, as in `curl --max-time 5`.
  const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : parseDuration(value);
  if (!(ms > 0)) throw new Error(`flag ${flag} must be more than 0, got ${JSON.stringify(value)}`);
  return ms;
}

/**
 * Parses the client's arguments: flags (`--x`, `-x`, `--x=v`, `-x v`) may
 * come before, between or after the command words; `--` ends the flags.
 * Throws with a message naming the bad flag.
 */
export function parseClientFlags(
  args: readonly string[],
  options: ClientFlagOptions = {},
): ClientFlags {
  const env = options.env ?? (() => undefined);
  let server = env("MAGLEV_SERVER") || DEFAULT_SERVER;
  // https://no-color.org: a non-empty NO_COLOR turns colour off; --color still wins.
  let color = (options.isTerminal ?? false) && !env("NO_COLOR");
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let json = false;
  let help = false;
  const command: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      command.push(...args.slice(i + 1));
      break;
    }
    if (!isFlag(a)) {
      command.push(a);
      continue;
    }
    const { name, inline } = splitFlag(a);
    const kind = CLIENT_FLAGS[name as ClientFlagName];
    if (kind === undefined) throw new Error(`unknown flag ${JSON.stringify(a)}`);
    if (kind === "value") {
      const value = inline ?? args[++i];
      if (value === undefined || value === "") throw new Error(`flag ${a} needs a value`);
      if (name === "server") server = value;
      else timeoutMs = parseTimeout(a, value);
      continue;
    }
    const on = inline === undefined ? true : parseBool(a, inline);
    if (name === "color") color = on;
    else if (name === "json") json = on;
    else help = on;
  }
  return { server, color, timeoutMs, json, help, command };
}

/**
 * True when `arg` is a flag (client or daemon) whose value is the next
 * argument, so that role detection does not take the value for a command.
 */
export function flagTakesValue(arg: string): boolean {
  if (!isFlag(arg)) return false;
  const { name, inline } = splitFlag(arg);
  if (inline !== undefined) return false;
  if (CLIENT_FLAGS[name as ClientFlagName] === "value") return true;
  const d = FLAGS[name as keyof typeof FLAGS];
  return d !== undefined && d.type === "string";
}

/** True when `arg` is a flag only the client has (`--server`, `--json`; not `--help`). */
export function isClientFlag(arg: string): boolean {
  if (!isFlag(arg)) return false;
  const name = splitFlag(arg).name;
  return name in CLIENT_FLAGS && name !== "h" && !(name in FLAGS);
}
