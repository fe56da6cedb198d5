/**
 * The daemon: loads the config, starts the checker, the VPP manager, the gRPC
 * API and the metrics endpoint, and handles SIGHUP (reload) and SIGTERM/SIGINT
 * (graceful shutdown).
 * @module
 */
import { errorMessage } from "./errors.ts";
import { parseDaemonFlags, USAGE } from "./flags.ts";
import { configureLog, log } from "./log/mod.ts";
import { BUILD_DATE, COMMIT, VERSION } from "./version.ts";
import { formatIssue, loadConfigFile } from "./config/mod.ts";
import type { Config, ConfigIssue } from "./config/mod.ts";
import type { ReloadResult } from "./checker/types.ts";
import { Checker, SCHEDULE_SLACK_MS } from "./checker/mod.ts";
import { createProber } from "./prober/mod.ts";
import { VppManager } from "./reconciler/mod.ts";
import type { VppControl } from "./reconciler/types.ts";
import { createMetrics } from "./metrics/mod.ts";
import { serveMetrics } from "./metrics/server.ts";
import { type GrpcObserver, MAGLEV_RPCS, type RpcType, startGrpcServer } from "./grpc/server.ts";
import type { Metrics } from "./metrics/mod.ts";
import { status as grpcStatus } from "@grpc/grpc-js";

const GRPC_SERVICE = "maglev.v1.Maglev";

/** Feeds the server's per-call reports into the go-grpc-middleware style metrics. */
function grpcMetricsObserver(metrics: Metrics): GrpcObserver {
  const m = (method: string, type: RpcType) => ({ service: GRPC_SERVICE, method, type });
  return {
    started: (method, type) => metrics.grpcObserver.started(m(method, type)),
    handled: (method, type, code, seconds) =>
      metrics.grpcObserver.handled(
        m(method, type),
        (grpcStatus as unknown as Record<string, number>)[code] ?? code,
        seconds,
      ),
    msgReceived: (method, type) => metrics.grpcObserver.msgReceived(m(method, type)),
    msgSent: (method, type) => metrics.grpcObserver.msgSent(m(method, type)),
  };
}

/** A running daemon, for tests and the lab. */
export interface Daemon {
  /** Reloads the config file (the SIGHUP path). */
  reload(): Promise<ReloadResult>;
  /** Stops everything; resolves when all is closed. */
  shutdown(): Promise<void>;
  /** Resolves when the daemon has stopped. */
  readonly stopped: Promise<void>;
  readonly grpcAddresses: readonly string[];
  readonly metricsPort: number | undefined;
}

