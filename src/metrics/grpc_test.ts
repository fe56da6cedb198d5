import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import { GRPC_BUCKETS, GRPC_CODES, grpcCodeName } from "./grpc.ts";

Deno.test("grpc: code names follow Go's spelling at grpc-js's numbers", () => {
  // grpc-js spells the same codes in SCREAMING_CASE (CANCELLED where Go writes Canceled).
  let checked = 0;
  for (const [name, code] of Object.entries(grpc.status)) {
    if (typeof code !== "number") continue;
    checked++;
    const go = grpcCodeName(code);
    assert.equal(go.toUpperCase(), name.replaceAll("_", "").replace("CANCELLED", "CANCELED"));
  }
  assert.deepEqual([checked, GRPC_CODES.length], [17, 17]);
});

Deno.test("grpc: a code outside the table is named by its number", () => {
  assert.equal(grpcCodeName(17), "Code(17)");
  assert.equal(grpcCodeName(-1), "Code(-1)");
  assert.equal(grpcCodeName(0), "OK");
  assert.equal(grpcCodeName(16), "Unauthenticated");
});

Deno.test("grpc: handling buckets are client_golang's defaults", () => {
  assert.deepEqual(GRPC_BUCKETS, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
});
