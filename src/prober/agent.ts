/**
 * Probing inside a network namespace (spec 0.6) through a probe agent: a
 * child process started by `nsenter --net=/var/run/netns/<name>` so that the
 * whole process, every thread of it, lives in the namespace, while the daemon
 * (gRPC, metrics, VPP socket) stays in its own. The agent is this program
 * again: `deno run -A agent.ts` from source, or the compiled binary with the
 * hidden first argument {@linkcode PROBE_AGENT_ARG}.
 *
 * Line protocol (tab-separated, one message per line):
 * - agent → daemon: `READY`, then `R <id> <code> <durationMs> <detail as JSON>`
 * - daemon → agent: `V <version> <engine>`, `H <hcId> <HealthCheck JSON>`,
 *   `P <id> <hcId> <family> <address>`, `C <id>` (cancel)
 *
 * The agent exits when its stdin closes, which the kernel does when the
 * daemon dies however it dies.
 * @module
 */
import { errorMessage } from "../errors.ts";
import { type Clock, realClock } from "../clock.ts";
import type { Backend, HealthCheck } from "../config/types.ts";
import type { ProbeResult, ProbeSink } from "../health/types.ts";
import {
  createLocalProber,
  DEFAULT_VERSION,
  defaultEngine,
  type EngineName,
  type Prober,
  StreamTickets,
} from "./local.ts";
import { isProbeCode, probeResult } from "./result.ts";

/** First argument that makes the compiled binary run the probe agent (main.ts dispatches it). */
export const PROBE_AGENT_ARG = "__maglevd-probe-agent";

/** Where `ip netns` keeps named namespaces. */
export const NETNS_DIR = "/var/run/netns";

// After an agent failed to start, probes fail fast for this long before the next try.
const RESPAWN_HOLDOFF_MS = 1000;
// The agent enforces the deadline; this only covers an agent that hangs.
const AGENT_GRACE_MS = 2000;

const encoder = new TextEncoder();

/** Options of {@linkcode createNetnsProber}. */
export interface NetnsProberOptions {
  readonly version?: string;
  readonly clock?: Clock;
  /** The engine the agent runs plain http and tcp probes on; by default the daemon's. */
  readonly engine?: EngineName;
  /** The agent command (tests); by default nsenter and this program. */
  readonly command?: readonly string[];
}

/** A prober that runs probes in namespace `netns`, with its agent's pid for tests. */
export interface NetnsProber extends Prober {
  /** The running agent's pid, if any. */
  agentPid(): number | undefined;
}

interface PendingProbe {
  readonly finish: (r: ProbeResult) => void;
}

interface Agent {
  readonly child: Deno.ChildProcess;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly sentChecks: Set<number>;
  ready: boolean;
  queue: string[];
  writing: boolean;
  stderr: string;
  done: Promise<void>;
}

const PROJECT_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** The command that starts the agent inside `netns`. */
export function agentCommand(netns: string): string[] {
  const self = Deno.build.standalone
    ? [Deno.execPath(), PROBE_AGENT_ARG]
    // The project's own deno.json (import map, lock), whatever the working directory holds.
    : [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      // As `deno task compile` builds maglevd (docs/design.md, Memory).
      "--v8-flags=--max-semi-space-size=2,--optimize-for-size",
      "--config",
      PROJECT_CONFIG,
      new URL(import.meta.url).href,
    ];
  return ["nsenter", `--net=${NETNS_DIR}/${netns}`, "--", ...self];
}

/** A prober whose probes run in a probe agent inside network namespace `netns`. */
export function createNetnsProber(netns: string, options: NetnsProberOptions = {}): NetnsProber {
  return new NetnsAgentProber(netns, options);
}

/** The daemon's side of the probe agent: starts it, feeds it probes, reads its answers. */
class NetnsAgentProber implements NetnsProber {
  readonly #netns: string;
  readonly #options: NetnsProberOptions;
  readonly #clock: Clock;
  readonly #version: string;
  readonly #engine: EngineName;
  readonly #pending = new Map<number, PendingProbe>();
  readonly #checkIds = new WeakMap<HealthCheck, number>();
  readonly #checkIdsByJson = new Map<string, number>();
  readonly #tickets: StreamTickets;
  #nextProbe = 1;
  #nextCheck = 1;
  #agent: Agent | undefined;
  #failure: { reason: string; atMs: number } | undefined;
  #closed = false;

  constructor(netns: string, options: NetnsProberOptions) {
    this.#netns = netns;
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#version = options.version ?? DEFAULT_VERSION;
    this.#engine = options.engine ?? defaultEngine();
    this.#tickets = new StreamTickets(this.probe);
  }

  /** The engine the agent runs plain http and tcp probes on. */
  get engine(): EngineName {
    return this.#engine;
  }

  /** Runs one probe in the agent; never rejects. */
  readonly probe = (hc: HealthCheck, backend: Backend, signal: AbortSignal): Promise<ProbeResult> =>
    this.#probe(hc, backend, signal);

