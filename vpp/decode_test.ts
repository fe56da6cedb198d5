import { strict as assert } from "node:assert";
import { encodeMessage } from "./codec.ts";
import {
  contextOf,
  decodeMessage,
  messageIdOf,
  STATUS_BODY_LENGTH,
  statusContext,
  statusRetval,
} from "./decode.ts";
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

Deno.test("status bodies read at an offset: context, a negative retval, the message id", () => {
  const body = encodeMessage("lb_as_set_weight_reply", 0x0203, {
    context: 0xfffffffe,
    retval: -81,
  });
  assert.equal(body.length, STATUS_BODY_LENGTH);
  const buf = Uint8Array.of(9, 9, 9, ...body, 9);
  assert.equal(messageIdOf(buf, 3), 0x0203);
  assert.equal(statusContext(buf, 3), 0xfffffffe);
  assert.equal(statusRetval(buf, 3), -81);
  assert.throws(() => messageIdOf(buf, buf.length - 1), VppDecodeError);
});
