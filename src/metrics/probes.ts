/**
 * The per-probe families (`maglev_probe_total`,
 * `maglev_probe_duration_seconds`, `maglev_probe_local_errors_total`) kept
 * in plain per-backend records and turned into series only at scrape time.
 *
 * Why not prom-client here: its `inc`/`observe` hash the label set on every
 * call (about 3 us per probe, the largest per-probe cost left at 10,000
 * probes/s); a probe here costs one Map lookup on the backend's name and a
 * few additions. The exported names, labels and values are prom-client's:
 * cumulative `le` buckets ending in `+Inf`, then `_sum` and `_count`.
 * @module
 */
import type { Family } from "./exposition.ts";

/** One probe result as the counters take it. */
export interface ProbeSample {
  readonly code: string;
  readonly ok: boolean;
  readonly durationMs: number;
}

interface CodeCount {
  readonly code: string;
  readonly ok: boolean;
  n: number;
}

/** The counts of one (backend, check type); `next` chains the rare second type. */
interface Entry {
  readonly backend: string;
  readonly type: string;
  readonly codes: CodeCount[];
  /** Observations per bucket (not cumulative), one past the last bound for +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
  localErrors: number;
  next: Entry | undefined;
}

interface SeriesValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** Names and help of the three families. */
const TOTAL = {
  name: "maglev_probe_total",
  help: "Health probes run, by result and result code.",
};
const LOCAL = {
  name: "maglev_probe_local_errors_total",
  help: "Probes that failed for a reason of this host (EMFILE, ENOBUFS, ...), not the backend's.",
};
const DURATION = {
  name: "maglev_probe_duration_seconds",
  help: "Health probe duration in seconds.",
};

/** The probe counters: updated per probe, read through {@linkcode families}. */
export class ProbeCounters {
  readonly #bounds: readonly number[];
  readonly #byBackend = new Map<string, Entry>();
  /** Entries in creation order, which is the order series are exported in. */
  readonly #entries: Entry[] = [];

  /** Counters whose duration histogram has these upper bounds (seconds, ascending). */
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  /** Counts one probe of `backend` by a check of `type`. */
  probe(backend: string, type: string, sample: ProbeSample): void {
    const e = this.#entry(backend, type);
    const codes = e.codes;
    let c: CodeCount | undefined;
    for (let i = 0; i < codes.length; i++) {
      if (codes[i].code === sample.code && codes[i].ok === sample.ok) {
        c = codes[i];
        break;
      }
    }
    if (!c) codes.push(c = { code: sample.code, ok: sample.ok, n: 0 });
    c.n++;
    const seconds = sample.durationMs / 1000;
    const bounds = this.#bounds;
    let b = 0;
    while (b < bounds.length && !(seconds <= bounds[b])) b++;
    e.buckets[b]++;
    e.sum += seconds;
    e.count++;
  }

  /** Counts one probe of `backend` that failed for a local reason. */
  localError(backend: string, type: string): void {
    this.#entry(backend, type).localErrors++;
  }

  /** The three families, for the exposition. */
  families(): Family[] {
    return [
      this.#family(TOTAL, "counter", (e, out) => this.#totals(e, out)),
      this.#family(LOCAL, "counter", (e, out) => {
        if (e.localErrors > 0) {
          out.push({ value: e.localErrors, labels: { backend: e.backend, type: e.type } });
        }
      }),
      this.#family(DURATION, "histogram", (e, out) => this.#histogram(e, out)),
    ];
  }

  #entry(backend: string, type: string): Entry {
    const first = this.#byBackend.get(backend);
    for (let e = first; e; e = e.next) if (e.type === type) return e;
    const e: Entry = {
      backend,
      type,
      codes: [],
      buckets: new Float64Array(this.#bounds.length + 1),
      sum: 0,
      count: 0,
      localErrors: 0,
      next: first,
    };
    this.#byBackend.set(backend, e);
    this.#entries.push(e);
    return e;
  }

  #family(
    meta: { name: string; help: string },
    type: string,
    add: (e: Entry, out: SeriesValue[]) => void,
  ): Family {
    return {
      name: meta.name,
      get: () => {
        const values: SeriesValue[] = [];
        for (const e of this.#entries) add(e, values);
        return Promise.resolve({ name: meta.name, help: meta.help, type, values });
      },
    };
  }

  #totals(e: Entry, out: SeriesValue[]): void {
    for (const c of e.codes) {
      const result = c.ok ? "success" : "failure";
      out.push({ value: c.n, labels: { backend: e.backend, code: c.code, result, type: e.type } });
    }
  }

  #histogram(e: Entry, out: SeriesValue[]): void {
    if (e.count === 0) return;
    const { backend, type } = e;
    const bucket = `${DURATION.name}_bucket`;
    let acc = 0;
    for (let b = 0; b < this.#bounds.length; b++) {
      acc += e.buckets[b];
      out.push({ value: acc, labels: { backend, type, le: this.#bounds[b] }, metricName: bucket });
    }
    out.push({ value: e.count, labels: { backend, type, le: "+Inf" }, metricName: bucket });
    out.push({ value: e.sum, labels: { backend, type }, metricName: `${DURATION.name}_sum` });
    out.push({ value: e.count, labels: { backend, type }, metricName: `${DURATION.name}_count` });
  }
}
