/**
 * The reconciler tests' harness: the VPP manager against the VPP test double
 * over a real socket, with a checker on a fake clock and a fake prober.
 * @module
 */
import { FakeClock } from "../clock.ts";
import type { Config, HealthCheck } from "../config/types.ts";
import { Checker } from "../checker/mod.ts";
import { FakeProber, makeConfig } from "../checker/checker_test_util.ts";
import { startVppSim, type VppSim } from "../../lab/vppsim/server.ts";
import { type CallName, type RequestTypes, VppClient } from "../../vpp/mod.ts";
import { VppManager, type VppSession } from "./mod.ts";
import { configureLog } from "../log/mod.ts";
import { waitFor } from "../../tests/helpers/mod.ts";
import type { SyncStats } from "./types.ts";
import { strict as assert } from "node:assert";

configureLog({ level: "error", format: "json", write: () => {} });

/** One write the manager sent. */
export interface Write {
  name: string;
  fields: Record<string, unknown>;
}

/** The messages that change VPP. */
export const WRITES = new Set([
  "lb_add_del_vip_v2",
  "lb_add_del_as_v2",
  "lb_as_set_weight",
  "lb_conf",
]);

/** Wraps a client so the test sees every request the manager sends. */
export function recording(
  client: VppClient,
  writes: Write[],
  { cli = { n: 0 } }: { readonly cli?: { n: number } } = {},
): VppSession {
  const record = (name: CallName, fields: object) => {
    const f: Record<string, unknown> = { ...fields };
    if (WRITES.has(name)) writes.push({ name, fields: f });
    if (name === "cli_inband" && f.cmd === "show lb vips verbose") cli.n++;
  };
  return {
    request<N extends CallName>(name: N, fields: RequestTypes[N]) {
      record(name, fields);
      return client.request(name, fields);
    },
    // The daemon's sync path (a pipelined batch), recorded the same way, so
    // the tests run what the daemon runs rather than its single-request fallback.
    requestEach: (items, send, options) =>
      client.requestEach(items, (q, item) =>
        send({
          request(name, fields) {
            record(name, fields);
            q.request(name, fields);
          },
        }, item), options),
    dump: (name, fields) => client.dump(name, fields),
    close: () => client.close(),
    closed: client.closed,
  };
}

/** `config` with VPP source addresses and `lb` overrides. */
export function withVpp(config: Config, lb: Partial<Config["vpp"]["lb"]> = {}): Config {
  return {
    ...config,
    vpp: {
      lb: {
        ...config.vpp.lb,
        ipv4SrcAddress: "192.0.2.254",
        ipv6SrcAddress: "2001:db8::254",
        ...lb,
      },
    },
  };
}

/** Two frontends: web (primary a+b, fallback c) and static failover. */
export function labConfig(
  lb: Partial<Config["vpp"]["lb"]> = {},
  over: Partial<Omit<Config["frontends"][string], "pools">> = {},
  hc: Partial<HealthCheck> = {},
) {
  return withVpp(
    makeConfig({
      healthchecks: { hc },
      backends: {
        a: "10.0.0.10",
        b: "10.0.0.2",
        c: "10.0.0.3",
        sp: { address: "10.0.1.1", healthcheck: "" },
        sf: { address: "10.0.1.2", healthcheck: "" },
      },
      frontends: {
        web: {
          address: "192.0.2.1",
          pools: [["primary", { a: 100, b: 50 }], ["fallback", { c: 100 }]],
          ...over,
        },
        failover: {
          address: "192.0.2.2",
          pools: [["primary", { sp: 100 }], ["fallback", { sf: 100 }]],
        },
      },
    }),
    lb,
  );
}

/** Probes that may hang for ten minutes before timing out. */
export const SLOW_HC: Partial<HealthCheck> = { timeoutMs: 600_000 };

/**
 * Waits for real socket I/O to reach a state; fails after `timeoutMs`
 * (default 20 s: only a failure waits that long, and the double shares a
 * loaded machine's two cores with the test and with CI's real VPP).
 */
export async function until(
  what: string,
  cond: () => boolean,
  { timeoutMs = 20_000 } = {},
): Promise<void> {
  await waitFor(what, cond, { timeoutMs, stepMs: 5 });
}

/** A manager and a checker on a fake clock, wired to a VPP API socket. */
export interface Wired {
  clock: FakeClock;
  prober: FakeProber;
  checker: Checker;
  manager: VppManager;
  writes: Write[];
  /** `show lb vips verbose` requests sent. */
  cli: { n: number };
  syncs: { scope: string; stats: SyncStats }[];
  /** Triggers of every timed transition-to-reply, in order. */
  latencies: string[];
  stop(): Promise<void>;
}

