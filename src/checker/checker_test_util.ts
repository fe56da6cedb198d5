/**
 * Test helpers: `Config` objects built directly (no YAML) and a fake
 * prober that counts calls per backend.
 * @module
 */
import { DEFAULT_HTTP_PARAMS } from "../config/defaults.ts";
import type { Backend, Config, Frontend, HealthCheck, HttpParams } from "../config/types.ts";
import type { ProbeResult, ProbeSink } from "../health/types.ts";
import type { ProbeDriver, ProbeFn } from "./types.ts";

/** HTTP params as the loader fills them for `params: {}` (path `/`, codes 200-399), with `over`. */
export function httpParams(over: Partial<HttpParams> = {}): HttpParams {
  return Object.freeze({ ...DEFAULT_HTTP_PARAMS, ...over });
}

/** A health check with test defaults: http on port 80, 1 s interval, rise 2, fall 3. */
export function healthCheck(name: string, over: Partial<HealthCheck> = {}): HealthCheck {
  return Object.freeze({
    name,
    type: "http",
    port: 80,
    intervalMs: 1000,
    fastIntervalMs: 1000,
    downIntervalMs: 1000,
    timeoutMs: 500,
    rise: 2,
    fall: 3,
    probeIpv4Src: "",
    probeIpv6Src: "",
    http: httpParams(),
    ...over,
  });
}

/** What {@linkcode makeConfig} takes. */
export interface ConfigSpec {
  healthchecks?: Record<string, Partial<HealthCheck>>;
  /** name → address, or a partial backend (healthcheck defaults to `hc` when present). */
  backends: Record<string, string | (Partial<Backend> & { address: string })>;
  /** name → pools as `[poolName, {backend: weight}]` plus frontend overrides. */
  frontends: Record<
    string,
    { pools: [string, Record<string, number>][] } & Partial<Omit<Frontend, "pools">>
  >;
  transitionHistory?: number;
}

/**
 * A frozen `Frontend` with test defaults (192.0.2.1:80/tcp, flush on down,
 * an `auto` flow table of 1024); `pools` as `[poolName, {backend: weight}]`.
 */
export function frontend(
  name: string,
  pools: [string, Record<string, number>][],
  over: Partial<Omit<Frontend, "pools">> = {},
): Frontend {
  return Object.freeze({
    name,
    address: "192.0.2.1",
    family: 4,
    protocol: "tcp",
    port: 80,
    description: "",
    srcIpSticky: false,
    flushOnDown: true,
    flowTableLength: 1024,
    flowTableLengthAuto: true,
    ...over,
    pools: Object.freeze(pools.map(([pool, bs]) =>
      Object.freeze({
        name: pool,
        backends: Object.freeze(
          Object.entries(bs).map(([b, weight]) => Object.freeze({ name: b, weight })),
        ),
      })
    )),
  });
}

/**
 * A frozen `Config`. Backends use the health check `hc` when the spec
 * defines one and the backend does not say otherwise (`healthcheck: ""`
 * makes it static).
 */
export function makeConfig(spec: ConfigSpec): Config {
  const healthchecks: Record<string, HealthCheck> = {};
  for (const [name, over] of Object.entries(spec.healthchecks ?? {}).sort()) {
    healthchecks[name] = healthCheck(name, over);
  }
  const defaultHc = healthchecks.hc ? "hc" : "";
  const backends: Record<string, Backend> = {};
  for (const [name, b] of Object.entries(spec.backends).sort()) {
    const over = typeof b === "string" ? { address: b } : b;
    backends[name] = Object.freeze({
      name,
      family: over.address.includes(":") ? 6 : 4,
      healthcheck: defaultHc,
      enabled: true,
      description: "",
      ...over,
    });
  }
  const frontends: Record<string, Frontend> = {};
  for (const [name, f] of Object.entries(spec.frontends).sort()) {
    const { pools, ...over } = f;
    frontends[name] = frontend(name, pools, over);
  }
  return Object.freeze({
    healthchecker: Object.freeze({ transitionHistory: spec.transitionHistory ?? 10, netns: "" }),
    vpp: Object.freeze({
      lb: Object.freeze({
        ipv4SrcAddress: "",
        ipv6SrcAddress: "",
        stickyBucketsPerCore: 1024,
        flowTimeoutS: 40,
        syncIntervalMs: 30_000,
        startupMinDelayMs: 0,
        startupMaxDelayMs: 0,
      }),
    }),
    healthchecks: Object.freeze(healthchecks),
    backends: Object.freeze(backends),
    frontends: Object.freeze(frontends),
    warnings: Object.freeze([]),
  });
}

