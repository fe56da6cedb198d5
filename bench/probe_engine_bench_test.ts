import { strict as assert } from "node:assert";
import {
  haproxyConfig,
  parseContenders,
  parseRounds,
  parseSizes,
  roundFigures,
  roundOrder,
  type RunResult,
} from "./probe_engine_bench.ts";

Deno.test("probe_engine: sizes, engines and rounds parse, and bad ones are named", () => {
  assert.deepEqual(parseSizes("1000@1,50000@5"), [
    { backends: 1000, intervalS: 1 },
    { backends: 50000, intervalS: 5 },
  ]);
  assert.throws(() => parseSizes("1000"), /--sizes "1000": use backends@interval-seconds/);
  assert.deepEqual(parseContenders("socket,haproxy"), ["socket", "haproxy"]);
  assert.throws(() => parseContenders("nginx"), /--engines "nginx"/);
  assert.equal(parseRounds("5"), 5);
  for (const bad of ["0", "1.5", "x"]) {
    assert.throws(() => parseRounds(bad), new RegExp(`--rounds "${bad}": use a whole number`));
  }
});

Deno.test("probe_engine: HAProxy checks the same backends as the checker, at the same pace", () => {
  const cfg = haproxyConfig("/tmp/x", { backends: 2, intervalS: 5 });
  assert.match(cfg, /option httpchk GET \/healthz/);
  assert.match(cfg, /check inter 5s fastinter 5s downinter 5s rise 2 fall 3/);
  assert.ok(cfg.includes("  server b0 127.1.0.1:8080\n  server b1 127.1.0.2:8080\n"), cfg);
});

Deno.test("probe_engine: rounds alternate who runs first; the stream engine runs once", () => {
  const all = ["haproxy", "socket", "stream"] as const;
  assert.deepEqual(roundOrder(all, 0), ["haproxy", "socket", "stream"]);
  assert.deepEqual(roundOrder(all, 1), ["socket", "haproxy"]);
  assert.deepEqual(roundOrder(all, 2), ["haproxy", "socket"]);
  assert.deepEqual(roundOrder(["socket"], 1), ["socket"]);
});

function run(contender: RunResult["contender"], userS: number, sysS: number, more = {}): RunResult {
  return {
    contender,
    backends: 10,
    intervalS: 1,
    seconds: 10,
    userS,
    sysS,
    rssMb: 50,
    heapMb: NaN,
    scrapeMs: NaN,
    scrapeMb: NaN,
    rssPeakMb: 60,
    probes: 100,
    served: 100,
    failed: 0,
    up: 10,
    latenessP50: NaN,
    latenessP99: NaN,
    durationP50: NaN,
    durationP99: NaN,
    ...more,
  };
}

Deno.test("probe_engine: each round's ratio divides by its own HAProxy; medians, ranges, worst", () => {
  const figures = roundFigures([
    [run("haproxy", 1, 3), run("socket", 1, 3, { failed: 2, rssMb: 40 })],
    [run("socket", 2, 4, { up: 9 }), run("haproxy", 1, 3)],
    [run("haproxy", 2, 6), run("socket", 2, 6, { rssMb: 70 })],
  ]);
  const value = (name: string) => {
    const f = figures.find((f) => f.name === `probe_engine.10@1s.${name}`);
    assert.ok(f, `no figure ${name} in ${figures.map((f) => f.name).join(" ")}`);
    return f.value;
  };
  // Per round: 4/4, 6/4, 8/8 cores.
  assert.equal(value("socket.cpu_ratio_to_haproxy"), 1);
  assert.equal(value("socket.cpu_ratio_to_haproxy_min"), 1);
  assert.equal(value("socket.cpu_ratio_to_haproxy_max"), 1.5);
  assert.equal(value("socket.cpu_user_ratio_to_haproxy_max"), 2);
  assert.equal(value("socket.cpu_sys_ratio_to_haproxy"), 1);
  assert.equal(value("socket.cpu_per_probe_ratio_to_haproxy"), 1);
  assert.equal(value("socket.round2.cpu_ratio_to_haproxy"), 1.5);
  assert.equal(value("socket.round2.cpu_cores"), 0.6);
  assert.equal(value("haproxy.round3.cpu_cores"), 0.8);
  // The median core count; the worst round for what goals bound.
  assert.equal(value("socket.cpu_cores"), 0.6);
  assert.equal(value("socket.failed"), 2);
  assert.equal(value("socket.backends_up_at_end"), 9);
  assert.equal(value("socket.rss_mb"), 70);
  assert.ok(!figures.some((f) => f.name.includes("haproxy.cpu_ratio")));
});

Deno.test("probe_engine: one round prints no per-round figures", () => {
  const figures = roundFigures([[run("haproxy", 1, 3), run("socket", 1, 3)]]);
  assert.ok(!figures.some((f) => f.name.includes(".round")));
  assert.equal(figures.find((f) => f.name.endsWith("socket.cpu_ratio_to_haproxy"))?.value, 1);
});
