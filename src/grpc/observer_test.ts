import { strict as assert } from "node:assert";
import { type GrpcMethod, NOOP_OBSERVER } from "./observer.ts";

Deno.test("observer: the no-op observer takes every hook and keeps nothing", () => {
  const method: GrpcMethod = { service: "maglev.v1.Maglev", method: "GetFrontend", type: "unary" };
  NOOP_OBSERVER.started(method);
  NOOP_OBSERVER.msgReceived(method);
  NOOP_OBSERVER.msgSent(method);
  NOOP_OBSERVER.handled(method, 0, 0.001);
  assert.deepEqual(Object.keys(NOOP_OBSERVER).sort(), [
    "handled",
    "msgReceived",
    "msgSent",
    "started",
  ]);
  assert.deepEqual(method, { service: "maglev.v1.Maglev", method: "GetFrontend", type: "unary" });
});
