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
import type { Config } from "./config/types.ts";
import type { ReloadResult } from "./checker/types.ts";
import { Checker } from "./checker/mod.ts";
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
  throw new Error(
    `config ${r.kind} error:\n` + r.issues.map((i) => "  " + formatIssue(i, path)).join("\n"),
  );
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
    onProbe: (backend, hc, result) => late.metrics?.observeProbe(backend, hc, result),
    onLocalError: (backend, hc, result) => late.metrics?.observeLocalError(backend, hc, result),
    onTransition: (backend, t) => late.metrics?.onTransition(backend, t),
  });
  const vpp = new VppManager({
    apiAddr: settings.vppApiAddr,
    checker,
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

  let reloading: Promise<ReloadResult> | undefined;
  const reload = (): Promise<ReloadResult> => {
    // Reloads are serialized: a second SIGHUP during a reload waits for it.
    const run = (reloading ?? Promise.resolve()).then(async (): Promise<ReloadResult> => {
      const r = await loadConfigFile(settings.config, { vppEnabled });
      if (!r.ok) {
        const error = r.issues.map((i) => formatIssue(i, settings.config)).join("\n");
        log.error(
          r.kind === "parse" ? "config-reload-parse-error" : "config-reload-semantic-error",
          {
            file: settings.config,
            err: error,
          },
        );
        return { ok: false, kind: r.kind, error };
      }
      for (const w of r.config.warnings) log.warn("config-warning", { warning: w });
      checker.applyConfig(r.config);
      log.info("config-reload", {
        file: settings.config,
        frontends: Object.keys(r.config.frontends).length,
        backends: Object.keys(r.config.backends).length,
      });
      await vpp.configApplied();
      return { ok: true, config: r.config };
    });
    reloading = run.catch(() => ({ ok: false, kind: "parse", error: "reload failed" }));
    return run;
  };

  const checkConfig = async () => {
    const r = await loadConfigFile(settings.config, { vppEnabled });
    if (r.ok) return { ok: true };
    return {
      ok: false,
      kind: r.kind,
      error: r.issues.map((i) => formatIssue(i, settings.config)).join("\n"),
    };
  };

  checker.start();
  vpp.start();
  // `--grpc-addr ""` without `--grpc-socket` runs the daemon with no API at all.
  const grpcListen = {
    tcp: settings.grpcAddr || undefined,
    unix: settings.grpcSocket || undefined,
  };
  let grpc: { readonly addresses: readonly string[]; shutdown(): Promise<void> };
  if (grpcListen.tcp === undefined && grpcListen.unix === undefined) {
    log.warn("grpc-disabled", { reason: "--grpc-addr is empty and no --grpc-socket" });
    grpc = { addresses: [], shutdown: () => Promise.resolve() };
  } else {
    grpc = await startGrpcServer({
      checker,
      vpp,
      checkConfig,
      reload,
      listen: grpcListen,
      allowRemoteAdmin: settings.grpcAllowRemoteAdmin,
      reflection: settings.reflection,
      observer: grpcMetricsObserver(metrics),
    });
  }
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
