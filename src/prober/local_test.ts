import { strict as assert } from "node:assert";
import type { HealthCheck } from "../config/types.ts";
import type { ProbeResult, ProbeSink } from "../health/types.ts";
import { createLocalProber, defaultEngine, StreamTickets } from "./local.ts";
import { backend, blackholePort, check, NEVER } from "./prober_test_util.ts";
import { probeResult } from "./result.ts";

const PASS = probeResult("L4OK", "ok", 1);

function sink(): ProbeSink & { got: ProbeResult[] } {
  const got: ProbeResult[] = [];
  return { got, probeDone: (r) => got.push(r) };
}

Deno.test("local: StreamTickets hands out negative tickets and delivers each result once", async () => {
  let resolve: (r: ProbeResult) => void = () => {};
  const signals: AbortSignal[] = [];
  const tickets = new StreamTickets((_hc, _b, signal) => {
    signals.push(signal);
    return new Promise((r) => resolve = r);
  });
  const s = sink();
  const hc = check("tcp", 1);
  const first = tickets.start(hc, backend("127.0.0.1"), s);
  const second = tickets.start(hc, backend("127.0.0.1"), s);
  assert.deepEqual([first, second], [-1, -2]);
  resolve(PASS);
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(s.got, [PASS]);
  tickets.cancel(second); // already answered: nothing to cancel
  assert.equal(signals[1].aborted, false);
  tickets.cancel(first);
  assert.deepEqual([signals[0].aborted, signals[0].reason.name], [true, "AbortError"]);
});

Deno.test("local: StreamTickets turns a throwing or rejecting probe into L4CON", async () => {
  const s = sink();
  const hc = check("tcp", 1);
  const throwing = new StreamTickets(() => {
    throw new Error("sync boom");
  });
  throwing.start(hc, backend("127.0.0.1"), s);
  const rejecting = new StreamTickets(() => Promise.reject(new Error("async boom")));
  rejecting.start(hc, backend("127.0.0.1"), s);
  await new Promise((r) => queueMicrotask(() => queueMicrotask(() => r(undefined))));
  assert.deepEqual(s.got.map((r) => [r.code, r.detail]).sort(), [
    ["L4CON", "probe failed: Error: async boom"],
    ["L4CON", "probe failed: Error: sync boom"],
  ]);
});

Deno.test("local: a cancelled stream probe's sink hears nothing; cancelAll aborts the rest", async () => {
  const signals: AbortSignal[] = [];
  const answers: ((r: ProbeResult) => void)[] = [];
  const tickets = new StreamTickets((_hc, _b, signal) => {
    signals.push(signal);
    return new Promise((r) => answers.push(r));
  });
  const s = sink();
  const t = tickets.start(check("tcp", 1), backend("127.0.0.1"), s);
  tickets.start(check("tcp", 1), backend("127.0.0.1"), s);
  tickets.cancel(t);
  tickets.cancelAll();
  assert.deepEqual(signals.map((x) => x.aborted), [true, true]);
  for (const answer of answers) answer(PASS);
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(s.got, []);
});

Deno.test("local: the engine asked for is the engine used; the default follows --allow-ffi", async () => {
  assert.equal(defaultEngine(), "socket", "tests run with -A");
  for (const engine of ["socket", "stream"] as const) {
    const prober = createLocalProber({ engine, version: "9.9" });
    assert.deepEqual([prober.engine, prober.engineFallback], [engine, undefined]);
    await prober.close();
  }
});

Deno.test("local: an unknown check type is an L4CON naming it, on either engine", async () => {
  for (const engine of ["socket", "stream"] as const) {
    const prober = createLocalProber({ engine });
    try {
      const hc = { ...check("tcp", 1), type: "sctp" } as unknown as HealthCheck;
      const r = await prober.probe(hc, backend("127.0.0.1"), NEVER);
      assert.deepEqual([r.code, r.detail], ["L4CON", 'unknown health check type "sctp"']);
    } finally {
      await prober.close();
    }
  }
});

Deno.test("local: on the socket engine an abort ends the probe with the engine's answer", async () => {
  const hole = blackholePort();
  const prober = createLocalProber({ engine: "socket" });
  try {
    const hc = check("tcp", hole.port, { timeoutMs: 60_000 });
    const gone = new AbortController();
    gone.abort();
    const early = await prober.probe(hc, backend("127.0.0.1"), gone.signal);
    assert.deepEqual([early.code, early.detail], ["L4TOUT", "connect cancelled"]);
    const ac = new AbortController();
    const pending = prober.probe(hc, backend("127.0.0.1"), ac.signal);
    ac.abort();
    const r = await pending;
    assert.deepEqual([r.code, r.detail], ["L4TOUT", "connect cancelled"]);
  } finally {
    await prober.close();
    hole.close();
  }
});

Deno.test("local: start routes plain tcp to the socket engine and https to stream tickets", async () => {
  const hole = blackholePort();
  const prober = createLocalProber({ engine: "socket" });
  try {
    const s = sink();
    const tcp = prober.start(
      check("tcp", hole.port, { timeoutMs: 60_000 }),
      backend("127.0.0.1"),
      s,
    );
    const https = prober.start(
      check("https", hole.port, { timeoutMs: 60_000 }),
      backend("127.0.0.1"),
      s,
    );
    assert.ok(tcp >= 0 && https < 0, `tickets ${tcp} ${https}`);
    prober.cancel(tcp);
    prober.cancel(https);
    assert.deepEqual(s.got, []);
  } finally {
    await prober.close();
    hole.close();
  }
});
