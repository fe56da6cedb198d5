/**
 * Replays what a real VPP answered (`tests/testdata/vpp-traces/`) through our
 * own `vpp/` client against the VPP under test started empty (the double, or
 * a fresh real VPP with `MAGLEV_TEST_VPP=real`): every reply and the whole lb
 * state after every operation must match, then the final `show lb vips
 * verbose`. Rows of dumps come in VPP's pool order while the transcripts
 * store them sorted, so both sides are compared as multisets. On the real VPP
 * this proves the recordings still hold for the VPP beside us; on the double,
 * that the double answers as that VPP did.
 */

import { strict as assert } from "node:assert";
import { VppClient } from "../vpp/client.ts";
import {
  announceVppSkip,
  startVppUnderTest,
  VPP_KIND,
  vppSkipReason,
} from "./helpers/vpp_under_test.ts";
import { canonicalJson, listTranscripts, readTranscript, TRACES } from "./helpers/transcripts.ts";

/** A row without the fields the recording leaves out (context, in_use_since). */
function clean(row: Record<string, unknown>): Record<string, unknown> {
  const out = { ...row };
  delete out.context;
  delete out.in_use_since;
  return out;
}

/** Rows as a sorted list of canonical texts: equal lists = equal multisets. */
function multiset(rows: readonly object[]): string[] {
  return rows.map((r) => canonicalJson(clean(r as Record<string, unknown>))).sort();
}

// dpo is a FIB load-balance index no client may rely on (vpp-api.md 5).
function maskDpo(text: string): string {
  return text.replace(/ dpo:\d+ /g, " dpo:* ");
}

const files = listTranscripts();
const SKIP = vppSkipReason();
announceVppSkip("tests/vpp_transcripts_test.ts", SKIP);

Deno.test("vpp transcripts: the trace folder is there", () => {
  assert.ok(files.length > 0, `no *.jsonl in ${TRACES.pathname}`);
});

for (const file of files) {
  Deno.test({
    name: `vpp transcripts: ${file} replays on the ${VPP_KIND} VPP through our client`,
    ignore: SKIP !== undefined,
    fn: () => replay(file),
  });
}

async function replay(file: string): Promise<void> {
  const { ops, cli } = await readTranscript(file);
  const vpp = await startVppUnderTest({ prefix: "vpp-replay-" });
  const client = await VppClient.connect(vpp.socket);
  const mismatches: string[] = [];
  let states = 0;
  let cliMatch = "no cli line";
  try {
    for (const op of ops) {
      const where = `${file} op ${op.op}: ${op.msg} ${canonicalJson(op.args)}`;
      if (op.msg.endsWith("_dump")) {
        const got = multiset(await client.dump(op.msg, op.args));
        const want = multiset(op.reply as Record<string, unknown>[]);
        if (canonicalJson(got) !== canonicalJson(want)) {
          mismatches.push(
            `${where}\n  reply want ${canonicalJson(want)}\n  reply got  ${canonicalJson(got)}`,
          );
        }
      } else {
        const got = clean(await client.requestRaw(op.msg, op.args));
        if (canonicalJson(got) !== canonicalJson(op.reply)) {
          mismatches.push(
            `${where}\n  reply want ${canonicalJson(op.reply)}\n  reply got  ${canonicalJson(got)}`,
          );
        }
      }
      const [vips, ases] = await Promise.all([
        client.dump("lb_vip_dump", {}),
        client.dump("lb_as_v2_dump", {}),
      ]);
      const got = { vips: multiset(vips), ases: multiset(ases) };
      const want = { vips: multiset(op.state.vips), ases: multiset(op.state.ases) };
      states++;
      if (canonicalJson(got) !== canonicalJson(want)) {
        mismatches.push(
          `${where}\n  state want ${canonicalJson(want)}\n  state got  ${canonicalJson(got)}`,
        );
      }
    }
    if (cli !== undefined) {
      const got = (await client.request("cli_inband", { cmd: "show lb vips verbose" })).reply;
      if (maskDpo(got) !== maskDpo(cli)) {
        mismatches.push(
          `${file} final show lb vips verbose (dpo masked)\n--- want\n${cli}\n--- got\n${got}`,
        );
        cliMatch = "different";
      } else {
        cliMatch = got === cli ? "identical, dpo included" : "identical with dpo masked";
      }
    }
  } finally {
    await client.close();
    await vpp.stop();
  }
  console.log(
    `${file} on the ${vpp.kind} VPP: ${ops.length} operations (replies) and ${states} states compared, ` +
      `${mismatches.length} mismatches; show lb vips verbose ${cliMatch}`,
  );
  assert.equal(
    mismatches.length,
    0,
    `${mismatches.length} mismatch(es); first ones:\n${mismatches.slice(0, 5).join("\n\n")}`,
  );
}
