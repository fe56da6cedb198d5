import { strict as assert } from "node:assert";
import { createProber, DEFAULT_VERSION } from "./mod.ts";

// With a netns the prober runs in an agent inside it: agent_test.ts covers that path.
Deno.test("prober: without a netns the prober is in-process, on the engine asked for", async () => {
  for (const options of [{}, { netns: "" }, { engine: "stream" as const, version: "1.0" }]) {
    const prober = createProber(options);
    try {
      assert.equal(
        prober.engine,
        "engine" in options ? "stream" : "socket",
        JSON.stringify(options),
      );
    } finally {
      await prober.close();
    }
  }
  assert.equal(DEFAULT_VERSION, "dev");
});
