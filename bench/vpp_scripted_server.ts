/**
 * A scripted VPP API server for the client benchmark, run as its own process
 * so that the client under test is the bound: it answers the handshake with
 * the full message table, then every request with a precomputed reply (retval
 * 0) whose context it patches, dumps with no details and their
 * `control_ping` with its reply. Replies to one read leave in one write.
 *
 * `deno run -A bench/vpp_scripted_server.ts --socket PATH`; prints
 * `listening` when ready.
 * @module
 */
import { parseArgs } from "node:util";
import { encodeMessage, messageIdOf } from "../vpp/codec.ts";
import { frameMessage, FrameReader, HEADER_SIZE } from "../vpp/framing.ts";
import { contextOffset } from "../vpp/codec.ts";
import { messageByName, MESSAGES, REPLY_OF } from "../vpp/messages.ts";

const SOCKCLNT_CREATE = 15;

interface Script {
  /** Framed reply with context 0, patched per request. */
  readonly reply: Uint8Array;
  /** Offset of the context in the request body. */
  readonly requestContextAt: number;
  /** Offset of the context in the framed reply. */
  readonly replyContextAt: number;
}

function buildScripts(ids: Map<string, number>): Map<number, Script> {
  const scripts = new Map<number, Script>();
  for (const [request, replyName] of Object.entries(REPLY_OF)) {
    const req = messageByName(request)!;
    // A dump ends with the control_ping reply; its details list is empty.
    const answer = request.endsWith("_dump") ? "control_ping_reply" : replyName;
    if (request === "sockclnt_create") continue;
    const def = messageByName(answer)!;
    // Every field zero: retval (or response) 0, context patched per request.
    const body = encodeMessage({ name: answer, id: ids.get(answer)! }, {});
    scripts.set(ids.get(request)!, {
      reply: request.endsWith("_dump") ? new Uint8Array(0) : frameMessage(body),
      requestContextAt: contextOffset(req),
      replyContextAt: HEADER_SIZE + contextOffset(def),
    });
  }
  return scripts;
}

function messageIds(): Map<string, number> {
  const ids = new Map<string, number>();
  ids.set("sockclnt_create", SOCKCLNT_CREATE);
  let next = 16;
  for (const m of MESSAGES) if (!ids.has(m.name)) ids.set(m.name, next++);
  return ids;
}

function tableReply(ids: Map<string, number>, context: number): Uint8Array {
  return frameMessage(
    encodeMessage({ name: "sockclnt_create_reply", id: ids.get("sockclnt_create_reply")! }, {
      context,
      response: 0,
      index: 0x80000001,
      message_table: [...ids].map(([name, index]) => ({ index, name: messageByName(name)!.key })),
    }),
  );
}

async function serve(conn: Deno.Conn, ids: Map<string, number>, scripts: Map<number, Script>) {
  const reader = new FrameReader();
  const buf = new Uint8Array(1 << 20);
  let out = new Uint8Array(1 << 20);
  let outView = new DataView(out.buffer);
  let len = 0;
  const put = (frame: Uint8Array): number => {
    if (len + frame.length > out.length) {
      const bigger = new Uint8Array(Math.max(out.length * 2, len + frame.length));
      bigger.set(out.subarray(0, len));
      out = bigger;
      outView = new DataView(out.buffer);
    }
    out.set(frame, len);
    len += frame.length;
    return len - frame.length;
  };
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      len = 0;
      for (const body of reader.push(buf.subarray(0, n))) {
        const id = messageIdOf(body);
        const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
        if (id === SOCKCLNT_CREATE) {
          put(tableReply(ids, view.getUint32(2)));
          continue;
        }
        const s = scripts.get(id);
        // A dump's own reply is empty: the control_ping after it answers it.
        if (!s || s.reply.length === 0) continue;
        const at = put(s.reply);
        outView.setUint32(at + s.replyContextAt, view.getUint32(s.requestContextAt));
      }
      for (let off = 0; off < len;) off += await conn.write(out.subarray(off, len));
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { socket: { type: "string" } } });
  const path = values.socket!;
  try {
    Deno.removeSync(path);
  } catch {
    // no stale socket
  }
  const ids = messageIds();
  const scripts = buildScripts(ids);
  const listener = Deno.listen({ transport: "unix", path });
  console.log("listening");
  for await (const conn of listener) void serve(conn, ids, scripts);
}
