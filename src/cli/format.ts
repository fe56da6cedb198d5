/**
 * Output formats of the client (spec 8.4 and 0.5): key/value blocks and
 * aligned rows in the style of VPP and birdc. Labels are dark blue when
 * colour is on; every label is wrapped in the same pair of escape sequences
 * and padding is computed on the visible text, so columns line up with and
 * without colour. Values are never coloured, so scripts' regexes see plain
 * `name  weight 100  effective 100` rows either way.
 * @module
 */
import type { BackendSnapshot } from "../checker/types.ts";
import { formatDuration } from "../config/duration.ts";
import { errorMessage } from "../errors.ts";
import type { HealthCheck } from "../config/types.ts";
import type { SyncStats } from "../reconciler/types.ts";
import type {
  CheckConfigView,
  CountersView,
  EventView,
  FrontendView,
  LbView,
  ReloadConfigView,
  VppInfoView,
} from "./backend.ts";

/** How to render. */
export interface FormatOptions {
  /** ANSI colour for labels (and red errors). */
  readonly color: boolean;
  /** Unix milliseconds "now", for ages. */
  readonly now: number;
}

/** Dark blue on, reset: every label carries exactly these two sequences. */
const LABEL_ON = "\x1b[34m";
const RED_ON = "\x1b[31m";
const RESET = "\x1b[0m";

function label(text: string, o: FormatOptions): string {
  return o.color ? `${LABEL_ON}${text}${RESET}` : text;
}

/** Removes ANSI escape sequences, e.g. to measure or to test. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

type Row = readonly [string, string];

/** Key/value lines: labels padded to the widest, two blanks, then the value. */
export function keyValues(
  rows: readonly Row[],
  o: FormatOptions,
  { indent = "" }: { readonly indent?: string } = {},
): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) =>
    v === ""
      ? `${indent}${label(k, o)}\n`
      : `${indent}${label(k, o)}${" ".repeat(width - k.length)}  ${v}\n`
  ).join("");
}

/** A header row (labels) and aligned data rows; the last column is not padded. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  o: FormatOptions,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[], paint: boolean) =>
    cells.map((c, i) => {
      const last = i === cells.length - 1;
      const pad = last ? "" : " ".repeat(widths[i] - c.length + 2);
      return (paint ? label(c, o) : c) + pad;
    }).join("") + "\n";
  return line(header, true) + rows.map((r) => line(r, false)).join("");
}

/**
 * A span as operators write it, to the second (`1m5s`) or, under a second,
 * the millisecond: milliseconds of an age are noise. Never negative.
 */
export function span(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0s";
  return formatDuration(ms < 1000 ? Math.round(ms) : Math.round(ms / 1000) * 1000);
}

/** `<age> ago` for a unix-ms timestamp; `-` when unknown (0). */
export function formatAge(atMs: number, o: FormatOptions): string {
  if (!atMs) return "-";
  return `${span(o.now - atMs)} ago`;
}

function isoTime(ms: number): string {
  return ms ? new Date(ms).toISOString() : "-";
}

/** `show frontends`: one aligned row per frontend. */
export function formatFrontendList(frontends: readonly FrontendView[], o: FormatOptions): string {
  return table(
    ["name", "address", "protocol", "port", "state", "active-pool"],
    frontends.map((f) => [
      f.name,
      f.address,
      f.protocol,
      String(f.port),
      f.vppSyncError ? `${f.state} (VPP out of sync)` : f.state,
      f.activePool || "-",
    ]),
    o,
  );
}

/**
 * `show frontends <name>`: key/value lines, then each pool and its backends.
 * Backend rows read `<backend>  weight <cfg>  effective <eff>[  [disabled]]`
 * with names and numbers padded into columns.
 */
