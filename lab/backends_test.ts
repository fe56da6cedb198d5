import { strict as assert } from "node:assert";
import { isFailing, type LabBackend, startBackends } from "./backends.ts";

Deno.test("lab backends: a flapping backend fails every other period", () => {
  const flapping: LabBackend = { name: "b", address: "127.0.0.1", port: 1, flapPeriodMs: 1000 };
  const cases: [number, boolean][] = [[0, false], [999, false], [1000, true], [1999, true], [
    2000,
    false,
  ]];
  for (const [now, want] of cases) assert.equal(isFailing(flapping, now), want, String(now));
  const steady: LabBackend = { name: "s", address: "127.0.0.1", port: 1 };
  assert.equal(isFailing(steady, 1500), false);
});

Deno.test("lab backends: /healthz answers, counts hits, and fails when told to", async () => {
  // A loopback address of its own, so the fixed port collides with nothing else.
  const address = `127.${50 + Math.floor(Math.random() * 200)}.${
    1 + Math.floor(Math.random() * 250)
  }.7`;
  const port = 18080;
  const lab = startBackends([{ name: "n1", address, port }]);
  const get = async (path: string) => {
    const res = await fetch(`http://${address}:${port}${path}`);
    return [res.status, await res.text()];
  };
  try {
    assert.deepEqual(await get("/healthz"), [200, "ok n1\n"]);
    assert.deepEqual(await get("/"), [200, "ok n1\n"]);
    assert.deepEqual(await get("/other"), [404, "not found\n"]);
    lab.failing.add("n1");
    assert.deepEqual(await get("/healthz"), [503, "n1 failing (told to)\n"]);
    lab.failing.delete("n1");
    assert.deepEqual(await get("/healthz"), [200, "ok n1\n"]);
    assert.equal(lab.hits.get("n1"), 5);
  } finally {
    await lab.close();
  }
});
