/**
 * The client's command tree (spec 8.3) as plain data: fixed keywords plus
 * slot nodes that take a name, a number or one of a few fixed words. The
 * parser walks it; help and completion read it; nothing here talks to the
 * server.
 * @module
 */
import { MAX_WEIGHT } from "../config/weight.ts";

/** What kind of value a slot node takes; names come live from the server. */
export type SlotKind =
  | "frontend"
  | "backend"
  | "pool"
  | "healthcheck"
  | "number"
  | "choice"
  | "file";

/** A value a matched node contributes to the command's arguments. */
export type ArgValue = string | number | boolean;

/** One node of the command tree. */
export interface TreeNode {
  /** The keyword, or for a slot its placeholder such as `<backend>`. */
  readonly word: string;
  readonly help: string;
  /** Set on slot nodes. */
  readonly slot?: SlotKind;
  /** For slots: the argument name the token is stored under. */
  readonly arg?: string;
  /** For number slots: the inclusive range. */
  readonly min?: number;
  readonly max?: number;
  /** For choice slots: the accepted words (prefixes work as for keywords). */
  readonly choices?: readonly string[];
  /**
   * An alias keyword (`show frontend <name>`) matches only when typed in
   * full, so that `sh fr` stays `show frontends`; it is left out of help
   * and completion.
   */
  readonly alias?: boolean;
  /** Constant arguments this node sets when matched (e.g. `action: "pause"`). */
  readonly sets?: Readonly<Record<string, ArgValue>>;
  /**
   * The rest of the usage line from here, for a subtree too regular to
   * spell out path by path (the `watch events` options in any order).
   */
  readonly synopsis?: string;
  /** When set, the tokens may end here: the command this path runs. */
  readonly command?: string;
  readonly children: readonly TreeNode[];
}

/** Command identifiers the executor dispatches on. */
export const COMMANDS = {
  showVersion: "show version",
  showFrontends: "show frontends",
  showBackends: "show backends",
  showHealthchecks: "show healthchecks",
  showStatus: "show status",
  showConfig: "show config",
  preview: "show frontends preview",
  showVppInfo: "show vpp info",
  showVppLbState: "show vpp lb state",
  showVppLbCounters: "show vpp lb counters",
  syncVppLbState: "sync vpp lb state",
  setBackend: "set backend",
  setWeight: "set frontend weight",
  watchEvents: "watch events",
  configCheck: "config check",
  configReload: "config reload",
  configDiff: "config diff",
  help: "help",
  quit: "quit",
} as const;

/** The log levels `watch events log level` accepts. */
export const LOG_LEVELS: readonly string[] = ["debug", "info", "warn", "error"];

function kw(word: string, help: string, rest: Partial<TreeNode> = {}): TreeNode {
  return { word, help, children: [], ...rest };
}

function slot(kind: SlotKind, arg: string, help: string, rest: Partial<TreeNode> = {}): TreeNode {
  return { word: `<${arg}>`, help, slot: kind, arg, children: [], ...rest };
}

/** A pool weight: a whole number in the range `config/weight.ts` owns. */
function weightSlot(rest: Partial<TreeNode>): TreeNode {
  return slot("number", "weight", `weight 0-${MAX_WEIGHT}`, { min: 0, max: MAX_WEIGHT, ...rest });
}

/** `show X [<name> ...]` plus the singular alias `show x <name> ...`. */
function showNamed(
  plural: string,
  singular: string,
  kind: SlotKind,
  what: string,
  children: readonly TreeNode[] = [],
): TreeNode[] {
  const command = `show ${plural}`;
  const nameSlot = slot(kind, kind, `show one ${what} in detail`, { command, children });
  return [
    kw(plural, `list ${what}s, or show one in detail`, { command, children: [nameSlot] }),
    kw(singular, `show one ${what} in detail`, { alias: true, children: [nameSlot] }),
  ];
}

type WatchOption = "num" | "log" | "backend" | "frontend";

/**
 * The `watch events` options may come in any order, each at most once; the
 * tree spells out every order (64 paths for four options) so the walker
 * needs no special case.
 */
function watchOptions(used: readonly WatchOption[]): TreeNode[] {
  const command = COMMANDS.watchEvents;
  const all: WatchOption[] = ["num", "log", "backend", "frontend"];
  const out: TreeNode[] = [];
  for (const opt of all) {
    if (used.includes(opt)) continue;
    const next = watchOptions([...used, opt]);
    if (opt === "num") {
      out.push(kw("num", "stop after this many events", {
        children: [
          slot("number", "n", "number of events (1-1000000)", {
            min: 1,
            max: 1_000_000,
            command,
            children: next,
          }),
        ],
      }));
    } else if (opt === "log") {
      out.push(kw("log", "include log records (default level info)", {
        sets: { log: true },
        command,
        children: [
          kw("level", "minimum level of streamed log records", {
            children: [
              slot("choice", "level", "debug, info, warn or error", {
                choices: LOG_LEVELS,
                command,
                children: next,
              }),
            ],
          }),
          ...next,
        ],
      }));
    } else {
      out.push(
        kw(opt, `include ${opt} transitions`, { sets: { [opt]: true }, command, children: next }),
      );
    }
  }
  return out;
}

