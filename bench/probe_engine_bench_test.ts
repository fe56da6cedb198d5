import { strict as assert } from "node:assert";
import { haproxyConfig, parseContenders, parseSizes } from "./probe_engine_bench.ts";

Deno.test("probe_engine: sizes and engines parse, and bad ones are named", () => {
  assert.deepEqual(parseSizes("1000@1,50000@5"), [
    { backends: 1000, intervalS: 1 },
    { backends: 50000, intervalS: 5 },
  ]);
  assert.throws(() => parseSizes("1000"), /--sizes "1000": use backends@interval-seconds/);
  assert.deepEqual(parseContenders("socket,haproxy"), ["socket", "haproxy"]);
  assert.throws(() => parseContenders("nginx"), /--engines "nginx"/);
});

Deno.test("probe_engine: HAProxy checks the same backends as the checker, at the same pace", () => {
  const cfg = haproxyConfig("/tmp/x", { backends: 2, intervalS: 5 });
  assert.match(cfg, /option httpchk GET \/healthz/);
  assert.match(cfg, /check inter 5s fastinter 5s downinter 5s rise 2 fall 3/);
  assert.ok(cfg.includes("  server b0 127.1.0.1:8080\n  server b1 127.1.0.2:8080\n"), cfg);
});
