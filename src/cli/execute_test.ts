import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import type { CliBackend } from "./backend.ts";
import { cachedNames } from "./execute.ts";
import { complete } from "./parser.ts";
import { buildTree } from "./tree.ts";

Deno.test("completion of config diff: the files of the typed directory, directories go on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-complete-" });
  try {
    await Deno.writeTextFile(`${dir}/maglev.yaml`, "");
    await Deno.writeTextFile(`${dir}/maglev.new.yaml`, "");
    await Deno.mkdir(`${dir}/old`);
    // File names never reach the daemon: a backend that is never called.
    const names = cachedNames({} as CliBackend, new FakeClock());
    const tree = buildTree();
    assert.deepEqual(await complete(`config diff ${dir}/maglev.n`, tree, { names }), [
      [`${dir}/maglev.new.yaml `],
      `${dir}/maglev.n`,
    ]);
    assert.deepEqual(await complete(`config diff ${dir}/o`, tree, { names }), [
      [`${dir}/old/`],
      `${dir}/o`,
    ]);
    assert.deepEqual(
      (await complete(`config diff ${dir}/`, tree, { names }))[0],
      [`${dir}/maglev.new.yaml`, `${dir}/maglev.yaml`, `${dir}/old/`],
    );
    assert.deepEqual(await complete("config diff /nonexistent/x", tree, { names }), [
      [],
      "/nonexistent/x",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
