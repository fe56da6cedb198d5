/**
 * What the end-to-end tests share: the root lab (`lab/netns/`) with the VPP
 * under test (the double in-process, or a fresh real VPP with
 * `MAGLEV_TEST_VPP=real`) and one daemon, and the operator's view of them;
 * the daemon and CLI subprocesses, the metrics scraper and the `waitFor`
 * poller come from `../helpers/mod.ts`. The tests drive maglev only the way an
 * operator does: command lines, signals, `/metrics`, nginx access logs, and
 * what VPP ends up holding, read through its API.
 * @module
 */
import { type Lab, labSkipReason, setupLab } from "../../lab/netns/mod.ts";
import { startVppSim, type VppSim, type VppSimEvent } from "../../lab/vppsim/server.ts";
import { DaemonProcess, lbViewOf, type SimView, waitFor } from "../helpers/mod.ts";
import {
  startVppUnderTest,
  VPP_KIND,
  type VppKind,
  vppSkipReason,
} from "../helpers/vpp_under_test.ts";
import { VppClient } from "../../vpp/mod.ts";

export { metricValue, transitionsInto, waitFor } from "../helpers/mod.ts";

/** Why the e2e suite cannot run here (not root, no nginx, no real VPP when asked for, ...). */
export const SKIP_REASON: string | undefined = labSkipReason() ?? vppSkipReason();

/** Prints why the suite is skipped, once per file. */
export function announceSkip(file: string): void {
  if (SKIP_REASON !== undefined) console.log(`${file}: e2e tests skipped: ${SKIP_REASON}`);
}

/** Something the double did, with the time (ms since the epoch) it did it. */
export interface TimedSimEvent extends VppSimEvent {
  /** `Date.now()` when it happened. */
  readonly at: number;
}

/** The lb requests that change VPP's state (everything but dumps, `lb_conf` and reads). */
export const LB_MUTATIONS: readonly string[] = [
  "lb_add_del_vip",
  "lb_add_del_vip_v2",
  "lb_add_del_as",
  "lb_add_del_as_v2",
  "lb_as_set_weight",
  "lb_flush_vip",
];

/**
 * The VPP of a world, read and driven through its API socket whichever kind
 * it is. The in-process double also records every request it served.
 */
export interface WorldVpp {
  /** The double or a real VPP. */
  readonly kind: VppKind;
  /** Its API socket. */
  readonly socket: string;
  /** Every request, connection and restart the double saw; undefined on a real VPP. */
  readonly events: TimedSimEvent[] | undefined;
  /** What its lb plugin holds now (see `lbViewOf`). */
  view(): Promise<SimView>;
  /** Its `lb_conf_get` reply. */
  lbConf(): Promise<Record<string, unknown>>;
  /** A VPP restart: a new, empty VPP on the same socket (the double's restart control). */
  restart(): Promise<void>;
  /** Stops it. */
  close(): Promise<void>;
}

/** A reading session that reconnects once when the VPP it read from went away. */
function apiReader(socket: string) {
  let client: Promise<VppClient> | undefined;
  const session = () => client ??= VppClient.connect(socket);
  async function read<T>(fn: (c: VppClient) => Promise<T>): Promise<T> {
    try {
      return await fn(await session());
    } catch (e) {
      (await client?.catch(() => undefined))?.close();
      client = undefined;
      if (e instanceof Deno.errors.NotFound) throw e;
      return await fn(await session());
    }
  }
  return {
    read,
    async close() {
      await (await client?.catch(() => undefined))?.close();
    },
  };
}

