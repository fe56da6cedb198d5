/**
 * A daemon for the client's tests: the gRPC rig (`../grpc/rig_test_util.ts`,
 * built from the real parts: config loading, the real `Checker` on a fake
 * prober and clock, the real `VppManager` with VPP disabled or against the
 * in-process double, the daemon's config state and the real gRPC server on
 * a loopback port) with the CLI world's config, the real build facts and a
 * clock a minute old. It holds no rule of its own: a state the product
 * never reaches cannot be set up here.
 * @module
 */
import type { FakeProber } from "../checker/checker_test_util.ts";
import type { Checker } from "../checker/mod.ts";
import type { FakeClock } from "../clock.ts";
import { type RigVpp, sharedFrontendsYaml, startRig } from "../grpc/rig_test_util.ts";
import { BUILD_DATE, COMMIT, VERSION } from "../version.ts";
import type { VppSim } from "../../lab/vppsim/server.ts";

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
  const vpp: RigVpp = options.vpp
    ? (options.omitMessages ? { omit: [...options.omitMessages] } : "double")
    : "disabled";
  // A clock a minute in the past, so "ago" columns read like a running daemon's.
  const rig = await startRig(options.yaml ?? WORLD_YAML, {
    vpp,
    clockStartMs: Date.now() - 60_000,
    random: () => 0,
    build: { version: VERSION, commit: COMMIT, buildDate: BUILD_DATE },
  });
  const settle = (ms = 10_000) => rig.clock.advance(ms);
  await settle();
  return {
    server: rig.server.addresses[0],
    clock: rig.clock,
    prober: rig.prober,
    checker: rig.checker,
    configPath: rig.configPath,
    sim: rig.sim,
    settle,
    close: () => rig.close(),
  };
}
