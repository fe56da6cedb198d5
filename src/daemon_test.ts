import { strict as assert } from "node:assert";
import type { ReloadResult } from "./checker/types.ts";
import { coalesced } from "./daemon.ts";

Deno.test("reloads coalesce: a burst during a reload costs one more run, not one each", async () => {
  const gates: PromiseWithResolvers<ReloadResult>[] = [];
  const reload = coalesced(() => {
    gates.push(Promise.withResolvers<ReloadResult>());
    return gates[gates.length - 1].promise;
  });
  const first = reload();
  const burst = [reload(), reload(), reload()];
  assert.equal(gates.length, 1, "the queued run waits for the running one");
  assert.ok(burst.every((p) => p === burst[0]), "the burst shares one queued run");
  gates[0].resolve({ ok: false, kind: "parse", error: "first" });
  assert.deepEqual(await first, { ok: false, kind: "parse", error: "first" });
  await Promise.resolve();
  assert.equal(gates.length, 2);
  gates[1].resolve({ ok: false, kind: "semantic", error: "second" });
  assert.equal((await burst[0]).ok, false);
  const later = reload();
  assert.equal(gates.length, 3, "an idle runner starts at once");
  gates[2].reject(new Error("boom"));
  assert.deepEqual(await later, { ok: false, kind: "parse", error: "boom" });
});
