import { strict as assert } from "node:assert";
import { createLocalProber, type EngineName } from "./local.ts";
import {
  backend,
  blackholePort,
  check,
  engineTest,
  NEVER,
  newFds,
  openFds,
  rawServer,
  resetServer,
} from "./prober_test_util.ts";
import type { ProbeResult } from "../health/types.ts";
import { SocketEngine } from "./engine.ts";
import { realClock } from "../clock.ts";

/** A server that writes `head` on each connection and then holds it open. */
function trickleServer(head: string) {
  return rawServer("127.0.0.1", () => ({ write: [head], hold: true }));
}

engineTest("engine: a RST after the request is L7RSP connection reset", async (engine) => {
  const server = resetServer("127.0.0.1");
  const prober = createLocalProber({ engine });
  try {
    const r = await prober.probe(check("http", server.port), backend("127.0.0.1"), NEVER);
    // A reset may come before or after the peer's FIN is seen; both end the probe as L7RSP.
    assert.equal(r.code, "L7RSP", r.detail);
    assert.match(r.detail, /^response: connection (reset by peer|closed before a response)$/);
  } finally {
    await prober.close();
    await server.close();
  }
});

engineTest("engine: a black-holed port is L4TOUT connect timeout after 300ms", async (engine) => {
  const hole = blackholePort();
  const prober = createLocalProber({ engine });
  try {
    for (const type of ["http", "tcp"] as const) {
      const r = await prober.probe(
        check(type, hole.port, { timeoutMs: 300 }),
        backend("127.0.0.1"),
        NEVER,
      );
      assert.equal(r.code, "L4TOUT", r.detail);
      assert.equal(r.detail, "connect timeout after 300ms");
      assert.ok(r.durationMs >= 299, `duration ${r.durationMs}`);
    }
  } finally {
    await prober.close();
    hole.close();
  }
});

engineTest("engine: slow headers time out; a complete status line is enough", async (engine) => {
  const partial = trickleServer("HTTP/1.1 20");
  const headOnly = trickleServer("HTTP/1.1 200 OK\r\nX-Slow: 1\r\n");
  const prober = createLocalProber({ engine });
  try {
    let r = await prober.probe(
      check("http", partial.port, { timeoutMs: 200 }),
      backend("127.0.0.1"),
      NEVER,
    );
    assert.equal(r.code, "L7TOUT", r.detail);
    assert.equal(r.detail, "response timeout after 200ms");
    // Without a response-regexp only the status counts (spec 3.8).
    r = await prober.probe(check("http", headOnly.port), backend("127.0.0.1"), NEVER);
    assert.equal(r.code, "L7OK", r.detail);
    r = await prober.probe(
      check("http", headOnly.port, { timeoutMs: 200, http: { responseRegexp: "x" } }),
      backend("127.0.0.1"),
      NEVER,
    );
    assert.equal(r.code, "L7TOUT", r.detail);
  } finally {
    await prober.close();
    await partial.close();
    await headOnly.close();
  }
});

