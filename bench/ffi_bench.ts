/**
 * FFI call costs behind the socket engine's choice of types (issue 15):
 * `send(-1, ...)` (a syscall that fails at once with EBADF, so the figure
 * is the FFI call plus the cheapest syscall) declared and called the ways
 * the engine could, beside `getpid` and `close(-1)` for scale.
 *
 *   deno run -A bench/ffi_bench.ts [--calls 2000000]
 *
 * Figures (ns per call): `ffi.getpid_ns`, `ffi.close_ebadf_ns`,
 * `ffi.send_bigint_made_per_call_ns` (a `usize` length made with `BigInt()`
 * each call, an `isize` result), `ffi.send_bigint_constant_ns` (the same
 * length BigInt every call), `ffi.send_i32_result_ns` (a constant BigInt
 * length, the result read as `i32`: what the engine does) and
 * `ffi.send_number_length_ns` (a plain number as the `usize` length).
 * @module
 */
import { parseArgs } from "node:util";
import { type Figure, formatFigure, round } from "./util.ts";

const SYMBOLS = {
  getpid: { parameters: [], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  sendI32: { name: "send", parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
} as const;

/** Nanoseconds per call of `f`, after a warm-up of a tenth as many calls. */
function nsPerCall(calls: number, f: () => number): number {
  let sink = 0;
  for (let i = 0; i < calls / 10; i++) sink += f();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) sink += f();
  const ns = ((performance.now() - t0) * 1e6) / calls;
  // Uses the results, so no call is optimized away.
  return Number.isNaN(sink) ? NaN : ns;
}

/** Runs each variant `calls` times; returns the figures. */
export function runFfiBench(options: { calls?: number } = {}): Figure[] {
  const calls = options.calls ?? 2_000_000;
  const lib = Deno.dlopen("libc.so.6", SYMBOLS);
  const s = lib.symbols;
  const buf = new Uint8Array(64);
  const constant = 16n;
  // Two lengths in turn, so a BigInt made per call cannot be folded into a constant.
  let k = 0;
  const figures = [
    ["getpid_ns", () => s.getpid()],
    ["close_ebadf_ns", () => s.close(-1)],
    ["send_bigint_made_per_call_ns", () => Number(s.send(-1, buf, BigInt(16 + (k++ & 1)), 0))],
    ["send_bigint_constant_ns", () => Number(s.send(-1, buf, constant, 0))],
    ["send_i32_result_ns", () => s.sendI32(-1, buf, constant, 0)],
    // FFI takes a number for a usize at run time (converting it on its slow path); its
    // type says bigint, so the number is cast: this figure is why the engine passes BigInts.
    [
      "send_number_length_ns",
      () => Number(s.send(-1, buf, (16 + (k++ & 1)) as unknown as bigint, 0)),
    ],
  ] as const;
  try {
    return figures.map(([name, f]) => ({
      name: `ffi.${name}`,
      value: round(nsPerCall(calls, f), 1),
      unit: "ns",
    }));
  } finally {
    lib.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { calls: { type: "string", default: "2000000" } },
    strict: true,
  });
  const calls = Number(values.calls);
  if (!Number.isInteger(calls) || calls < 1) {
    throw new Error(`--calls ${JSON.stringify(values.calls)}: use a whole number from 1`);
  }
  for (const f of runFfiBench({ calls })) console.log(formatFigure(f));
}
