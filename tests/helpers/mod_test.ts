import { strict as assert } from "node:assert";
import { freePort, freePorts } from "./mod.ts";

Deno.test("freePorts: distinct ports, each free to bind once chosen", () => {
  const ports = freePorts(16);
  assert.equal(new Set(ports).size, 16);
  const held = ports.map((port) => Deno.listen({ hostname: "127.0.0.1", port }));
  for (const l of held) l.close();
  const one = freePort();
  assert.ok(one > 0 && one < 65536);
});
