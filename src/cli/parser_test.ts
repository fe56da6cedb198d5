import { strict as assert } from "node:assert";
import { complete, formatHelp, help, tokenize, walk } from "./parser.ts";
import { buildTree, COMMANDS } from "./tree.ts";

const tree = buildTree();

type Ok = { line: string; command: string; args?: Record<string, string | number | boolean> };

const resolves: Ok[] = [
  // Unique prefixes.
  { line: "sh fr", command: COMMANDS.showFrontends },
  { line: "sh ba", command: COMMANDS.showBackends },
  { line: "sh he", command: COMMANDS.showHealthchecks },
  { line: "sh ver", command: COMMANDS.showVersion },
  { line: "version", command: COMMANDS.showVersion },
  { line: "sh vpp i", command: COMMANDS.showVppInfo },
  { line: "sh vpp lb s", command: COMMANDS.showVppLbState },
  { line: "sh vpp lb c", command: COMMANDS.showVppLbCounters },
  { line: "SHOW FRONTENDS", command: COMMANDS.showFrontends },
  // Slots take names as typed.
  { line: "show frontends web", command: COMMANDS.showFrontends, args: { frontend: "web" } },
  { line: "sh fr web", command: COMMANDS.showFrontends, args: { frontend: "web" } },
  // Singular aliases, typed in full.
  { line: "show frontend web", command: COMMANDS.showFrontends, args: { frontend: "web" } },
  { line: "show backend nginx1", command: COMMANDS.showBackends, args: { backend: "nginx1" } },
  {
    line: "show healthcheck http",
    command: COMMANDS.showHealthchecks,
    args: { healthcheck: "http" },
  },
  { line: "sync vpp lb state", command: COMMANDS.syncVppLbState, args: {} },
  { line: "sy v l s web", command: COMMANDS.syncVppLbState, args: { frontend: "web" } },
  {
    line: "set backend nginx1 pa",
    command: COMMANDS.setBackend,
    args: { backend: "nginx1", action: "pause" },
  },
  {
    line: "se b x disable",
    command: COMMANDS.setBackend,
    args: { backend: "x", action: "disable" },
  },
  {
    line: "set frontend web pool primary backend nginx1 weight 0",
    command: COMMANDS.setWeight,
    args: { frontend: "web", pool: "primary", backend: "nginx1", weight: 0 },
  },
  {
    line: "set fr web po primary ba nginx1 we 100 fl",
    command: COMMANDS.setWeight,
    args: { frontend: "web", pool: "primary", backend: "nginx1", weight: 100, flush: true },
  },
  { line: "watch events", command: COMMANDS.watchEvents, args: {} },
  {
    line: "watch events num 5 log level debug backend frontend",
    command: COMMANDS.watchEvents,
    args: { n: 5, log: true, level: "debug", backend: true, frontend: true },
  },
  // Options in any order, level by prefix.
  {
    line: "w e fr log lev w num 1",
    command: COMMANDS.watchEvents,
    args: { frontend: true, log: true, level: "warn", n: 1 },
  },
  { line: "config check", command: COMMANDS.configCheck },
  { line: "co rel", command: COMMANDS.configReload },
  { line: "quit", command: COMMANDS.quit },
  { line: "ex", command: COMMANDS.quit },
];

for (const c of resolves) {
  Deno.test(`walk resolves "${c.line}"`, () => {
    const r = walk(tokenize(c.line), tree);
    assert.ok(r.ok, r.ok ? "" : r.error);
    assert.equal(r.command, c.command);
    if (c.args !== undefined) assert.deepEqual({ ...r.args }, c.args);
  });
}

type Bad = { line: string; error: RegExp; index: number; candidates?: string[] };

const errors: Bad[] = [
  // Ambiguity lists the candidates, and only them.
  {
    line: "s",
    error: /^ambiguous "s": could be show, set or sync$/,
    index: 0,
    candidates: ["show", "set", "sync"],
  },
  {
    line: "show vpp lb",
    error: /^incomplete command "show vpp lb": expected state or counters$/,
    index: 3,
  },
  { line: "co", error: /^incomplete command "config": expected check, reload or diff$/, index: 1 },
  // Unknown and extra tokens are named; the tree is not dumped.
  {
    line: "show foo",
    error: /^unknown word "foo" after "show"; expected version, status, config, frontends, /,
    index: 1,
  },
  { line: "bogus", error: /^unknown word "bogus"; expected show, set, sync, /, index: 0 },
  {
    line: "show version extra",
    error: /^unexpected "extra": "show version" takes nothing more$/,
    index: 2,
  },
  {
    line: "show frontends web more",
    error: /^unknown word "more" after "show frontends web"; expected preview$/,
    index: 3,
  },
  { line: "quit now", error: /unexpected "now"/, index: 1 },
  {
    line: "set backend nginx1 explode",
    error:
      /^unknown word "explode" after "set backend nginx1"; expected pause, resume, enable or disable$/,
    index: 3,
  },
  // Numbers out of range or not numbers.
  {
    line: "set frontend web pool p backend b weight 101",
    error: /^weight must be a whole number from 0 to 100, got "101"$/,
    index: 8,
  },
  {
    line: "set frontend web pool p backend b weight -1",
    error: /weight must be a whole number from 0 to 100, got "-1"/,
    index: 8,
  },
  { line: "set frontend web pool p backend b weight 5x", error: /got "5x"/, index: 8 },
  {
    line: "watch events num 0",
    error: /^n must be a whole number from 1 to 1000000, got "0"$/,
    index: 3,
  },
  {
    line: "watch events log level loud",
    error:
      /^unknown word "loud" after "watch events log level"; expected debug, info, warn or error$/,
    index: 4,
  },
  // Each watch option at most once.
  { line: "watch events log log", error: /unknown word "log"/, index: 3 },
  // Aliases need a name and are not prefix targets.
  {
    line: "show frontend",
    error: /^incomplete command "show frontend": expected <frontend>$/,
    index: 2,
  },
  { line: "set backend", error: /incomplete command "set backend": expected <backend>/, index: 2 },
  { line: "", error: /^empty command/, index: 0 },
];

