/**
 * Health vocabulary shared by the state machine, the probers, the checker and
 * everything that reads backend state.
 * @module
 */

/** Backend states; the string forms are exact (spec 3.1). */
export type State = "unknown" | "up" | "down" | "paused" | "disabled" | "removed";

/** All states, in display order. */
export const STATES: readonly State[] = [
  "unknown",
  "up",
  "down",
  "paused",
  "disabled",
  "removed",
];

/** Probe layers. */
export type Layer = "L3" | "L4" | "L6" | "L7";

/** Probe result codes of spec 3.8. */
export type ProbeCode =
  | "L3OK"
  | "L3TOUT"
  | "L3CON"
  | "L4OK"
  | "L4TOUT"
  | "L4CON"
  | "L6OK"
  | "L6TOUT"
  | "L6RSP"
  | "L7OK"
  | "L7TOUT"
  | "L7RSP"
  | "L7STS";

/** What one probe found. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly layer: Layer;
  readonly code: ProbeCode;
  readonly detail: string;
  readonly durationMs: number;
  /**
   * Set when the probe failed for a reason of this host (out of fds, buffers,
   * memory, local ports) that says nothing about the backend: such a result
   * never moves rise/fall (issue 12.2).
   */
  readonly local?: boolean;
}

/** Where a probe's result goes when the prober drives it without a promise. */
export interface ProbeSink {
  /** The result of one probe that was started and not cancelled. */
  probeDone(result: ProbeResult): void;
}

/** One entry of a backend's probe-result ring (spec 0.3). */
export interface ProbeRecord {
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly ok: boolean;
  readonly code: string;
  readonly detail: string;
  readonly durationMs: number;
}

/** A state change; `code` is a probe code or an operator code. */
export interface Transition {
  readonly from: State;
  readonly to: State;
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly code: string;
  readonly detail: string;
}

/** Read access to backend states, e.g. for the weights module. */
export interface StateSource {
  /** The current state of a backend, undefined when unknown to the source. */
  backendState(name: string): State | undefined;
}
