/**
 * What the daemon-level tests, the e2e harness and the gRPC benchmark share
 * (none of it needs root): a free port, a deadline poller, the real daemon
 * as a subprocess with its JSON log collected, the CLI as a subprocess, a
 * metrics scraper with `promtool`, a config writer for loopback backends,
 * the lab one daemon test runs in, and a reader of what the VPP test double
 * holds.
 * @module
 */
import { strict as assert } from "node:assert";
import { type LabBackends, startBackends } from "../../lab/backends.ts";
import { startVppSim, type VppSim, type VppSimEvent } from "../../lab/vppsim/server.ts";
import { errorMessage } from "../../src/errors.ts";

/** Repository root (where `main.ts` lives). */
export const ROOT: string = new URL("../..", import.meta.url).pathname;

/** A TCP port that was free a moment ago on `hostname`. */
export function freePort(hostname = "127.0.0.1"): number {
  return freePorts(1, { hostname })[0];
}

/**
 * `n` distinct free TCP ports: each listener stays open until all are
 * chosen, since a port closed at once may come back from the next pick (a
 * daemon was once given one port for both gRPC and metrics).
 */
export function freePorts(n: number, { hostname = "127.0.0.1" } = {}): number[] {
  const held = Array.from({ length: n }, () => Deno.listen({ hostname, port: 0 }));
  const ports = held.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of held) l.close();
  return ports;
}

/** Options of `waitFor`. */
export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll period (default 50 ms). */
  stepMs?: number;
  /** What was last seen, for the failure message. */
  describe?: () => unknown | Promise<unknown>;
}

/**
 * Polls `cond` until it returns a truthy value (which is returned); fails
 * after the deadline naming `what`, the last error and what `describe` saw,
 * so a failure says what was there instead of just "timeout".
 */
export async function waitFor<T>(
  what: string,
  cond: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
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
    await new Promise((r) => setTimeout(r, options.stepMs ?? 50));
  }
  let seen = "";
  if (options.describe) {
    try {
      seen = `\nlast seen:\n${String(await options.describe())}`;
    } catch (e) {
      seen = `\n(describe failed: ${errorMessage(e)})`;
    }
  }
  const err = lastError ? `\nlast error: ${errorMessage(lastError)}` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${err}${seen}`);
}

/** Output of one CLI run. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of `runCli`. */
export interface RunCliOptions {
  /** Extra environment variables (e.g. `TZ`, `NO_COLOR`, `MAGLEV_SERVER`). */
  env?: Record<string, string>;
  /** Pass `args` as they are: no `--server` and `--color=false` in front. */
  bare?: boolean;
  /** Fed to the client's stdin (default: none). */
  stdin?: string;
}

/**
 * Starts the client (`main.ts --server <server> --color=false <args>`)
 * with stdout and stderr piped, `options.stdin` written and closed.
 */
export async function spawnCli(
  server: string,
  args: readonly string[],
  options: RunCliOptions = {},
): Promise<Deno.ChildProcess> {
  const flags = options.bare ? [] : ["--server", server, "--color=false"];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...flags, ...args],
    cwd: ROOT,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  return child;
}

/** Runs the client once: `main.ts --server <server> --color=false <args>`. */
export async function runCli(
  server: string,
  args: readonly string[],
  options: RunCliOptions = {},
): Promise<CliResult> {
  const out = await (await spawnCli(server, args, options)).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Options of {@linkcode startDashboardProcess}. */
export interface DashboardProcessOptions {
  /** Flags after `--server` and `--listen`, e.g. `--heartbeat=false`. */
  args?: readonly string[];
  /** Extra environment variables (e.g. the admin user and password). */
  env?: Record<string, string>;
}

/** A running `maglevd dashboard` subprocess. */
export interface DashboardProcess {
  readonly pid: number;
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** `url` + `admin/`. */
  readonly adminUrl: string;
  /** What it printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM; resolves with its exit code. */
  stop(): Promise<number>;
}

/**
 * Starts `main.ts dashboard --server <servers> --listen <free port>` and
 * resolves once its `/healthz` answers 200; its output is kept.
 */
export async function startDashboardProcess(
  servers: readonly string[],
  options: DashboardProcessOptions = {},
): Promise<DashboardProcess> {
  const addr = `127.0.0.1:${freePort()}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}main.ts`,
      "dashboard",
      "--server",
      servers.join(","),
      "--listen",
      addr,
      ...options.args ?? [],
    ],
    cwd: ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s.pipeThrough(new TextDecoderStream())) lines.push(c);
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => child.status);
  const output = () => lines.join("");
  try {
    await waitFor("the dashboard's /healthz", async () => {
      const r = await fetch(`http://${addr}/healthz`);
      await r.body?.cancel();
      return r.status === 200;
    }, { timeoutMs: 20_000, describe: output });
  } catch (e) {
    child.kill("SIGKILL");
    await done;
    throw e;
  }
  return {
    pid: child.pid,
    url: `http://${addr}/`,
    adminUrl: `http://${addr}/admin/`,
    output,
    async stop() {
      child.kill("SIGTERM");
      return (await done).code;
    },
  };
}

