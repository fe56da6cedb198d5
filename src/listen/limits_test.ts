import { strict as assert } from "node:assert";
import { defaultConnectionCap, openFileLimit } from "./limits.ts";

Deno.test("limits: the cap is a quarter of the fd limit, from 8 to 4,096", () => {
  const cases: [number, number][] = [
    [0, 8],
    [20, 8],
    [35, 8],
    [36, 9],
    [1024, 256],
    [16_383, 4095],
    [16_384, 4096],
    [1_048_576, 4096],
    [Number.MAX_SAFE_INTEGER, 4096],
  ];
  for (const [fds, cap] of cases) assert.equal(defaultConnectionCap(fds), cap, String(fds));
});

Deno.test("limits: the open-file limit is this process's soft limit", () => {
  const text = Deno.readTextFileSync("/proc/self/limits");
  const soft = /^Max open files\s+(\S+)/m.exec(text)![1];
  const want = soft === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(soft);
  assert.equal(openFileLimit(), want);
  assert.equal(defaultConnectionCap(), defaultConnectionCap(want));
});
