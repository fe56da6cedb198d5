/**
 * `deno task check` part two: the structure rules of DEVELOPERS.md that a
 * type checker cannot see (issue 13).
 *
 * 1. No import cycles in the local module graph (product and tests), read
 *    from `deno info --json` over every entry point.
 * 2. Product code (src/, vpp/, lab/, main.ts, cli.ts; not tests, test
 *    helpers or generated files) has no file over 600 lines and no function
 *    over 80 lines. There is no allowlist: an offender is split.
 * 3. Each product module has a `_test.ts` beside it, unless it is generated
 *    or on {@linkcode TEST_EXEMPT} with its reason.
 * 4. An exported function declaration (product, bench, tools and test
 *    helpers; not `_test.ts` files or generated ones) takes at most two
 *    arguments plus an options object.
 *
 * Exits 1 naming every offender.
 * @module
 */

import ts from "typescript";

/** The longest product file, in lines. */
export const MAX_FILE_LINES = 600;
/** The longest product function, in lines (signature to closing brace). */
export const MAX_FUNCTION_LINES = 80;

const ROOT = new URL("../", import.meta.url);
const PRODUCT_DIRS = ["src", "vpp", "lab"];
const PRODUCT_FILES = ["main.ts", "cli.ts"];

/** A module graph: each local module's local imports (type imports too). */
export type ModuleGraph = ReadonlyMap<string, readonly string[]>;

/**
 * Every cycle of the graph, as the modules of each strongly connected
 * component (Tarjan's algorithm, without recursion); a module importing
 * itself is a cycle too.
 */
export function findCycles(graph: ModuleGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  for (const root of [...graph.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { node: string; edge: number }[] = [{ node: root, edge: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const edges = graph.get(top.node) ?? [];
      if (top.edge < edges.length) {
        const to = edges[top.edge++];
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) !== index.get(top.node)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== top.node);
      const selfLoop = edges.includes(top.node);
      if (component.length > 1 || selfLoop) cycles.push(component.sort());
    }
  }
  return cycles;
}

interface DenoInfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier?: string };
    readonly type?: { readonly specifier?: string };
  }[];
}

/** The local module graph of `entries` (paths relative to the repository). */
async function moduleGraph(entries: readonly string[]): Promise<Map<string, string[]>> {
  // One root that imports every entry, so one `deno info` sees the whole graph.
  const dir = await Deno.makeTempDir({ prefix: "maglev-structure-" });
  const root = `${dir}/all.ts`;
  try {
    await Deno.writeTextFile(
      root,
      entries.map((e) => `import ${JSON.stringify(new URL(e, ROOT).href)};\n`).join(""),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", ROOT).pathname, root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno info: ${new TextDecoder().decode(out.stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: DenoInfoModule[];
    };
    const local = (s: string | undefined) => s !== undefined && s.startsWith(ROOT.href);
    const graph = new Map<string, string[]>();
    for (const m of info.modules) {
      if (!local(m.specifier)) continue;
      const to = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) if (local(s)) to.add(rel(s!));
      }
      graph.set(rel(m.specifier), [...to].sort());
    }
    return graph;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function rel(specifier: string): string {
  return specifier.slice(ROOT.href.length);
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && e.name !== "node_modules" && !e.name.startsWith(".")) yield* walk(path);
    else if (e.isFile && /\.tsx?$/.test(e.name)) yield path;
  }
}

/** Test code: tests, their helpers and fixtures. */
export function isTestCode(path: string): boolean {
  return /_test\.ts$|_test_util\.ts$|(^|\/)testdata\//.test(path);
}

/** Go's convention, which our generators follow: `// Code generated ... DO NOT EDIT.` */
export function isGenerated(text: string): boolean {
  const first = text.slice(0, text.indexOf("\n") >>> 0);
  return /^\/\/ Code generated .*DO NOT EDIT\.?$/.test(first);
}

/**
 * Product modules that need no `_test.ts` of their own, each with why. Keep
 * it short: a module with logic gets a test, not an entry here.
 */
