import { strict as assert } from "node:assert";
import { FibModel, Pool, typeIsIp4, typeToApiEncap, VIP_TYPE } from "./lb_types.ts";

Deno.test("lb_types: a pool reuses the most recently freed slot and keeps its object", () => {
  const p = new Pool<{ n: number }>();
  const a = p.get(() => ({ n: 1 }));
  const b = p.get(() => ({ n: 2 }));
  p.put(a);
  p.put(b);
  assert.equal(p.elts, 0);
  assert.equal(p.get(() => ({ n: 3 })), b, "last freed first");
  assert.equal(p.slots[b].n, 2, "a freed slot keeps its stale fields");
  assert.deepEqual([...p.indexes()], [b]);
  assert.ok(p.isFree(a));
});

Deno.test("lb_types: FIB entries share a load-balance by source count", () => {
  const f = new FibModel();
  const key = FibModel.key(true, "0".repeat(24) + "0a000001", 128);
  const lb = f.addSource(key);
  assert.equal(f.addSource(key), lb, "a second source shares the entry");
  f.removeSource(key);
  f.removeSource(key);
  assert.equal(
    f.addSource(FibModel.key(true, "0".repeat(24) + "0a000002", 128)),
    lb,
    "freed, reused",
  );
});

Deno.test("lb_types: vip type families and API encaps", () => {
  assert.ok(typeIsIp4(VIP_TYPE.IP4_GRE6));
  assert.ok(!typeIsIp4(VIP_TYPE.IP6_GRE4));
  assert.equal(typeToApiEncap(VIP_TYPE.IP6_GRE6), 1);
  assert.equal(typeToApiEncap(VIP_TYPE.IP4_GRE4), 0);
});
