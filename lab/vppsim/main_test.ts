import { strict as assert } from "node:assert";
import { parseVppSimArgs } from "./main.ts";

Deno.test("vppsim main: parses --socket and --plugin-id-base", () => {
  assert.deepEqual(parseVppSimArgs(["--socket", "/tmp/x.sock", "--plugin-id-base", "400"]), {
    socketPath: "/tmp/x.sock",
    pluginIdBase: 400,
    verbose: false,
  });
  assert.equal(parseVppSimArgs(["--socket", "/tmp/x.sock"]).pluginIdBase, undefined);
});

Deno.test("vppsim main: bad arguments are named", () => {
  assert.throws(() => parseVppSimArgs([]), /--socket PATH is required/);
  assert.throws(() => parseVppSimArgs(["--socket", "s", "--plugin-id-base", "1e3"]), /"1e3"/);
  assert.throws(() => parseVppSimArgs(["--sock", "s"]), /sock/);
});

Deno.test("vppsim main: runs as a process, logs what it serves and stops on SIGINT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vppsim-main-" });
  const path = `${dir}/api.sock`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, "--socket", path],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("vppsim-listening")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    assert.match(out, /vppsim-listening socket=\S+api\.sock plugin_id_base=\d+/);
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 0);
    assert.match(out, /vppsim-stopped signal=SIGINT/);
    await assert.rejects(() => Deno.lstat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
