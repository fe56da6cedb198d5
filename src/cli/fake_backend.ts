/**
 * An in-process stand-in for a daemon, for the client's tests and the
 * pseudo-terminal shell test: a small fixed world (two frontends, three
 * backends, two health checks) whose operator actions change state the way
 * the daemon's do, and errors worded like the daemon's.
 * @module
 */
import { healthCheck, httpParams } from "../checker/testing.ts";
import type { BackendSnapshot } from "../checker/types.ts";
import type { HealthCheck } from "../config/types.ts";
import type { State } from "../health/types.ts";
import type { SyncStats } from "../reconciler/types.ts";
import type {
  BackendAction,
  CheckConfigView,
  CliBackend,
  CountersView,
  FrontendView,
  LbView,
  ReloadConfigView,
  SetWeightRequest,
  VppInfoView,
  WatchRequest,
} from "./backend.ts";

interface FakeBackendState {
  name: string;
  address: string;
  healthcheck: string;
  state: State;
  enabled: boolean;
}

interface FakePool {
  name: string;
  backends: { name: string; weight: number }[];
}

interface FakeFrontend {
  name: string;
  address: string;
  port: number;
  description: string;
  pools: FakePool[];
}

/** Options of the fake. */
export interface FakeBackendOptions {
  /** Unix ms used as "now" for the recorded transitions. */
  readonly now?: number;
  /** Events `watchEvents` yields before waiting for the abort. */
  readonly events?: readonly unknown[];
}

/** An error shaped like grpc-js's, so the client's stripping is exercised. */
export function grpcError(code: number, name: string, message: string): Error {
  const e = new Error(`${code} ${name}: ${message}`) as Error & { code: number; details: string };
  e.code = code;
  e.details = message;
  return e;
}

function notFound(what: string, name: string): Error {
  return grpcError(5, "NOT_FOUND", `${what} ${JSON.stringify(name)} not found`);
}

const HC_HTTP: HealthCheck = healthCheck("http", {
  intervalMs: 2000,
  fastIntervalMs: 1000,
  downIntervalMs: 5000,
  timeoutMs: 1000,
  http: httpParams({ path: "/healthz" }),
});

const HC_ICMP: HealthCheck = healthCheck("icmp", {
  type: "icmp",
  port: 0,
  rise: 1,
  fall: 2,
  http: undefined,
});

/** A fake daemon implementing `CliBackend`. */
export class FakeBackend implements CliBackend {
  /** The address shown in the banner. */
  readonly server = "fake";
  /** Every call, as `method arg...`, for assertions. */
  readonly calls: string[] = [];
  #now: number;
  #events: readonly unknown[];
  #backends = new Map<string, FakeBackendState>();
  #frontends: FakeFrontend[];
  #closed = false;

