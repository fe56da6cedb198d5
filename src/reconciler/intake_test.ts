/** The intake queue: coalesced per frontend, in arrival order, replays untimed. */
import { strict as assert } from "node:assert";
import type { BackendEvent } from "../checker/types.ts";
import { Intake } from "./intake.ts";

function ev(frontend: string, atMs: number, code: string, replay = false): BackendEvent {
  return {
    kind: "backend",
    seq: atMs,
    frontend,
    backend: "b",
    address: "10.0.0.1",
    transition: { from: "up", to: "down", atMs, code, detail: "" },
    ...(replay ? { replay } : {}),
  };
}

Deno.test("events coalesce per frontend; replays are synced but not timed", async () => {
  const q = new Intake();
  const signal = new AbortController().signal;
  q.add(ev("web", 1, "L4CON"));
  q.add(ev("dns", 2, "disabled"));
  q.add(ev("web", 3, "L4CON", true));
  q.add(ev("web", 4, "L7STS"));
  assert.deepEqual(await q.next(signal), ["web", [
    { atMs: 1, trigger: "probe" },
    { atMs: 4, trigger: "probe" },
  ]]);
  assert.deepEqual(await q.next(signal), ["dns", [{ atMs: 2, trigger: "operator" }]]);
  q.add(ev("web", 5, "L4CON", true));
  assert.deepEqual(await q.next(signal), ["web", []], "a replay alone still syncs");
});

Deno.test("next waits for an event and ends on abort", async () => {
  const q = new Intake();
  const ac = new AbortController();
  const waiting = q.next(ac.signal);
  q.add(ev("web", 1, "L4CON"));
  assert.equal((await waiting)?.[0], "web");
  const idle = q.next(ac.signal);
  ac.abort();
  assert.equal(await idle, undefined);
});
