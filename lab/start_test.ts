import { strict as assert } from "node:assert";
import { loadConfigFile } from "../src/config/mod.ts";
import { LAB_BACKENDS } from "./start.ts";

// Running the lab itself takes the fixed ports 9090-9092 and starts maglevd: the
// part tested here is what it must agree on with lab/maglev.yaml.
Deno.test("lab: the served backends are the config's health-checked backends, on its port", async () => {
  const result = await loadConfigFile(new URL("./maglev.yaml", import.meta.url).pathname, {
    vppEnabled: true,
  });
  assert.ok(result.ok, JSON.stringify(result));
  const { backends, healthchecks } = result.config;
  const checked = Object.values(backends).filter((b) => b.healthcheck !== "");
  assert.deepEqual(
    LAB_BACKENDS.map((b) => [b.name, b.address]),
    checked.map((b) => [b.name, b.address]),
  );
  for (const b of LAB_BACKENDS) {
    const hc = healthchecks[backends[b.name].healthcheck];
    assert.deepEqual([hc.type, hc.port, hc.http?.path], ["http", b.port, "/healthz"], b.name);
  }
  assert.equal(LAB_BACKENDS.filter((b) => "flapPeriodMs" in b).length, 1, "one flapping backend");
});
