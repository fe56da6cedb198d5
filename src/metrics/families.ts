/**
 * The set of families one `createMetrics` renders, and the scrape-time
 * collectors that fill its gauges: run together at the start of each render
 * so that they share one read of the checker (the backend families stay
 * consistent) and a failing source costs its own families, not the scrape.
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { BackendSummary, CheckerApi } from "../checker/types.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log/mod.ts";
import { type Family, familyHeader } from "./exposition.ts";

/**
 * Histogram buckets on the 1-2.5-5 series from `min` to `max` seconds
 * (client_golang's default buckets are `series(0.005, 10)`).
 */
export function series(min: number, max: number): number[] {
  const out: number[] = [];
  for (let exp = -4; exp <= 4; exp++) {
    for (const m of [1, 2.5, 5]) {
      const v = Number((m * 10 ** exp).toPrecision(3));
      if (v >= min && v <= max) out.push(v);
    }
  }
  return out;
}

/** What the collectors of one scrape share. */
export interface ScrapeView {
  /** Every active backend, read once per scrape. */
  backends(): readonly BackendSummary[];
}

/** Families, their registry and the scrape-time collectors. */
export interface FamilySet {
  readonly registry: Registry;
  readonly families: Family[];
  add<T extends Counter<string> | Gauge<string> | Histogram<string>>(metric: T): T;
  gauge(name: string, help: string, labelNames: string[]): Gauge<string>;
  counter(name: string, help: string, labelNames: string[]): Counter<string>;
  histogram(
    name: string,
    help: string,
    options: { labelNames: string[]; buckets: readonly number[] },
  ): Histogram<string>;
  /**
   * A gauge family written as text at each scrape: `write` pushes chunks of
   * sample lines (`name{labels} value`, labels alphabetical). A family of a
   * series or more per backend on prom-client keeps a labelled series per
   * line between scrapes and builds an object per line at each.
   */
  textGauge(name: string, help: string, write: (view: ScrapeView, out: string[]) => void): void;
  /** Runs `fill` at the start of every scrape. */
  atScrape(name: string, fill: (view: ScrapeView) => void): void;
  /** Runs every collector (each failure logged, the others still run). */
  collectAll(): void;
}

function readBackends(checker: CheckerApi): BackendSummary[] {
  // Summaries: a snapshot's probe ring would be twenty objects a backend, for nothing.
  const out: BackendSummary[] = [];
  for (const name of checker.listBackends()) {
    // A backend a concurrent reload removed is simply not exported this time.
    try {
      out.push(checker.backendSummary(name));
    } catch {
      continue;
    }
  }
  return out;
}

/** An empty set reading backends from `checker`. */
export function familySet(checker: CheckerApi): FamilySet {
  const registry = new Registry();
  const families: Family[] = [];
  const collectors: { name: string; fill(view: ScrapeView): void }[] = [];
  const add = <T extends Counter<string> | Gauge<string> | Histogram<string>>(metric: T): T => {
    families.push(metric as unknown as Family);
    return metric;
  };
  return {
    registry,
    families,
    add,
    gauge: (name, help, labelNames) =>
      add(new Gauge({ name, help, labelNames, registers: [registry] })),
    counter: (name, help, labelNames) =>
      add(new Counter({ name, help, labelNames, registers: [registry] })),
    histogram: (name, help, { labelNames, buckets }) =>
      add(new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [registry] })),
    atScrape: (name, fill) => collectors.push({ name, fill }),
    textGauge(name, help, write) {
      // Filled by this scrape's collectors, handed over (and let go) by the render that follows.
      let text = "";
      families.push({
        name,
        text: () => {
          const t = text;
          text = "";
          return t;
        },
      });
      collectors.push({
        name,
        fill(view) {
          text = "";
          const out: string[] = [];
          write(view, out);
          if (out.length > 0) {
            text = `${familyHeader({ name, help, type: "gauge" })}\n${out.join("\n")}`;
          }
        },
      });
    },
    collectAll() {
      let backends: BackendSummary[] | undefined;
      const view: ScrapeView = { backends: () => backends ??= readBackends(checker) };
      for (const c of collectors) {
        try {
          c.fill(view);
        } catch (e) {
          log.warn("metrics-collect-error", { metric: c.name, err: errorMessage(e) });
        }
      }
    },
  };
}