export const TEST_EXEMPT: Readonly<Record<string, string>> = {
  "src/checker/types.ts": "types only",
  "src/cli/backend.ts": "types only (the client's view of a daemon)",
  "src/config/types.ts": "types only",
  "src/health/types.ts": "types, and the STATES list that metrics/state_test.ts spells out",
  "src/reconciler/types.ts": "types only",
  "src/listen/mod.ts": "re-exports",
  "vpp/api.ts": "types only (the session API and its options)",
  "vpp/mod.ts": "re-exports",
  "src/dashboard/assets/app_js.ts":
    "browser script as text; run in chromium by tests/dashboard/browser_test.ts",
  "src/dashboard/assets/style_css.ts":
    "stylesheet as text; rendered by tests/dashboard/browser_test.ts",
};

/** The `_test.ts` beside a module. */
export function testPathOf(path: string): string {
  return path.replace(/\.tsx?$/, "_test.ts");
}

/**
 * Rule 3 over `modules` (product, not generated): one error per module
 * without its test and not exempt, and per exemption of a file that is gone.
 * An exemption whose module now has a test is reported in `stale` (a note,
 * not an error, so that a test landing first breaks nothing).
 */
export function missingTests(
  modules: readonly string[],
  hasFile: (path: string) => boolean,
  { exempt = TEST_EXEMPT }: { readonly exempt?: Readonly<Record<string, string>> } = {},
): { errors: string[]; stale: string[] } {
  const errors: string[] = [];
  for (const m of modules) {
    if (!hasFile(testPathOf(m)) && !Object.hasOwn(exempt, m)) {
      errors.push(`${m}: no ${testPathOf(m)} beside it; write one (or exempt it with a reason)`);
    }
  }
  const stale: string[] = [];
  for (const m of Object.keys(exempt).sort()) {
    if (!hasFile(m)) errors.push(`${m}: exempted from rule 3 but no longer exists; drop the entry`);
    else if (hasFile(testPathOf(m))) stale.push(m);
  }
  return { errors, stale };
}

/** A function or a file over its limit. */
export interface SizeOffence {
  /** `path` for a file, `path#name` for a function. */
  readonly key: string;
  readonly line: number;
  readonly lines: number;
  readonly limit: number;
}

function functionName(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name !== undefined && ts.isIdentifier(named.name)) return named.name.text;
  if (named.name !== undefined && ts.isPrivateIdentifier(named.name)) return named.name.text;
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (parent !== undefined) {
    if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
    if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
    if (ts.isPropertyDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  }
  return "(anonymous)";
}

