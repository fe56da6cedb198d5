/**
 * The daemon: loads the config, starts the checker, the VPP manager, the gRPC
 * API and the metrics endpoint, and handles SIGHUP (reload) and SIGTERM/SIGINT
 * (graceful shutdown). Tells systemd (`Type=notify`) when it is ready and
 * when it reloads.
 * @module
 */
import { errorMessage } from "./errors.ts";
import { parseDaemonFlags, USAGE } from "./flags.ts";
import { configureLog, log } from "./log/mod.ts";
import { BUILD_DATE, COMMIT, VERSION } from "./version.ts";
import type { Config } from "./config/mod.ts";
import { Checker, SCHEDULE_SLACK_MS } from "./checker/mod.ts";
import { realClock } from "./clock.ts";
import { createProber } from "./prober/mod.ts";
import { VppManager } from "./reconciler/mod.ts";
import type { VppControl } from "./reconciler/types.ts";
import { createMetrics } from "./metrics/mod.ts";
import { serveMetrics } from "./metrics/server.ts";
import { MAGLEV_RPCS, startGrpcServer } from "./grpc/server.ts";
import type { ReloadOutcome } from "./grpc/api.ts";
import type { DaemonFacts } from "./grpc/status.ts";
import type { Metrics } from "./metrics/mod.ts";
import { ConfigState } from "./daemon/config_state.ts";
import { notReadyReason, warmupPhase } from "./daemon/readiness.ts";
import { type Notifier, openNotifier } from "./systemd/notify.ts";

export { coalesced } from "./daemon/config_state.ts";

/** A running daemon, for tests and the lab. */
export interface Daemon {
  /** Reloads the config file (the SIGHUP path). */
  reload(): Promise<ReloadOutcome>;
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
    flags = parseDaemonFlags(args, { isTty: Deno.stdout.isTerminal() });
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
    daemon = await startDaemon({ ...flags, notifySocket: Deno.env.get("NOTIFY_SOCKET") });
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

/** Settings `startDaemon` needs (a subset of the flags). */
export interface DaemonSettings {
  config: string;
  grpcAddr: string;
  grpcSocket: string;
  grpcAllowRemoteAdmin: boolean;
  metricsAddr: string;
  vppApiAddr: string;
  reflection: boolean;
  /** systemd's `NOTIFY_SOCKET`; empty or absent: not run under `Type=notify`. */
  notifySocket?: string;
}

type GrpcParts =
  & Pick<
    Parameters<typeof startGrpcServer>[0],
    "checker" | "vpp" | "reload" | "checkConfig" | "diffConfig" | "facts"
  >
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
  const { metrics, ...api } = parts;
  return await startGrpcServer({
    ...api,
    listen,
    allowRemoteAdmin: settings.grpcAllowRemoteAdmin,
    reflection: settings.reflection,
    observer: metrics.grpcObserver,
  });
}

/** The VPP manager, reporting into metrics once they exist (`late`). */
function createVppManager(
  apiAddr: string,
  checker: Checker,
  late: { metrics?: Metrics },
): VppManager {
  return new VppManager({
    apiAddr,
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
}

/** The checker and the VPP manager, wired to metrics that are created after them. */
function startCore(settings: DaemonSettings, config: Config) {
  const prober = createProber({ netns: config.healthchecker.netns, version: VERSION });
  if (prober.engine === "stream") {
    log.warn("probe-engine-fallback", {
      engine: "stream",
      reason: `${
        prober.engineFallback ?? "no --allow-ffi"
      }: http and tcp probes run on the slower node:net/Deno.connect engine`,
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
  const vpp = createVppManager(settings.vppApiAddr, checker, late);
  return { prober, checker, vpp, late };
}

/** Tells systemd READY=1 once warmup completes (at once without VPP). */
function notifyWhenReady(notifier: Notifier, vpp: VppManager, signal: AbortSignal): void {
  const ready = vpp.enabled() ? vpp.gate.finished : Promise.resolve();
  void ready.then(() => {
    if (signal.aborted) return;
    notifier.notify("READY=1");
    log.info("ready", { warmup: vpp.enabled() ? "done" : "no VPP" });
  });
}

/** Starts every part of the daemon. Throws when the config does not load. */
export async function startDaemon(settings: DaemonSettings): Promise<Daemon> {
  const startedAtMs = realClock.now();
  const vppEnabled = settings.vppApiAddr !== "";
  const state = new ConfigState(settings.config, { vppEnabled, clock: realClock });
  const config = await state.initial();
  for (const w of config.warnings) log.warn("config-warning", { warning: w });
  const { prober, checker, vpp, late } = startCore(settings, config);
  const notifier = openNotifier(settings.notifySocket);
  const facts: DaemonFacts = {
    version: VERSION,
    commit: COMMIT,
    buildDate: BUILD_DATE,
    startedAtMs,
    configPath: settings.config,
    vppApiAddr: settings.vppApiAddr,
    configHash: () => state.hash(),
    lastReload: () => state.lastReload(),
    warmup: () => warmupPhase(vpp, vpp.gate),
  };
  const metrics = createMetrics({
    checker,
    vpp: vppEnabled ? (vpp as VppControl) : undefined,
    version: VERSION,
    facts,
  });
  late.metrics = metrics;
  metrics.preRegisterGrpc(MAGLEV_RPCS);

  const reload = state.reloader(checker, {
    applied: () => vpp.configApplied(),
    heldTableLength: (fe) => vpp.heldTableLength(fe),
    starting: () => notifier.notify("RELOADING=1"),
    finished: () => notifier.notify("READY=1"),
  });
  const abort = new AbortController();
  checker.start();
  vpp.start();
  notifyWhenReady(notifier, vpp, abort.signal);
  const grpc = await startGrpc(settings, {
    checker,
    vpp,
    metrics,
    reload,
    checkConfig: () => state.check(),
    diffConfig: (source) =>
      state.diff(checker, source, { heldTableLength: (fe) => vpp.heldTableLength(fe) }),
    facts,
  });
  const metricsServer = settings.metricsAddr
    ? serveMetrics(settings.metricsAddr, metrics, { ready: () => notReadyReason(vpp, vpp.gate) })
    : undefined;

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => resolveStopped = r);
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      log.info("stopping", {});
      abort.abort();
      notifier.notify("STOPPING=1");
      await grpc.shutdown();
      await metricsServer?.close();
      await vpp.stop();
      await checker.stop();
      await prober.close();
      notifier.close();
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