/** Starts the VPP of a world: `kind` (default `VPP_KIND`) with its socket in `dir`. */
async function startWorldVpp(dir: string, kind: VppKind = VPP_KIND): Promise<WorldVpp> {
  let sim: VppSim | undefined;
  let real: Awaited<ReturnType<typeof startVppUnderTest>> | undefined;
  let events: TimedSimEvent[] | undefined;
  if (kind === "double") {
    events = [];
    const into = events;
    sim = await startVppSim({
      socketPath: `${dir}/vpp-api.sock`,
      onEvent: (ev) => into.push({ ...ev, at: Date.now() }),
    });
  } else {
    real = await startVppUnderTest({ kind, prefix: "maglev-e2e-vpp-" });
  }
  const socket = sim?.socketPath ?? real!.socket;
  const reader = apiReader(socket);
  return {
    kind,
    socket,
    events,
    view: () =>
      reader.read(async (c) => {
        const [vips, ases] = await Promise.all([
          c.dump("lb_vip_dump", {}),
          c.dump("lb_as_v2_dump", {}),
        ]);
        return lbViewOf(
          vips as unknown as Record<string, unknown>[],
          ases as unknown as Record<string, unknown>[],
        );
      }),
    lbConf: () =>
      reader.read(async (c) =>
        (await c.request("lb_conf_get", {})) as unknown as Record<string, unknown>
      ),
    async restart() {
      if (sim) sim.restart();
      else await real!.restart();
    },
    async close() {
      await reader.close();
      await sim?.close();
      await real?.stop();
    },
  };
}

/** What the world's VPP holds: `<vip> <address>` -> weight (see `lbViewOf`). */
export function vppView(w: { vpp: WorldVpp }): Promise<SimView> {
  return w.vpp.view();
}

/** An application server of a VIP: the VIP's prefix and the server's address. */
export interface VipAs {
  readonly vip: string;
  readonly address: string;
}

/** The weight VPP holds for `address` in `vip`, or undefined when absent. */
export async function vppWeight(
  w: { vpp: WorldVpp },
  { vip, address }: VipAs,
): Promise<number | undefined> {
  return (await w.vpp.view()).ases.get(`${vip} ${address}`)?.weight;
}

/** True when VPP holds exactly `want` (`<vip> <address>` -> weight), nothing more. */
export async function vppHolds(
  w: { vpp: WorldVpp },
  want: Readonly<Record<string, number>>,
): Promise<boolean> {
  const have = (await w.vpp.view()).ases;
  if (have.size !== Object.keys(want).length) return false;
  return Object.entries(want).every(([k, weight]) => have.get(k)?.weight === weight);
}

/** The view as text, for failure messages. */
export async function describeVpp(w: { vpp: WorldVpp }): Promise<string> {
  const v = await w.vpp.view();
  return `${w.vpp.kind} VPP vips: ${v.vips.join(", ") || "(none)"}\n` +
    [...v.ases.values()].map((a) => `  ${a.vip} ${a.address} weight ${a.weight}`).join("\n");
}

/** The weights the lab config expects in VPP once every backend is up. */
export const STEADY_WEIGHTS: Readonly<Record<string, number>> = {
  "192.0.2.1/32 172.20.30.11": 100,
  "192.0.2.1/32 172.20.30.12": 100,
  "192.0.2.1/32 172.20.30.13": 0,
  "192.0.2.2/32 172.20.30.21": 100,
  "192.0.2.2/32 172.20.30.22": 0,
};

/** A lab, the double and one daemon: what each e2e file starts once and shares across steps. */
export interface World {
  /** The root lab. */
  readonly lab: Lab;
  /** The VPP under test. */
  readonly vpp: WorldVpp;
  /** The config file the daemon reads. */
  readonly configPath: string;
  /** The running daemon (replaced by `restartDaemon`). */
  daemon: DaemonProcess;
  /** Starts a new daemon on the same config and socket (after the old one stopped). */
  startDaemon(): DaemonProcess;
  /** Stops the daemon (if running), the double and the lab. */
  close(): Promise<void>;
}

