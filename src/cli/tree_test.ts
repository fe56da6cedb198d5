import { strict as assert } from "node:assert";
import { MAX_WEIGHT } from "../config/weight.ts";
import { buildTree, COMMANDS, LOG_LEVELS, type TreeNode } from "./tree.ts";

/** Every node with the words leading to it (slots as their placeholder). */
function* nodes(node: TreeNode, path: string[] = []): Generator<[string[], TreeNode]> {
  for (const child of node.children) {
    const here = [...path, child.word];
    yield [here, child];
    yield* nodes(child, here);
  }
}

/** The node at `words` (keywords and slot placeholders as written in the tree). */
function at(words: string[]): TreeNode {
  let node = buildTree();
  for (const w of words) {
    const next = node.children.find((c) => c.word === w);
    assert.ok(next, `no ${w} under ${node.word || "the root"}`);
    node = next;
  }
  return node;
}

Deno.test("tree: every command runs from some path and every path's command is known", () => {
  const known = new Set<string>(Object.values(COMMANDS));
  const reached = new Set<string>();
  for (const [path, node] of nodes(buildTree())) {
    if (node.command === undefined) continue;
    assert.ok(known.has(node.command), `${path.join(" ")}: unknown command ${node.command}`);
    reached.add(node.command);
  }
  assert.deepEqual([...known].filter((c) => !reached.has(c)), []);
});

Deno.test("tree: siblings have distinct words; slots are well formed", () => {
  for (const [path, node] of [[[], buildTree()] as [string[], TreeNode], ...nodes(buildTree())]) {
    const words = node.children.map((c) => c.word);
    assert.equal(new Set(words).size, words.length, `duplicate words under "${path.join(" ")}"`);
    assert.ok(node.children.filter((c) => c.slot !== undefined).length <= 1, path.join(" "));
    if (node.slot === undefined) {
      if (path.length > 0) assert.match(node.word, /^[a-z]+$/, path.join(" "));
      continue;
    }
    assert.equal(node.word, `<${node.arg}>`, path.join(" "));
    if (node.slot === "number") {
      assert.ok(Number.isInteger(node.min) && node.min! <= node.max!, path.join(" "));
    }
    if (node.slot === "choice") assert.ok((node.choices ?? []).length > 0, path.join(" "));
  }
});

Deno.test("tree: every leaf runs a command (no dead-end path)", () => {
  for (const [path, node] of nodes(buildTree())) {
    if (node.children.length === 0) assert.ok(node.command, `${path.join(" ")} ends nowhere`);
  }
});

Deno.test("tree: an alias keyword leads to the same slot as its plural", () => {
  for (const [plural, singular] of [["frontends", "frontend"], ["backends", "backend"]]) {
    const alias = at(["show", singular]);
    assert.equal(alias.alias, true);
    assert.equal(alias.command, undefined, "the alias alone runs nothing: it wants a name");
    assert.deepEqual(alias.children, at(["show", plural]).children);
  }
});

Deno.test("tree: watch events offers each option once, in any order (65 option lists)", () => {
  const options = ["num", "log", "backend", "frontend"];
  const lists = new Set<string>();
  for (const [path, node] of nodes(at(["watch", "events"]))) {
    const used = path.filter((w) => options.includes(w));
    assert.equal(new Set(used).size, used.length, `an option twice: ${path.join(" ")}`);
    if (node.command !== undefined) lists.add(used.join(" "));
  }
  // `watch events` alone, then the ordered subsets of 4 options: 4 + 12 + 24 + 24.
  assert.equal(lists.size + 1, 65);
  assert.deepEqual(at(["watch", "events", "log", "level", "<level>"]).choices, LOG_LEVELS);
  assert.deepEqual(
    [at(["watch", "events", "num", "<n>"]).min, at(["watch", "events", "num", "<n>"]).max],
    [1, 1_000_000],
  );
});

Deno.test("tree: weights take the config's range, and the nodes set their constants", () => {
  const weight = at([
    "set",
    "frontend",
    "<frontend>",
    "pool",
    "<pool>",
    "backend",
    "<backend>",
    "weight",
    "<weight>",
  ]);
  assert.deepEqual([weight.min, weight.max, weight.help], [
    0,
    MAX_WEIGHT,
    `weight 0-${MAX_WEIGHT}`,
  ]);
  assert.deepEqual(weight.children.map((c) => [c.word, c.sets]), [["flush", { flush: true }]]);
  const actions = at(["set", "backend", "<backend>"]).children;
  assert.deepEqual(actions.map((c) => [c.word, c.sets?.action, c.command]), [
    ["pause", "pause", COMMANDS.setBackend],
    ["resume", "resume", COMMANDS.setBackend],
    ["enable", "enable", COMMANDS.setBackend],
    ["disable", "disable", COMMANDS.setBackend],
  ]);
  const preview = at(["show", "frontends", "<frontend>", "preview", "backend", "<backend>"]);
  assert.deepEqual(preview.children.map((c) => c.word), ["weight", "disable"]);
  assert.equal(preview.children[1].sets?.disable, true);
});
