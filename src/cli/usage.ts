/**
 * Usage text of the client (`maglevd help [words]`, `--help`): the command
 * synopses are generated from the command tree, so a command added to the
 * tree is documented here without a second list to keep in step.
 * @module
 */
import { DEFAULT_SERVER } from "../flags.ts";
import type { TreeNode } from "./tree.ts";

/** The flags block of the client's usage; flags may come before or after the command words. */
export const CLIENT_FLAGS_USAGE = `flags (before or after the command words):
  --server ADDR    maglevd gRPC address: host:port, /path.sock or unix:/path
                   (env MAGLEV_SERVER, default ${DEFAULT_SERVER})
  --timeout DUR    how long to wait for an answer (default 5s; "watch events" waits forever)
  --json           print one JSON document ("watch events": one object per line)
  --color[=bool]   colour labels and errors (default: stdout is a terminal and NO_COLOR is unset)
  -h, --help       this text; "maglevd help show" or "maglevd show --help" for one command
exit status: 0 done, 1 the command failed (the daemon said no, or did not answer), 2 usage error
`;

function isLeaf(n: TreeNode): boolean {
  return n.children.length === 0 && n.command !== undefined;
}

/** Children shown in usage: aliases stay out, as in `?` help. */
function visible(n: TreeNode): TreeNode[] {
  return n.children.filter((c) => !c.alias);
}

/**
 * Children that fold into one word of the synopsis: all leaves, and either
 * a single one or each setting an argument (`pause|resume|...`, `[flush]`).
 */
function foldable(children: readonly TreeNode[]): boolean {
  if (children.length === 0 || !children.every(isLeaf)) return false;
  return children.length === 1 || children.every((c) => c.sets !== undefined);
}

/** Synopsis lines of every command at or below `node`, each starting with `prefix`. */
export function synopses(node: TreeNode, prefix: readonly string[]): string[] {
  const here = node.word === "" ? [...prefix] : [...prefix, node.word];
  if (node.synopsis !== undefined) return [[...here, node.synopsis].join(" ")];
  const kids = visible(node);
  if (foldable(kids)) {
    const alt = kids.map((c) => c.word).join("|");
    return [[...here, node.command !== undefined ? `[${alt}]` : alt].join(" ")];
  }
  const out: string[] = node.command !== undefined && here.length > 0 ? [here.join(" ")] : [];
  for (const c of kids) out.push(...synopses(c, here));
  return out;
}

/** The node (and its canonical path) that keywords, full or uniquely abbreviated, name. */
function findNode(
  words: readonly string[],
  root: TreeNode,
): { node: TreeNode; path: string[] } | undefined {
  let node = root;
  const path: string[] = [];
  for (const w of words) {
    const lower = w.toLowerCase();
    const exact = node.children.find((c) => c.slot === undefined && c.word === lower);
    const hits = visible(node).filter((c) => c.slot === undefined && c.word.startsWith(lower));
    const next = exact ?? (hits.length === 1 ? hits[0] : undefined) ??
      node.children.find((c) => c.slot !== undefined);
    if (next === undefined) return undefined;
    node = next;
    path.push(next.word);
  }
  return { node, path };
}

/**
 * `maglevd help [words]`: the synopses of the commands under `words` (every
 * command when empty, with the flags block). Unknown words are an error
 * naming them.
 */
export function usageText(
  words: readonly string[],
  tree: TreeNode,
): { ok: true; text: string } | { ok: false; error: string } {
  const found = findNode(words, tree);
  if (found === undefined) {
    return {
      ok: false,
      error: `no command "${words.join(" ")}"; "maglevd help" lists the commands`,
    };
  }
  const lines = synopses(found.node, found.path.slice(0, -1));
  const head = words.length === 0
    ? "usage: maglevd [flags] [shell]         interactive shell\n" +
      "       maglevd [flags] <command ...>  run one command against a running maglevd\n" +
      "       maglevd help [command ...]     this text, or the commands under a word\n" +
      "       maglevd check --config FILE    validate a config file offline\n" +
      "       maglevd --help                 the daemon's flags\n\n" +
      CLIENT_FLAGS_USAGE + "\ncommands:\n"
    : "usage:\n";
  return { ok: true, text: head + lines.map((l) => `  maglevd ${l}\n`).join("") };
}