/** Starts the lab, the double and the daemon; waits until every backend is up in VPP. */
export async function startWorld(name: string): Promise<World> {
  // MAGLEV_E2E_KEEP=1 keeps the lab directory (nginx logs, maglevd log) for a post-mortem.
  const keepDir = Deno.env.get("MAGLEV_E2E_KEEP") === "1";
  const lab = await setupLab({ keepDir });
  if (keepDir) console.log(`${name}: lab directory ${lab.dir} is kept`);
  let vpp: WorldVpp | undefined;
  try {
    vpp = await startWorldVpp(lab.dir);
    const vppSocket = vpp.socket;
    const configPath = `${lab.dir}/maglev.yaml`;
    await lab.writeConfig(configPath);
    const logFile = `${lab.dir}/${name}.maglevd.log`;
    const v = vpp;
    let running: DaemonProcess | undefined;
    const world: World = {
      lab,
      vpp: v,
      configPath,
      daemon: undefined as unknown as DaemonProcess,
      startDaemon() {
        running = DaemonProcess.spawn(configPath, { vppSocket, logFile });
        world.daemon = running;
        return running;
      },
      async close() {
        let err: unknown;
        if (running) {
          try {
            running.child.kill("SIGKILL");
          } catch { /* already gone */ }
          await running.exited.catch((e) => err = e);
        }
        await v.close().catch((e) => err ??= e);
        await lab.teardown().catch((e) => err ??= e);
        if (err) throw err;
      },
    };
    world.startDaemon();
    return world;
  } catch (e) {
    await vpp?.close().catch(() => {});
    await lab.teardown().catch(() => {});
    throw e;
  }
}

/** What {@linkcode waitForState} waits for, and how long. */
export interface WaitForStateOptions {
  readonly backend: string;
  readonly state: string;
  readonly timeoutMs?: number;
}

/** Waits until `show backends <name>` reports `state <state>`; returns the output. */
export async function waitForState(
  daemon: DaemonProcess,
  { backend, state, timeoutMs = 10_000 }: WaitForStateOptions,
): Promise<string> {
  let last = "";
  await waitFor(`backend ${backend} state ${state}`, async () => {
    const r = await daemon.cli("show", "backends", backend);
    last = r.stdout + r.stderr;
    return r.code === 0 && new RegExp(`^state\\s+${state}\\b`, "m").test(r.stdout);
  }, { timeoutMs, describe: () => last });
  return last;
}

/** The transitions of `show backends <name>` output, newest first, as `from -> to code`. */
export function transitionsOf(showBackend: string): string[] {
  const lines = showBackend.split("\n");
  const start = lines.findIndex((l) => /^transitions\b/.test(l));
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^\s+(\w+) -> (\w+)\s+(\S+)/.exec(l);
    if (!m) break;
    out.push(`${m[1]} -> ${m[2]} ${m[3]}`);
  }
  return out;
}

/** What {@linkcode waitForEffective} waits for (backend -> effective weight), and how long. */
export interface WaitForEffectiveOptions {
  readonly frontend: string;
  readonly want: Readonly<Record<string, number>>;
  readonly timeoutMs?: number;
}

/** Polls `show frontends <frontend>` until `backend ... effective <n>` holds; returns the output. */
export async function waitForEffective(
  daemon: DaemonProcess,
  { frontend, want, timeoutMs = 10_000 }: WaitForEffectiveOptions,
): Promise<string> {
  let last = "";
  await waitFor(`frontend ${frontend} effective weights ${JSON.stringify(want)}`, async () => {
    const r = await daemon.cli("show", "frontends", frontend);
    last = r.stdout + r.stderr;
    return r.code === 0 &&
      Object.entries(want).every(([b, n]) =>
        new RegExp(`^\\s*${b}\\s+weight\\s+\\d+\\s+effective\\s+${n}\\b`, "m").test(r.stdout)
      );
  }, { timeoutMs, describe: () => last });
  return last;
}

/** The weight {@linkcode waitForVppWeight} waits for, and how long. */
export interface WaitForVppWeightOptions extends VipAs {
  readonly weight: number;
  readonly timeoutMs?: number;
}

/** Polls until VPP holds weight `weight` for `address` in `vip`. */
export async function waitForVppWeight(
  w: { vpp: WorldVpp },
  options: WaitForVppWeightOptions,
): Promise<void> {
  const { vip, address, weight, timeoutMs = 10_000 } = options;
  await waitFor(
    `VPP weight ${weight} for ${address} in ${vip}`,
    async () => await vppWeight(w, options) === weight,
    { timeoutMs, describe: () => describeVpp(w) },
  );
}
