import { strict as assert } from "node:assert";
import { runFfiBench } from "./ffi_bench.ts";

Deno.test("ffi bench: one figure per way of calling, in ns", () => {
  const figures = runFfiBench({ calls: 1000 });
  assert.deepEqual(figures.map((f) => f.name), [
    "ffi.getpid_ns",
    "ffi.close_ebadf_ns",
    "ffi.send_bigint_made_per_call_ns",
    "ffi.send_bigint_constant_ns",
    "ffi.send_i32_result_ns",
    "ffi.send_number_length_ns",
  ]);
  for (const f of figures) assert.ok(f.unit === "ns" && Number.isFinite(f.value), f.name);
});
