import { strict as assert } from "node:assert";
import { bucketCounts, buildNewFlowTable, xxhash64 } from "./maglev_table.ts";
import { transcriptText } from "../tests/helpers/transcripts.ts";

Deno.test("maglev table: no AS in use with weight > 0 -> every bucket 'no server'", () => {
  const t = buildNewFlowTable([{ address: "10.0.0.1", weight: 0 }, {
    address: "10.0.0.2",
    weight: 50,
    used: false,
  }], 256);
  assert.ok(t.every((x) => x === -1));
  assert.ok(buildNewFlowTable([], 16).every((x) => x === -1));
});

Deno.test("maglev table: full, insertion-order independent, deterministic hash", () => {
  const ases = Array.from(
    { length: 7 },
    (_, i) => ({ address: `10.0.0.${i + 1}`, weight: 10 + i }),
  );
  const a = bucketCounts(ases, 1024);
  assert.equal(a.reduce((x, y) => x + y, 0), 1024);
  const reversed = bucketCounts([...ases].reverse(), 1024).reverse();
  assert.deepEqual(reversed, a);
  assert.equal(xxhash64(0n), xxhash64(0n));
  assert.notEqual(xxhash64(1n), xxhash64(0n));
  assert.throws(() => buildNewFlowTable(ases, 1000), /power of two/);
  assert.throws(() => buildNewFlowTable(ases, 0), /power of two/);
  assert.deepEqual(bucketCounts([{ address: "::1", weight: 1 }], 1), [1]);
});

interface Row {
  vip: unknown;
  app_srv: string;
  flags: number;
  weight: number;
  num_buckets: number;
}

Deno.test("maglev table: per-AS num_buckets match every VIP state recorded from real VPP", async () => {
  let compared = 0;
  for (const file of ["lb-scale-3.jsonl", "lb-mixed-1.jsonl", "lb-mixed-2.jsonl"]) {
    const lines = (await transcriptText(file)).split("\n");
    for (const line of lines) {
      if (!line) continue;
      const rec = JSON.parse(line);
      if (!rec.state) continue;
      for (const vip of rec.state.vips) {
        const key = JSON.stringify(vip.vip);
        const rows = (rec.state.ases as Row[]).filter((r) => JSON.stringify(r.vip) === key);
        // A re-created VIP lists the old VIP's rows beside its own: not one table.
        if (new Set(rows.map((r) => r.app_srv)).size !== rows.length) continue;
        const length = vip.flow_table_length === 0 ? 65536 : vip.flow_table_length;
        const got = bucketCounts(
          rows.map((r) => ({ address: r.app_srv, weight: r.weight, used: (r.flags & 1) === 1 })),
          length,
        );
        assert.deepEqual(
          got,
          rows.map((r) => r.num_buckets),
          `${file} op ${rec.op} VIP ${key} (${length} buckets)`,
        );
        compared++;
      }
    }
  }
  assert.ok(compared > 2000, `only ${compared} VIP states compared`);
});
