/**
 * Output of the commands where the daemon reports on itself and on what a
 * change would do: `show status`, `show version`, the reload plan of
 * `config diff` and `config reload`, and the disruption preview. Same
 * style as `format.ts`: key/value lines, labels coloured, values plain.
 * @module
 */
import type { PlanView, PreviewView, StatusView } from "./backend.ts";
import { formatAge, type FormatOptions, keyValues, localTime, span } from "./format.ts";

type Row = readonly [string, string];

/** Client and daemon builds, as `show version` prints them. */
export interface VersionsView {
  readonly client: BuildView;
  /** Absent when the daemon did not answer. */
  readonly daemon?: BuildView;
}

/** One build: version, commit and build date. */
export interface BuildView {
  readonly version: string;
  readonly commit: string;
  readonly buildDate: string;
}

/** `show version`: the client's build, then the daemon's. */
export function formatVersions(v: VersionsView, o: FormatOptions): string {
  const rows: Row[] = [
    ["version", v.client.version],
    ["commit", v.client.commit],
    ["build-date", v.client.buildDate],
  ];
  if (v.daemon !== undefined) {
    rows.push(
      ["daemon-version", v.daemon.version],
      ["daemon-commit", v.daemon.commit],
      ["daemon-build-date", v.daemon.buildDate],
    );
  }
  return keyValues(rows, o);
}

/** `up 3, down 1`; `-` when there is nothing. */
function countList(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts).map(([state, n]) => `${state} ${n}`);
  return parts.length === 0 ? "-" : parts.join(", ");
}

function vppLine(v: StatusView["vpp"], o: FormatOptions): string {
  const since = v.sinceMs ? ` since ${localTime(v.sinceMs)} (${formatAge(v.sinceMs, o)})` : "";
  if (v.state === "disabled") return "disabled";
  if (v.state === "connected") return `connected to ${v.apiSocket}, VPP ${v.version}${since}`;
  const missing = v.missingMessages.length > 0 ? `: missing ${v.missingMessages.join(", ")}` : "";
  const why = v.error !== "" ? `: ${v.error}` : "";
  return `${v.state} (${v.apiSocket})${missing || why}${since}`;
}

/** `show status`: the daemon's own state. */
export function formatStatus(s: StatusView, o: FormatOptions): string {
  const r = s.lastReload;
  const reload = r.atMs === 0
    ? "none since start"
    : `${localTime(r.atMs)} (${formatAge(r.atMs, o)}) ${r.ok ? "ok" : `failed: ${r.error}`}`;
  return keyValues([
    ["version", `${s.version} (commit ${s.commit}, built ${s.buildDate})`],
    ["started", `${localTime(s.startTimeMs)} (up ${span(s.uptimeMs)})`],
    ["config", s.configPath],
    ["config-hash", s.configHash || "-"],
    ["last-reload", reload],
    ["warmup", s.warmup || "-"],
    ["vpp", vppLine(s.vpp, o)],
    ["backends", countList(s.backends)],
    ["frontends", countList(s.frontends)],
  ], o);
}

function section(title: string, lines: readonly string[], o: FormatOptions): string {
  if (lines.length === 0) return "";
  return keyValues([[title, ""]], o) + lines.map((l) => `  ${l}\n`).join("");
}

/**
 * A reload plan (`config diff`, `config reload`): one section per kind of
 * change, only the sections that have something; `no change` when none.
 */
export function formatPlan(p: PlanView, o: FormatOptions): string {
  if (!p.changed) return keyValues([["plan", "no change"]], o);
  const names = (xs: readonly string[]) => xs.length === 0 ? [] : [xs.join(", ")];
  let out = keyValues([["plan", "changes"]], o);
  out += section("frontends-added", names(p.frontendsAdded), o);
  out += section("frontends-removed", names(p.frontendsRemoved), o);
  out += section("frontends-changed", names(p.frontendsChanged), o);
  out += section("backends-added", names(p.backendsAdded), o);
  out += section("backends-removed", names(p.backendsRemoved), o);
  out += section("healthchecks-added", names(p.healthchecksAdded), o);
  out += section("healthchecks-removed", names(p.healthchecksRemoved), o);
  out += section("probes-restarted", p.probesRestarted.map((r) => `${r.backend}  ${r.reason}`), o);
  out += section(
    "vips-recreated",
    p.vipsRecreated.map((v) =>
      `${v.frontend}  ${v.address} ${v.protocol} port ${v.port}  ${v.reason}: ${v.flows}` +
      (v.applicationServers > 0 ? ` (${v.applicationServers} application servers)` : "")
    ),
    o,
  );
  out += section(
    "weights-changed",
    p.weightsChanged.map((w) =>
      `${w.frontend} ${w.pool} ${w.backend}  weight ${w.weightFrom} -> ${w.weightTo}` +
      `  effective ${w.effectiveFrom} -> ${w.effectiveTo}`
    ),
    o,
  );
  return out;
}

/** The candidate of a plan did not load: its errors as one text. */
export function planErrors(p: PlanView): string {
  return [p.parseError, p.semanticError].filter((e) => e !== "").join("\n") ||
    "the config does not load";
}

function percent(n: number, of: number): string {
  return of === 0 ? "0%" : `${(100 * n / of).toFixed(1)}%`;
}

/**
 * `show frontends NAME preview ...`: how many buckets move and where to,
 * then each backend's share before and after.
 */
export function formatPreview(p: PreviewView, o: FormatOptions): string {
  let out = keyValues([
    ["frontend", p.frontend],
    ["table-length", String(p.tableLength)],
    [
      "buckets-moved",
      `${p.bucketsMoved} of ${p.tableLength} (${percent(p.bucketsMoved, p.tableLength)})`,
    ],
    ["fingerprint", `${p.fingerprintBefore || "-"} -> ${p.fingerprintAfter || "-"}`],
  ], o);
  const name = (b: string) => b || "(no backend)";
  const moveW = Math.max(0, ...p.moves.map((m) => `${name(m.from)} -> ${name(m.to)}`.length));
  out += section(
    "moves",
    p.moves.map((m) => `${`${name(m.from)} -> ${name(m.to)}`.padEnd(moveW)}  ${m.buckets}`),
    o,
  );
  const after = new Map(p.after.map((a) => [a.backend, a]));
  const nameW = Math.max(0, ...p.before.map((b) => b.backend.length));
  out += section(
    "buckets",
    p.before.map((b) => {
      const a = after.get(b.backend);
      return `${b.backend.padEnd(nameW)}  ${b.buckets} -> ${a?.buckets ?? 0}` +
        `  (effective ${b.effectiveWeight} -> ${a?.effectiveWeight ?? 0})`;
    }),
    o,
  );
  return out;
}
