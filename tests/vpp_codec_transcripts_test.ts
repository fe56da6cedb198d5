/**
 * Replays the wire bytes a real VPP exchanged (`tests/testdata/vpp-traces/`, copies of `../shared/vpp-traces/`)
 * through our codec: every recorded body decodes to the recorded values, and
 * every request encodes to the recorded bytes (client_index and context are
 * taken from the recording, as they are the client's choice).
 */

import { strict as assert } from "node:assert";
import { contextOf, decodeMessage, encodeMessage, messageIdOf } from "../vpp/codec.ts";
import { VppDecodeError } from "../vpp/errors.ts";
import { messageByKey, REPLY_OF } from "../vpp/messages.ts";
import { canonicalJson, listTranscripts, readTranscript, TRACES } from "./helpers/transcripts.ts";

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function without(obj: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

const files = listTranscripts();

Deno.test("vpp transcripts: the trace folder is there", () => {
  assert.ok(files.length > 0, `no *.jsonl.gz in ${TRACES.pathname}`);
});

for (const file of files) {
  Deno.test(`vpp codec replays ${file}`, async () => {
    const { header, ops: recorded } = await readTranscript(file);
    const idToName = new Map<number, string>();
    for (const [key, id] of Object.entries(header.message_table as Record<string, number>)) {
      const def = messageByKey(key);
      if (def) idToName.set(id, def.name);
    }
    const nameOf = (body: Uint8Array, where: string): string => {
      const name = idToName.get(messageIdOf(body));
      assert.ok(name, `${where}: message id ${messageIdOf(body)} not in our table`);
      return name;
    };
    let bodies = 0;
    let ops = 0;
    for (const op of recorded) {
      const where = `${file} op ${op.op} (${op.msg} ${JSON.stringify(op.args)})`;
      ops++;

      // Request: decodes, and our encoding of the recorded args is byte-identical.
      const sent = op.wire.sent.map(fromHex);
      assert.equal(nameOf(sent[0], where), op.msg, `${where}: request id`);
      const req = decodeMessage(op.msg, sent[0]);
      const encoded = encodeMessage({ name: op.msg, id: messageIdOf(sent[0]) }, {
        ...op.args,
        client_index: req.client_index,
        context: req.context,
      });
      assert.equal(toHex(encoded), op.wire.sent[0], `${where}: request bytes`);
      assert.equal(
        toHex(encodeMessage({ name: op.msg, id: messageIdOf(sent[0]) }, req)),
        op.wire.sent[0],
        `${where}: re-encoding the decoded request`,
      );
      const isDump = op.msg.endsWith("_dump");
      if (isDump) {
        assert.equal(sent.length, 2, `${where}: a dump is followed by control_ping`);
        assert.equal(nameOf(sent[1], where), "control_ping");
        assert.deepEqual(decodeMessage("control_ping", sent[1]), {
          client_index: req.client_index,
          context: req.context,
        });
      } else {
        assert.equal(sent.length, 1, `${where}: one request body`);
      }

      // Replies: decode to the recorded values.
      const received = op.wire.received.map(fromHex);
      if (isDump) {
        const last = received[received.length - 1];
        assert.equal(nameOf(last, where), "control_ping_reply", `${where}: dump end`);
        const ping = decodeMessage("control_ping_reply", last);
        assert.equal(ping.context, req.context);
        assert.equal(ping.retval, 0);
        const details = received.slice(0, -1).map((b) => {
          assert.equal(nameOf(b, where), REPLY_OF[op.msg], `${where}: details id`);
          const d = decodeMessage(REPLY_OF[op.msg], b);
          assert.equal(d.context, req.context, `${where}: details context`);
          return canonicalJson(without(d, "context", "in_use_since"));
        }).sort();
        const want = (op.reply as unknown[]).map(canonicalJson).sort();
        assert.deepEqual(details, want, `${where}: dump reply`);
      } else {
        assert.equal(received.length, 1, `${where}: one reply body`);
        assert.equal(nameOf(received[0], where), REPLY_OF[op.msg], `${where}: reply id`);
        const r = decodeMessage(REPLY_OF[op.msg], received[0]);
        assert.equal(r.context, req.context, `${where}: reply context`);
        assert.equal(contextOf(REPLY_OF[op.msg], received[0]), req.context);
        assert.deepEqual(without(r, "context"), op.reply, `${where}: reply`);
      }

      // Every recorded body, cut short or with a byte too many, is a clear error.
      for (const b of [...sent, ...received]) {
        const name = nameOf(b, where);
        bodies++;
        assert.throws(() => decodeMessage(name, b.subarray(0, b.length - 1)), VppDecodeError);
        const longer = new Uint8Array(b.length + 1);
        longer.set(b);
        assert.throws(() => decodeMessage(name, longer), VppDecodeError);
      }
    }
    assert.ok(ops > 0 && bodies > ops, `${file}: nothing compared`);
  });
}
