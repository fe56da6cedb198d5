import { strict as assert } from "node:assert";
import { runCheck } from "./check_command.ts";

const EXAMPLE = new URL("../docs/examples/maglev.yaml", import.meta.url).pathname;

async function check(
  args: string[],
  env: Record<string, string> = {},
  color = false,
): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCheck(args, {
    writeLine: (l) => lines.push(l),
    env: (name) => env[name],
    color,
  });
  return { code, lines };
}

async function withFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("check: the example is OK (exit 0), all flag spellings", async () => {
  for (const args of [["--config", EXAMPLE], ["-config", EXAMPLE], [`--config=${EXAMPLE}`]]) {
    const r = await check(args);
    assert.equal(r.code, 0, r.lines.join("\n"));
    assert.deepEqual(r.lines, ["config OK: 4 frontends, 9 backends, 4 healthchecks"]);
  }
});

Deno.test("check: MAGLEV_CONFIG is the default path; the flag beats it", async () => {
  const r = await check([], { MAGLEV_CONFIG: EXAMPLE });
  assert.equal(r.code, 0);
  const flagWins = await check(["--config", "/nonexistent.yaml"], { MAGLEV_CONFIG: EXAMPLE });
  assert.equal(flagWins.code, 1);
});

Deno.test("check: without flag or env the path is /etc/vpp-maglev/maglev.yaml", async () => {
  const r = await check([]);
  if (r.code === 0) return; // a host that has the file installed
  assert.match(r.lines[0], /^\/etc\/vpp-maglev\/maglev.yaml: cannot read config file/);
});

Deno.test("check: a parse error exits 1 with every issue and a suggestion", async () => {
  await withFile(
    "maglev:\n  backends:\n    b1: { adress: 10.0.0.1, enabled: 1 }\n",
    async (path) => {
      const r = await check(["--config", path]);
      assert.equal(r.code, 1);
      assert.deepEqual(r.lines, [
        `${path}: maglev.backends.b1.address: missing required key "address" (line 3, column 5)`,
        `${path}: maglev.backends.b1.adress: unknown key "adress"; did you mean "address"? (line 3, column 11)`,
        `${path}: maglev.backends.b1.enabled: must be true or false, got number 1 (line 3, column 38)`,
        "config invalid (parse error): 3 problems",
      ]);
    },
  );
});

Deno.test("check: a semantic error exits 2; color only when asked", async () => {
  const text = "maglev:\n  backends:\n    b1: { address: 10.0.0.1, healthcheck: nope }\n";
  await withFile(text, async (path) => {
    const plain = await check(["--config", path, "--vpp-api-addr", ""]);
    assert.equal(plain.code, 2);
    assert.equal(
      plain.lines[0],
      `${path}: maglev.backends.b1.healthcheck: unknown healthcheck "nope" (line 3, column 43)`,
    );
    const red = await check(["--config", path, "--vpp-api-addr="], {}, true);
    assert.equal(red.code, 2);
    assert.ok(red.lines[0].startsWith("\x1b[31m") && red.lines[0].endsWith("\x1b[0m"));
  });
});

Deno.test("check: VPP source addresses are required unless VPP is disabled", async () => {
  await withFile("maglev:\n  backends: {}\n", async (path) => {
    assert.equal((await check(["--config", path])).code, 2);
    assert.equal((await check(["--config", path], { MAGLEV_VPP_API_ADDR: "" })).code, 0);
    assert.equal((await check(["--config", path, "-vpp-api-addr", ""])).code, 0);
  });
});

Deno.test("check: warnings are printed after OK", async () => {
  const text = [
    "maglev:",
    "  backends:",
    "    a: { address: 10.0.0.1 }",
    "    b: { address: 10.0.0.2 }",
    "  frontends:",
    "    fe:",
    "      address: 192.0.2.1",
    "      protocol: tcp",
    "      port: 80",
    "      flow-table-length: 1024",
    "      pools: [{ name: p, backends: { a: {}, b: { weight: 50 } } }]",
    "",
  ].join("\n");
  await withFile(text, async (path) => {
    const r = await check(["--config", path, "--vpp-api-addr", ""]);
    assert.equal(r.code, 0);
    assert.equal(r.lines[0], "config OK: 1 frontends, 2 backends, 0 healthchecks");
    // Weight sum 150: auto would pick 2048 (>= 8 x 150), so 1024 may flatten weights.
    assert.deepEqual(r.lines.slice(1), [
      'warning: frontend "fe": flow-table-length 1024 is smaller than 2048 ' +
      '(8 x pool weight sum 150); VPP may flatten unequal weights (use "auto")',
    ]);
  });
});

Deno.test("check: an unknown flag is a usage error (exit 1)", async () => {
  const r = await check(["--confg", EXAMPLE]);
  assert.equal(r.code, 1);
  assert.match(r.lines[0], /maglevd check: .*--confg/);
  assert.match(r.lines.join("\n"), /usage: maglevd check/);
});

Deno.test("check: interval x rise above startup-max-delay warns (exit 0), naming the check", async () => {
  const text = [
    "maglev:",
    "  vpp:",
    "    lb: { startup-max-delay: 5s }",
    "  healthchecks:",
    "    slow: { type: tcp, port: 80, interval: 20s, rise: 2 }",
    "  backends:",
    "    b: { address: 10.0.0.1, healthcheck: slow }",
  ].join("\n") + "\n";
  await withFile(text, async (path) => {
    const r = await check(["--config", path, "--vpp-api-addr", ""]);
    assert.equal(r.code, 0, r.lines.join("\n"));
    assert.match(r.lines[1], /^warning: healthcheck "slow": interval x rise \(20s x 2 = 40s\)/);
    assert.match(r.lines[1], /exceeds vpp\.lb\.startup-max-delay \(5s\)/);
  });
});

Deno.test("check: a backreference in response-regexp exits 2 with line:column", async () => {
  const text = [
    "maglev:",
    "  healthchecks:",
    "    hc:",
    "      type: http",
    "      port: 80",
    "      params: { response-regexp: '(ok)\\1' }",
  ].join("\n") + "\n";
  await withFile(text, async (path) => {
    const r = await check(["--config", path, "--vpp-api-addr", ""]);
    assert.equal(r.code, 2, r.lines.join("\n"));
    assert.match(r.lines[0], /response-regexp: is not a valid RE2 expression: .*backreferences/);
    assert.match(r.lines[0], /\(line 6, column 34\)$/);
  });
});

Deno.test("check: a FIFO config exits 1 at once, naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/maglev.yaml`;
    const mk = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert.ok(mk.success);
    const r = await check(["--config", path]);
    assert.equal(r.code, 1);
    assert.match(r.lines[0], /maglev\.yaml": is a FIFO, not a regular file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