/** The files and functions of one source text over their limits. */
export function sizeOffences(path: string, text: string): SizeOffence[] {
  const out: SizeOffence[] = [];
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const fileLines = source.getLineAndCharacterOfPosition(text.length).line +
    (text.endsWith("\n") ? 0 : 1);
  if (fileLines > MAX_FILE_LINES) {
    out.push({ key: path, line: 1, lines: fileLines, limit: MAX_FILE_LINES });
  }
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > MAX_FUNCTION_LINES) {
        out.push({
          key: `${path}#${functionName(node)}`,
          line: start + 1,
          lines,
          limit: MAX_FUNCTION_LINES,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/**
 * True when `p` reads as an options object: a parameter named
 * `options`/`opts`, an object destructured in place (`{ a = 1 } = {}`), or
 * one of an options type (see {@linkcode isOptionsType}).
 */
function isOptionsParam(p: ts.ParameterDeclaration): boolean {
  if (ts.isObjectBindingPattern(p.name)) return true;
  if (ts.isIdentifier(p.name) && (p.name.text === "options" || p.name.text === "opts")) return true;
  return p.type !== undefined && isOptionsType(p.type);
}

/**
 * A type literal, a type named `*Options`, any `Partial<...>` (overrides are
 * options), `Readonly` of an options type, or an intersection of them.
 */
function isOptionsType(type: ts.TypeNode): boolean {
  if (ts.isTypeLiteralNode(type)) return true;
  if (ts.isIntersectionTypeNode(type)) return type.types.every(isOptionsType);
  if (!ts.isTypeReferenceNode(type)) return false;
  const name = ts.isIdentifier(type.typeName) ? type.typeName.text : type.typeName.right.text;
  if (name.endsWith("Options") || name === "Partial") return true;
  const args = type.typeArguments;
  return name === "Readonly" && args?.length === 1 && isOptionsType(args[0]);
}

/**
 * Rule 4 over one source text: an error (`path:line: ...` naming the
 * function) per exported top-level function declaration with a third
 * parameter that is not an options object, or with more than three. Only
 * top-level statements are read (exports live there), so the scan stays
 * cheap.
 */
export function argumentOffences(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const s of source.statements) {
    if (!ts.isFunctionDeclaration(s) || s.parameters.length <= 2) continue;
    if (!s.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    const params = s.parameters.length;
    if (params === 3 && isOptionsParam(s.parameters[2])) continue;
    const line = source.getLineAndCharacterOfPosition(s.getStart(source)).line + 1;
    out.push(
      `${path}:${line}: exported function ${s.name?.text ?? "default"} takes ${params} ` +
        "positional parameters; keep at most two and pass the rest in an options object",
    );
  }
  return out;
}

async function productFiles(): Promise<string[]> {
  const files = [...PRODUCT_FILES];
  for (const dir of PRODUCT_DIRS) for await (const f of walk(dir)) files.push(f);
  return files.filter((f) => !isTestCode(f)).sort();
}

async function testEntries(): Promise<string[]> {
  const out = ["main_test.ts", "cli_test.ts"];
  for (const dir of [...PRODUCT_DIRS, "tests", "bench", "proto", "tools"]) {
    for await (const f of walk(dir)) if (/_test\.ts$/.test(f)) out.push(f);
  }
  return out.sort();
}

async function checkCycles(): Promise<string[]> {
  const entries = [...PRODUCT_FILES, ...await testEntries()];
  const cycles = findCycles(await moduleGraph(entries));
  return cycles.map((c) => `import cycle: ${c.join(" -> ")}`);
}

async function checkSizes(): Promise<string[]> {
  const errors: string[] = [];
  for (const path of await productFiles()) {
    const text = await Deno.readTextFile(new URL(path, ROOT));
    if (isGenerated(text)) continue;
    for (const o of sizeOffences(path, text)) {
      const what = o.key === path ? "file" : `function ${o.key.slice(path.length + 1)}`;
      errors.push(`${path}:${o.line}: ${what} has ${o.lines} lines (limit ${o.limit}); split it`);
    }
  }
  return errors;
}

async function checkArguments(): Promise<string[]> {
  const files = [...PRODUCT_FILES];
  for (const dir of [...PRODUCT_DIRS, "tests", "bench", "tools"]) {
    for await (const f of walk(dir)) {
      if (!/_test\.ts$/.test(f)) files.push(f);
    }
  }
  const errors: string[] = [];
  for (const path of files.sort()) {
    const text = await Deno.readTextFile(new URL(path, ROOT));
    if (isGenerated(text)) continue;
    errors.push(...argumentOffences(path, text));
  }
  return errors;
}

async function checkTests(): Promise<string[]> {
  const modules: string[] = [];
  for (const path of await productFiles()) {
    if (!isGenerated(await Deno.readTextFile(new URL(path, ROOT)))) modules.push(path);
  }
  const hasFile = (path: string) => {
    try {
      return Deno.statSync(new URL(path, ROOT)).isFile;
    } catch {
      return false;
    }
  };
  const { errors, stale } = missingTests(modules, hasFile);
  for (const m of stale) console.log(`note: ${m} has a test now; drop its TEST_EXEMPT entry`);
  return errors;
}

if (import.meta.main) {
  const errors = [
    ...await checkCycles(),
    ...await checkSizes(),
    ...await checkTests(),
    ...await checkArguments(),
  ];
  for (const e of errors) console.error(`%c${e}`, "color: red");
  if (errors.length > 0) Deno.exit(1);
  console.log(
    "structure OK: no import cycles; product files and functions within their limits; " +
      "a test beside each module; exported functions take at most two arguments plus options",
  );
}