/** Runs `n` probes, at most `width` at a time. */
async function probeMany(
  engine: EngineName,
  hc: ReturnType<typeof check>,
  n: number,
  width: number,
): Promise<Map<string, number>> {
  const prober = createLocalProber({ engine });
  const codes = new Map<string, number>();
  let started = 0;
  const lane = async () => {
    while (started < n) {
      started++;
      const r = await prober.probe(hc, backend("127.0.0.1"), NEVER);
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  await prober.close();
  return codes;
}

Deno.test("engine: 10,000 probes against refused, blackhole and RST leave no fd behind", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refusedPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const hole = blackholePort();
  const reset = resetServer("127.0.0.1");
  try {
    // Warm up: libc, the epoll set and the runtime's own fds exist before counting.
    await probeMany("socket", check("tcp", refusedPort), 10, 10);
    const before = openFds();
    const refused = await probeMany("socket", check("tcp", refusedPort), 10_000, 200);
    assert.deepEqual([...refused], [["L4CON", 10_000]]);
    const holed = await probeMany(
      "socket",
      check("tcp", hole.port, { timeoutMs: 20 }),
      10_000,
      500,
    );
    assert.deepEqual([...holed], [["L4TOUT", 10_000]]);
    const resets = await probeMany("socket", check("http", reset.port), 10_000, 100);
    assert.equal(resets.get("L7RSP"), 10_000, JSON.stringify([...resets]));
    assert.deepEqual(newFds(before), []);
  } finally {
    hole.close();
    await reset.close();
  }
});

Deno.test("engine: results reach the sink, cancel silences it, close ends everything", async () => {
  const hole = blackholePort();
  const engine = new SocketEngine(realClock, "maglevd/test");
  try {
    const seen: ProbeResult[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const sink = {
      probeDone(r: ProbeResult) {
        seen.push(r);
        if (seen.length === 1) done();
      },
    };
    const hc = check("tcp", hole.port, { timeoutMs: 100 });
    const kept = engine.start(hc, backend("127.0.0.1"), sink);
    const dropped = engine.start(hc, backend("127.0.0.1"), sink);
    assert.equal(engine.cancel(dropped)?.detail, "connect cancelled");
    assert.equal(engine.cancel(dropped), undefined, "a ticket ends once");
    await finished;
    assert.equal(seen.length, 1);
    assert.equal(seen[0].detail, "connect timeout after 100ms");
    assert.equal(engine.cancel(kept), undefined);
    assert.equal(engine.active, 0);
  } finally {
    engine.close();
    hole.close();
  }
});

Deno.test("engine: a bad address is L4CON and names it", async () => {
  const prober = createLocalProber({ engine: "socket" });
  try {
    const r = await prober.probe(check("tcp", 80), backend("not-an-ip"), NEVER);
    assert.equal(r.code, "L4CON");
    assert.equal(r.detail, 'bad address "not-an-ip"');
  } finally {
    await prober.close();
  }
});

engineTest("engine: one check object sees each status change of its backend", async (engine) => {
  let status = "200 OK";
  const server = rawServer("127.0.0.1", () => [`HTTP/1.1 ${status}\r\nContent-Length: 0\r\n\r\n`]);
  const prober = createLocalProber({ engine });
  const hc = check("http", server.port);
  const b = backend("127.0.0.1");
  try {
    const seen: string[] = [];
    for (const s of ["200 OK", "200 OK", "503 Busy", "503 Busy", "200 OK"]) {
      status = s;
      const r = await prober.probe(hc, b, NEVER);
      seen.push(`${r.code} ${r.detail}`);
    }
    assert.deepEqual(seen, [
      "L7OK HTTP 200 OK",
      "L7OK HTTP 200 OK",
      "L7STS HTTP 503 Busy: not in 200-399",
      "L7STS HTTP 503 Busy: not in 200-399",
      "L7OK HTTP 200 OK",
    ]);
  } finally {
    await prober.close();
    await server.close();
  }
});

Deno.test("engine: probes in flight are capped below the fd limit; the rest are local errors", async () => {
  const hole = blackholePort();
  const limits = Deno.readTextFileSync("/proc/self/limits").split("\n")
    .find((l) => l.startsWith("Max open files"))!.split(/\s+/);
  const [soft, hard] = [limits[3], limits[4]];
  const prlimit = (n: string) =>
    new Deno.Command("prlimit", { args: [`--pid=${Deno.pid}`, `--nofile=${n}:${hard}`] }).output();
  // Cap: 600 less the 512 kept for the rest of the daemon = 88 probes.
  await prlimit("600");
  const engine = new SocketEngine(realClock, "maglevd/test");
  try {
    const results: ProbeResult[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const sink = {
      probeDone(r: ProbeResult) {
        results.push(r);
        if (results.length === 100) done();
      },
    };
    const hc = check("tcp", hole.port, { timeoutMs: 100 });
    for (let i = 0; i < 100; i++) engine.start(hc, backend("127.0.0.1"), sink);
    const refused = results.filter((r) => r.local);
    assert.equal(refused.length, 12, "refused at once, beyond the cap");
    assert.equal(refused[0].detail, "probe queue full: 88 probes in flight (fd limit less 512)");
    await all;
    assert.equal(results.filter((r) => r.code === "L4TOUT" && !r.local).length, 88);
  } finally {
    engine.close();
    hole.close();
    await prlimit(soft);
  }
});

engineTest(
  "engine: a response in many small writes, connection held open, is judged when whole",
  async (engine) => {
    const body = "x".repeat(19) + "END";
    const parts = [`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`, ...body.split("")];
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns: Deno.Conn[] = [];
    const serving = (async () => {
      for await (const conn of listener) {
        conns.push(conn);
        await conn.read(new Uint8Array(4096));
        // One write per byte, each after the last is on the wire: many reads on the prober's side.
        for (const p of parts) {
          await conn.write(new TextEncoder().encode(p));
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    })().catch(() => {});
    const prober = createLocalProber({ engine });
    try {
      const r = await prober.probe(
        check("http", (listener.addr as Deno.NetAddr).port, { http: { responseRegexp: "END$" } }),
        backend("127.0.0.1"),
        NEVER,
      );
      assert.equal(r.code, "L7OK", r.detail);
    } finally {
      await prober.close();
      listener.close();
      for (const c of conns) c.close();
      await serving;
    }
  },
);

/** A clock whose time moves only when told and whose timers the test fires: a stall on demand. */
class StallClock {
  at = 0;
  #due: (() => void)[] = [];
  now(): number {
    return this.at;
  }
  monotonic(): number {
    return this.at;
  }
  setTimeout(fn: () => void, _ms: number): number {
    this.#due.push(fn);
    return this.#due.length;
  }
  clearTimeout(_id: number): void {}
  /** Sets the time to `at` and runs the timers armed so far (the engine's tick). */
  tickAt(at: number): void {
    this.at = at;
    const due = this.#due;
    this.#due = [];
    for (const fn of due) fn();
  }
}

/** A listener on loopback, a stall clock and an engine on it, with a sink collecting results. */
function stallSetup() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const clock = new StallClock();
  const engine = new SocketEngine(clock, "maglevd/test");
  const results: ProbeResult[] = [];
  const hc = check("http", (listener.addr as Deno.NetAddr).port, { timeoutMs: 200 });
  return {
    listener,
    clock,
    engine,
    results,
    hc,
    sink: { probeDone: (r: ProbeResult) => results.push(r) },
  };
}

Deno.test("engine: a daemon stall is not the backend's: a connect seen late still gets its answer", async () => {
  const { listener, clock, engine, results, hc, sink } = stallSetup();
  try {
    engine.start(hc, backend("127.0.0.1"), sink);
    const conn = await listener.accept(); // the handshake is done: the connect is ready to be seen
    try {
      // The loop stalls 300 ms past the tick: without the credit the 200 ms timeout is gone.
      clock.tickAt(300);
      assert.equal(results.length, 0, "no timeout for time the daemon was not running");
      await conn.read(new Uint8Array(4096));
      await conn.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
      clock.tickAt(305);
      assert.equal(results.length, 1);
      assert.equal(results[0].code, "L7OK", results[0].detail);
    } finally {
      conn.close();
    }
  } finally {
    engine.close();
    listener.close();
  }
});

Deno.test("engine: stalls add at most one timeout; a backend that never answers still times out", async () => {
  const { listener, clock, engine, results, hc, sink } = stallSetup();
  try {
    engine.start(hc, backend("127.0.0.1"), sink);
    const conn = await listener.accept();
    try {
      // Every tick 300 ms late: the first credits the whole 200 ms cap, later ones nothing.
      clock.tickAt(300);
      clock.tickAt(395);
      assert.equal(results.length, 0);
      clock.tickAt(700);
      assert.equal(results.length, 1);
      assert.equal(results[0].code, "L7TOUT");
      assert.equal(results[0].detail, "response timeout after 200ms");
    } finally {
      conn.close();
    }
  } finally {
    engine.close();
    listener.close();
  }
});

Deno.test("engine: a tick on time credits nothing: the timeout holds to the millisecond", async () => {
  const { listener, clock, engine, results, hc, sink } = stallSetup();
  try {
    engine.start(hc, backend("127.0.0.1"), sink);
    const conn = await listener.accept();
    try {
      for (let t = 5; t < 200; t += 5) clock.tickAt(t);
      assert.equal(results.length, 0);
      clock.tickAt(200);
      assert.equal(results.length, 1);
      assert.equal(results[0].code, "L7TOUT");
    } finally {
      conn.close();
    }
  } finally {
    engine.close();
    listener.close();
  }
});
