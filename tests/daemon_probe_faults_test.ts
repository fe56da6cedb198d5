/**
 * The real daemon under faults of its own host and of hostile backends
 * (issue 12.2 and 12.4): a full fd table must not take healthy backends
 * down, and a backtracking response-regexp must not stall anything.
 */
import { strict as assert } from "node:assert";
import {
  DaemonProcess,
  describeSim,
  freePort,
  hardNofile,
  Lab,
  labSteady,
  openFds,
  prlimitNofile,
  simHolds,
  waitFor,
} from "./helpers/mod.ts";

const NET = "127.0.62";
const STEADY = labSteady(NET);
const WEIGHT_WRITES = ["lb_add_del_as", "lb_add_del_as_v2", "lb_as_set_weight", "lb_flush_vip"];

Deno.test({
  name: "daemon: a full fd table moves no backend and writes no weight 0 (prlimit)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const lab = await Lab.start({ prefix: "maglev-fd-test-", net: NET });
    const { sim, simEvents } = lab;
    try {
      const daemon = await lab.startDaemon();
      await waitFor("VPP to hold the steady weights", () => simHolds(sim, STEADY), {
        describe: () => describeSim(sim),
      });
      const pid = daemon.child.pid;
      const hard = hardNofile(pid);
      const from = simEvents.length;
      const logFrom = daemon.logs.length;
      // A limit below the lowest free fd: every probe's socket() fails with EMFILE, even
      // after fds of probes in flight are closed (new fds take the lowest free number).
      assert.ok(openFds(pid) > 16, "the daemon holds more than 16 fds");
      await prlimitNofile(pid, { soft: 16, hard });
      try {
        await waitFor("three local probe errors in the log", () => {
          const errs = daemon.logs.slice(logFrom).filter((r) => r.msg === "probe-local-error");
          return errs.length >= 3 ? errs : undefined;
        }, { timeoutMs: 15_000, describe: () => daemon.tail() });
      } finally {
        await prlimitNofile(pid, { soft: hard, hard });
      }
      const errs = daemon.logs.slice(logFrom).filter((r) => r.msg === "probe-local-error");
      assert.equal(errs[0].level, "ERROR");
      assert.match(String(errs[0].detail), /too many open files/i);
      const moved = daemon.logs.slice(logFrom).filter((r) => r.msg === "backend-transition");
      assert.deepEqual(moved, [], "no backend changed state");
      const writes = simEvents.slice(from).filter((e) =>
        e.kind === "request" && WEIGHT_WRITES.includes(String(e.attrs.name))
      );
      assert.deepEqual(writes, [], "VPP got no weight change");
      assert.ok(simHolds(sim, STEADY), describeSim(sim));
      const text = await (await fetch(`http://${daemon.metricsAddr}/metrics`)).text();
      // Which backends' probes hit the limit is up to the schedule: every logged error is counted.
      const counted = text.split("\n")
        .filter((l) => l.startsWith("maglev_probe_local_errors_total{"))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
      assert.ok(counted >= errs.length, `maglev_probe_local_errors_total: ${counted}`);
      const up = await daemon.cliOk("show", "backends", "nginx1");
      assert.match(up, /^state\s+up$/m, up);
    } finally {
      await lab.close();
    }
  },
});

/** Two backends on `net`: `evil` checked with a backtracking regexp, `good` with a plain check. */
function hostileConfig(net: string, port: number): string {
  const timing = "interval: 100ms, fast-interval: 100ms, down-interval: 100ms, timeout: 100ms";
  // The test's own servers answer `good`: on a loaded machine one reply can take over 100 ms, so
  // `good` gets a timeout and fall that only a stalled daemon (seconds without a probe) would miss.
  const plainTiming = "interval: 1s, fast-interval: 100ms, down-interval: 100ms, timeout: 1s";
  return `maglev:
  healthchecks:
    hostile:
      type: http
      port: ${port}
      params: { path: /, response-code: 200, response-regexp: "^(a+)+$" }
      ${timing.split(", ").join("\n      ")}
      rise: 1
      fall: 1
    plain:
      type: http
      port: ${port}
      params: { path: /, response-code: 200 }
      ${plainTiming.split(", ").join("\n      ")}
      rise: 1
      fall: 3
  backends:
    evil: { address: ${net}.1, healthcheck: hostile }
    good: { address: ${net}.2, healthcheck: plain }
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - { name: primary, backends: { evil: {}, good: {} } }
`;
}

Deno.test("daemon: a backtracking response-regexp stalls nothing (^(a+)+$ against 40 a's and !)", async () => {
  const net = "127.0.63";
  const dir = await Deno.makeTempDir({ prefix: "maglev-regexp-test-" });
  const port = freePort();
  const hits = new Map<string, number>();
  // A body that takes a backtracking engine about 2^40 steps to reject.
  const body = "a".repeat(40) + "!";
  const servers = [1, 2].map((i) =>
    Deno.serve({ hostname: `${net}.${i}`, port, onListen: () => {} }, () => {
      hits.set(`${net}.${i}`, (hits.get(`${net}.${i}`) ?? 0) + 1);
      return new Response(body);
    })
  );
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, hostileConfig(net, port));
  let d: DaemonProcess | undefined;
  try {
    d = await DaemonProcess.start(configPath, { vppSocket: "" });
    const daemon = d;
    const evil = await waitFor("evil down with L7RSP", async () => {
      const out = await daemon.cliOk("show", "backends", "evil");
      return /^state\s+down$/m.test(out) && /L7RSP/.test(out) ? out : undefined;
    });
    assert.match(evil, /body does not match/, evil);
    await waitFor(
      "good up",
      async () => /^state\s+up$/m.test(await daemon.cliOk("show", "backends", "good")),
    );
    // Probes of both go on, and the API answers every call, while the hostile body keeps coming.
    const before = hits.get(`${net}.1`) ?? 0;
    for (let i = 0; i < 10; i++) {
      assert.match(await daemon.cliOk("show", "backends", "good"), /^state\s+up$/m);
    }
    await waitFor("five more hostile probes", () => (hits.get(`${net}.1`) ?? 0) >= before + 5);
  } finally {
    await d?.stop();
    for (const s of servers) await s.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("daemon: without FFI the probes fall back to the stream engine, saying so once", async () => {
  const net = "127.0.64";
  const dir = await Deno.makeTempDir({ prefix: "maglev-noffi-test-" });
  const port = freePort();
  const server = Deno.serve(
    { hostname: `${net}.1`, port, onListen: () => {} },
    () => new Response("ok"),
  );
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(
    configPath,
    `maglev:
  healthchecks:
    plain: { type: http, port: ${port}, interval: 200ms, timeout: 200ms, rise: 1, fall: 1 }
  backends:
    web1: { address: ${net}.1, healthcheck: plain }
  frontends:
    web: { address: 192.0.2.1, protocol: tcp, port: 80, pools: [{ name: p, backends: { web1: {} } }] }
`,
  );
  let d: DaemonProcess | undefined;
  try {
    d = await DaemonProcess.start(configPath, { vppSocket: "", denoArgs: ["--deny-ffi"] });
    const daemon = d;
    await waitFor(
      "web1 up",
      async () => /^state\s+up$/m.test(await daemon.cliOk("show", "backends", "web1")),
    );
    const fallback = daemon.logs.filter((r) => r.msg === "probe-engine-fallback");
    assert.equal(fallback.length, 1);
    assert.equal(fallback[0].level, "WARN");
    assert.equal(fallback[0].engine, "stream");
  } finally {
    await d?.stop();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