  // The agent runs the same engine inside the namespace; the pipe carries no per-probe timer.
  start(hc: HealthCheck, backend: Backend, sink: ProbeSink): number {
    return this.#tickets.start(hc, backend, sink);
  }

  cancel(ticket: number): void {
    this.#tickets.cancel(ticket);
  }

  async close(): Promise<void> {
    this.#tickets.cancelAll();
    await this.#close();
  }

  agentPid(): number | undefined {
    return this.#agent?.child.pid;
  }

  #netnsFail(reason: string, start: number): ProbeResult {
    return probeResult(
      "L4CON",
      `enter netns ${JSON.stringify(this.#netns)}: ${reason}`,
      { durationMs: this.#clock.monotonic() - start },
    );
  }

  #checkId(hc: HealthCheck): [number, string | undefined] {
    const known = this.#checkIds.get(hc);
    if (known !== undefined) return [known, undefined];
    const json = JSON.stringify(hc);
    let id = this.#checkIdsByJson.get(json);
    if (id === undefined) this.#checkIdsByJson.set(json, id = this.#nextCheck++);
    this.#checkIds.set(hc, id);
    return [id, json];
  }

  #send(a: Agent, line: string): void {
    a.queue.push(line);
    if (!a.writing) void this.#flush(a);
  }

  async #flush(a: Agent): Promise<void> {
    a.writing = true;
    try {
      while (a.queue.length > 0) {
        const batch = a.queue.join("\n") + "\n";
        a.queue = [];
        await a.writer.write(encoder.encode(batch));
      }
    } catch {
      // The agent is gone; its exit handler fails what is pending.
      a.queue = [];
    } finally {
      a.writing = false;
    }
  }

  #preflight(): string | undefined {
    if (
      this.#netns === "." || this.#netns === ".." || this.#netns.includes("/") ||
      this.#netns.includes("\0")
    ) {
      return "invalid namespace name";
    }
    try {
      Deno.statSync(`${NETNS_DIR}/${this.#netns}`);
    } catch (err) {
      return err instanceof Deno.errors.NotFound
        ? `no such namespace (${NETNS_DIR}/${this.#netns} does not exist)`
        : `${NETNS_DIR}/${this.#netns}: ${errorMessage(err)}`;
    }
    return undefined;
  }

  #start(): Agent | string {
    const bad = this.#preflight();
    if (bad) return bad;
    const argv = this.#options.command ? [...this.#options.command] : agentCommand(this.#netns);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      return err instanceof Deno.errors.NotFound
        ? `${argv[0]} not found (nsenter is in util-linux)`
        : `start probe agent: ${errorMessage(err)}`;
    }
    const a: Agent = {
      child,
      writer: child.stdin.getWriter(),
      sentChecks: new Set(),
      ready: false,
      queue: [],
      writing: false,
      stderr: "",
      done: Promise.resolve(),
    };
    a.done = Promise.all([this.#readStdout(a), this.#readStderr(a)]).then(async () => {
      const status = await child.status;
      this.#onExit(a, status);
    });
    this.#send(a, `V\t${this.#version}\t${this.#engine}`);
    return a;
  }

  async #readStdout(a: Agent): Promise<void> {
    let rest = "";
    try {
      for await (const text of a.child.stdout.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + text).split("\n");
        rest = lines.pop()!;
        for (const line of lines) this.#onLine(a, line);
      }
    } catch {
      // Closed under us; the exit handler reports it.
    }
  }

  async #readStderr(a: Agent): Promise<void> {
    try {
      for await (const text of a.child.stderr.pipeThrough(new TextDecoderStream())) {
        // Keep only the tail: it holds the reason a start failed.
        a.stderr = (a.stderr + text).slice(-2000);
      }
    } catch {
      // Closed under us.
    }
  }

  #onLine(a: Agent, line: string): void {
    if (line === "READY") {
      a.ready = true;
      return;
    }
    const f = line.split("\t");
    if (f[0] !== "R" || f.length < 5) return;
    const p = this.#pending.get(Number(f[1]));
    if (!p) return;
    const code = f[2];
    let detail = "";
    try {
      detail = String(JSON.parse(f.slice(4).join("\t")));
    } catch {
      detail = f.slice(4).join("\t");
    }
    p.finish(
      isProbeCode(code)
        ? probeResult(code, detail, { durationMs: Number(f[3]) })
        : probeResult("L4CON", `probe agent sent unknown code ${JSON.stringify(code)}`),
    );
  }

  #onExit(a: Agent, status: Deno.CommandStatus): void {
    if (this.#agent === a) this.#agent = undefined;
    const lastLine = a.stderr.trim().split("\n").pop()?.trim() ?? "";
    const reason = a.ready
      ? `probe agent exited (${status.signal ?? `code ${status.code}`})${
        lastLine ? ": " + lastLine : ""
      }`
      : lastLine || `probe agent exited (${status.signal ?? `code ${status.code}`})`;
    if (!this.#closed) this.#failure = { reason, atMs: this.#clock.monotonic() };
    for (const p of [...this.#pending.values()]) {
      p.finish(this.#netnsFail(reason, this.#clock.monotonic()));
    }
  }

  #probe(hc: HealthCheck, backend: Backend, signal: AbortSignal): Promise<ProbeResult> {
    const t0 = this.#clock.monotonic();
    if (this.#closed) return Promise.resolve(this.#netnsFail("prober closed", t0));
    if (!this.#agent) {
      if (this.#failure && t0 - this.#failure.atMs < RESPAWN_HOLDOFF_MS) {
        return Promise.resolve(this.#netnsFail(this.#failure.reason, t0));
      }
      const a = this.#start();
      if (typeof a === "string") {
        this.#failure = { reason: a, atMs: t0 };
        return Promise.resolve(this.#netnsFail(a, t0));
      }
      this.#agent = a;
    }
    const a = this.#agent;
    const [hcId, json] = this.#checkId(hc);
    if (!a.sentChecks.has(hcId)) {
      this.#send(a, `H\t${hcId}\t${json ?? JSON.stringify(hc)}`);
      a.sentChecks.add(hcId);
    }
    const id = this.#nextProbe++;
    return new Promise<ProbeResult>((resolve) => {
      const onAbort = () => {
        this.#send(a, `C\t${id}`);
      };
      const timer = this.#clock.setTimeout(() => {
        entry.finish(probeResult(
          "L4CON",
          `probe agent in netns ${JSON.stringify(this.#netns)} did not answer`,
          { durationMs: this.#clock.monotonic() - t0 },
        ));
      }, hc.timeoutMs + AGENT_GRACE_MS);
      const entry: PendingProbe = {
        finish: (r) => {
          if (!this.#pending.delete(id)) return;
          this.#clock.clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        },
      };
      this.#pending.set(id, entry);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#send(a, `P\t${id}\t${hcId}\t${backend.family}\t${backend.address}`);
      if (signal.aborted) onAbort();
    });
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const a = this.#agent;
    if (!a) return;
    // Closing stdin is the agent's signal to finish; kill only if it lingers.
    await a.writer.close().catch(() => {});
    const timer = this.#clock.setTimeout(() => {
      try {
        a.child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, 3000);
    await a.done;
    this.#clock.clearTimeout(timer);
  }
}

/**
 * One Backend object per address and check, kept: the engines cache each
 * backend's request and sockaddr by object, so a fresh object per probe would
 * rebuild them every time.
 */
function agentBackend(
  cache: Map<string, Backend>,
  family: 4 | 6,
  address: string,
  healthcheck: string,
): Backend {
  const key = `${family}|${address}|${healthcheck}`;
  let b = cache.get(key);
  if (!b) {
    b = { name: "", address, family, healthcheck, enabled: true, description: "" };
    cache.set(key, b);
  }
  return b;
}

/**
 * The probe agent: probes what the daemon sends on stdin, answers on stdout,
 * and returns its exit code when stdin closes.
 */
export async function runProbeAgent(): Promise<number> {
  let prober: Prober | undefined;
  const checks = new Map<number, HealthCheck>();
  const backends = new Map<string, Backend>();
  const running = new Map<number, AbortController>();
  const inflight = new Set<Promise<void>>();
  let out: string[] = [];
  let writing = false;
  const write = (line: string) => {
    out.push(line);
    if (writing) return;
    writing = true;
    (async () => {
      while (out.length > 0) {
        const batch = encoder.encode(out.join("\n") + "\n");
        out = [];
        let off = 0;
        while (off < batch.length) off += await Deno.stdout.write(batch.subarray(off));
      }
    })().catch(() => Deno.exit(1)).finally(() => (writing = false));
  };
  write("READY");
  const handle = (line: string) => {
    const f = line.split("\t");
    switch (f[0]) {
      case "V":
        prober ??= createLocalProber({
          version: f[1] || DEFAULT_VERSION,
          engine: f[2] === "stream" ? "stream" : f[2] === "socket" ? "socket" : undefined,
        });
        break;
      case "H":
        checks.set(Number(f[1]), JSON.parse(f.slice(2).join("\t")) as HealthCheck);
        break;
      case "C":
        running.get(Number(f[1]))?.abort();
        break;
      case "P": {
        const id = Number(f[1]);
        const hc = checks.get(Number(f[2]));
        const backend = agentBackend(backends, f[3] === "6" ? 6 : 4, f[4] ?? "", hc?.name ?? "");
        prober ??= createLocalProber();
        if (!hc) {
          write(`R\t${id}\tL4CON\t0\t${JSON.stringify("probe agent: unknown health check")}`);
          break;
        }
        const ac = new AbortController();
        running.set(id, ac);
        const p = prober.probe(hc, backend, ac.signal).then((r) => {
          running.delete(id);
          write(`R\t${id}\t${r.code}\t${r.durationMs}\t${JSON.stringify(r.detail)}`);
        });
        inflight.add(p);
        p.finally(() => inflight.delete(p));
        break;
      }
    }
  };
  let rest = "";
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const line of lines) if (line !== "") handle(line);
  }
  for (const ac of running.values()) ac.abort();
  await Promise.all(inflight);
  await prober?.close();
  return 0;
}

if (import.meta.main) Deno.exit(await runProbeAgent());
