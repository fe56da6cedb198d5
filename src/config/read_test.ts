import { strict as assert } from "node:assert";
import { FakeClock } from "../clock.ts";
import { formatIssue, loadConfigFile } from "./mod.ts";
import { firstInvalidUtf8, MAX_CONFIG_BYTES, readConfigText } from "./read.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-read-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function mkfifo(path: string): Promise<void> {
  const r = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

function refusal(r: Awaited<ReturnType<typeof readConfigText>>): string {
  assert.equal(r.ok, false);
  return r.ok ? "" : formatIssue(r.issue);
}

Deno.test("a FIFO is refused without opening it (no writer needed)", async () => {
  await withDir(async (dir) => {
    await mkfifo(`${dir}/maglev.yaml`);
    const why = refusal(await readConfigText(`${dir}/maglev.yaml`));
    assert.match(why, /maglev\.yaml": is a FIFO, not a regular file$/);
  });
});

Deno.test("/dev/zero is refused at once, not read until memory runs out", async () => {
  assert.match(
    refusal(await readConfigText("/dev/zero")),
    /"\/dev\/zero": is a character device, not a regular file/,
  );
});

Deno.test("a directory is refused", async () => {
  await withDir(async (dir) => {
    assert.match(refusal(await readConfigText(dir)), /is a directory, not a regular file/);
  });
});

Deno.test("a file over the size cap is refused before it is read", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/big.yaml`;
    const f = await Deno.open(path, { write: true, create: true });
    await f.truncate(MAX_CONFIG_BYTES + 1); // sparse: costs no disk
    f.close();
    assert.match(refusal(await readConfigText(path)), /is larger than 16777216 bytes/);
  });
});

Deno.test("the cap holds for the bytes read, not only for stat's size", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/m.yaml`;
    await Deno.writeTextFile(path, "maglev: {}\n".repeat(20));
    const info = await Deno.stat(path);
    // A stat that says "small" while the file holds more (it grew since).
    const r = await readConfigText(path, {
      maxBytes: 100,
      fs: { stat: () => Promise.resolve({ ...info, size: 10 }), open: (p) => Deno.open(p) },
    });
    assert.match(refusal(r), /is larger than 100 bytes/);
  });
});

Deno.test("a file system that never answers times out on the clock", async () => {
  const clock = new FakeClock();
  const pending = readConfigText("/mnt/hung/maglev.yaml", {
    clock,
    timeoutMs: 5000,
    fs: { stat: () => new Promise(() => {}), open: () => new Promise(() => {}) },
  });
  await clock.advance(5000);
  assert.match(refusal(await pending), /no answer from the file system within 5s/);
  assert.equal(clock.pending, 0);
});

Deno.test("non-UTF-8 bytes are an error with their line and column", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/latin1.yaml`;
    const head = new TextEncoder().encode('maglev:\n  backends:\n    b: { description: "caf');
    await Deno.writeFile(path, new Uint8Array([...head, 0xe9, 0x22, 0x20, 0x7d, 0x0a]));
    const r = await loadConfigFile(path, { vppEnabled: false });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.kind, "parse");
    assert.deepEqual(
      [r.issues[0].line, r.issues[0].column],
      [3, 27],
      JSON.stringify(r.issues),
    );
    assert.match(r.issues[0].message, /not valid UTF-8 \(byte 0xe9 at offset \d+\)/);
  });
});

Deno.test("a UTF-8 file with a BOM and non-ASCII text loads", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/ok.yaml`;
    await Deno.writeTextFile(
      path,
      "\ufeffmaglev:\n  backends:\n    b: { address: 10.0.0.1, description: café ✓ }\n",
    );
    const r = await loadConfigFile(path, { vppEnabled: false });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.config.backends.b.description, "café ✓");
  });
});

Deno.test("firstInvalidUtf8 finds overlongs, surrogates, truncation and stray bytes", () => {
  const at = (...b: number[]) => firstInvalidUtf8(new Uint8Array(b));
  assert.equal(at(0x61, 0xc3, 0xa9, 0xe2, 0x9c, 0x93, 0xf0, 0x9f, 0x98, 0x80), -1);
  assert.equal(at(0x61, 0x80), 1); // stray continuation
  assert.equal(at(0xc0, 0xaf), 0); // overlong "/"
  assert.equal(at(0xe0, 0x80, 0xaf), 0); // overlong 3-byte
  assert.equal(at(0xed, 0xa0, 0x80), 0); // UTF-16 surrogate
  assert.equal(at(0xf4, 0x90, 0x80, 0x80), 0); // above U+10FFFF
  assert.equal(at(0x61, 0xe2, 0x9c), 1); // truncated at the end
  assert.equal(at(0xff), 0);
});