/** Entry point for `maglevd [flags]`; returns the exit code. */
export async function runDaemon(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseDaemonFlags(args, (n) => Deno.env.get(n), Deno.stdout.isTerminal());
  } catch (e) {
    console.error(`maglevd: ${errorMessage(e)}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (flags.version) {
    console.log(`maglevd ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE})`);
    return 0;
  }
  if (flags.check) {
    const { runCheck } = await import("./check_command.ts");
    return await runCheck(["--config", flags.config]);
  }
  configureLog({ level: flags.logLevel, format: flags.logFormat });
  log.info("starting", { version: VERSION, commit: COMMIT, date: BUILD_DATE });
  // Signals are handled from the start: a SIGTERM during start-up stops the
  // daemon as soon as it is up instead of killing it half-way.
  let daemon: Daemon | undefined;
  let stopAsked = false;
  const onHup = () => void daemon?.reload();
  const onStop = () => {
    stopAsked = true;
    void daemon?.shutdown();
  };
  Deno.addSignalListener("SIGHUP", onHup);
  Deno.addSignalListener("SIGTERM", onStop);
  Deno.addSignalListener("SIGINT", onStop);
  try {
    daemon = await startDaemon(flags);
  } catch (e) {
    log.error("startup-failed", { err: errorMessage(e) });
    return 1;
  }
  if (stopAsked) void daemon.shutdown();
  await daemon.stopped;
  Deno.removeSignalListener("SIGHUP", onHup);
  Deno.removeSignalListener("SIGTERM", onStop);
  Deno.removeSignalListener("SIGINT", onStop);
  return 0;
}

/**
 * Runs reloads one at a time without letting them pile up: a reload asked
 * for while one runs joins the single queued run (which reads the file as
 * it is then), so a burst of SIGHUPs costs at most two reads, and no reload
 * waits behind more than one other. Each run is bounded, because the config
 * read is (`READ_TIMEOUT_MS`): a hung file system fails that reload with an
 * error instead of blocking every later one.
 */
export function coalesced(task: () => Promise<ReloadResult>): () => Promise<ReloadResult> {
  let running: Promise<ReloadResult> | undefined;
  let queued: Promise<ReloadResult> | undefined;
  const start = (): Promise<ReloadResult> => {
    running = task()
      .catch((e): ReloadResult => ({ ok: false, kind: "parse", error: errorMessage(e) }))
      .finally(() => running = undefined);
    return running;
  };
  return () => {
    if (queued !== undefined) return queued;
    if (running === undefined) return start();
    queued = running.then(() => {
      queued = undefined;
      return start();
    });
    return queued;
  };
}

/** Settings `startDaemon` needs (a subset of the flags). */
export interface DaemonSettings {
  config: string;
  grpcAddr: string;
  grpcSocket: string;
  grpcAllowRemoteAdmin: boolean;
  metricsAddr: string;
  vppApiAddr: string;
  reflection: boolean;
}

async function loadOrThrow(path: string, vppEnabled: boolean): Promise<Config> {
  const r = await loadConfigFile(path, { vppEnabled });
  if (r.ok) return r.config;
  throw new Error(`config ${r.kind} error:\n` + indent(issuesText(r.issues, path)));
}

function indent(text: string): string {
  return text.replace(/^/gm, "  ");
}

function issuesText(issues: readonly ConfigIssue[], path: string): string {
  return issues.map((i) => formatIssue(i, path)).join("\n");
}

/** The parts a reload touches. */
interface ReloadParts {
  readonly vppEnabled: boolean;
  readonly checker: Checker;
  readonly vpp: VppManager;
}

/** The SIGHUP / `config reload` path and the `config check` RPC's check. */
function configReloader(path: string, parts: ReloadParts) {
  const { vppEnabled, checker, vpp } = parts;
  const reload = coalesced(async (): Promise<ReloadResult> => {
    const r = await loadConfigFile(path, { vppEnabled });
    if (!r.ok) {
      const error = issuesText(r.issues, path);
      log.error(
        r.kind === "parse" ? "config-reload-parse-error" : "config-reload-semantic-error",
        { file: path, err: error },
      );
      return { ok: false, kind: r.kind, error };
    }
    for (const w of r.config.warnings) log.warn("config-warning", { warning: w });
    checker.applyConfig(r.config);
    log.info("config-reload", {
      file: path,
      frontends: Object.keys(r.config.frontends).length,
      backends: Object.keys(r.config.backends).length,
    });
    await vpp.configApplied();
    return { ok: true, config: r.config };
  });
  const checkConfig = async () => {
    const r = await loadConfigFile(path, { vppEnabled });
    return r.ok ? { ok: true } : { ok: false, kind: r.kind, error: issuesText(r.issues, path) };
  };
  return { reload, checkConfig };
}

type GrpcParts =
  & Pick<Parameters<typeof startGrpcServer>[0], "checker" | "vpp" | "reload" | "checkConfig">
  & { readonly metrics: Metrics };

/** The gRPC API; `--grpc-addr ""` without `--grpc-socket` runs the daemon with none. */
async function startGrpc(
  settings: DaemonSettings,
  parts: GrpcParts,
): Promise<{ readonly addresses: readonly string[]; shutdown(): Promise<void> }> {
  const listen = { tcp: settings.grpcAddr || undefined, unix: settings.grpcSocket || undefined };
  if (listen.tcp === undefined && listen.unix === undefined) {
    log.warn("grpc-disabled", { reason: "--grpc-addr is empty and no --grpc-socket" });
    return { addresses: [], shutdown: () => Promise.resolve() };
  }
  return await startGrpcServer({
    checker: parts.checker,
    vpp: parts.vpp,
    checkConfig: parts.checkConfig,
    reload: parts.reload,
    listen,
    allowRemoteAdmin: settings.grpcAllowRemoteAdmin,
    reflection: settings.reflection,
    observer: grpcMetricsObserver(parts.metrics),
  });
}

/** Starts every part of the daemon. Throws when the config does not load. */
export async function startDaemon(settings: DaemonSettings): Promise<Daemon> {
  const vppEnabled = settings.vppApiAddr !== "";
  const config = await loadOrThrow(settings.config, vppEnabled);
  for (const w of config.warnings) log.warn("config-warning", { warning: w });

  const prober = createProber({ netns: config.healthchecker.netns, version: VERSION });
  if (prober.engine === "stream") {
    log.warn("probe-engine-fallback", {
      engine: "stream",
      reason: "no --allow-ffi: http and tcp probes run on the slower node:net/Deno.connect engine",
    });
  }
  // Metrics read the checker and VPP manager, which report into metrics: tie the knot late.
  const late: { metrics?: Metrics } = {};
  const checker = new Checker(config, {
    driver: prober,
    scheduleSlackMs: SCHEDULE_SLACK_MS,
    onProbe: (backend, hc, result) => late.metrics?.observeProbe(backend, hc, result),
    onLocalError: (backend, hc, result) => late.metrics?.observeLocalError(backend, hc, result),
    onTransition: (backend, t) => late.metrics?.onTransition(backend, t),
  });
  const vpp = new VppManager({
    apiAddr: settings.vppApiAddr,
    checker,
    // The warmup clock starts at process start (spec 6.7), the origin of
    // performance.now(), not after the config load: its log lines then tell
    // the real elapsed time.
    startMs: 0,
    observers: {
      api: (ev) => {
        late.metrics?.vppApi(ev);
        log.debug(ev.direction === "send" ? "vpp-api-send" : "vpp-api-recv", {
          msg: ev.msg,
          ok: ev.ok,
        });
      },
      sync: (scope, stats) => late.metrics?.lbSync(scope, stats),
      latency: (trigger, s) => late.metrics?.programmingLatency(trigger, s),
    },
  });
  const metrics = createMetrics({
    checker,
    vpp: vppEnabled ? (vpp as VppControl) : undefined,
    version: VERSION,
  });
  late.metrics = metrics;
  metrics.preRegisterGrpc(
    MAGLEV_RPCS.map((r) => ({ service: GRPC_SERVICE, method: r.method, type: r.type })),
  );

  const { reload, checkConfig } = configReloader(settings.config, { vppEnabled, checker, vpp });

  checker.start();
  vpp.start();
  const grpc = await startGrpc(settings, { checker, vpp, metrics, reload, checkConfig });
  const metricsServer = settings.metricsAddr
    ? serveMetrics(settings.metricsAddr, metrics)
    : undefined;

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => resolveStopped = r);
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      log.info("stopping", {});
      await grpc.shutdown();
      await metricsServer?.close();
      await vpp.stop();
      await checker.stop();
      await prober.close();
      log.info("stopped", {});
      resolveStopped();
    })();
    return stopping;
  };
  return {
    reload,
    shutdown,
    stopped,
    grpcAddresses: grpc.addresses,
    metricsPort: metricsServer?.port,
  };
}