/** How `wire` builds its parts. */
export interface WireOptions {
  prepare?: (p: FakeProber) => void;
  /** Wraps the n-th session the manager opens (1 = the first) after recording. */
  wrap?: (session: VppSession, n: number) => VppSession;
}

/** A manager (a daemon's reconciler) and its checker on a fake prober, talking to `socket`. */
export function wire(config: Config, socket: string, options: WireOptions = {}): Wired {
  const clock = new FakeClock();
  const prober = new FakeProber();
  options.prepare?.(prober);
  const checker = new Checker(config, { probe: prober.probe, clock, random: () => 0.5 });
  const writes: Write[] = [];
  const cli = { n: 0 };
  const syncs: { scope: string; stats: SyncStats }[] = [];
  const latencies: string[] = [];
  let opened = 0;
  const manager = new VppManager({
    apiAddr: socket,
    checker,
    clock,
    startMs: clock.monotonic(),
    connect: async (path) => {
      const session = recording(await VppClient.connect(path), writes, { cli });
      return options.wrap ? options.wrap(session, ++opened) : session;
    },
    observers: {
      sync: (scope, stats) => syncs.push({ scope, stats }),
      latency: (trigger) => latencies.push(trigger),
    },
  });
  return {
    clock,
    prober,
    checker,
    manager,
    writes,
    cli,
    syncs,
    latencies,
    stop: async () => {
      await manager.stop();
      await checker.stop();
    },
  };
}

/** Asserts that a sync of a settled manager changes nothing and sends no write. */
export async function assertSteadySync(w: Pick<Wired, "manager" | "writes">): Promise<void> {
  const before = w.writes.length;
  const stats = await w.manager.sync();
  assert.deepEqual(stats, {
    vipAdded: 0,
    vipRemoved: 0,
    asAdded: 0,
    asRemoved: 0,
    asWeightUpdated: 0,
  });
  assert.equal(w.writes.length, before, "steady state sends no write");
}

/**
 * Turns on src-ip-sticky, then also changes the flow-table length, of the
 * lab config's `web` and asserts that each change recreates its VIP;
 * `settled` checks what VPP holds after each.
 */
export async function assertRecreates(
  w: Wired,
  settled: () => Promise<void> | void,
): Promise<void> {
  for (const over of [{ srcIpSticky: true }, { flowTableLength: 4096 }]) {
    w.writes.length = 0;
    w.checker.applyConfig(labConfig({}, { srcIpSticky: true, ...over }));
    await w.manager.sync();
    const names = w.writes.map((x) => `${x.name}${x.fields.is_del ? " del" : ""}`);
    assert.ok(names.includes("lb_add_del_vip_v2 del"), `recreated for ${JSON.stringify(over)}`);
    await settled();
  }
}

/** A wired manager and checker with the double they talk to. */
export interface Harness extends Wired {
  sim: VppSim;
  socket: string;
  dir: string;
}

/** Builds a harness (a fresh double unless `sim` is given). */
export async function harness(
  config: Config,
  options: WireOptions & { sim?: VppSim; dir?: string } = {},
): Promise<Harness> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "maglev-rec-" });
  const socket = `${dir}/api.sock`;
  const sim = options.sim ?? await startVppSim({ socketPath: socket, pluginIdBase: 300 });
  return { ...wire(config, socket, options), sim, socket, dir };
}

/** Stops the harness and (unless `keepSim`) the double. */
export async function closeAll(h: Harness, keepSim = false): Promise<void> {
  await h.stop();
  if (!keepSim) {
    await h.sim.close();
    await Deno.remove(h.dir, { recursive: true });
  }
}

/** Live ASes of a VIP in the double: address → weight. */
export function asWeights(sim: VppSim, prefix: string): Record<string, number> {
  const rows = sim.model.apply("lb_as_v2_dump", {}) as Record<string, unknown>[];
  const vips = (sim.model.apply("lb_vip_dump", {}) as Record<string, unknown>[])
    .map((v) => (v.vip as { pfx: string }).pfx);
  const out: Record<string, number> = {};
  if (!vips.includes(prefix)) return out;
  for (const r of rows) {
    const vip = r.vip as { pfx: string };
    if (vip.pfx === prefix && (Number(r.flags) & 1) === 1) {
      out[String(r.app_srv)] = Number(r.weight);
    }
  }
  return out;
}

/** How many full (`all`) syncs the manager has reported. */
export function fullSyncs(w: Pick<Wired, "syncs">): number {
  return w.syncs.filter((s) => s.scope === "all").length;
}

