import { strict as assert } from "node:assert";
import { VppDecodeError } from "./errors.ts";
import { frameMessage, FrameReader, HEADER_SIZE } from "./framing.ts";

function body(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("framing: header is 8 zero bytes, u32 BE length, 4 zero bytes", () => {
  const f = frameMessage(new Uint8Array([1, 2, 3]));
  assert.deepEqual([...f], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1, 2, 3]);
  assert.equal(HEADER_SIZE, 16);
});

Deno.test("framing: a stream split at every byte boundary yields the same bodies", () => {
  const bodies = [body(10, 1), body(0, 2), body(300, 3), body(2, 4)];
  const stream = concat(bodies.map(frameMessage));
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = new FrameReader();
    const got = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
    assert.deepEqual(got, bodies, `cut at ${cut}`);
    assert.equal(r.pending, 0);
  }
  for (let a = 0; a < stream.length; a += 7) {
    for (let b = a; b <= stream.length; b += 13) {
      const r = new FrameReader();
      const got = [
        ...r.push(stream.subarray(0, a)),
        ...r.push(stream.subarray(a, b)),
        ...r.push(stream.subarray(b)),
      ];
      assert.deepEqual(got, bodies, `cuts at ${a} and ${b}`);
    }
  }
});

Deno.test("framing: one byte at a time", () => {
  const bodies = [body(50, 5), body(70000, 6)];
  const stream = concat(bodies.map(frameMessage));
  const r = new FrameReader();
  const got: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...r.push(stream.subarray(i, i + 1)));
  assert.deepEqual(got, bodies);
});

Deno.test("framing: many messages coalesced in one read", () => {
  const bodies = Array.from({ length: 5000 }, (_, i) => body(10 + (i % 60), i));
  const stream = concat(bodies.map(frameMessage));
  const r = new FrameReader();
  assert.deepEqual(r.push(stream), bodies);
  // And in chunks that cut messages anywhere.
  const r2 = new FrameReader();
  const got: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 4093) got.push(...r2.push(stream.subarray(i, i + 4093)));
  assert.deepEqual(got, bodies);
});

Deno.test("framing: a declared length above the maximum is an error, and stays one", () => {
  const r = new FrameReader({ maxBodyLength: 1000 });
  assert.deepEqual(r.push(frameMessage(body(1000, 1))), [body(1000, 1)]);
  const header = new Uint8Array(16);
  new DataView(header.buffer).setUint32(8, 1001);
  assert.throws(() => r.push(header), (e: Error) => {
    assert.ok(e instanceof VppDecodeError);
    assert.match(e.message, /1001 bytes, above the maximum of 1000/);
    return true;
  });
  assert.throws(() => r.push(frameMessage(body(1, 1))), VppDecodeError);
  const d = new FrameReader();
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(8, 0xffffffff);
  assert.throws(() => d.push(huge), VppDecodeError);
});
