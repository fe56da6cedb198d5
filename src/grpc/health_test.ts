/**
 * The health service's shared state: shutdown tells every Watch stream
 * NOT_SERVING and waits for each to finish writing (the handlers run against
 * a real server in server_test.ts).
 */
import { strict as assert } from "node:assert";
import type { HealthCheckResponse_ServingStatus } from "../../proto/maglev_pb.ts";
import { HealthState } from "./health.ts";

Deno.test("HealthState: stopServing tells each watcher and resolves once every stream ended", async () => {
  const state = new HealthState();
  assert.equal(state.serving, true);
  const told: string[] = [];
  const watcher = (name: string) => (s: HealthCheckResponse_ServingStatus) =>
    told.push(`${name}:${s}`);
  const a = Promise.withResolvers<void>();
  const b = Promise.withResolvers<void>();
  const gone = Promise.withResolvers<void>();
  state.watch(watcher("a"), a.promise);
  state.watch(watcher("b"), b.promise);
  // A stream that ended before shutdown is forgotten: not told, not waited for.
  state.watch(watcher("gone"), gone.promise);
  gone.resolve();
  await gone.promise;
  const stopped = state.stopServing().then(() => "stopped");
  assert.equal(state.serving, false);
  assert.deepEqual(told, ["a:NOT_SERVING", "b:NOT_SERVING"]);
  a.resolve();
  await a.promise;
  // b has not finished writing: shutdown must not close its connection yet.
  assert.equal(await Promise.race([stopped, Promise.resolve("pending")]), "pending");
  b.resolve();
  assert.equal(await stopped, "stopped");
});