export function formatFrontend(f: FrontendView, o: FormatOptions): string {
  const rows: Row[] = [
    ["name", f.name],
    ["address", f.address],
    ["protocol", f.protocol],
    ["port", String(f.port)],
    ["src-ip-sticky", String(f.srcIpSticky)],
    ["flush-on-down", String(f.flushOnDown)],
  ];
  if (f.description !== "") rows.push(["description", f.description]);
  rows.push(["state", f.state]);
  if (f.vppSyncError) rows.push(["vpp", `OUT OF SYNC: ${f.vppSyncError}`]);
  rows.push(["active-pool", f.activePool || "-"]);
  if (f.fingerprint !== "") rows.push(["fingerprint", f.fingerprint]);
  rows.push(["pools", f.pools.length === 0 ? "(none)" : ""]);
  let out = keyValues(rows, o);
  const all = f.pools.flatMap((p) => p.backends);
  const nameW = Math.max(0, ...all.map((b) => b.name.length));
  const weightW = Math.max(0, ...all.map((b) => String(b.weight).length));
  const effW = Math.max(0, ...all.map((b) => String(b.effectiveWeight).length));
  for (const p of f.pools) {
    out += `  ${label(p.name, o)}${p.name === f.activePool ? "  (active)" : ""}\n`;
    if (p.backends.length === 0) out += "    (no backends)\n";
    for (const b of p.backends) {
      let row = `    ${b.name.padEnd(nameW)}  weight ${
        String(b.weight).padEnd(weightW)
      }  effective ${String(b.effectiveWeight).padEnd(effW)}`;
      if (!b.enabled) row += "  [disabled]";
      if (b.adopted) row += "  [adopted from VPP, awaiting first result]";
      out += row.trimEnd() + "\n";
    }
  }
  return out;
}

/** `show backends`: one aligned row per backend. */
export function formatBackendList(backends: readonly BackendSnapshot[], o: FormatOptions): string {
  return table(
    ["name", "address", "state", "enabled", "healthcheck", "last-transition"],
    backends.map((b) => [
      b.name,
      b.address,
      b.state,
      String(b.enabled),
      b.healthcheck || "-",
      formatAge(b.transitions[0]?.atMs ?? 0, o),
    ]),
    o,
  );
}

/** `show backends <name>`: key/value lines, transitions newest first, then probes. */
export function formatBackend(b: BackendSnapshot, o: FormatOptions): string {
  const rows: Row[] = [
    ["name", b.name],
    ["address", b.address],
  ];
  if (b.description !== "") rows.push(["description", b.description]);
  rows.push(
    ["state", b.state],
    ["enabled", String(b.enabled)],
    ["healthcheck", b.healthcheck || "-"],
    ["health", `${b.health}/${b.healthMax}`],
    ["transitions", b.transitions.length === 0 ? "(none)" : ""],
  );
  let out = keyValues(rows, o);
  const tr = b.transitions.map((t) => [
    `${t.from} -> ${t.to}`,
    t.code || "-",
    formatAge(t.atMs, o),
    t.detail,
  ]);
  out += indentedColumns(tr);
  out += keyValues([["probes", b.probes.length === 0 ? "(none)" : ""]], o);
  const pr = b.probes.map((p) => [
    formatAge(p.atMs, o),
    p.ok ? "ok" : "fail",
    p.code,
    span(p.durationMs),
    p.detail,
  ]);
  out += indentedColumns(pr);
  return out;
}

/** Rows indented by two blanks, columns separated by two blanks, empty trailing cells dropped. */
function indentedColumns(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "";
  const n = Math.max(...rows.map((r) => r.length));
  const widths = Array.from(
    { length: n },
    (_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)),
  );
  return rows.map((r) =>
    "  " + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd() +
    "\n"
  ).join("");
}

/** `show healthchecks`: one aligned row per health check. */
export function formatHealthCheckList(hcs: readonly HealthCheck[], o: FormatOptions): string {
  return table(
    ["name", "type", "port", "interval", "rise", "fall"],
    hcs.map((h) => [
      h.name,
      h.type,
      h.port ? String(h.port) : "-",
      formatDuration(h.intervalMs),
      String(h.rise),
      String(h.fall),
    ]),
    o,
  );
}

