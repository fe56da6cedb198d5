import { strict as assert } from "node:assert";
import { generate, OUT } from "../../proto/gen.ts";
import { MAGLEV_METHODS } from "../../proto/maglev_pb.ts";
import { healthService, maglevService } from "./proto.ts";

Deno.test("proto/maglev_pb.ts is up to date with the protos (deno task proto)", async () => {
  const root = new URL("../../", import.meta.url);
  const cwd = Deno.cwd();
  Deno.chdir(root);
  try {
    assert.equal(await Deno.readTextFile(OUT), generate(), `${OUT} is stale: run deno task proto`);
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("the embedded descriptors load, with every method of the table", () => {
  const svc = maglevService();
  assert.deepEqual(Object.keys(svc).sort(), Object.keys(MAGLEV_METHODS).sort());
  for (const [name, m] of Object.entries(MAGLEV_METHODS)) {
    assert.equal(svc[name].path, m.path);
    assert.equal(svc[name].responseStream, m.responseStream);
  }
  assert.deepEqual(Object.keys(healthService()).sort(), ["Check", "Watch"]);
});

Deno.test("decoding fills defaults, keeps int64 as strings and marks the oneof", () => {
  const m = maglevService().WatchEvents;
  const bytes = m.responseSerialize({
    seq: "9007199254740993",
    at_ns: 1_700_000_000_000_000_000n.toString(),
    frontend: { frontend: "web", from: "up", to: "down" },
  });
  assert.deepEqual(m.responseDeserialize(bytes), {
    seq: "9007199254740993",
    at_ns: "1700000000000000000",
    frontend: { frontend: "web", from: "up", to: "down" },
    event: "frontend",
  });
  const f = maglevService().GetFrontend;
  const empty = f.responseDeserialize(f.responseSerialize({})) as Record<string, unknown>;
  assert.equal(empty.port, 0);
  assert.deepEqual(empty.pools, []);
  assert.equal(empty.state, "");
});
