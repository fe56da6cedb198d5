import { strict as assert } from "node:assert";
import { VppRequestError } from "./errors.ts";
import { enumOf, FIXED_SIZE, isArrayField, lookup, structOf } from "./layout.ts";

Deno.test("layout facts: sizes, enums, structs, arrays, lookups", () => {
  assert.equal(FIXED_SIZE.prefix, 18);
  assert.equal(FIXED_SIZE.address, 17);
  assert.equal(enumOf("enum:lb_encap_type").size, 4);
  assert.deepEqual(structOf("struct:lb_vip").map((f) => f.name), ["pfx", "protocol", "port"]);
  assert.equal(
    isArrayField({ name: "t", type: "struct:message_table_entry", lengthFrom: "count" }),
    true,
  );
  assert.equal(isArrayField({ name: "s", type: "string", length: 64 }), false);
  assert.equal(lookup("lb_as_set_weight", VppRequestError).crc, "0x2d89bdbd");
  assert.throws(() => lookup("nope", VppRequestError), VppRequestError);
});
