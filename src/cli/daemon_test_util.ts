/**
 * A daemon for the client's tests, built from the real parts: the config
 * loader on a YAML file, the real `Checker` (driven by a fake prober and a
 * fake clock, so states are the test's choice and not the network's), the
 * real `VppManager` (VPP disabled, or against the in-process VPP double),
 * the daemon's own config state (check, reload, diff) and the real gRPC
 * server on a loopback port. It holds no rule of its own: a
 * state the product never reaches cannot be set up here.
 * @module
 */
import { FakeProber } from "../checker/checker_test_util.ts";
import { Checker } from "../checker/mod.ts";
import { FakeClock, realClock } from "../clock.ts";
import { ConfigState } from "../daemon/config_state.ts";
import { type GrpcServerHandle, startGrpcServer } from "../grpc/server.ts";
import { sharedFrontendsYaml } from "../grpc/rig_test_util.ts";
import type { DaemonFacts } from "../grpc/status.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../version.ts";
import { VppManager } from "../reconciler/mod.ts";
import { startVppSim, type VppSim } from "../../lab/vppsim/server.ts";

/**
 * The default world: the shared `web` (pool `primary` with two HTTP-checked
 * backends, pool `fallback` with a static one) and `dns` sharing `nginx2`.
 */
export const WORLD_YAML = `maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      sync-interval: 1h
      startup-min-delay: 0s
      startup-max-delay: 0s
  healthchecks:
    http:
      type: http
      port: 80
      params: { path: /healthz }
      interval: 2s
      fast-interval: 1s
      down-interval: 5s
      timeout: 1s
      rise: 2
      fall: 3
    icmp:
      type: icmp
      interval: 1s
      rise: 1
      fall: 2
  backends:
    nginx1: { address: 10.0.0.1, healthcheck: http }
    nginx2: { address: 10.0.0.2, healthcheck: http }
    static3: { address: 10.0.0.3 }
${
  sharedFrontendsYaml({
    description: "public web",
    fallback: "static3: { weight: 10 }",
    dns: "nginx2: { weight: 7 }",
  })
}`;

/** Options of `startTestDaemon`. */
export interface TestDaemonOptions {
  /** The config file's content (default `WORLD_YAML`). */
  yaml?: string;
  /** Run the VPP double and connect the manager to it (default: VPP disabled). */
  vpp?: boolean;
  /** With `vpp`: messages the double leaves out, as an older VPP lacks them. */
  omitMessages?: readonly string[];
}

/** A running test daemon. */
export interface TestDaemon {
  /** `127.0.0.1:<port>` of its gRPC listener. */
  readonly server: string;
  /** The checker's clock: only `settle` and the test move it. */
  readonly clock: FakeClock;
  /** Answers every probe (PASS unless told otherwise per backend). */
  readonly prober: FakeProber;
  readonly checker: Checker;
  /** The config file `config check` and `config reload` read. */
  readonly configPath: string;
  /** The VPP double, when started with `vpp: true`. */
  readonly sim: VppSim | undefined;
  /** Lets the checker run `ms` of fake time (probes answer at once). */
  settle(ms?: number): Promise<void>;
  /** Stops everything and removes the temporary files. */
  close(): Promise<void>;
}

/** Starts a test daemon; its backends have settled (every probe passed) when this resolves. */
export async function startTestDaemon(options: TestDaemonOptions = {}): Promise<TestDaemon> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-cli-" });
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, options.yaml ?? WORLD_YAML);
  const vppSocket = options.vpp ? `${dir}/api.sock` : "";
  const sim = options.vpp
    ? await startVppSim({ socketPath: vppSocket, omitMessages: options.omitMessages })
    : undefined;
  const vppEnabled = vppSocket !== "";
  const clock = new FakeClock(Date.now() - 60_000);
  const prober = new FakeProber();
  const state = new ConfigState(configPath, { vppEnabled, clock: realClock });
  const checker = new Checker(await state.initial(), {
    probe: prober.probe,
    clock,
    random: () => 0,
  });
  const vpp = new VppManager({ apiAddr: vppSocket, checker });
  const facts: DaemonFacts = {
    version: VERSION,
    commit: COMMIT,
    buildDate: BUILD_DATE,
    startedAtMs: realClock.now(),
    configPath,
    vppApiAddr: vppSocket,
    configHash: () => state.hash(),
    lastReload: () => state.lastReload(),
    warmup: () => (vppEnabled ? vpp.gate.phase() : "done"),
  };
  checker.start();
  vpp.start();
  const grpc: GrpcServerHandle = await startGrpcServer({
    checker,
    vpp,
    checkConfig: () => state.check(),
    reload: state.reloader(checker, { applied: () => vpp.configApplied() }),
    diffConfig: (source) => state.diff(checker, source),
    facts,
    listen: { tcp: "127.0.0.1:0" },
  });
  const settle = (ms = 10_000) => clock.advance(ms);
  await settle();
  return {
    server: grpc.addresses[0],
    clock,
    prober,
    checker,
    configPath,
    sim,
    settle,
    async close() {
      await grpc.shutdown({ graceMs: 100 });
      await vpp.stop();
      await checker.stop();
      await sim?.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
