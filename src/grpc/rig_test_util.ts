/**
 * The gRPC server over real parts: the config file loaded by the daemon's
 * `ConfigState`, the real `Checker` (fake prober, fake clock) and the real
 * `VppManager` against the VPP test double over a socket. Nothing here
 * re-implements a product rule, so the server cannot be shown a state the
 * daemon never reaches.
 * @module
 */
import { Checker } from "../checker/mod.ts";
import { FakeProber } from "../checker/checker_test_util.ts";
import { FakeClock, realClock } from "../clock.ts";
import { ConfigState } from "../daemon/config_state.ts";
import { warmupPhase } from "../daemon/readiness.ts";
import { configureLog } from "../log/mod.ts";
export { until } from "../reconciler/harness_test_util.ts";
import { VppManager } from "../reconciler/mod.ts";
import { startVppSim, type VppSim } from "../../lab/vppsim/server.ts";
import { createClient, type MaglevClient } from "./client.ts";
import type { DaemonFacts } from "./status.ts";
import { type GrpcServerHandle, type GrpcServerOptions, startGrpcServer } from "./server.ts";

configureLog({ level: "error", format: "json", write: () => {} });

/** What differs between the worlds built on {@linkcode sharedFrontendsYaml}. */
export interface SharedFrontendsParts {
  /** `web`'s description. */
  readonly description: string;
  /** The backends of `web`'s pool `fallback`, as a YAML flow map body. */
  readonly fallback: string;
  /** The backends of `dns`'s pool `main`, as a YAML flow map body. */
  readonly dns: string;
}

/**
 * The `frontends:` block the gRPC transport tests and the CLI tests share:
 * `web` at 192.0.2.1:80/tcp with pool `primary` (nginx1 at 100, nginx2 at
 * 50) and pool `fallback`, and `dns` at 192.0.2.53:53/udp with pool `main`.
 */
export function sharedFrontendsYaml(parts: SharedFrontendsParts): string {
  return `  frontends:
    web:
      description: ${parts.description}
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: { nginx1: { weight: 100 }, nginx2: { weight: 50 } }
        - name: fallback
          backends: { ${parts.fallback} }
    dns:
      address: 192.0.2.53
      protocol: udp
      port: 53
      pools:
        - { name: main, backends: { ${parts.dns} } }
`;
}

/** A config with two frontends (one all-port), static and probed backends. */
export const RIG_YAML = `maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.254, ipv6-src-address: "2001:db8::254" }
  healthchecks:
    web: { type: http, port: 8080, interval: 2s }
  backends:
    s1: { address: 10.0.0.1 }
    s2: { address: 10.0.0.2 }
    s3: { address: 10.0.0.3 }
    h1: { address: 10.0.1.1, healthcheck: web }
  frontends:
    www:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: { s1: {}, s2: { weight: 50 } }
        - name: backup
          backends: { s3: {} }
    probed:
      address: 192.0.2.2
      protocol: tcp
      port: 443
      pools:
        - name: primary
          backends: { h1: {} }
`;

/** What a test drives. */
export interface Rig {
  readonly client: MaglevClient;
  readonly server: GrpcServerHandle;
  readonly checker: Checker;
  /** Answers the checker's probes (PASS unless told otherwise per backend). */
  readonly prober: FakeProber;
  readonly manager: VppManager;
  readonly sim: VppSim | undefined;
  readonly state: ConfigState;
  readonly configPath: string;
  readonly clock: FakeClock;
  readonly dir: string;
  close(): Promise<void>;
}

/** How the rig's VPP looks. */
export type RigVpp =
  /** The double, complete. */
  | "double"
  /** Configured, but nothing listens on its socket. */
  | "absent"
  /** VPP integration off (`--vpp-api-addr ""`). */
  | "disabled"
  /** The double without these messages (an older VPP). */
  | { omit: string[] };

/** The build a daemon reports (`show version`). */
export interface RigBuild {
  readonly version: string;
  readonly commit: string;
  readonly buildDate: string;
}

/** Options of {@linkcode startRig}. */
export interface RigOptions {
  /** Default the complete double. */
  vpp?: RigVpp;
  server?: Partial<GrpcServerOptions>;
  /** Where the fake clock starts (default `FakeClock`'s). */
  clockStartMs?: number;
  /** The checker's jitter source (default 0.5: exact schedules). */
  random?: () => number;
  /** Default version 1.2.3, commit abc1234, built 2026-12-01. */
  build?: RigBuild;
}

const RIG_BUILD: RigBuild = { version: "1.2.3", commit: "abc1234", buildDate: "2026-12-01" };

/** Starts the rig on `yaml`. */
export async function startRig(yaml: string = RIG_YAML, options: RigOptions = {}): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-grpc-rig-" });
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, yaml);
  const vppMode = options.vpp ?? "double";
  const apiAddr = vppMode === "disabled" ? "" : `${dir}/api.sock`;
  const sim = vppMode === "double" || typeof vppMode === "object"
    ? await startVppSim({
      socketPath: apiAddr,
      pluginIdBase: 400,
      omitMessages: typeof vppMode === "object" ? vppMode.omit : undefined,
    })
    : undefined;
  const clock = new FakeClock(options.clockStartMs);
  const state = new ConfigState(configPath, { vppEnabled: apiAddr !== "", clock: realClock });
  const config = await state.initial();
  const prober = new FakeProber();
  const random = options.random ?? (() => 0.5);
  const checker = new Checker(config, { probe: prober.probe, clock, random });
  const manager = new VppManager({ apiAddr, checker, clock, startMs: clock.monotonic() });
  const facts: DaemonFacts = {
    ...(options.build ?? RIG_BUILD),
    startedAtMs: realClock.now(),
    configPath,
    vppApiAddr: apiAddr,
    configHash: () => state.hash(),
    lastReload: () => state.lastReload(),
    warmup: () => warmupPhase(manager, manager.gate),
  };
  checker.start();
  manager.start();
  const server = await startGrpcServer({
    checker,
    vpp: manager,
    checkConfig: () => state.check(),
    reload: state.reloader(checker, {
      applied: () => manager.configApplied(),
      heldTableLength: (fe) => manager.heldTableLength(fe),
    }),
    diffConfig: (source) =>
      state.diff(checker, source, { heldTableLength: (fe) => manager.heldTableLength(fe) }),
    facts,
    listen: { tcp: "127.0.0.1:0" },
    ...options.server,
  });
  // The unix socket when there is one; a wildcard TCP listener through loopback.
  const address = server.addresses.find((a) => a.startsWith("unix:")) ??
    server.addresses[0].replace(/^0\.0\.0\.0:/, "127.0.0.1:");
  const client = createClient(address);
  return {
    client,
    server,
    checker,
    prober,
    manager,
    sim,
    state,
    configPath,
    clock,
    dir,
    async close() {
      client.close();
      await server.shutdown();
      await manager.stop();
      await checker.stop();
      await sim?.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
