/**
 * Adoption across a VPP reconnect, against the double: a reconnect keeps an
 * adoption while VPP holds the adopted weight or what the engine wrote
 * since; where VPP holds something else (an operator's change on VPP's own
 * CLI), or after a VPP restart, the engine adopts what the dataplane holds
 * now, as at start: a backend without a result is still never written.
 */
import { strict as assert } from "node:assert";
import { FAIL, PASS } from "../checker/checker_test_util.ts";
import { addLogListener } from "../log/mod.ts";
import {
  asWeights,
  closeAll,
  type Harness,
  heldBy,
  reconnected,
  restartedOnDeafPrimary,
  until,
  type Write,
} from "./harness_test_util.ts";

const WEB = "192.0.2.1/32";
const WEB_ADDRESSES = ["10.0.0.10", "10.0.0.2", "10.0.0.3"];

/** A restarted daemon with a and b adopted (a=100, b=50), c up as standby. */
async function restartedDaemon(): Promise<Harness> {
  const h = await restartedOnDeafPrimary();
  assert.deepEqual(heldBy(h, "web"), { a: 100, b: 50 });
  return h;
}

/** `reconnected`, returning the adoptions logged meanwhile as `[frontend, reason, kept]`. */
async function reconnect(
  h: Harness,
  options: { restart?: boolean; meanwhile?: () => void } = {},
): Promise<unknown[][]> {
  const adopted: unknown[][] = [];
  const off = addLogListener((r) => {
    if (r.msg === "vpp-lb-adopt") adopted.push([r.attrs.frontend, r.attrs.reason, r.attrs.kept]);
  });
  try {
    await reconnected(h, options);
  } finally {
    off();
  }
  return adopted;
}

function webWrites(writes: readonly Write[]): Write[] {
  return writes.filter((w) => WEB_ADDRESSES.includes(String(w.fields.as_address)));
}

/** Answers the deaf probes so the harness can stop. */
async function closeReleased(h: Harness): Promise<void> {
  for (const name of ["a", "b"]) {
    // A deaf probe ignores its abort: none may be left for the checker's stop to await.
    h.prober.behaviour.set(name, PASS);
    h.prober.release(name, PASS);
  }
  await closeAll(h);
}

Deno.test("a reconnect to a VPP that still holds the adopted weights keeps the adoption and writes nothing", async () => {
  const h = await restartedDaemon();
  h.writes.length = 0;
  assert.deepEqual(await reconnect(h), [], "nothing adopted anew");
  assert.deepEqual(webWrites(h.writes), []);
  assert.deepEqual(heldBy(h, "web"), { a: 100, b: 50 });
  assert.deepEqual(asWeights(h.sim, WEB), { "10.0.0.10": 100, "10.0.0.2": 50, "10.0.0.3": 0 });
  // The first result still decides.
  h.prober.release("b", FAIL);
  await until("b down", () => asWeights(h.sim, WEB)["10.0.0.2"] === 0);
  assert.deepEqual(heldBy(h, "web"), { a: 100 });
  await closeReleased(h);
});

Deno.test("a reconnect to a VPP that holds what the engine wrote since (an operator's weight) keeps the adoption", async () => {
  const h = await restartedDaemon();
  h.checker.setWeight("web", "primary", "a", 40);
  await h.manager.sync("web");
  assert.equal(asWeights(h.sim, WEB)["10.0.0.10"], 40);
  h.writes.length = 0;
  assert.deepEqual(await reconnect(h), [], "nothing adopted anew");
  assert.deepEqual(webWrites(h.writes), []);
  assert.deepEqual(heldBy(h, "web"), { a: 100, b: 50 }, "still adopted: no result yet");
  assert.deepEqual(asWeights(h.sim, WEB), { "10.0.0.10": 40, "10.0.0.2": 50, "10.0.0.3": 0 });
  await closeReleased(h);
});

Deno.test("a reconnect to a VPP changed on its own CLI meanwhile adopts what it holds now, and writes nothing", async () => {
  const h = await restartedDaemon();
  h.writes.length = 0;
  const adopted = await reconnect(h, {
    meanwhile: () =>
      // `lb as 192.0.2.1/32 protocol tcp port 80 10.0.0.10 weight 30` on VPP's CLI.
      h.sim.model.apply("lb_as_set_weight", {
        pfx: WEB,
        protocol: 6,
        port: 80,
        as_address: "10.0.0.10",
        weight: 30,
      }),
  });
  assert.deepEqual(webWrites(h.writes), [], "a has no result: VPP's weight stands");
  assert.deepEqual(heldBy(h, "web"), { a: 30, b: 50 });
  assert.deepEqual(asWeights(h.sim, WEB), { "10.0.0.10": 30, "10.0.0.2": 50, "10.0.0.3": 0 });
  assert.deepEqual(adopted, [["web", "reconnect", "a=30"]]);
  // The first result decides as usual.
  h.prober.release("a", PASS);
  await until("a up", () => asWeights(h.sim, WEB)["10.0.0.10"] === 100);
  await closeReleased(h);
});

Deno.test("a VPP restart drops the adoptions of what it no longer holds and adopts what the new dataplane holds", async () => {
  const h = await restartedDaemon();
  h.writes.length = 0;
  const vip = { pfx: WEB, protocol: 6, port: 80 };
  const adopted = await reconnect(h, {
    restart: true,
    // The new VPP comes up holding web's VIP with a alone (its own startup config).
    meanwhile: () => {
      h.sim.model.apply("lb_add_del_vip_v2", { ...vip, encap: 0, new_flows_table_length: 1024 });
      h.sim.model.apply("lb_add_del_as_v2", { ...vip, as_address: "10.0.0.10", weight: 70 });
    },
  });
  // a keeps the new dataplane's 70; b, absent, has no result: added at 0; a
  // serving keeps the primary pool active, so c stays standby.
  assert.deepEqual(heldBy(h, "web"), { a: 70 });
  assert.deepEqual(asWeights(h.sim, WEB), { "10.0.0.10": 70, "10.0.0.2": 0, "10.0.0.3": 0 });
  assert.deepEqual(adopted, [["web", "reconnect", "a=70"]]);
  await closeReleased(h);
});

Deno.test("a VPP restart with an empty dataplane adopts nothing: backends without a result are added at 0", async () => {
  const h = await restartedDaemon();
  h.writes.length = 0;
  assert.deepEqual(await reconnect(h, { restart: true }), []);
  assert.deepEqual(heldBy(h, "web"), {});
  // Nothing says a or b serves: the up standby takes over until their first results.
  assert.deepEqual(asWeights(h.sim, WEB), { "10.0.0.10": 0, "10.0.0.2": 0, "10.0.0.3": 100 });
  h.prober.release("a", PASS);
  await until("a serves", () => asWeights(h.sim, WEB)["10.0.0.10"] === 100);
  assert.equal(asWeights(h.sim, WEB)["10.0.0.3"], 0);
  await closeReleased(h);
});