/** A JSON log record of the daemon. */
export type LogRecord = Record<string, unknown> & { msg: string; level: string };

/** Options of `DaemonProcess.start`. */
export interface DaemonStartOptions {
  /** VPP API socket; "" disables VPP. */
  vppSocket: string;
  /** `--log-level` (default info). */
  logLevel?: string;
  /** Extra daemon flags. */
  extraArgs?: readonly string[];
  /** Extra flags for `deno run` itself, e.g. `--deny-ffi`. */
  denoArgs?: readonly string[];
  /** Append every output line to this file too, tagged `out:`/`err:` (kept for a post-mortem). */
  logFile?: string;
  /** Extra environment variables (e.g. `NOTIFY_SOCKET`). */
  env?: Readonly<Record<string, string>>;
  /** Run under `prlimit --nofile=N` (prlimit execs the daemon: same pid). */
  fdLimit?: number;
}

/** The real daemon run as a subprocess (`deno run -A main.ts ...`), its JSON log collected. */
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

  private constructor(config: string, options: DaemonStartOptions) {
    const [grpcPort, metricsPort] = freePorts(2);
    this.grpcAddr = `127.0.0.1:${grpcPort}`;
    this.metricsAddr = `127.0.0.1:${metricsPort}`;
    const limit = options.fdLimit ? [`--nofile=${options.fdLimit}`, Deno.execPath()] : [];
    this.child = new Deno.Command(options.fdLimit ? "prlimit" : Deno.execPath(), {
      args: [
        ...limit,
        "run",
        "-A",
        ...(options.denoArgs ?? []),
        `${ROOT}main.ts`,
        "--config",
        config,
        "--vpp-api-addr",
        options.vppSocket,
        "--grpc-addr",
        this.grpcAddr,
        "--metrics-addr",
        this.metricsAddr,
        "--log-format",
        "json",
        "--log-level",
        options.logLevel ?? "info",
        ...(options.extraArgs ?? []),
      ],
      cwd: ROOT,
      env: options.env ? { ...options.env } : undefined,
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
    this.exited = Promise.all([pump(this.child.stdout, "out"), pump(this.child.stderr, "err")])
      .then(() => this.child.status).finally(() => file?.close());
  }

  /**
   * Starts the daemon on `config` without waiting for it: for a test that
   * watches the start-up itself (its log, what it does to VPP meanwhile).
   */
  static spawn(config: string, options: DaemonStartOptions): DaemonProcess {
    return new DaemonProcess(config, options);
  }

  /**
   * Starts the daemon on `config` and waits until its gRPC and metrics
   * listeners answer (or it exits, which fails with its output).
   */
  static async start(config: string, options: DaemonStartOptions): Promise<DaemonProcess> {
    const d = DaemonProcess.spawn(config, options);
    let ended = false;
    d.exited.then(() => ended = true, () => ended = true);
    try {
      const how = await waitFor("the daemon's listeners", async () => {
        if (ended) return "exited";
        const res = await fetch(`http://${d.metricsAddr}/metrics`);
        await res.body?.cancel();
        if (res.status !== 200) return false;
        const [host, port] = d.grpcAddr.split(":");
        const conn = await Deno.connect({ hostname: host, port: Number(port) });
        conn.close();
        return "listening";
      }, { timeoutMs: 20_000, describe: () => d.tail() });
      if (how === "exited") {
        throw new Error(`maglevd exited before listening:\n${d.tail()}`);
      }
    } catch (e) {
      await d.kill();
      throw e;
    }
    return d;
  }

  // Log records come from stdout only: stderr is Deno's and the usage text's.
  #line(line: string, tag: string, file: Deno.FsFile | undefined): void {
    this.lines.push(line);
    file?.writeSync(new TextEncoder().encode(`${tag}: ${line}\n`));
    if (tag !== "out" || !line.startsWith("{")) return;
    try {
      this.logs.push(JSON.parse(line) as LogRecord);
    } catch { /* not a log record */ }
  }

  /** Log records named `msg` with the given attributes, from index `from` on. */
  logsNamed(msg: string, attrs: Record<string, unknown> = {}, from = 0): LogRecord[] {
    return this.logs.slice(from).filter((r) =>
      r.msg === msg && Object.entries(attrs).every(([k, v]) => r[k] === v)
    );
  }

  /** Waits for a log record named `msg` with `attrs` at index `from` or later. */
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

  /** Runs the CLI against this daemon. */
  cli(...args: string[]): Promise<CliResult> {
    return runCli(this.grpcAddr, args);
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

  /** SIGTERM, then the exit code; SIGKILL after `timeoutMs` and fail. */
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

  /** SIGKILL and wait (cleanup after a failure); never throws. */
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.exited.catch(() => {});
  }
}

