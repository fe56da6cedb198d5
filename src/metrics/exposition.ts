/**
 * The text exposition (format 0.0.4), written here rather than by
 * prom-client because upstream's scripts match series byte for byte as
 * client_golang prints them: labels in alphabetical order, with a
 * histogram's `le` last.
 * @module
 */

/** A metric family as the exposition reads it: prom-client's `get()`, or its own text. */
export type Family = ValuesFamily | TextFamily;

/** A family whose series come as values (prom-client's `get()`). */
export interface ValuesFamily {
  readonly name: string;
  get(): Promise<unknown>;
}

/**
 * A family that writes its own text: a family of a million series would
 * otherwise become a million objects, then a million line strings, before
 * the text exists.
 */
export interface TextFamily {
  readonly name: string;
  /** Its lines, HELP and TYPE first, joined by newlines; "" without a series. */
  text(): string;
}

interface SeriesValue {
  value: number;
  labels?: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  metricName?: string;
}

interface FamilyValues {
  name: string;
  help: string;
  type: string;
  values: SeriesValue[];
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A label value escaped for the text format. */
export function escapeLabel(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** A sample value (or numeric label) as the text format writes it. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function formatLabels(labels: Record<string, string | number>): string {
  const keys = Object.keys(labels).filter((k) => k !== "le").sort();
  if ("le" in labels) keys.push("le");
  if (keys.length === 0) return "";
  const parts = keys.map((k) => {
    const v = labels[k];
    return `${k}="${escapeLabel(typeof v === "number" ? formatValue(v) : String(v))}"`;
  });
  return `{${parts.join(",")}}`;
}

/** Renders `families` in order, skipping those without a series. */
export async function renderFamilies(
  families: readonly Family[],
): Promise<string> {
  // Every get() starts now, before any await, so all families show the values
  // the collectors just set even if another scrape runs meanwhile.
  const all = await Promise.all(
    families.map((family) => "text" in family ? family.text() : family.get()),
  );
  const out: string[] = [];
  for (const result of all) {
    if (typeof result === "string") {
      if (result !== "") out.push(result);
      continue;
    }
    const f = result as FamilyValues;
    if (f.values.length === 0) continue;
    out.push(familyHeader(f));
    for (const v of f.values) {
      const labels = { ...v.sharedLabels, ...v.labels };
      out.push(`${v.metricName ?? f.name}${formatLabels(labels)} ${formatValue(v.value)}`);
    }
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/** A family's name, help text and type (`counter`, `gauge`, ...). */
export interface FamilyMeta {
  readonly name: string;
  readonly help: string;
  readonly type: string;
}

/** The `# HELP` and `# TYPE` lines of a family. */
export function familyHeader({ name, help, type }: FamilyMeta): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}`;
}
