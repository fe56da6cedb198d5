import { strict as assert } from "node:assert";
import { BUILD_DATE, COMMIT, VERSION } from "./version.ts";

/** The build identity a fresh process reports with `env` set. */
async function identity(env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import * as v from ${JSON.stringify(new URL("./version.ts", import.meta.url).href)};` +
      "console.log([v.VERSION, v.COMMIT, v.BUILD_DATE].join(' '))",
    ],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("version: a semantic version; commit and date from the build environment", async () => {
  assert.match(VERSION, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.ok(COMMIT.length > 0 && BUILD_DATE.length > 0);
  assert.equal(await identity({}), `${VERSION} dev unknown`);
  assert.equal(
    await identity({ MAGLEV_BUILD_COMMIT: "abc1234", MAGLEV_BUILD_DATE: "2026-12-02" }),
    `${VERSION} abc1234 2026-12-02`,
  );
  assert.equal(
    await identity({ MAGLEV_BUILD_COMMIT: "" }),
    `${VERSION} dev unknown`,
    "empty is unset",
  );
});
