import { strict as assert } from "node:assert";
import { formatPath, type PathSegment } from "./locate.ts";
import { locatorOf } from "./locate_test_util.ts";

Deno.test("locate: formatPath writes keys dotted and indexes bracketed", () => {
  const cases: [PathSegment[], string][] = [
    [[], ""],
    [["maglev"], "maglev"],
    [
      ["maglev", "frontends", "web", "pools", 0, "backends", "n9"],
      "maglev.frontends.web.pools[0].backends.n9",
    ],
    [[0, "a"], "[0].a"],
    [["a", 1, 2], "a[1][2]"],
  ];
  for (const [path, want] of cases) assert.equal(formatPath(path), want);
});

/** Aliases, a flow list, an empty value and a numeric key; line:column in the comments. */
const TEXT = [
  "top:", // 1
  "  base: &b { port: 80 }", // 2: the map at 12 (after its anchor), port at 14, 80 at 20
  "  copy: *b", // 3: the alias resolves to line 2's map
  "  list: [one, two]", // 4: one at 10, two at 15
  "  empty:", // 5: key at 3
  "  80: http", // 6: a numeric key, found by its text
  "",
].join("\n");

Deno.test("locate: valuePos and keyPos, through aliases and lists", () => {
  const loc = locatorOf(TEXT);
  const cases: [PathSegment[], [number, number], [number, number]][] = [
    [["top", "base"], [2, 12], [2, 3]],
    [["top", "copy", "port"], [2, 20], [2, 14]],
    [["top", "list", 1], [4, 15], [4, 15]],
    [["top", "empty"], [5, 3], [5, 3]],
    [["top", 80], [6, 7], [6, 3]],
    // Missing steps: the nearest existing key (for a list: the list's key).
    [["top", "list", 5], [4, 3], [4, 3]],
    [["top", "base", "host"], [2, 3], [2, 3]],
    [["nothing"], [1, 1], [1, 1]],
  ];
  for (const [path, value, key] of cases) {
    const v = loc.valuePos(path);
    const k = loc.keyPos(path);
    assert.deepEqual([v.line, v.column], value, `valuePos ${formatPath(path)}`);
    assert.deepEqual([k.line, k.column], key, `keyPos ${formatPath(path)}`);
  }
});

Deno.test("locate: walk says how far the path exists", () => {
  const loc = locatorOf(TEXT);
  assert.equal(loc.walk(["top", "copy", "port"]).depth, 3);
  assert.equal(loc.walk(["top", "list", "x"]).depth, 2, "a name does not index a list");
  assert.equal(loc.walk(["top", "empty", "below"]).depth, 2, "an empty value has no children");
  assert.equal(loc.walk(["top", "base", "port", "deeper"]).depth, 3);
});

Deno.test("locate: keysInOrder lists a map's written keys, nothing for a non-map", () => {
  const loc = locatorOf(TEXT);
  assert.deepEqual(loc.keysInOrder(["top"]), ["base", "copy", "list", "empty", "80"]);
  assert.deepEqual(loc.keysInOrder(["top", "copy"]), ["port"]);
  assert.deepEqual(loc.keysInOrder(["top", "list"]), []);
  assert.deepEqual(loc.keysInOrder(["top", "missing"]), []);
});

Deno.test("locate: at turns an offset into a 1-based line and column", () => {
  const loc = locatorOf(TEXT);
  assert.deepEqual(loc.at(0), { line: 1, column: 1 });
  assert.deepEqual(loc.at(TEXT.indexOf("copy")), { line: 3, column: 3 });
});
