import { strict as assert } from "node:assert";
import { autoFlowTableLength, MAX_FLOW_TABLE_LENGTH, MIN_FLOW_TABLE_LENGTH } from "./flow_table.ts";

Deno.test("autoFlowTableLength: the smallest power of two >= 8 x weight sum, within VPP's range", () => {
  const cases: [number, number][] = [
    // pool weight sum, table length
    [0, 1024],
    [100, 1024],
    [128, 1024], // 8 x 128 = 1024 exactly
    [130, 2048],
    [2000, 16384], // 8 x 2000 = 16000
    [4000, 32768],
    [10_000, 32768], // capped
  ];
  for (const [sum, want] of cases) assert.equal(autoFlowTableLength(sum), want, `sum ${sum}`);
  assert.equal(MIN_FLOW_TABLE_LENGTH, 1024);
  assert.equal(MAX_FLOW_TABLE_LENGTH, 32768);
});