/** A passing probe result. */
export const PASS: ProbeResult = Object.freeze({
  ok: true,
  layer: "L7",
  code: "L7OK",
  detail: "HTTP 200",
  durationMs: 1,
});

/** A failing probe result. */
export const FAIL: ProbeResult = Object.freeze({
  ok: false,
  layer: "L4",
  code: "L4CON",
  detail: "connection refused",
  durationMs: 1,
});

/** How the fake answers one backend. */
export type FakeBehaviour =
  | ProbeResult
  /** Never answers on its own; resolves with an L7TOUT when aborted. */
  | "hang"
  /** Never answers, ignores its signal; settle with `release()`. */
  | "deaf"
  /** Throws synchronously. */
  | "throw";

interface DeafProbe {
  backend: string;
  resolve: (r: ProbeResult) => void;
}

/** A ProbeFn that answers from a table and counts calls per backend. */
export class FakeProber {
  /** Default answer for backends without an entry in `behaviour`. */
  fallback: FakeBehaviour = PASS;
  readonly behaviour = new Map<string, FakeBehaviour>();
  readonly calls = new Map<string, number>();
  /** Signals of every probe, in call order. */
  readonly signals: { backend: string; signal: AbortSignal }[] = [];
  #deaf: DeafProbe[] = [];

  /** The ProbeFn to hand to the checker. */
  readonly probe: ProbeFn = (_hc, backend, signal) => {
    this.calls.set(backend.name, this.count(backend.name) + 1);
    this.signals.push({ backend: backend.name, signal });
    const b = this.behaviour.get(backend.name) ?? this.fallback;
    if (b === "throw") throw new Error("prober exploded");
    if (b === "hang") {
      return new Promise((resolve) => {
        signal.addEventListener("abort", () =>
          resolve({
            ok: false,
            layer: "L7",
            code: "L7TOUT",
            detail: "aborted by signal",
            durationMs: 0,
          }), { once: true });
      });
    }
    if (b === "deaf") {
      return new Promise((resolve) => this.#deaf.push({ backend: backend.name, resolve }));
    }
    return Promise.resolve(b);
  };

  /** Probes started for `backend`. */
  count(backend: string): number {
    return this.calls.get(backend) ?? 0;
  }

  /** Settles every deaf probe of `backend` with `result`. */
  release(backend: string, result: ProbeResult): void {
    const keep: DeafProbe[] = [];
    for (const d of this.#deaf) {
      if (d.backend === backend) d.resolve(result);
      else keep.push(d);
    }
    this.#deaf = keep;
  }
}

/** One probe a {@linkcode FakeDriver} was asked to start. */
export interface DrivenProbe {
  readonly backend: string;
  readonly ticket: number;
  readonly sink: ProbeSink;
  cancelled: boolean;
}

/** A ProbeDriver that holds every probe until the test answers it. */
export class FakeDriver implements ProbeDriver {
  readonly started: DrivenProbe[] = [];
  #next = 1;

  start(_hc: HealthCheck, backend: Backend, sink: ProbeSink): number {
    const ticket = this.#next++;
    this.started.push({ backend: backend.name, ticket, sink, cancelled: false });
    return ticket;
  }

  cancel(ticket: number): void {
    const p = this.started.find((s) => s.ticket === ticket);
    if (p) p.cancelled = true;
  }

  /** Probes of `backend` neither answered nor cancelled. */
  open(backend: string): DrivenProbe[] {
    return this.started.filter((s) => s.backend === backend && !s.cancelled);
  }

  /** Answers the open probes of `backend` with `result`. */
  answer(backend: string, result: ProbeResult): number {
    const open = this.open(backend);
    for (const p of open) {
      p.cancelled = true; // answered: not open any more
      p.sink.probeDone(result);
    }
    return open.length;
  }
}
