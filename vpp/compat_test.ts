import { strict as assert } from "node:assert";
import { DEFAULT_REQUIRED, messagesOf, requiredKeys } from "./compat.ts";
import { VppRequestError } from "./errors.ts";
import { messageByName } from "./messages.ts";

Deno.test("compat: a request takes its reply, a dump also the control_ping pair", () => {
  assert.deepEqual(messagesOf("lb_as_set_weight"), ["lb_as_set_weight", "lb_as_set_weight_reply"]);
  assert.deepEqual(messagesOf("lb_vip_dump"), [
    "lb_vip_dump",
    "lb_vip_details",
    "control_ping",
    "control_ping_reply",
  ]);
});

Deno.test("compat: required keys are name_crc, each once, in order; an undeclared name is named", () => {
  const keys = requiredKeys(["lb_vip_dump", "lb_as_v2_dump", "control_ping"]);
  const key = (n: string) => messageByName(n)!.key;
  assert.deepEqual(keys, [
    key("lb_vip_dump"),
    key("lb_vip_details"),
    key("control_ping"),
    key("control_ping_reply"),
    key("lb_as_v2_dump"),
    key("lb_as_v2_details"),
  ]);
  assert.ok(requiredKeys(DEFAULT_REQUIRED).includes(key("lb_as_set_weight_reply")));
  assert.throws(
    () => requiredKeys(["lb_as_set_weight", "lb_nope"]),
    (e: Error) => e instanceof VppRequestError && /"lb_nope" is not declared/.test(e.message),
  );
});