/** `show healthchecks <name>`: every parameter as key/value lines. */
export function formatHealthCheck(h: HealthCheck, o: FormatOptions): string {
  const rows: Row[] = [
    ["name", h.name],
    ["type", h.type],
    ["port", h.port ? String(h.port) : "-"],
    ["interval", formatDuration(h.intervalMs)],
    ["fast-interval", formatDuration(h.fastIntervalMs)],
    ["down-interval", formatDuration(h.downIntervalMs)],
    ["timeout", formatDuration(h.timeoutMs)],
    ["rise", String(h.rise)],
    ["fall", String(h.fall)],
  ];
  if (h.probeIpv4Src) rows.push(["probe-ipv4-src", h.probeIpv4Src]);
  if (h.probeIpv6Src) rows.push(["probe-ipv6-src", h.probeIpv6Src]);
  if (h.http !== undefined) {
    const p = h.http;
    rows.push(["path", p.path]);
    if (p.host) rows.push(["host", p.host]);
    rows.push(["response-code", `${p.responseCodeMin}-${p.responseCodeMax}`]);
    if (p.responseRegexp) rows.push(["response-regexp", p.responseRegexp]);
    if (p.serverName) rows.push(["server-name", p.serverName]);
    if (h.type === "https") rows.push(["insecure-skip-verify", String(p.insecureSkipVerify)]);
  }
  if (h.tcp !== undefined) {
    rows.push(["ssl", String(h.tcp.ssl)]);
    if (h.tcp.serverName) rows.push(["server-name", h.tcp.serverName]);
    if (h.tcp.ssl) rows.push(["insecure-skip-verify", String(h.tcp.insecureSkipVerify)]);
  }
  return keyValues(rows, o);
}

/** `show vpp info`. */
export function formatVppInfo(v: VppInfoView, o: FormatOptions): string {
  const rows: Row[] = [
    ["version", v.version],
    ["build-date", v.buildDate],
    ["build-dir", v.buildDirectory],
    ["vpp-pid", String(v.pid)],
    [
      "vpp-boottime",
      v.bootTimeMs ? `${isoTime(v.bootTimeMs)} (${formatAge(v.bootTimeMs, o)})` : "-",
    ],
    [
      "connected",
      v.connectedAtMs ? `${isoTime(v.connectedAtMs)} (${span(o.now - v.connectedAtMs)})` : "-",
    ],
  ];
  if (v.incompatible !== undefined && v.incompatible.length > 0) {
    rows.push(["incompatible", `missing ${v.incompatible.join(", ")}`]);
  }
  return keyValues(rows, o);
}

/** `show vpp lb state`: global conf, then each VIP with its application servers. */
export function formatLbState(s: LbView, o: FormatOptions): string {
  let out = keyValues([
    ["ip4-src", s.ip4SrcAddress || "-"],
    ["ip6-src", s.ip6SrcAddress || "-"],
    ["sticky-buckets-per-core", String(s.stickyBucketsPerCore)],
    ["flow-timeout", `${s.flowTimeout}s`],
    ["vips", s.vips.length === 0 ? "(none)" : ""],
  ], o);
  for (const v of s.vips) {
    out += `  ${label("vip", o)} ${v.prefix} ${v.protocol} port ${v.port}${
      v.frontend ? `  (frontend ${v.frontend})` : ""
    }\n`;
    out += keyValues(
      [
        ["encap", v.encap],
        ["src-ip-sticky", String(v.srcIpSticky)],
        ["flow-table-length", String(v.flowTableLength)],
        ["ases", v.ases.length === 0 ? "(none)" : ""],
      ],
      o,
      { indent: "    " },
    );
    const addrW = Math.max(0, ...v.ases.map((a) => a.address.length));
    const wW = Math.max(0, ...v.ases.map((a) => String(a.weight).length));
    for (const a of v.ases) {
      out += `      ${a.address.padEnd(addrW)}  weight ${
        String(a.weight).padEnd(wW)
      }  buckets ${a.buckets}\n`;
    }
  }
  return out;
}

