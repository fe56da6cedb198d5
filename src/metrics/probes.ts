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
import { escapeLabel, familyHeader, formatValue, type TextFamily } from "./exposition.ts";

/** One probe result as the counters take it. */
export interface ProbeSample {
  readonly code: string;
  readonly ok: boolean;
  readonly durationMs: number;
}

/** A result code of one entry beyond its first, with its count. */
interface CodeCount {
  readonly code: string;
  readonly ok: boolean;
  n: number;
}

/** Cells of an entry after its buckets (one per bound, then +Inf). */
const SUM = 0;
const COUNT = 1;
const LOCAL_ERRORS = 2;
/** Probes with the entry's first code. */
const FIRST_N = 3;
const TAIL = 4;

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

/**
 * The probe counters: updated per probe, read through {@linkcode families}.
 * An entry is one (backend, check type); its numbers live in one shared
 * Float64Array (buckets, sum, count, local errors, first code's count), so
 * 50,000 backends cost a few MB, not an object graph per backend.
 */
export class ProbeCounters {
  readonly #bounds: readonly number[];
  /** `,le="0.005"}` per bound, then `,le="+Inf"}`: the bucket lines' label tails. */
  readonly #le: readonly string[];
  readonly #stride: number;
  /** Backend name to its newest entry; `#next` chains its other check types (rare). */
  readonly #byBackend = new Map<string, number>();
  #cells: Float64Array;
  readonly #backend: string[] = [];
  readonly #type: string[] = [];
  readonly #next: number[] = [];
  /** The first result code each entry saw ("" before any probe); most backends see one. */
  readonly #code: string[] = [];
  readonly #ok: boolean[] = [];
  /** Codes beyond the first, per entry. */
  readonly #more = new Map<number, CodeCount[]>();

  /** Counters whose duration histogram has these upper bounds (seconds, ascending). */
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#le = [...bounds.map(formatValue), "+Inf"].map((le) => `,le="${escapeLabel(le)}"}`);
    this.#stride = bounds.length + 1 + TAIL;
    this.#cells = new Float64Array(this.#stride * 64);
  }

  /** Counts one probe of `backend` by a check of `type`. */
  probe(backend: string, type: string, sample: ProbeSample): void {
    const e = this.#entry(backend, type);
    const cells = this.#cells;
    const base = e * this.#stride;
    const tail = base + this.#bounds.length + 1;
    this.#countCode(e, tail, sample);
    const seconds = sample.durationMs / 1000;
    const bounds = this.#bounds;
    let b = 0;
    while (b < bounds.length && !(seconds <= bounds[b])) b++;
    cells[base + b]++;
    cells[tail + SUM] += seconds;
    cells[tail + COUNT]++;
  }

  /** Counts one probe of `backend` that failed for a local reason. */
  localError(backend: string, type: string): void {
    const e = this.#entry(backend, type);
    this.#cells[e * this.#stride + this.#bounds.length + 1 + LOCAL_ERRORS]++;
  }

  /** The three families, for the exposition. */
  families(): TextFamily[] {
    return [
      this.#family(TOTAL, "counter", (e, b, t) => this.#totals(e, b, t)),
      this.#family(LOCAL, "counter", (e, b, t) => {
        const n = this.#cells[this.#tail(e) + LOCAL_ERRORS];
        return n > 0 ? `${LOCAL.name}{backend="${b}",type="${t}"} ${formatValue(n)}` : "";
      }),
      this.#family(
        DURATION,
        "histogram",
        (e, b, t) => this.#histogram(e, `backend="${b}",type="${t}"`),
      ),
    ];
  }

  #tail(e: number): number {
    return e * this.#stride + this.#bounds.length + 1;
  }

  #countCode(e: number, tail: number, sample: ProbeSample): void {
    if (this.#code[e] === sample.code && this.#ok[e] === sample.ok) {
      this.#cells[tail + FIRST_N]++;
      return;
    }
    if (this.#code[e] === "") {
      this.#code[e] = sample.code;
      this.#ok[e] = sample.ok;
      this.#cells[tail + FIRST_N] = 1;
      return;
    }
    let more = this.#more.get(e);
    if (!more) this.#more.set(e, more = []);
    for (const c of more) {
      if (c.code === sample.code && c.ok === sample.ok) {
        c.n++;
        return;
      }
    }
    more.push({ code: sample.code, ok: sample.ok, n: 1 });
  }

  #entry(backend: string, type: string): number {
    const first = this.#byBackend.get(backend);
    for (let e = first ?? -1; e >= 0; e = this.#next[e]) if (this.#type[e] === type) return e;
    const e = this.#backend.length;
    if ((e + 1) * this.#stride > this.#cells.length) {
      const grown = new Float64Array(this.#cells.length * 2);
      grown.set(this.#cells);
      this.#cells = grown;
    }
    this.#backend.push(backend);
    this.#type.push(type);
    this.#next.push(first ?? -1);
    this.#code.push("");
    this.#ok.push(false);
    this.#byBackend.set(backend, e);
    return e;
  }

  /**
   * A family whose text is its header and one chunk per entry: `lines`
   * writes an entry's lines (labels in the exposition's order: alphabetical,
   * `le` last) given its escaped backend and type, "" for none.
   */
  #family(
    meta: { name: string; help: string },
    type: string,
    lines: (e: number, backend: string, type: string) => string,
  ): TextFamily {
    return {
      name: meta.name,
      text: () => {
        const chunks = [familyHeader({ name: meta.name, help: meta.help, type })];
        for (let e = 0; e < this.#backend.length; e++) {
          const chunk = lines(e, escapeLabel(this.#backend[e]), escapeLabel(this.#type[e]));
          if (chunk !== "") chunks.push(chunk);
        }
        return chunks.length > 1 ? chunks.join("\n") : "";
      },
    };
  }

  #totals(e: number, backend: string, type: string): string {
    if (this.#code[e] === "") return "";
    const line = (code: string, ok: boolean, n: number) =>
      `${TOTAL.name}{backend="${backend}",code="${escapeLabel(code)}",` +
      `result="${ok ? "success" : "failure"}",type="${type}"} ${formatValue(n)}`;
    const out = [line(this.#code[e], this.#ok[e], this.#cells[this.#tail(e) + FIRST_N])];
    for (const c of this.#more.get(e) ?? []) out.push(line(c.code, c.ok, c.n));
    return out.join("\n");
  }

  #histogram(e: number, backendType: string): string {
    const cells = this.#cells;
    const tail = this.#tail(e);
    const count = cells[tail + COUNT];
    if (count === 0) return "";
    const bucket = `${DURATION.name}_bucket{${backendType}`;
    const base = e * this.#stride;
    const out: string[] = [];
    let acc = 0;
    for (let b = 0; b < this.#bounds.length; b++) {
      acc += cells[base + b];
      out.push(`${bucket}${this.#le[b]} ${formatValue(acc)}`);
    }
    out.push(`${bucket}${this.#le[this.#bounds.length]} ${formatValue(count)}`);
    out.push(`${DURATION.name}_sum{${backendType}} ${formatValue(cells[tail + SUM])}`);
    out.push(`${DURATION.name}_count{${backendType}} ${formatValue(count)}`);
    return out.join("\n");
  }
}
