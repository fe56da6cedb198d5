/**
 * What the end-to-end tests share: the root lab (`lab/netns/`), the VPP test
 * double in-process, the real daemon and CLI as subprocesses, a metrics
 * scraper and a `waitFor` poller. The tests drive maglev only the way an
 * operator does: command lines, signals, `/metrics`, nginx access logs, and
 * what VPP (the double) ends up holding.
 * @module
 */
import { strict as assert } from "node:assert";
import { type Lab, labSkipReason, setupLab } from "../../lab/netns/mod.ts";
import { startVppSim, type VppSim, type VppSimEvent } from "../../lab/vppsim/server.ts";

/** Repository root (where `main.ts` lives). */
export const ROOT: string = new URL("../..", import.meta.url).pathname;

/** Why the e2e suite cannot run here (not root, no nginx, ...), or undefined. */
export const SKIP_REASON: string | undefined = labSkipReason();

/** Prints why the suite is skipped, once per file. */
export function announceSkip(file: string): void {
  if (SKIP_REASON !== undefined) console.log(`${file}: e2e tests skipped: ${SKIP_REASON}`);
}

/** A JSON log record of the daemon. */
export type LogRecord = Record<string, unknown> & { msg: string; level: string };

/**
 * Polls `cond` every 50 ms until it returns true (or a truthy value, which
 * is returned), failing after `timeoutMs` with `what` and the last value
 * `describe` gave, so a failure says what was seen instead of just "timeout".
 */
export async function waitFor<T>(
  what: string,
  cond: () => T | Promise<T>,
  options: { timeoutMs?: number; describe?: () => unknown | Promise<unknown> } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  while (true) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  let seen = "";
  if (options.describe) {
    try {
      seen = `\nlast seen:\n${String(await options.describe())}`;
    } catch (e) {
      seen = `\n(describe failed: ${(e as Error).message})`;
    }
  }
  const err = lastError ? `\nlast error: ${(lastError as Error).message ?? lastError}` : "";
  throw new Error(
    `timed out after ${options.timeoutMs ?? 10_000} ms waiting for ${what}${err}${seen}`,
  );
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Output of one CLI run. */
export interface CliResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/** One `maglevd` daemon run as a subprocess, its JSON log collected. */
export class DaemonProcess {
  /** The subprocess. */
  readonly child: Deno.ChildProcess;
  /** gRPC `host:port`. */
  readonly grpcAddr: string;
  /** Metrics `host:port`. */
  readonly metricsAddr: string;
  /** Every JSON log record so far. */
  readonly logs: LogRecord[] = [];
  /** Every raw output line (stdout and stderr) so far. */
  readonly lines: string[] = [];
  /** Resolves with the exit status once the process ended and its output is read. */
  readonly exited: Promise<Deno.CommandStatus>;

  /** Starts `main.ts` as a daemon with `config` and VPP socket `vppSocket`. */
  constructor(config: string, vppSocket: string, options: { logFile?: string } = {}) {
    this.grpcAddr = `127.0.0.1:${freePort()}`;
    this.metricsAddr = `127.0.0.1:${freePort()}`;
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}main.ts`,
        "--config",
        config,
        "--vpp-api-addr",
        vppSocket,
        "--grpc-addr",
        this.grpcAddr,
        "--metrics-addr",
        this.metricsAddr,
        "--log-format",
        "json",
        "--log-level",
        "info",
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const file = options.logFile
      ? Deno.openSync(options.logFile, { append: true, create: true })
      : undefined;
    const pump = async (stream: ReadableStream<Uint8Array>, tag: string) => {
      let buf = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.#line(buf.slice(0, nl), tag, file);
          buf = buf.slice(nl + 1);
        }
      }
      if (buf !== "") this.#line(buf, tag, file);
    };
    this.exited = Promise.all([
      pump(this.child.stdout, "out"),
      pump(this.child.stderr, "err"),
    ]).then(() => this.child.status).finally(() => file?.close());
  }

  #line(line: string, tag: string, file: Deno.FsFile | undefined): void {
    this.lines.push(line);
    file?.writeSync(new TextEncoder().encode(`${tag}: ${line}\n`));
    if (tag !== "out" || !line.startsWith("{")) return;
    try {
      this.logs.push(JSON.parse(line) as LogRecord);
    } catch { /* not a log record */ }
  }

  /** Log records named `msg` (optionally only those with the given attributes). */
  logsNamed(msg: string, attrs: Record<string, unknown> = {}, from = 0): LogRecord[] {
    return this.logs.slice(from).filter((r) =>
      r.msg === msg && Object.entries(attrs).every(([k, v]) => r[k] === v)
    );
  }

  /** Waits for a log record named `msg` with `attrs` after index `from`. */
  waitForLog(
    msg: string,
    attrs: Record<string, unknown> = {},
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<LogRecord> {
    return waitFor(
      `log record ${msg} ${JSON.stringify(attrs)}`,
      () => this.logsNamed(msg, attrs, options.from ?? 0)[0],
      { timeoutMs: options.timeoutMs, describe: () => this.tail() },
    );
  }

  /** The last `n` output lines, for failure messages. */
  tail(n = 25): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Runs the CLI against this daemon: `main.ts --server <grpc> --color=false <args>`. */
  async cli(...args: string[]): Promise<CliResult> {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}main.ts`, "--server", this.grpcAddr, "--color=false", ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** Runs the CLI, asserts exit code 0, returns stdout. */
  async cliOk(...args: string[]): Promise<string> {
    const r = await this.cli(...args);
    assert.equal(
      r.code,
      0,
      `\`maglevd ${args.join(" ")}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
    return r.stdout;
  }

  /** Scrapes `/metrics`. */
  async metrics(): Promise<string> {
    const res = await fetch(`http://${this.metricsAddr}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200, `GET /metrics: ${res.status} ${text}`);
    return text;
  }

  /** Sends `signal` to the daemon. */
  signal(signal: Deno.Signal): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then the exit code (SIGKILL after `timeoutMs`, and then it fails). */
  async stop(timeoutMs = 10_000): Promise<number> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    const status = await this.exited;
    clearTimeout(timer);
    if (killed) throw new Error(`maglevd ignored SIGTERM for ${timeoutMs} ms\n${this.tail()}`);
    return status.code;
  }
}

/** The value of the exposition line `series` (exact name and labels), or undefined. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1).split(" ")[0]);
  }
  return undefined;
}

/** One application server as VPP (the double) holds it. */
export interface VppAs {
  /** VIP prefix, e.g. `192.0.2.1/32`. */
  readonly vip: string;
  /** AS address. */
  readonly address: string;
  /** Weight. */
  readonly weight: number;
}

/** What VPP's lb plugin holds: live VIP prefixes and their live ASes. */
export interface VppView {
  /** VIP prefixes (`192.0.2.1/32`). */
  readonly vips: string[];
  /** ASes keyed `<vip> <address>`. */
  readonly ases: Map<string, VppAs>;
}

export type { VppSim };

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
 * Reads the double's lb state the way a client would (vip dump + unfiltered
 * as_v2 dump), dropping AS rows without the used flag and rows of VIPs the
 * VIP dump no longer lists (spec 0.4).
 */
