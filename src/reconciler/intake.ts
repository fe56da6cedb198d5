/**
 * The intake queue: backend events in, one pending sync per frontend out.
 * Events for a frontend that arrive while its sync waits or runs coalesce
 * into its next sync; each original (not replayed) transition is timed from
 * when it happened to when VPP answered.
 * @module
 */
import type { BackendEvent } from "../checker/types.ts";
import type { SyncTrigger } from "./types.ts";
import { isOperatorCode } from "../health/codes.ts";

/** One transition waiting for its sync, for the latency histogram. */
export interface Waiting {
  readonly atMs: number;
  readonly trigger: SyncTrigger;
}

/** The queue; see the module doc. */
export class Intake {
  readonly #pending = new Map<string, Waiting[]>();
  #wake: (() => void) | undefined;

  /** Queues a sync for the event's frontend. */
  add(ev: BackendEvent): void {
    let waiting = this.#pending.get(ev.frontend);
    if (!waiting) this.#pending.set(ev.frontend, waiting = []);
    // A replayed transition (reload, resync) is synced but not timed: its
    // latency would measure the reload, not the transition.
    if (!ev.replay) {
      const t = ev.transition;
      waiting.push({ atMs: t.atMs, trigger: isOperatorCode(t.code) ? "operator" : "probe" });
    }
    this.#wake?.();
  }

  /** Waits for the next frontend to sync; undefined once `signal` aborted. */
  async next(signal: AbortSignal): Promise<[string, Waiting[]] | undefined> {
    while (!signal.aborted) {
      const first = this.#pending.entries().next();
      if (!first.done) {
        this.#pending.delete(first.value[0]);
        return first.value;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
    return undefined;
  }
}
