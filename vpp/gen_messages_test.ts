import { strict as assert } from "node:assert";
import { generate, WANTED_REQUESTS } from "./gen_messages.ts";

const HERE = new URL(".", import.meta.url).pathname;

/** `text` as `deno fmt` writes it (the generator formats what it writes the same way). */
async function formatted(text: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-gen-" });
  try {
    const file = `${dir}/messages.ts`;
    await Deno.writeTextFile(file, text);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--config", `${HERE}../deno.json`, file],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return await Deno.readTextFile(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("gen_messages: vpp/messages.ts is what the generator makes of vpp/api-json", async () => {
  const fresh = await formatted(generate(`${HERE}api-json`));
  const committed = await Deno.readTextFile(`${HERE}messages.ts`);
  assert.ok(fresh === committed, "vpp/messages.ts is stale: run deno task vpp:gen");
});

Deno.test("gen_messages: every wanted request is declared with its reply", () => {
  const text = generate(`${HERE}api-json`);
  for (const name of WANTED_REQUESTS) {
    const answer = name.endsWith("_dump") ? name.replace(/_dump$/, "_details") : `${name}_reply`;
    for (const msg of [name, answer]) assert.match(text, new RegExp(`\\b${msg}\\b`), msg);
  }
});

Deno.test("gen_messages: a directory without the API files is an error", () => {
  assert.throws(() => generate(`${HERE}no-such-dir`));
});
