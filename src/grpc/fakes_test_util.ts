/**
 * A scripted checker and config file for the gRPC transport tests (listeners,
 * streams, reflection). Service behaviour runs on real parts: rig_test_util.ts.
 * @module
 */
import type { Backend, Config, Frontend, HealthCheck } from "../config/types.ts";
import type { State } from "../health/types.ts";
import type {
  BackendSnapshot,
  CheckerApi,
  EventSource,
  FrontendState,
  MaglevEvent,
  ReloadResult,
  SubscribeOptions,
} from "../checker/types.ts";
import { backendNotFound, MaglevError } from "../errors.ts";
import { healthCheck, httpParams } from "../checker/testing.ts";

const HTTP: HealthCheck = healthCheck("web-http", {
  intervalMs: 2000,
  fastIntervalMs: 500,
  downIntervalMs: 5000,
  timeoutMs: 1000,
  http: httpParams({ path: "/healthz" }),
});

const TCP: HealthCheck = {
  ...HTTP,
  name: "plain-tcp",
  type: "tcp",
  port: 443,
  http: undefined,
  tcp: { ssl: true, serverName: "example.org", insecureSkipVerify: false },
};

function backend(name: string, address: string, healthcheck = "web-http"): Backend {
  return { name, address, family: 4, healthcheck, enabled: true, description: `${name} box` };
}

/** The test config: frontend `web` with pools primary (nginx1, nginx2) and fallback (nginx3). */
export function testConfig(weights: Record<string, number> = {}): Config {
  const w = (n: string, d: number) => weights[n] ?? d;
  const web: Frontend = {
    name: "web",
    address: "192.0.2.1",
    family: 4,
    protocol: "tcp",
    port: 80,
    description: "the web site",
    pools: [
      {
        name: "primary",
        backends: [{ name: "nginx1", weight: w("nginx1", 100) }, {
          name: "nginx2",
          weight: w("nginx2", 50),
        }],
      },
      { name: "fallback", backends: [{ name: "nginx3", weight: w("nginx3", 100) }] },
    ],
    srcIpSticky: false,
    flushOnDown: true,
    flowTableLength: 2048,
    flowTableLengthAuto: true,
  };
  const dns: Frontend = {
    ...web,
    name: "dns",
    address: "192.0.2.53",
    protocol: "udp",
    port: 53,
    description: "",
    pools: [{ name: "main", backends: [{ name: "static1", weight: 10 }] }],
  };
  return {
    healthchecker: { transitionHistory: 5, netns: "" },
    vpp: {
      lb: {
        ipv4SrcAddress: "192.0.2.254",
        ipv6SrcAddress: "2001:db8::fe",
        stickyBucketsPerCore: 1024,
        flowTimeoutS: 40,
        syncIntervalMs: 30000,
        startupMinDelayMs: 0,
        startupMaxDelayMs: 0,
      },
    },
    healthchecks: { "plain-tcp": TCP, "web-http": HTTP },
    backends: {
      nginx1: backend("nginx1", "10.0.0.1"),
      nginx2: backend("nginx2", "10.0.0.2"),
      nginx3: backend("nginx3", "10.0.0.3"),
      static1: backend("static1", "10.0.0.9", ""),
    },
    frontends: { dns, web },
    warnings: [],
  };
}

interface Subscriber {
  options: SubscribeOptions;
  push(ev: MaglevEvent): void;
}

/** A checker plus event bus with scripted state. */
export class FakeChecker implements CheckerApi, EventSource {
  states = new Map<string, State>([
    ["nginx1", "up"],
    ["nginx2", "down"],
    ["nginx3", "up"],
    ["static1", "up"],
  ]);
  enabledFlags = new Map<string, boolean>();
  weights: Record<string, number> = {};
  setWeightCalls: [string, string, string, number][] = [];
  seq = 100;
  subscribers = new Set<Subscriber>();
  subscribeOptions: SubscribeOptions[] = [];
  #unsubscribed: (() => void)[] = [];
  #subscribed: (() => void)[] = [];

  config(): Config {
    const cfg = testConfig(this.weights);
    const backends: Record<string, Backend> = {};
    for (const [name, b] of Object.entries(cfg.backends)) {
      backends[name] = { ...b, enabled: this.enabledFlags.get(name) ?? true };
    }
    return { ...cfg, backends };
  }

  listBackends(): string[] {
    return [...this.states.keys()].sort();
  }

