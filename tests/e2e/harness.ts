/**
 * What the end-to-end tests share: the root lab (`lab/netns/`) with the VPP
 * test double in-process and one daemon, and the operator's view of them;
 * the daemon and CLI subprocesses, the metrics scraper and the `waitFor`
 * poller come from `../helpers/mod.ts`. The tests drive maglev only the way an
 * operator does: command lines, signals, `/metrics`, nginx access logs, and
 * what VPP (the double) ends up holding.
 * @module
 */
import { type Lab, labSkipReason, setupLab } from "../../lab/netns/mod.ts";
import { startVppSim, type VppSim, type VppSimEvent } from "../../lab/vppsim/server.ts";
import { DaemonProcess, simView, waitFor } from "../helpers/mod.ts";

export { metricValue, simHolds as vppHolds, simView as vppView, waitFor } from "../helpers/mod.ts";

/** Why the e2e suite cannot run here (not root, no nginx, ...), or undefined. */
export const SKIP_REASON: string | undefined = labSkipReason();

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

/** The weight VPP holds for `address` in `vip`, or undefined when absent. */
export function vppWeight(sim: VppSim, vip: string, address: string): number | undefined {
  return simView(sim).ases.get(`${vip} ${address}`)?.weight;
}

/** The view as text, for failure messages. */
export function describeVpp(sim: VppSim): string {
  const v = simView(sim);
  return `vips: ${v.vips.join(", ") || "(none)"}\n` +
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
  /** The VPP test double (in-process). */
  readonly sim: VppSim;
  /** Everything the double did (connections, requests by name, restarts). */
  readonly simEvents: TimedSimEvent[];
  /** Its API socket. */
  readonly vppSocket: string;
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
  let sim: VppSim | undefined;
  try {
    const vppSocket = `${lab.dir}/vpp-api.sock`;
    const simEvents: TimedSimEvent[] = [];
    sim = await startVppSim({
      socketPath: vppSocket,
      onEvent: (ev) => simEvents.push({ ...ev, at: Date.now() }),
    });
    const configPath = `${lab.dir}/maglev.yaml`;
    await lab.writeConfig(configPath);
    const logFile = `${lab.dir}/${name}.maglevd.log`;
    const s = sim;
    let running: DaemonProcess | undefined;
    const world: World = {
      lab,
      sim: s,
      simEvents,
      vppSocket,
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
        await s.close().catch((e) => err ??= e);
        await lab.teardown().catch((e) => err ??= e);
        if (err) throw err;
      },
    };
    world.startDaemon();
    return world;
  } catch (e) {
    await sim?.close().catch(() => {});
    await lab.teardown().catch(() => {});
    throw e;
  }
}

/** Waits until `show backends <name>` reports `state <state>`; returns the output. */
export async function waitForState(
  daemon: DaemonProcess,
  backend: string,
  state: string,
  timeoutMs = 10_000,
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

/** Polls `show frontends <frontend>` until `backend ... effective <n>` holds; returns the output. */
export async function waitForEffective(
  daemon: DaemonProcess,
  frontend: string,
  want: Readonly<Record<string, number>>,
  timeoutMs = 10_000,
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

/** Polls until VPP (the double) holds weight `weight` for `address` in `vip`. */
export async function waitForVppWeight(
  sim: VppSim,
  vip: string,
  address: string,
  weight: number,
  timeoutMs = 10_000,
): Promise<void> {
  await waitFor(
    `VPP weight ${weight} for ${address} in ${vip}`,
    () => vppWeight(sim, vip, address) === weight,
    { timeoutMs, describe: () => describeVpp(sim) },
  );
}