function backendActions(): TreeNode[] {
  const actions: [string, string][] = [
    ["pause", "stop health checking; weight 0 without flush"],
    ["resume", "restart health checking from unknown"],
    ["enable", "put a disabled backend back in service"],
    ["disable", "take the backend out of service (weight 0, flush)"],
  ];
  return actions.map(([word, help]) =>
    kw(word, help, { sets: { action: word }, command: COMMANDS.setBackend })
  );
}

/** `preview backend <backend> weight <0-100> | disable` under `show frontends <name>`. */
function previewPath(): TreeNode {
  const command = COMMANDS.preview;
  return kw("preview", "what a change would do to the VIP's buckets, changing nothing", {
    children: [
      kw("backend", "the backend to change", {
        children: [
          slot("backend", "backend", "backend name", {
            children: [
              kw("weight", "a new configured weight", {
                children: [weightSlot({ command })],
              }),
              kw("disable", "taking the backend out of service", {
                sets: { disable: true },
                command,
              }),
            ],
          }),
        ],
      }),
    ],
  });
}

function weightPath(): TreeNode {
  const command = COMMANDS.setWeight;
  return slot("frontend", "frontend", "frontend name", {
    children: [
      kw("pool", "pool of the frontend", {
        children: [
          slot("pool", "pool", "pool name", {
            children: [
              kw("backend", "backend in the pool", {
                children: [
                  slot("backend", "backend", "backend name", {
                    children: [
                      kw("weight", "set the configured weight", {
                        children: [
                          weightSlot({
                            command,
                            children: [
                              kw("flush", "flush existing flows of this backend", {
                                sets: { flush: true },
                                command,
                              }),
                            ],
                          }),
                        ],
                      }),
                    ],
                  }),
                ],
              }),
            ],
          }),
        ],
      }),
    ],
  });
}

/** `show ...`: running state, the daemon itself, VPP. */
function showTree(): TreeNode {
  return kw("show", "show running state", {
    children: [
      kw("version", "client and daemon versions", { command: COMMANDS.showVersion }),
      kw("status", "the daemon's own state: uptime, config, reload, warmup, VPP", {
        command: COMMANDS.showStatus,
      }),
      kw("config", "the running config as YAML, defaults applied", {
        command: COMMANDS.showConfig,
      }),
      ...showNamed("frontends", "frontend", "frontend", "frontend", [previewPath()]),
      ...showNamed("backends", "backend", "backend", "backend"),
      ...showNamed("healthchecks", "healthcheck", "healthcheck", "health check"),
      kw("vpp", "state of the VPP dataplane", {
        children: [
          kw("info", "VPP version, pid and uptime", { command: COMMANDS.showVppInfo }),
          kw("lb", "VPP load-balancer plugin", {
            children: [
              kw("state", "VIPs and application servers as VPP has them", {
                command: COMMANDS.showVppLbState,
              }),
              kw("counters", "per-VIP packet counters", {
                command: COMMANDS.showVppLbCounters,
              }),
            ],
          }),
        ],
      }),
    ],
  });
}

/** `config ...`: the daemon's config file. */
function configTree(): TreeNode {
  return kw("config", "the daemon's config file", {
    children: [
      kw("check", "validate the config file on disk", { command: COMMANDS.configCheck }),
      kw("reload", "reload the config file (like SIGHUP) and print what changed", {
        command: COMMANDS.configReload,
      }),
      kw("diff", "what a reload would do, without doing it", {
        command: COMMANDS.configDiff,
        children: [
          slot("file", "file", "a config file read here (default: the daemon's own file)", {
            command: COMMANDS.configDiff,
          }),
        ],
      }),
    ],
  });
}

/** Builds the command tree of spec 8.3; the root's children are the first words. */
export function buildTree(): TreeNode {
  const lbState = COMMANDS.syncVppLbState;
  return kw("", "", {
    children: [
      showTree(),
      kw("set", "change running state (in memory)", {
        children: [
          kw("backend", "operator action on a backend", {
            children: [slot("backend", "backend", "backend name", { children: backendActions() })],
          }),
          kw("frontend", "change a pool weight", { children: [weightPath()] }),
        ],
      }),
      kw("sync", "push desired state to VPP now", {
        children: [
          kw("vpp", "the VPP dataplane", {
            children: [
              kw("lb", "VPP load-balancer plugin", {
                children: [
                  kw("state", "sync all frontends, or one", {
                    command: lbState,
                    children: [slot("frontend", "frontend", "sync only this frontend", {
                      command: lbState,
                    })],
                  }),
                ],
              }),
            ],
          }),
        ],
      }),
      kw("watch", "stream events", {
        children: [
          kw("events", "backend, frontend and log events (any key stops)", {
            command: COMMANDS.watchEvents,
            synopsis: `[num <n>] [log [level ${LOG_LEVELS.join("|")}]] [backend] [frontend]`,
            children: watchOptions([]),
          }),
        ],
      }),
      configTree(),
      // `maglevd version` is a client command of its own (spec 0.1).
      kw("version", "client and daemon versions", { command: COMMANDS.showVersion }),
      kw("help", "the commands, or those under the words that follow", {
        command: COMMANDS.help,
        synopsis: "[command ...]",
      }),
      kw("quit", "leave the shell", { command: COMMANDS.quit }),
      kw("exit", "leave the shell", { command: COMMANDS.quit }),
    ],
  });
}
