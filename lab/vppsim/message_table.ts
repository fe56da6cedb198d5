/**
 * The double's message table and request decoding, as a real VPP builds
 * and reads them (vpp-api.md sections 1 and 2): memclnt from id 1, then
 * vlib and vpe, then the lb plugin at a per-run offset; a request longer
 * than its fixed size is read up to that size, a short one is dropped.
 * @module
 */

import { decodeMessage, encodeMessage } from "../../vpp/codec.ts";
import { messageByName } from "../../vpp/messages.ts";
import memclntJson from "../../vpp/api-json/memclnt.api.json" with { type: "json" };
import vlibJson from "../../vpp/api-json/vlib.api.json" with { type: "json" };
import vpeJson from "../../vpp/api-json/vpe.api.json" with { type: "json" };
import lbJson from "../../vpp/api-json/lb.api.json" with { type: "json" };

interface ApiJson {
  messages: unknown[][];
}

/** Table keys and names of one API file, in declaration order. */
function apiMessages(json: ApiJson): { name: string; key: string }[] {
  return json.messages.map((m) => {
    const name = m[0] as string;
    const meta = m[m.length - 1] as { crc: string };
    return { name, key: `${name}_${meta.crc.slice(2)}` };
  });
}

const MEMCLNT = apiMessages(memclntJson as unknown as ApiJson);
const CORE = [
  ...apiMessages(vlibJson as unknown as ApiJson),
  ...apiMessages(vpeJson as unknown as ApiJson),
];
const LB = apiMessages(lbJson as unknown as ApiJson);

/** The lowest lb plugin offset: memclnt is registered first, from id 1 (sockclnt_create must be 15). */
export const FIRST_PLUGIN_ID = 1 + MEMCLNT.length + CORE.length;
/** The highest lb plugin offset whose last message id still fits a u16. */
export const MAX_PLUGIN_ID_BASE = 0xffff - LB.length + 1;

/**
 * The lb plugin offset of a run: `requested`, or random in 100..999 as
 * builds differ. Throws naming the value when it would overlap the core
 * messages or overflow a u16.
 */
export function pluginIdBaseOf(requested: number | undefined): number {
  if (requested === undefined) return 100 + Math.floor(Math.random() * 900);
  if (
    !Number.isInteger(requested) || requested < FIRST_PLUGIN_ID || requested > MAX_PLUGIN_ID_BASE
  ) {
    throw new RangeError(
      `startVppSim: pluginIdBase ${requested} must be an integer in ${FIRST_PLUGIN_ID}..${MAX_PLUGIN_ID_BASE} ` +
        `(ids below ${FIRST_PLUGIN_ID} belong to memclnt, vlib and vpe)`,
    );
  }
  return requested;
}

/** The message name of a table key (`name_crc`). */
export function keyName(key: string): string {
  return key.slice(0, key.lastIndexOf("_"));
}

/**
 * The message table (`name_crc` -> id) of a VPP whose lb plugin starts at
 * `pluginIdBase`, without the messages named in `omit` (an older VPP).
 */
export function buildTable(
  pluginIdBase: number,
  omit: readonly string[] = [],
): Map<string, number> {
  const table = new Map<string, number>();
  [...MEMCLNT, ...CORE].forEach((m, i) => table.set(m.key, i + 1));
  LB.forEach((m, i) => table.set(m.key, pluginIdBase + i));
  for (const key of [...table.keys()]) if (omit.includes(keyName(key))) table.delete(key);
  return table;
}

const FIXED_SIZE = new Map<string, number | null>();

/** The body size of a message without variable-length fields, else null. */
function fixedSizeOf(name: string): number | null {
  if (!FIXED_SIZE.has(name)) {
    const def = messageByName(name)!;
    const variable = def.fields.some((f) => f.length === 0 || f.lengthFrom !== undefined);
    FIXED_SIZE.set(name, variable ? null : encodeMessage({ name: name, id: 0 }, {}).length);
  }
  return FIXED_SIZE.get(name)!;
}

/** Decodes like VPP reads: bytes past a fixed-size message are ignored; short input fails (null). */
export function decodeRequest(name: string, body: Uint8Array): Record<string, unknown> | null {
  try {
    return decodeMessage(name, body);
  } catch {
    const size = fixedSizeOf(name);
    if (size === null || body.length <= size) return null;
    try {
      return decodeMessage(name, body.subarray(0, size));
    } catch {
      return null;
    }
  }
}