for (const c of errors) {
  Deno.test(`walk rejects "${c.line}"`, () => {
    const r = walk(tokenize(c.line), tree);
    assert.ok(!r.ok, "expected an error");
    assert.match(r.error, c.error);
    assert.equal(r.index, c.index);
    if (c.candidates !== undefined) assert.deepEqual(r.candidates, c.candidates);
    // Never a dump of the whole tree.
    assert.ok(r.error.length < 200, r.error);
  });
}

Deno.test("exact match beats prefixes: `show frontend` is the alias, `sh fronten` is frontends", () => {
  const alias = walk(["show", "frontend", "web"], tree);
  assert.ok(alias.ok);
  assert.deepEqual(alias.path, ["show", "frontend", "web"]);
  const prefix = walk(["sh", "fronten"], tree);
  assert.ok(prefix.ok);
  assert.deepEqual(prefix.path, ["show", "frontends"]);
  // `log` is both a full option word and a prefix of nothing else; `level`'s `info` exact.
  const lvl = walk(tokenize("watch events log level info"), tree);
  assert.ok(lvl.ok);
  assert.equal(lvl.args.level, "info");
});

Deno.test("? lists the next words with help, at any depth", () => {
  const top = help("?", tree);
  assert.ok(top.ok);
  assert.deepEqual(top.entries.map((e) => e.word), [
    "show",
    "set",
    "sync",
    "watch",
    "config",
    "version",
    "help",
    "quit",
    "exit",
  ]);
  const show = help("show ?", tree);
  assert.ok(show.ok);
  assert.deepEqual(show.entries.map((e) => e.word), [
    "version",
    "status",
    "config",
    "frontends",
    "backends",
    "healthchecks",
    "vpp",
  ]);
  const partial = help("sh f?", tree);
  assert.ok(partial.ok);
  assert.deepEqual(partial.entries.map((e) => e.word), ["frontends"]);
  const slot = help("show frontends ?", tree);
  assert.ok(slot.ok);
  assert.deepEqual(slot.entries.map((e) => e.word), ["<frontend>", "<cr>"]);
  const weight = help("set frontend web pool p backend b weight ?", tree);
  assert.ok(weight.ok);
  assert.equal(weight.entries[0].word, "<weight>");
  assert.match(weight.entries[0].help, /0-100/);
  const level = help("watch events log level ?", tree);
  assert.ok(level.ok);
  assert.deepEqual(level.entries.map((e) => e.word), ["debug", "info", "warn", "error"]);
  const mid = help("watch events num 3 ?", tree);
  assert.ok(mid.ok);
  assert.deepEqual(mid.entries.map((e) => e.word), ["log", "backend", "frontend", "<cr>"]);
});

Deno.test("? after a bad word reports that word", () => {
  const r = help("show nope ?", tree);
  assert.ok(!r.ok);
  assert.match(r.error, /unknown word "nope" after "show"/);
  const r2 = help("show zz?", tree);
  assert.ok(!r2.ok);
  assert.match(r2.error, /unknown word "zz"/);
});

Deno.test("formatHelp aligns the words", () => {
  const text = formatHelp([{ word: "a", help: "first" }, { word: "long", help: "second" }]);
  assert.equal(text, "  a     first\n  long  second\n");
  assert.match(formatHelp([]), /nothing more/);
});

Deno.test("completion: keywords, a unique hit gets a blank, live names", async () => {
  assert.deepEqual(await complete("sh", tree), [["show "], "sh"]);
  assert.deepEqual(await complete("s", tree), [["set", "show", "sync"], "s"]);
  assert.deepEqual(await complete("show ", tree), [
    ["backends", "config", "frontends", "healthchecks", "status", "version", "vpp"],
    "",
  ]);
  // Aliases are not offered: `show frontend` would make `fr` ambiguous.
  assert.deepEqual(await complete("show fr", tree), [["frontends "], "fr"]);
  const asked: string[] = [];
  const names = (kind: string, args: Readonly<Record<string, unknown>>, _partial: string) => {
    asked.push(`${kind}:${args.frontend ?? ""}:${args.pool ?? ""}`);
    const table: Record<string, string[]> = {
      frontend: ["web", "dns"],
      backend: ["nginx1", "nginx2"],
      pool: ["primary", "fallback"],
    };
    return Promise.resolve(table[kind] ?? []);
  };
  assert.deepEqual(await complete("show frontends w", tree, { names }), [["web "], "w"]);
  assert.deepEqual(await complete("set backend ng", tree, { names }), [["nginx1", "nginx2"], "ng"]);
  assert.deepEqual(await complete("set frontend web pool ", tree, { names }), [[
    "fallback",
    "primary",
  ], ""]);
  assert.deepEqual(await complete("set frontend web pool primary backend n", tree, { names }), [
    ["nginx1", "nginx2"],
    "n",
  ]);
  assert.ok(asked.includes("pool:web:"));
  assert.ok(asked.includes("backend:web:primary"));
  assert.deepEqual(await complete("watch events log level d", tree), [["debug "], "d"]);
  // A bad earlier word: nothing to offer, the line is kept.
  assert.deepEqual(await complete("shw fr", tree), [[], "fr"]);
  // A failing name source does not break completion.
  const failing = () => Promise.reject(new Error("unavailable"));
  assert.deepEqual(await complete("show backends n", tree, { names: failing }), [[], "n"]);
});