  constructor(options: FakeBackendOptions = {}) {
    this.#now = options.now ?? Date.now();
    this.#events = options.events ?? [
      { backend: { frontend: "web", backend: "nginx1", transition: { from: "up", to: "up" } } },
      { frontend: { frontend: "web", from: "up", to: "up" } },
    ];
    for (
      const b of [
        { name: "nginx1", address: "10.0.0.1", healthcheck: "http" },
        { name: "nginx2", address: "10.0.0.2", healthcheck: "http" },
        { name: "static3", address: "2001:db8::3", healthcheck: "" },
      ]
    ) {
      this.#backends.set(b.name, { ...b, state: "up", enabled: true });
    }
    this.#frontends = [
      {
        name: "web",
        address: "192.0.2.1",
        port: 80,
        description: "public web",
        pools: [
          {
            name: "primary",
            backends: [{ name: "nginx1", weight: 100 }, { name: "nginx2", weight: 50 }],
          },
          { name: "fallback", backends: [{ name: "static3", weight: 10 }] },
        ],
      },
      {
        name: "dns",
        address: "192.0.2.53",
        port: 53,
        description: "",
        pools: [{ name: "main", backends: [{ name: "nginx2", weight: 7 }] }],
      },
    ];
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #frontend(name: string): FakeFrontend {
    const f = this.#frontends.find((x) => x.name === name);
    if (f === undefined) throw notFound("frontend", name);
    return f;
  }

  #backend(name: string): FakeBackendState {
    const b = this.#backends.get(name);
    if (b === undefined) throw notFound("backend", name);
    return b;
  }

  #view(f: FakeFrontend): FrontendView {
    const serving = (n: string) => this.#backends.get(n)?.state === "up";
    const active = f.pools.find((p) => p.backends.some((b) => serving(b.name) && b.weight > 0));
    return {
      name: f.name,
      address: f.address,
      protocol: "tcp",
      port: f.port,
      srcIpSticky: false,
      flushOnDown: true,
      description: f.description,
      state: active === undefined ? "down" : "up",
      activePool: active?.name ?? "",
      pools: f.pools.map((p) => ({
        name: p.name,
        backends: p.backends.map((b) => ({
          name: b.name,
          weight: b.weight,
          effectiveWeight: p === active && serving(b.name) ? b.weight : 0,
          enabled: this.#backends.get(b.name)?.enabled ?? false,
        })),
      })),
    };
  }

  #snapshot(b: FakeBackendState): BackendSnapshot {
    const hc = b.healthcheck === "http" ? HC_HTTP : undefined;
    const max = hc ? hc.rise + hc.fall - 1 : 1;
    return {
      name: b.name,
      address: b.address,
      description: "",
      state: b.state,
      enabled: b.enabled,
      healthcheck: b.healthcheck,
      health: b.state === "up" ? max : 0,
      healthMax: max,
      transitions: [
        { from: "unknown", to: "up", atMs: this.#now - 65_000, code: "L7OK", detail: "HTTP 200" },
        { from: "down", to: "unknown", atMs: this.#now - 3_600_000, code: "start", detail: "" },
      ],
      probes: [
        { atMs: this.#now - 2000, ok: true, code: "L7OK", detail: "HTTP 200", durationMs: 3 },
        {
          atMs: this.#now - 4000,
          ok: false,
          code: "L4CON",
          detail: "connection refused",
          durationMs: 1,
        },
      ],
    };
  }

  listFrontends(): Promise<FrontendView[]> {
    this.calls.push("listFrontends");
    return Promise.resolve(this.#frontends.map((f) => this.#view(f)));
  }

  getFrontend(name: string): Promise<FrontendView> {
    this.calls.push(`getFrontend ${name}`);
    return Promise.resolve().then(() => this.#view(this.#frontend(name)));
  }

  listBackends(): Promise<BackendSnapshot[]> {
    this.calls.push("listBackends");
    const names = [...this.#backends.keys()].sort();
    return Promise.resolve(names.map((n) => this.#snapshot(this.#backend(n))));
  }

  getBackend(name: string): Promise<BackendSnapshot> {
    this.calls.push(`getBackend ${name}`);
    return Promise.resolve().then(() => this.#snapshot(this.#backend(name)));
  }

  backendAction(name: string, action: BackendAction): Promise<BackendSnapshot> {
    this.calls.push(`backendAction ${name} ${action}`);
    return Promise.resolve().then(() => {
      const b = this.#backend(name);
      if ((action === "pause" || action === "resume") && !b.enabled) {
        throw grpcError(
          9,
          "FAILED_PRECONDITION",
          `backend ${JSON.stringify(name)} is disabled; enable it first`,
        );
      }
      if (action === "pause") b.state = "paused";
      if (action === "resume") b.state = "unknown";
      if (action === "disable") {
        b.state = "disabled";
        b.enabled = false;
      }
      if (action === "enable" && !b.enabled) {
        b.state = "unknown";
        b.enabled = true;
      }
      return this.#snapshot(b);
    });
  }

  listHealthChecks(): Promise<HealthCheck[]> {
    this.calls.push("listHealthChecks");
    return Promise.resolve([HC_HTTP, HC_ICMP]);
  }

  getHealthCheck(name: string): Promise<HealthCheck> {
    this.calls.push(`getHealthCheck ${name}`);
    if (name === "http") return Promise.resolve(HC_HTTP);
    if (name === "icmp") return Promise.resolve(HC_ICMP);
    return Promise.reject(notFound("healthcheck", name));
  }

  setWeight(r: SetWeightRequest): Promise<FrontendView> {
    this.calls.push(`setWeight ${r.frontend} ${r.pool} ${r.backend} ${r.weight} ${r.flush}`);
    return Promise.resolve().then(() => {
      const f = this.#frontend(r.frontend);
      const p = f.pools.find((x) => x.name === r.pool);
      if (p === undefined) throw notFound("pool", r.pool);
      const b = p.backends.find((x) => x.name === r.backend);
      if (b === undefined) throw notFound("backend", r.backend);
      b.weight = r.weight;
      return this.#view(f);
    });
  }

  checkConfig(): Promise<CheckConfigView> {
    this.calls.push("checkConfig");
    return Promise.resolve({ ok: true, parseError: "", semanticError: "" });
  }

  reloadConfig(): Promise<ReloadConfigView> {
    this.calls.push("reloadConfig");
    return Promise.resolve({ ok: true, error: "" });
  }

  vppInfo(): Promise<VppInfoView> {
    this.calls.push("vppInfo");
    return Promise.reject(grpcError(14, "UNAVAILABLE", "VPP is not connected"));
  }

  vppLbState(): Promise<LbView> {
    this.calls.push("vppLbState");
    return Promise.resolve({
      ip4SrcAddress: "192.0.2.254",
      ip6SrcAddress: "",
      stickyBucketsPerCore: 1024,
      flowTimeout: 40,
      vips: [{
        prefix: "192.0.2.1/32",
        protocol: "tcp",
        port: 80,
        encap: "gre4",
        srcIpSticky: false,
        flowTableLength: 1024,
        frontend: "web",
        ases: [
          { address: "10.0.0.1", weight: 100, flags: 1, inUseSince: 0, buckets: 683 },
          { address: "10.0.0.2", weight: 50, flags: 1, inUseSince: 0, buckets: 341 },
        ],
      }],
    });
  }

  syncVppLbState(frontend: string): Promise<SyncStats> {
    this.calls.push(`syncVppLbState ${frontend}`);
    if (frontend !== "") {
      try {
        this.#frontend(frontend);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return Promise.resolve({
      vipAdded: 0,
      vipRemoved: 0,
      asAdded: 1,
      asRemoved: 0,
      asWeightUpdated: 2,
    });
  }

  vppLbCounters(): Promise<CountersView[]> {
    this.calls.push("vppLbCounters");
    return Promise.resolve([{
      frontend: "web",
      prefix: "192.0.2.1/32",
      protocol: "tcp",
      port: 80,
      next: "1200",
      first: "30",
      untracked: "0",
      noServer: "2",
    }]);
  }

  async *watchEvents(request: WatchRequest, signal: AbortSignal): AsyncIterable<unknown> {
    this.calls.push(
      `watchEvents log=${request.log} level=${request.logLevel} backend=${request.backend} frontend=${request.frontend}`,
    );
    for (const e of this.#events) {
      if (signal.aborted) return;
      yield e;
    }
    // Like a live stream: nothing more until the client stops watching.
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  close(): void {
    this.#closed = true;
  }
}