export function vppView(sim: VppSim): VppView {
  const model = sim.model;
  const vipRows = model.apply("lb_vip_dump", {}) as Record<string, unknown>[];
  const vips = vipRows.map((r) => String((r.vip as Record<string, unknown>).pfx));
  const asRows = model.apply("lb_as_v2_dump", {}) as Record<string, unknown>[];
  const ases = new Map<string, VppAs>();
  for (const r of asRows) {
    const vip = String((r.vip as Record<string, unknown>).pfx);
    if (!vips.includes(vip) || ((r.flags as number) & 1) === 0) continue;
    const address = String(r.app_srv);
    ases.set(`${vip} ${address}`, { vip, address, weight: r.weight as number });
  }
  return { vips, ases };
}

/** The weight VPP holds for `address` in `vip`, or undefined when absent. */
export function vppWeight(sim: VppSim, vip: string, address: string): number | undefined {
  return vppView(sim).ases.get(`${vip} ${address}`)?.weight;
}

/** The view as text, for failure messages. */
export function describeVpp(sim: VppSim): string {
  const v = vppView(sim);
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

/** True when VPP holds exactly `want` (key `<vip> <address>` -> weight), nothing more. */
export function vppHolds(sim: VppSim, want: Readonly<Record<string, number>>): boolean {
  const v = vppView(sim);
  if (v.ases.size !== Object.keys(want).length) return false;
  return Object.entries(want).every(([k, w]) => v.ases.get(k)?.weight === w);
}

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
        running = new DaemonProcess(configPath, vppSocket, { logFile });
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
