import { strict as assert } from "node:assert";
import { encodeMessage } from "./codec.ts";
import { contextOf, decodeMessage, messageIdOf } from "./decode.ts";
import { VppDecodeError } from "./errors.ts";

Deno.test("decode reads a body in place, also as a view into a larger buffer", () => {
  const body = encodeMessage("lb_as_set_weight_reply", 0x1234, { context: 77, retval: -6 });
  const big = new Uint8Array(body.length + 20);
  big.set(body, 10);
  const view = big.subarray(10, 10 + body.length);
  assert.equal(messageIdOf(view), 0x1234);
  assert.equal(contextOf("lb_as_set_weight_reply", view), 77);
  assert.deepEqual(decodeMessage("lb_as_set_weight_reply", view), { context: 77, retval: -6 });
  assert.throws(() => decodeMessage("lb_as_set_weight_reply", view.subarray(0, 5)), VppDecodeError);
});
