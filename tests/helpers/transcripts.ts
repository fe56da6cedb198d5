/**
 * Reads the real-VPP transcripts kept in `tests/testdata/vpp-traces/`
 * (gzipped copies of `../shared/vpp-traces/`, README there): a `header` line,
 * one line per operation, and a final `cli` line. Shared by the codec replay,
 * the replays on the VPP under test and the maglev table test so all read the
 * files alike, and a bare clone has them.
 * @module
 */
import { errorMessage } from "../../src/errors.ts";

/** The folder of the transcripts (`*.jsonl.gz`). */
export const TRACES: URL = new URL("../testdata/vpp-traces/", import.meta.url);

/** One recorded operation: the request, VPP's reply, its lb state after, the raw bodies. */
export interface TranscriptOp {
  /** Sequence number in the transcript. */
  readonly op: number;
  /** Request message name. */
  readonly msg: string;
  /** Request fields (no client_index, no context). */
  readonly args: Record<string, unknown>;
  /** The reply's fields without context, or a dump's details (sorted). */
  readonly reply: Record<string, unknown> | Record<string, unknown>[];
  /** VPP's lb state after the operation (vip dump and as_v2 dump rows). */
  readonly state: { vips: Record<string, unknown>[]; ases: Record<string, unknown>[] };
  /** Message bodies as hex, as sent and as received. */
  readonly wire: { sent: string[]; received: string[] };
}

/** One transcript file, parsed. */
export interface Transcript {
  /** The header record (`message_table`, VPP version, ...). */
  readonly header: Record<string, unknown>;
  /** The operations, in order. */
  readonly ops: TranscriptOp[];
  /** The final `show lb vips verbose` output, when recorded. */
  readonly cli: string | undefined;
}

/** The transcript names (`lb-mixed-1.jsonl`), sorted; none when the folder is missing. */
export function listTranscripts(): string[] {
  try {
    return [...Deno.readDirSync(TRACES)]
      .filter((e) => e.isFile && e.name.endsWith(".jsonl.gz"))
      .map((e) => e.name.slice(0, -".gz".length))
      .sort();
  } catch {
    return [];
  }
}

/** The text of transcript `file` (a name from `listTranscripts`), decompressed. */
export async function transcriptText(file: string): Promise<string> {
  const f = await Deno.open(new URL(`${file}.gz`, TRACES));
  return await new Response(f.readable.pipeThrough(new DecompressionStream("gzip"))).text();
}

/** Reads transcript `file` (a name from `listTranscripts`); a malformed line fails naming it. */
export async function readTranscript(file: string): Promise<Transcript> {
  const lines = (await transcriptText(file)).split("\n");
  const records: { line: number; rec: Record<string, unknown> }[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === "") return;
    try {
      records.push({ line: i + 1, rec: JSON.parse(text) });
    } catch (e) {
      throw new Error(`${file}:${i + 1}: ${errorMessage(e)}`);
    }
  });
  const header = records[0]?.rec.header;
  if (!header || typeof header !== "object") {
    throw new Error(`${file}: the first line is not a header record`);
  }
  const ops: TranscriptOp[] = [];
  let cli: string | undefined;
  for (const { line, rec } of records.slice(1)) {
    if ("op" in rec) {
      if (typeof rec.op !== "number") throw new Error(`${file}:${line}: "op" is not a number`);
      ops.push(rec as unknown as TranscriptOp);
    } else if (typeof rec.cli === "string" && cli === undefined) {
      cli = rec.cli;
    }
  }
  return { header: header as Record<string, unknown>, ops, cli };
}

/** JSON with object keys sorted (bigints as strings): one canonical text per value. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : typeof x === "bigint"
        ? x.toString()
        : x,
  );
}
