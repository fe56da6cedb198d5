import { strict as assert } from "node:assert";
import { buildTree } from "./tree.ts";
import { synopses, usageText } from "./usage.ts";

const tree = buildTree();

Deno.test("synopses come from the tree: optional slots, folded choices, spelled-out options", () => {
  const lines = synopses(tree, []);
  assert.ok(lines.includes("show frontends"));
  assert.ok(lines.includes("show backends [<backend>]"));
  assert.ok(lines.includes("set backend <backend> pause|resume|enable|disable"));
  assert.ok(
    lines.includes("set frontend <frontend> pool <pool> backend <backend> weight <weight> [flush]"),
  );
  assert.ok(lines.includes("config diff [<file>]"));
  assert.ok(lines.some((l) => l.startsWith("watch events [num <n>] [log [level debug|info")));
  assert.ok(!lines.some((l) => l.startsWith("show frontend ")), "aliases stay out");
});

Deno.test("usage under a word, abbreviated or not; an unknown word is named", () => {
  const show = usageText(["sh", "vpp"], tree);
  assert.ok(show.ok);
  assert.equal(
    show.text,
    "usage:\n  maglevd show vpp info\n  maglevd show vpp lb state\n  maglevd show vpp lb counters\n",
  );
  const all = usageText([], tree);
  assert.ok(all.ok && all.text.startsWith("usage: maglevd [flags] [shell]"));
  const bad = usageText(["show", "nope"], tree);
  assert.deepEqual(bad, {
    ok: false,
    error: 'no command "show nope"; "maglevd help" lists the commands',
  });
});
