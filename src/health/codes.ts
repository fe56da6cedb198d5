/**
 * The one owner of the transition-code vocabulary (issue 13): which codes a
 * probe produces and the layer each belongs to (spec 3.8), which codes an
 * operator produces (spec 0.3), and the result of a code. Everything else
 * (prober, checker, reconciler, metrics) asks here.
 * @module
 */
import type { Layer, ProbeCode, ProbeResult } from "./types.ts";

const LAYERS: Readonly<Record<ProbeCode, Layer>> = Object.freeze({
  __proto__: null,
  L3OK: "L3",
  L3TOUT: "L3",
  L3CON: "L3",
  L4OK: "L4",
  L4TOUT: "L4",
  L4CON: "L4",
  L6OK: "L6",
  L6TOUT: "L6",
  L6RSP: "L6",
  L7OK: "L7",
  L7TOUT: "L7",
  L7RSP: "L7",
  L7STS: "L7",
} as Record<ProbeCode, Layer>);

/** Operator transition codes (spec 0.3). */
export const OperatorCode = Object.freeze(
  {
    start: "start",
    paused: "paused",
    resumed: "resumed",
    disabled: "disabled",
    enabled: "enabled",
    removed: "removed",
  } as const,
);

const OPERATOR_CODES: ReadonlySet<string> = new Set(Object.values(OperatorCode));

/** True when `code` is one of the probe codes of spec 3.8. */
export function isProbeCode(code: string): code is ProbeCode {
  return Object.hasOwn(LAYERS, code);
}

/** True when `code` is an operator's (start, paused, ..., removed), not a probe's. */
export function isOperatorCode(code: string): boolean {
  return OPERATOR_CODES.has(code);
}

/** The layer of a probe code. */
export function layerOf(code: ProbeCode): Layer {
  return LAYERS[code];
}

/**
 * How long a probe took. Per-probe callers pass an object they already hold
 * (a probe's slot or task, with `durationMs` set just before), so that a
 * result costs one allocation.
 */
export interface ProbeResultOptions {
  readonly durationMs: number;
}

const UNTIMED: ProbeResultOptions = Object.freeze({ durationMs: 0 });

/** A result for `code`; `ok` and `layer` follow from the code. */
export function probeResult(
  code: ProbeCode,
  detail: string,
  { durationMs }: ProbeResultOptions = UNTIMED,
): ProbeResult {
  return {
    ok: code.endsWith("OK"),
    layer: LAYERS[code],
    code,
    detail,
    durationMs: Math.max(0, Math.round(durationMs * 1000) / 1000),
  };
}