/** `show vpp lb counters`: one row per VIP. */
export function formatCounters(cs: readonly CountersView[], o: FormatOptions): string {
  return table(
    ["frontend", "vip", "protocol", "port", "next", "first", "untracked", "no-server"],
    cs.map((c) => [
      c.frontend || "-",
      c.prefix,
      c.protocol,
      String(c.port),
      c.next,
      c.first,
      c.untracked,
      c.noServer,
    ]),
    o,
  );
}

/** `sync vpp lb state [<frontend>]`. */
export function formatSync(frontend: string, s: SyncStats, o: FormatOptions): string {
  return keyValues([
    ["synced", frontend || "all frontends"],
    ["vips-added", String(s.vipAdded)],
    ["vips-removed", String(s.vipRemoved)],
    ["ases-added", String(s.asAdded)],
    ["ases-removed", String(s.asRemoved)],
    ["ases-weight-updated", String(s.asWeightUpdated)],
  ], o);
}

/** `config check`: the text, and whether the file is valid. */
export function formatCheckConfig(c: CheckConfigView, o: FormatOptions): string {
  if (c.ok) return keyValues([["config", "ok"]], o);
  const rows: Row[] = [];
  if (c.parseError) rows.push(["parse-error", c.parseError]);
  if (c.semanticError) rows.push(["semantic-error", c.semanticError]);
  if (rows.length === 0) rows.push(["config", "invalid"]);
  return keyValues(rows, o);
}

/** `config reload`. */
export function formatReload(r: ReloadConfigView, o: FormatOptions): string {
  return keyValues([["config", r.ok ? "reloaded" : `not reloaded: ${r.error}`]], o);
}

/** Local wall-clock time with milliseconds, `2026-04-01 14:00:00.250`. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/**
 * One human line per `watch events` event on a terminal: local time, kind,
 * then backend, `from -> to`, code and detail (what each kind has).
 */
export function formatEventLine(e: EventView): string {
  let rest: string[];
  if (e.kind === "backend") {
    rest = [e.backend ?? "", `${e.from} -> ${e.to}`, e.code || "-", e.detail ?? ""];
    if (e.frontend) rest.push(`(frontend ${e.frontend})`);
  } else if (e.kind === "frontend") {
    rest = [e.frontend ?? "", `${e.from} -> ${e.to}`];
  } else if (e.kind === "log") {
    const attrs = Object.entries(e.attrs ?? {}).map(([k, v]) => `${k}=${v}`);
    rest = [e.level ?? "", e.msg ?? "", attrs.join(" ")];
  } else {
    rest = [e.reason ?? ""];
  }
  const cells = [localTime(e.atMs), e.kind.padEnd(8), ...rest.filter((c) => c !== "")];
  return cells.join("  ") + "\n";
}

/**
 * The server's message without gRPC boilerplate: Go's
 * `rpc error: code = X desc = ` and grpc-js's `5 NOT_FOUND: ` prefixes go.
 */
export function stripGrpcPrefix(message: string): string {
  return message
    .replace(/^rpc error: code = \w+ desc = /, "")
    .replace(/^\d+ [A-Z_]+: /, "");
}

/** The text to show for a thrown value; grpc-js puts the server's message in `details`. */
export function rpcErrorText(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const details = (err as { details?: unknown }).details;
    if (typeof details === "string" && details !== "") return stripGrpcPrefix(details);
    const message = (err as { message?: unknown }).message;
    if (typeof message === "string") return stripGrpcPrefix(message);
  }
  return stripGrpcPrefix(errorMessage(err));
}

/** A warning line (`warning: ...`), yellow when colour is on. */
export function formatWarning(message: string, o: Pick<FormatOptions, "color">): string {
  return (o.color ? `\x1b[33mwarning: ${message}${RESET}` : `warning: ${message}`) + "\n";
}

/** An error line, red when colour is on. */
export function formatError(message: string, o: Pick<FormatOptions, "color">): string {
  return (o.color ? `${RED_ON}${message}${RESET}` : message) + "\n";
}