  /** `boom` throws a plain Error, to exercise INTERNAL. */
  getBackend(name: string): BackendSnapshot {
    if (name === "boom") throw new Error("kaboom");
    const b = this.config().backends[name];
    if (!b) throw backendNotFound(name);
    return {
      name,
      address: b.address,
      description: b.description,
      state: this.states.get(name) ?? "unknown",
      enabled: b.enabled,
      healthcheck: b.healthcheck,
      health: this.states.get(name) === "up" ? 4 : 0,
      healthMax: 4,
      transitions: [{
        from: "unknown",
        to: this.states.get(name) ?? "unknown",
        atMs: 1_700_000_000_123,
        code: "L7OK",
        detail: "HTTP 200",
      }],
      probes: [{
        atMs: 1_700_000_000_100,
        ok: true,
        code: "L7OK",
        detail: "HTTP 200",
        durationMs: 1.5,
      }],
    };
  }

  backendState(name: string): State | undefined {
    return this.states.get(name);
  }

  frontendState(_name: string): FrontendState {
    return "up";
  }

  #operator(name: string, to: State, needsEnabled: boolean): BackendSnapshot {
    if (!this.config().backends[name]) throw backendNotFound(name);
    if (needsEnabled && this.enabledFlags.get(name) === false) {
      throw new MaglevError(
        "FAILED_PRECONDITION",
        `backend ${JSON.stringify(name)} is disabled`,
      );
    }
    this.states.set(name, to);
    return this.getBackend(name);
  }

  pause(name: string): BackendSnapshot {
    return this.#operator(name, "paused", true);
  }

  resume(name: string): BackendSnapshot {
    return this.#operator(name, "unknown", true);
  }

  enable(name: string): BackendSnapshot {
    this.enabledFlags.set(name, true);
    return this.#operator(name, "unknown", false);
  }

  disable(name: string): BackendSnapshot {
    if (!this.config().backends[name]) throw backendNotFound(name);
    this.enabledFlags.set(name, false);
    return this.#operator(name, "disabled", false);
  }

  setWeight(frontend: string, pool: string, backend: string, weight: number): void {
    this.setWeightCalls.push([frontend, pool, backend, weight]);
    this.weights[backend] = weight;
  }

  applyConfig(_next: Config): void {}

  lastSeq(): number {
    return this.seq;
  }

  /** Publishes a live event to every subscriber. */
  publish(ev: MaglevEvent): void {
    for (const s of this.subscribers) s.push(ev);
  }

  /** Resolves when the next subscription ends. */
  unsubscribed(): Promise<void> {
    return new Promise((resolve) => this.#unsubscribed.push(resolve));
  }

  /** Resolves once `n` subscribers exist. */
  async subscribersAtLeast(n: number): Promise<void> {
    while (this.subscribers.size < n) {
      await new Promise<void>((resolve) => this.#subscribed.push(resolve));
    }
  }

  subscribe(options: SubscribeOptions = {}): AsyncIterable<MaglevEvent> {
    this.subscribeOptions.push(options);
    const queue: MaglevEvent[] = [];
    if (options.afterSeq === undefined) {
      if (options.frontend !== false) {
        queue.push({
          kind: "frontend",
          seq: this.seq,
          frontend: "web",
          from: "up",
          to: "up",
          atMs: 1_700_000_000_000,
        });
      }
      if (options.backend !== false) {
        queue.push({
          kind: "backend",
          seq: this.seq,
          frontend: "web",
          backend: "nginx1",
          address: "10.0.0.1",
          transition: { from: "up", to: "up", atMs: 1_700_000_000_000, code: "", detail: "" },
        });
      }
    }
    let wake: (() => void) | undefined;
    const sub: Subscriber = {
      options,
      push(ev) {
        const want = ev.kind === "log"
          ? options.log === true
          : ev.kind === "resync" || options[ev.kind] !== false;
        if (!want) return;
        queue.push(ev);
        wake?.();
      },
    };
    const subscribers = this.subscribers;
    const done = this.#unsubscribed;
    const started = this.#subscribed;
    const signal = options.signal;
    async function* run(): AsyncGenerator<MaglevEvent> {
      subscribers.add(sub);
      for (const f of started.splice(0)) f();
      const onAbort = () => wake?.();
      signal?.addEventListener("abort", onAbort);
      try {
        for (;;) {
          while (queue.length) yield queue.shift()!;
          if (signal?.aborted) return;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      } finally {
        signal?.removeEventListener("abort", onAbort);
        subscribers.delete(sub);
        for (const f of done.splice(0)) f();
      }
    }
    return run();
  }
}

/** Scripted config check / reload outcomes. */
export class FakeConfigFile {
  result: ReloadResult = { ok: true, config: testConfig() };

  check(): Promise<{ ok: boolean; kind?: "parse" | "semantic"; error?: string }> {
    const r = this.result;
    return Promise.resolve(r.ok ? { ok: true } : { ok: false, kind: r.kind, error: r.error });
  }

  reload(): Promise<ReloadResult> {
    return Promise.resolve(this.result);
  }
}