/** Starts checker and manager, waits (real I/O, up to 10 s a step) for the first full sync, then for VPP to hold every state. */
export async function startAndSettle(w: Wired): Promise<void> {
  w.checker.start();
  w.manager.start();
  await until("connect", () => w.manager.connected());
  // Probes and warmup (disabled here) run on the fake clock.
  await w.clock.advance(3000);
  await until("initial sync", () => fullSyncs(w) > 0);
  // The first results' per-VIP syncs may still be on their way (a loaded
  // machine: the initial sync can run before the results): a full sync
  // through the same queue leaves VPP holding every state's weight.
  await w.manager.sync();
}

/**
 * Starts checker and manager of a restarted daemon and runs the fake clock
 * `ms` past start, beyond `startup-max-delay`: returns once the watchdog
 * opened the gate and the final full sync ran.
 */
export async function startPastWatchdog(w: Wired, ms: number): Promise<void> {
  w.checker.start();
  w.manager.start();
  await until("connect", () => w.manager.connected());
  await w.clock.advance(ms);
  await until("watchdog", () => w.manager.gate.done);
  await until("final sync", () => fullSyncs(w) > 0);
}

/** The writes that take one of `addresses` out of service: weight 0 or a delete. */
export function zeroWritesFor(writes: readonly Write[], addresses: readonly string[]): Write[] {
  return writes.filter((w) =>
    (w.name === "lb_as_set_weight" || w.name === "lb_add_del_as_v2") &&
    (w.fields.weight === 0 || w.fields.is_del) &&
    addresses.includes(String(w.fields.as_address))
  );
}

/** The weights VPP held for `frontend`'s backends that are still adopted: backend -> weight. */
export function heldBy(h: Pick<Wired, "manager">, frontend: string): Record<string, number> {
  const held = h.manager.adoptedWeights(frontend) ?? new Map();
  return Object.fromEntries([...held].map(([name, a]) => [name, a.weight]));
}

/**
 * A daemon restarted on the double a first daemon programmed with the lab
 * config (`first` runs on that daemon before it stops), with a and b deaf
 * for ten minutes: VPP's weights for them are adopted, c answers as the
 * standby. Returns once its first full sync ran.
 */
export async function restartedOnDeafPrimary(
  first: (h: Harness) => Promise<void> = async () => {},
): Promise<Harness> {
  const old = await harness(labConfig());
  await startAndSettle(old);
  await first(old);
  await old.stop();
  const h = await harness(labConfig({}, {}, SLOW_HC), {
    sim: old.sim,
    dir: old.dir,
    prepare: (p) => {
      p.behaviour.set("a", "deaf");
      p.behaviour.set("b", "deaf");
    },
  });
  await startAndSettle(h);
  return h;
}

/**
 * Drops the manager's connection (with `restart`, restarts the double: an
 * empty VPP), runs `meanwhile` while the manager is disconnected, then runs
 * the fake clock to the reconnect and waits for its full sync.
 */
export async function reconnected(
  h: Harness,
  options: { restart?: boolean; meanwhile?: () => void } = {},
): Promise<void> {
  const before = fullSyncs(h);
  if (options.restart) h.sim.restart();
  else h.sim.dropConnections();
  await until("disconnect noticed", () => !h.manager.connected());
  options.meanwhile?.();
  await h.clock.advance(5000);
  await until("reconnect", () => h.manager.connected());
  await until("the reconnect's full sync", () => fullSyncs(h) > before);
}

/** Runs the fake clock past `n` more periodic full syncs (30 s apart) and waits for them. */
export async function periodicSyncs(w: Wired, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const before = fullSyncs(w);
    await w.clock.advance(30_000);
    await until("periodic sync", () => fullSyncs(w) > before);
  }
}

/** The `lb` settings of a 5 s warmup, bounded at 30 s. */
export const WARMUP_5S = { startupMinDelayMs: 5000, startupMaxDelayMs: 30_000 };

/**
 * Starts checker and manager of a daemon with `WARMUP_5S`, runs `during` 1 s
 * in, and returns once `web` was released, the warmup is over and a periodic
 * full sync ran after it (so the release's own sync has been written).
 */
export async function throughWarmup(w: Wired, during: () => void = () => {}): Promise<void> {
  w.checker.start();
  w.manager.start();
  await until("connect", () => w.manager.connected());
  await w.clock.advance(1000);
  during();
  await w.clock.advance(5000);
  await until("web released", () => w.manager.gate.isOpen("web"));
  await w.clock.advance(30_000);
  await until("warmup done", () => w.manager.gate.done);
  await periodicSyncs(w, 1);
}

/** Asserts that the next two periodic full syncs send no write at all. */
export async function assertQuietSyncs(w: Wired): Promise<void> {
  const n = w.writes.length;
  await periodicSyncs(w, 2);
  assert.deepEqual(w.writes.slice(n), []);
}
