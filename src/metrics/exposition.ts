/**
 * The text exposition (format 0.0.4), written here rather than by
 * prom-client because upstream's scripts match series byte for byte as
 * client_golang prints them: labels in alphabetical order, with a
 * histogram's `le` last.
 * @module
 */

/** A metric family as the exposition reads it (prom-client's `get()`). */
export interface Family {
  readonly name: string;
  get(): Promise<unknown>;
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

function escapeLabel(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v: number): string {
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
  const all = await Promise.all(families.map((family) => family.get()));
  const out: string[] = [];
  for (const result of all) {
    const f = result as FamilyValues;
    if (f.values.length === 0) continue;
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const v of f.values) {
      const labels = { ...v.sharedLabels, ...v.labels };
      out.push(`${v.metricName ?? f.name}${formatLabels(labels)} ${formatValue(v.value)}`);
    }
  }
  return out.length ? out.join("\n") + "\n" : "";
}
