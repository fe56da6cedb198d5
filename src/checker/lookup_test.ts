import { strict as assert } from "node:assert";
import { MaglevError } from "../errors.ts";
import { healthCheck, makeConfig } from "./checker_test_util.ts";
import { lookupBackend, lookupFrontend, lookupHealthCheck, lookupPoolBackend } from "./lookup.ts";
import {
  frozenConfig,
  ownValue,
  referencingFrontends,
  sameHealthCheck,
  withEntry,
} from "./lookup.ts";

const CFG = makeConfig({
  healthchecks: { hc: {} },
  backends: { a: "10.0.0.1", b: "10.0.0.2", c: "10.0.0.3", spare: "10.0.0.9" },
  frontends: {
    web: { pools: [["primary", { a: 100, b: 50 }], ["fallback", { c: 100 }]] },
    api: { pools: [["main", { b: 100 }]] },
    dns: { pools: [["main", { b: 10, a: 10 }]] },
  },
});

function notFound(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MaglevError);
    assert.deepEqual([e.kind, e.message], ["NOT_FOUND", message]);
    return true;
  });
}

Deno.test("lookup: names from Object.prototype are not found unless written", () => {
  for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
    notFound(() => lookupFrontend(CFG, name), `frontend ${JSON.stringify(name)} not found`);
    notFound(() => lookupBackend(CFG, name), `backend ${JSON.stringify(name)} not found`);
    notFound(() => lookupHealthCheck(CFG, name), `healthcheck ${JSON.stringify(name)} not found`);
    assert.equal(ownValue(CFG.backends, name), undefined);
  }
  assert.equal(lookupFrontend(CFG, "web").name, "web");
  assert.equal(lookupBackend(CFG, "a").address, "10.0.0.1");
  assert.equal(lookupHealthCheck(CFG, "hc").name, "hc");
});

Deno.test("lookup: lookupPoolBackend finds the indexes and names what is missing", () => {
  const ref = lookupPoolBackend(CFG, { frontend: "web", pool: "fallback", backend: "c" });
  assert.deepEqual([ref.frontend.name, ref.poolIndex, ref.pool.name, ref.backendIndex], [
    "web",
    1,
    "fallback",
    0,
  ]);
  assert.equal(
    lookupPoolBackend(CFG, { frontend: "web", pool: "primary", backend: "b" }).backendIndex,
    1,
  );
  // A backend that does not exist at all is named as such, before the pool it is not in.
  notFound(
    () => lookupPoolBackend(CFG, { frontend: "web", pool: "primary", backend: "zz" }),
    'backend "zz" not found',
  );
  notFound(
    () => lookupPoolBackend(CFG, { frontend: "web", pool: "toString", backend: "a" }),
    'pool "toString" not found in frontend "web"',
  );
});

Deno.test("lookup: withEntry copies into a frozen null-prototype record", () => {
  const before = CFG.backends;
  const next = withEntry(before, "__proto__", CFG.backends.a);
  assert.equal(Object.getPrototypeOf(next), null);
  assert.ok(Object.isFrozen(next));
  assert.deepEqual(Object.keys(next), ["a", "b", "c", "spare", "__proto__"]);
  assert.equal(ownValue(next, "__proto__"), CFG.backends.a);
  assert.equal(Object.hasOwn(before, "__proto__"), false, "the original is untouched");
  const replaced = withEntry(next, "a", CFG.backends.b);
  assert.equal(replaced.a, CFG.backends.b);
  assert.equal(Object.keys(replaced).length, 5);
});

Deno.test("lookup: frozenConfig patches and freezes, sharing the rest", () => {
  const next = frozenConfig(CFG, { backends: withEntry(CFG.backends, "d", CFG.backends.a) });
  assert.ok(Object.isFrozen(next));
  assert.notEqual(next, CFG);
  assert.equal(next.frontends, CFG.frontends);
  assert.equal(Object.keys(next.backends).length, 5);
});

Deno.test("lookup: referencingFrontends lists each frontend once, sorted, per backend", () => {
  assert.deepEqual(Object.fromEntries(referencingFrontends(CFG)), {
    a: ["dns", "web"],
    b: ["api", "dns", "web"],
    c: ["web"],
  });
  assert.equal(referencingFrontends(CFG).has("spare"), false);
  const twice = makeConfig({
    backends: { a: "10.0.0.1" },
    frontends: { x: { pools: [["p", { a: 1 }], ["q", { a: 2 }]] } },
  });
  assert.deepEqual(referencingFrontends(twice).get("a"), ["x"]);
});

Deno.test("lookup: sameHealthCheck treats two absent checks as the same", () => {
  const hc = healthCheck("hc");
  assert.equal(sameHealthCheck(undefined, undefined), true);
  assert.equal(sameHealthCheck(hc, undefined), false);
  assert.equal(sameHealthCheck(undefined, hc), false);
  assert.equal(sameHealthCheck(hc, healthCheck("other")), true);
  assert.equal(sameHealthCheck(hc, healthCheck("hc", { rise: 9 })), false);
});
