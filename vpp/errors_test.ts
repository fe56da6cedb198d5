import { strict as assert } from "node:assert";
import { errorMessage, vnetErrorName, VppApiError } from "./errors.ts";

Deno.test("errorMessage is an Error's message, else the thrown value's string form", () => {
  assert.equal(
    errorMessage(new VppApiError("lb_conf", -6)),
    "VPP rejected lb_conf: retval -6 (NO_SUCH_ENTRY)",
  );
  assert.equal(errorMessage("socket gone"), "socket gone");
  assert.equal(errorMessage(42), "42");
  assert.equal(errorMessage(undefined), "undefined");
});

Deno.test("an unknown retval names UNKNOWN", () => {
  assert.equal(vnetErrorName(-6), "NO_SUCH_ENTRY");
  assert.equal(vnetErrorName(-99_999), "UNKNOWN");
});
