import { strict as assert } from "node:assert";
import { GEN_SHIFT, GEN_WRAP, newSlot, nextGen, sameLine, ticketOf } from "./slot.ts";

Deno.test("slot: a ticket names the slot and its generation", () => {
  const slot = newSlot(7, new Uint8Array(0));
  assert.equal(ticketOf(slot), 7);
  slot.gen = 3;
  assert.equal(ticketOf(slot) % GEN_SHIFT, 7);
  assert.equal(Math.floor(ticketOf(slot) / GEN_SHIFT), 3);
});

Deno.test("slot: tickets stay below 2^30 (V8 small integers) as generations wrap", () => {
  const slot = newSlot(GEN_SHIFT - 1, new Uint8Array(0));
  const seen = new Set<number>();
  for (let i = 0; i < GEN_WRAP; i++) {
    const t = ticketOf(slot);
    assert.ok(t < 2 ** 30 && Number.isInteger(t), `ticket ${t} at generation ${slot.gen}`);
    seen.add(t);
    nextGen(slot);
  }
  assert.equal(seen.size, GEN_WRAP, "every generation before the wrap has its own ticket");
  assert.equal(slot.gen, 0, "wrapped");
});

Deno.test("slot: sameLine compares a status line within the bytes read", () => {
  const line = new TextEncoder().encode("HTTP/1.1 200 OK\r\n");
  const buf = new TextEncoder().encode("HTTP/1.1 200 OK\r\nServer: x\r\n");
  assert.ok(sameLine(line, buf));
  assert.ok(!sameLine(line, buf.subarray(0, 5)), "too few bytes read");
  assert.ok(!sameLine(line, new TextEncoder().encode("HTTP/1.1 500 OK\r\n")));
});