/** The value of the exposition line `series` (exact name and labels), or undefined. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1).split(" ")[0]);
  }
  return undefined;
}

/** Whose transitions {@linkcode transitionsInto} sums, and into which state. */
export interface TransitionsIntoOptions {
  readonly backend: string;
  readonly to: string;
}

/**
 * The sum of `maglev_backend_transitions_total` of `backend` into state `to`,
 * over every `from`. Tests count arrivals, not the path: on a loaded machine a
 * first probe may time out (unknown -> down at once, spec 3.3) before the
 * backend goes up from down.
 */
export function transitionsInto(text: string, { backend, to }: TransitionsIntoOptions): number {
  const re = new RegExp(
    `^maglev_backend_transitions_total\\{backend="${backend}",from="[a-z]+",to="${to}"\\} (\\S+)$`,
    "gm",
  );
  let sum = 0;
  for (const m of text.matchAll(re)) sum += Number(m[1]);
  return sum;
}

/** The result of `promtool check metrics`, or undefined when promtool is not installed. */
export async function promtoolCheck(
  exposition: string,
): Promise<{ ok: boolean; output: string } | undefined> {
  let child;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(exposition));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { ok: out.code === 0, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** One AS as the VPP test double holds it. */
export interface SimAs {
  /** VIP prefix, e.g. `192.0.2.1/32`. */
  readonly vip: string;
  /** AS address. */
  readonly address: string;
  /** Weight. */
  readonly weight: number;
}

/** What the double's lb plugin holds: live VIP prefixes and their live ASes. */
export interface SimView {
  /** VIP prefixes (`192.0.2.1/32`). */
  readonly vips: string[];
  /** ASes keyed `<vip prefix> <address>`. */
  readonly ases: Map<string, SimAs>;
}

/**
 * The live lb state in `lb_vip_dump` and unfiltered `lb_as_v2_dump` rows:
 * AS rows without the used flag and rows of VIPs the VIP dump no longer lists
 * are dropped (spec 0.4). One reading for the in-process double and a VPP
 * read over its socket.
 */
export function lbViewOf(
  vipRows: readonly Record<string, unknown>[],
  asRows: readonly Record<string, unknown>[],
): SimView {
  const vips = vipRows.map((r) => String((r.vip as Record<string, unknown>).pfx));
  const ases = new Map<string, SimAs>();
  for (const r of asRows) {
    const vip = String((r.vip as Record<string, unknown>).pfx);
    if (!vips.includes(vip) || ((r.flags as number) & 1) === 0) continue;
    const address = String(r.app_srv);
    ases.set(`${vip} ${address}`, { vip, address, weight: r.weight as number });
  }
  return { vips, ases };
}

/** Reads the in-process double's lb state the way a client would (see `lbViewOf`). */
export function simView(sim: VppSim): SimView {
  return lbViewOf(
    sim.model.apply("lb_vip_dump", {}) as Record<string, unknown>[],
    sim.model.apply("lb_as_v2_dump", {}) as Record<string, unknown>[],
  );
}

/** What the double's lb plugin holds, keyed `<vip prefix> <address>` (see `simView`). */
export function simAses(sim: VppSim): Map<string, SimAs> {
  return simView(sim).ases;
}

/** True when the double holds exactly `want` (`<vip> <address>` -> weight), nothing more. */
export function simHolds(sim: VppSim, want: Readonly<Record<string, number>>): boolean {
  const have = simAses(sim);
  if (have.size !== Object.keys(want).length) return false;
  return Object.entries(want).every(([k, w]) => have.get(k)?.weight === w);
}

/** The double's state as text, for failure messages. */
export function describeSim(sim: VppSim): string {
  return [...simAses(sim).values()].map((a) => `${a.vip} ${a.address} weight ${a.weight}`)
    .join("\n") || "(nothing)";
}

/** Options of `labConfig`. */
export interface LabConfigOptions {
  /** First three octets of the loopback backends, e.g. `127.0.61`. */
  net: string;
  /** The HTTP check's port (where `startBackends` listens). */
  hcPort: number;
  /** Add a third frontend `new-vip` (the "good reload" file). */
  withNewFrontend?: boolean;
}

/**
 * A config in the shape of `lab/maglev.yaml` on loopback: nginx1..3 checked
 * over HTTP (rise 2, fall 2; every 100 ms while not fully up, 500 ms once up, with a 500 ms
 * timeout: the backends are served by the test process, which a loaded machine can hold up for
 * well over 100 ms) at `<net>.11..13`, two static
 * backends at `<net>.21/.22`, `http-vip` and `failover-vip`.
 */
export function labConfig(options: LabConfigOptions): string {
  const n = options.net;
  const extra = options.withNewFrontend
    ? `    new-vip:
      address: 192.0.2.3
      protocol: tcp
      port: 443
      pools:
        - { name: primary, backends: { nginx3: { weight: 50 } } }
`
    : "";
  return `maglev:
  healthchecker:
    transition-history: 10
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      sync-interval: 30s
      startup-min-delay: 0s
      startup-max-delay: 1s
  healthchecks:
    http-check:
      type: http
      port: ${options.hcPort}
      params: { path: /healthz, response-code: 200 }
      interval: 500ms
      fast-interval: 100ms
      down-interval: 200ms
      timeout: 500ms
      rise: 2
      fall: 2
  backends:
    nginx1: { address: ${n}.11, healthcheck: http-check, description: "web server 1" }
    nginx2: { address: ${n}.12, healthcheck: http-check }
    nginx3: { address: ${n}.13, healthcheck: http-check }
    static-primary: { address: ${n}.21 }
    static-fallback: { address: ${n}.22 }
  frontends:
    http-vip:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: { nginx1: { weight: 100 }, nginx2: {} }
        - name: fallback
          backends: { nginx3: {} }
    failover-vip:
      address: 192.0.2.2
      protocol: tcp
      port: 80
      pools:
        - { name: primary, backends: { static-primary: {} } }
        - { name: fallback, backends: { static-fallback: {} } }
${extra}`;
}

/** The three HTTP backends of `labConfig`, for `startBackends`. */
export function labBackends(
  net: string,
  port: number,
): { name: string; address: string; port: number }[] {
  return [1, 2, 3].map((i) => ({ name: `nginx${i}`, address: `${net}.1${i}`, port }));
}

/** The VIP prefix of `labConfig`'s `http-vip`. */
export const LAB_HTTP_VIP = "192.0.2.1/32";
/** The VIP prefix of `labConfig`'s `failover-vip`. */
export const LAB_FAILOVER_VIP = "192.0.2.2/32";

/**
 * What VPP holds for `labConfig` on `net` once every backend is up
 * (`<vip> <address>` -> weight): the primary pools serve, the fallbacks stand by at 0.
 */
export function labSteady(net: string): Record<string, number> {
  return {
    [`${LAB_HTTP_VIP} ${net}.11`]: 100,
    [`${LAB_HTTP_VIP} ${net}.12`]: 100,
    [`${LAB_HTTP_VIP} ${net}.13`]: 0,
    [`${LAB_FAILOVER_VIP} ${net}.21`]: 100,
    [`${LAB_FAILOVER_VIP} ${net}.22`]: 0,
  };
}

/** Options of `Lab.start`. */
export interface LabOptions {
  /** Prefix of the temp dir, e.g. `maglev-daemon-test-`. */
  prefix: string;
  /** First three octets of the loopback backends (see `labConfig`). */
  net: string;
  /** Start the VPP test double in the temp dir (default true). */
  vpp?: boolean;
}

/**
 * What one daemon test runs in: a temp dir holding `labConfig` as
 * `maglev.yaml`, the HTTP backends of `labBackends`, the VPP test double
 * (its events collected) and, once started, the daemon. `close` ends all.
 */
export class Lab {
  /** The temp dir (removed by `close`). */
  readonly dir: string;
  /** The HTTP check's port. */
  readonly hcPort: number;
  /** The config file the daemon reads. */
  readonly configPath: string;
  /** The HTTP backends nginx1..3. */
  readonly backends: LabBackends;
  /** Every event of the double so far. */
  readonly simEvents: VppSimEvent[];
  /** The daemon, once `startDaemon` returned. */
  daemon: DaemonProcess | undefined;
  readonly #sim: VppSim | undefined;

  private constructor(
    dir: string,
    hcPort: number,
    started: { backends: LabBackends; sim?: VppSim; simEvents: VppSimEvent[] },
  ) {
    this.dir = dir;
    this.hcPort = hcPort;
    this.configPath = `${dir}/maglev.yaml`;
    this.backends = started.backends;
    this.#sim = started.sim;
    this.simEvents = started.simEvents;
  }

  /** Makes the temp dir, writes the config, starts the backends and (unless `vpp: false`) the double. */
  static async start(options: LabOptions): Promise<Lab> {
    const dir = await Deno.makeTempDir({ prefix: options.prefix });
    const hcPort = freePort();
    await Deno.writeTextFile(`${dir}/maglev.yaml`, labConfig({ net: options.net, hcPort }));
    const backends = startBackends(labBackends(options.net, hcPort));
    const simEvents: VppSimEvent[] = [];
    try {
      const sim = options.vpp === false ? undefined : await startVppSim({
        socketPath: `${dir}/vpp-api.sock`,
        onEvent: (ev) => simEvents.push(ev),
      });
      return new Lab(dir, hcPort, { backends, sim, simEvents });
    } catch (e) {
      await backends.close();
      await Deno.remove(dir, { recursive: true });
      throw e;
    }
  }

  /** The VPP test double; throws in a lab started with `vpp: false`. */
  get sim(): VppSim {
    if (!this.#sim) throw new Error("this lab runs without the VPP test double");
    return this.#sim;
  }

  /** Starts the daemon on `configPath`, talking to the double (or to no VPP without one). */
  async startDaemon(options: Partial<DaemonStartOptions> = {}): Promise<DaemonProcess> {
    this.daemon = await DaemonProcess.start(this.configPath, {
      vppSocket: this.#sim?.socketPath ?? "",
      ...options,
    });
    return this.daemon;
  }

  /** Stops the daemon (if still running), the double and the backends; removes the temp dir. */
  async close(): Promise<void> {
    await this.daemon?.stop();
    await this.#sim?.close();
    await this.backends.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** True when `text` holds an ANSI escape sequence (colour). */
export function hasAnsi(text: string): boolean {
  // deno-lint-ignore no-control-regex
  return /\x1b\[/.test(text);
}

/** Open fds of process `pid`. */
export function openFds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/** A process's soft and hard fd limits. */
export interface NofileLimits {
  readonly soft: number;
  readonly hard: number;
}

/** Sets the fd limit of a running process (`prlimit --pid`). */
export async function prlimitNofile(pid: number, { soft, hard }: NofileLimits): Promise<void> {
  const out = await new Deno.Command("prlimit", {
    args: [`--pid=${pid}`, `--nofile=${soft}:${hard}`],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`prlimit: ${new TextDecoder().decode(out.stderr)}`);
}

/** The hard fd limit of process `pid`. */
export function hardNofile(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/limits`).split("\n")
    .find((l) => l.startsWith("Max open files"))!;
  return Number(line.split(/\s+/)[4]);
}
