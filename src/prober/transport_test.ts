import { strict as assert } from "node:assert";
import { type Clock, realClock } from "../clock.ts";
import { createLocalProber } from "./local.ts";
import { backend, check, NEVER } from "./prober_test_util.ts";

/** The real clock, counting its pending timers so a test can await them all. */
function countingClock(): Clock & { idle(): Promise<void> } {
  const pending = new Set<number>();
  let wake: (() => void) | undefined;
  return {
    now: realClock.now,
    monotonic: realClock.monotonic,
    setTimeout(fn, ms) {
      const id = realClock.setTimeout(() => {
        pending.delete(id);
        fn();
        if (pending.size === 0) wake?.();
      }, ms);
      pending.add(id);
      return id;
    },
    clearTimeout(id) {
      realClock.clearTimeout(id);
      pending.delete(id);
      if (pending.size === 0) wake?.();
    },
    idle() {
      return pending.size === 0 ? Promise.resolve() : new Promise<void>((r) => (wake = r));
    },
  };
}

const libcSymbols = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/** TCP sockets this process holds (fds that are sockets). */
function socketFds(): number {
  let n = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith("socket:")) n++;
    } catch {
      // The directory's own fd, gone already.
    }
  }
  return n;
}

Deno.test("transport: connects completing around the deadline leave no socket behind", async () => {
  // A listener with a full accept queue drops SYNs; the kernel retransmits
  // them 1 s later, so with timeouts around 1 s connects complete right at
  // the deadline (the race that leaked sockets in Deno.connect).
  const lib = Deno.dlopen("libc.so.6", libcSymbols);
  const fd = lib.symbols.socket(2, 1 | 0o4000 | 0o2000000, 0); // AF_INET, SOCK_STREAM|NONBLOCK|CLOEXEC
  const sa = new Uint8Array(16);
  sa[0] = 2;
  sa.set([127, 0, 0, 1], 4);
  assert.equal(lib.symbols.bind(fd, sa, 16), 0);
  assert.equal(lib.symbols.listen(fd, 8), 0);
  lib.symbols.getsockname(fd, sa, new Uint8Array(new Uint32Array([16]).buffer));
  const port = (sa[2] << 8) | sa[3];
  const fill: Deno.TcpConn[] = [];
  const accepted: number[] = [];
  const clock = countingClock();
  const prober = createLocalProber({ clock });
  let drain: ReturnType<typeof setInterval> | undefined;
  try {
    // The queue holds backlog + 1 connections.
    for (let i = 0; i < 9; i++) fill.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const before = socketFds();
    const probes = [];
    for (let i = 0; i < 40; i++) {
      const hc = check("http", port, { timeoutMs: 990 + (i % 20) });
      probes.push(prober.probe(hc, backend("127.0.0.1"), NEVER));
    }
    // Make room once the first SYNs are dropped, before they are retransmitted.
    drain = setInterval(() => {
      for (;;) {
        const c = lib.symbols.accept4(fd, null, null, 0o2000000);
        if (c < 0) break;
        accepted.push(c);
      }
    }, 100);
    const results = await Promise.all(probes);
    for (const r of results) assert.ok(r.code === "L4TOUT" || r.code === "L7TOUT", r.code);
    // Late connects are closed when they complete; pending ones are aborted later.
    await clock.idle();
    clearInterval(drain);
    drain = undefined;
    for (;;) {
      const c = lib.symbols.accept4(fd, null, null, 0o2000000);
      if (c < 0) break;
      accepted.push(c);
    }
    assert.equal(socketFds() - accepted.length, before, "client sockets left open");
  } finally {
    if (drain !== undefined) clearInterval(drain);
    await prober.close();
    for (const c of fill) c.close();
    for (const c of accepted) lib.symbols.close(c);
    lib.symbols.close(fd);
    lib.close();
  }
});
