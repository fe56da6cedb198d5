/**
 * The connection loop is the one owner of "is VPP available": every manager
 * method that needs VPP answers UNAVAILABLE with the real reason.
 */
import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import { Checker } from "../checker/mod.ts";
import { FakeProber } from "../checker/checker_test_util.ts";
import { MaglevError } from "../errors.ts";
import { FakeVppServer } from "../../vpp/vpp_test_util.ts";
import { messageByName } from "../../vpp/mod.ts";
import { VppManager } from "./mod.ts";
import { labConfig, until } from "./harness_test_util.ts";

function unavailable(pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof MaglevError && e.kind === "UNAVAILABLE" && pattern.test(e.message);
}

Deno.test("against a VPP that lacks a message, every VPP call names the missing message", async () => {
  const missing = messageByName("lb_as_set_weight")!.key;
  const fake = await FakeVppServer.start({ omit: [missing] });
  const clock = new FakeClock();
  const checker = new Checker(labConfig(), { probe: new FakeProber().probe, clock });
  const manager = new VppManager({ apiAddr: fake.path, checker, clock });
  try {
    manager.start();
    await until("incompatible", () => manager.incompatible().length > 0);
    assert.deepEqual(manager.incompatible(), [missing]);
    assert.equal(manager.connected(), false);
    const why = new RegExp(`incompatible: missing ${missing} \\(needs VPP with the lb weight API`);
    assert.throws(() => manager.info(), unavailable(why));
    await assert.rejects(() => manager.lbState(), unavailable(why));
    await assert.rejects(() => manager.sync(), unavailable(why));
    await assert.rejects(() => manager.sync("web"), unavailable(why));
    await assert.rejects(() => manager.freshCounters(), unavailable(why));
    assert.deepEqual(manager.counters(), []);
  } finally {
    await manager.stop();
    await fake.close();
  }
});

Deno.test("not connected and disabled say so", async () => {
  const clock = new FakeClock();
  const checker = new Checker(labConfig(), { probe: new FakeProber().probe, clock });
  const down = new VppManager({ apiAddr: "/nonexistent/api.sock", checker, clock });
  down.start();
  assert.throws(() => down.info(), unavailable(/^VPP is not connected$/));
  await assert.rejects(() => down.sync(), unavailable(/^VPP is not connected$/));
  await down.stop();
  const off = new VppManager({ apiAddr: "", checker, clock });
  assert.throws(() => off.info(), unavailable(/^VPP integration is disabled$/));
  await assert.rejects(() => off.lbState(), unavailable(/disabled/));
});

Deno.test("a sync for a name of Object.prototype is NOT_FOUND, like any unknown name", async () => {
  const clock = new FakeClock();
  const checker = new Checker(labConfig(), { probe: new FakeProber().probe, clock });
  const fake = await FakeVppServer.start();
  const manager = new VppManager({ apiAddr: fake.path, checker, clock });
  try {
    manager.start();
    await until("connect", () => manager.connected());
    for (const name of ["constructor", "toString", "__proto__", "nope"]) {
      await assert.rejects(
        () => manager.sync(name),
        (e) =>
          e instanceof MaglevError && e.kind === "NOT_FOUND" &&
          e.message === `frontend ${JSON.stringify(name)} not found`,
      );
    }
  } finally {
    await manager.stop();
    await fake.close();
  }
});
