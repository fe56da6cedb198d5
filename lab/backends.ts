/**
 * Local HTTP backends for the lab: one tiny server per loopback address,
 * answering `/healthz`. A backend may flap (fail every other period) so the
 * demo always has something happening.
 * @module
 */

/** One backend to serve. */
export interface LabBackend {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** When set, the backend answers 503 during every other period of this length. */
  readonly flapPeriodMs?: number;
}

/** Running backends. */
export interface LabBackends {
  /** Requests served per backend name. */
  readonly hits: Map<string, number>;
  /** Names of backends told to fail: they answer 503 until removed from the set. */
  readonly failing: Set<string>;
  close(): Promise<void>;
}

/** True when a flapping backend is in its failing half. */
export function isFailing(b: LabBackend, nowMs: number): boolean {
  if (!b.flapPeriodMs) return false;
  return Math.floor(nowMs / b.flapPeriodMs) % 2 === 1;
}

/** Starts one HTTP server per backend. */
export function startBackends(backends: readonly LabBackend[]): LabBackends {
  const hits = new Map<string, number>();
  const failing = new Set<string>();
  const servers = backends.map((b) =>
    Deno.serve({ hostname: b.address, port: b.port, onListen: () => {} }, (req) => {
      hits.set(b.name, (hits.get(b.name) ?? 0) + 1);
      const path = new URL(req.url).pathname;
      if (path !== "/healthz" && path !== "/") return new Response("not found\n", { status: 404 });
      if (failing.has(b.name)) {
        return new Response(`${b.name} failing (told to)\n`, { status: 503 });
      }
      if (isFailing(b, Date.now())) {
        return new Response(`${b.name} failing (flap)\n`, { status: 503 });
      }
      return new Response(`ok ${b.name}\n`);
    })
  );
  return {
    hits,
    failing,
    close: async () => {
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}
