/**
 * Parses VPP's `show lb vips verbose` text (vpp-api.md 5), the only place VPP
 * shows a VIP's pool index, `src_ip_sticky` and its packet counters.
 * @module
 */
import { PROTO_ANY } from "../../vpp/names.ts";

/** What the text says about one VIP. */
export interface VipText {
  /** e.g. `ip4-gre4`. */
  readonly type: string;
  readonly index: number;
  /** `address/len`. */
  readonly prefix: string;
  readonly protocol: number;
  readonly port: number;
  readonly srcIpSticky: boolean;
  readonly removed: boolean;
  readonly newSize: number;
  readonly counters: {
    readonly next: number;
    readonly first: number;
    readonly untracked: number;
    readonly noServer: number;
  };
}

const COUNTER_KEYS: Record<string, "next" | "first" | "untracked" | "noServer"> = {
  "packet from existing sessions": "next",
  "first session packet": "first",
  "untracked packet": "untracked",
  "no server configured": "noServer",
};

/** Parses every VIP block; lines it does not know are skipped. */
export function parseShowVipsVerbose(text: string): VipText[] {
  const out: VipText[] = [];
  let cur:
    | {
      type: string;
      index: number;
      prefix: string;
      protocol: number;
      port: number;
      srcIpSticky: boolean;
      removed: boolean;
      newSize: number;
      counters: { next: number; first: number; untracked: number; noServer: number };
    }
    | undefined;
  for (const line of text.split("\n")) {
    const head = /^ (\S+) \[(\d+)\] (\S+\/\d+)((?: \S+)*)\s*$/.exec(line);
    if (head) {
      if (cur) out.push(cur);
      const flags = head[4].trim().split(/\s+/);
      cur = {
        type: head[1],
        index: Number(head[2]),
        prefix: head[3],
        protocol: PROTO_ANY,
        port: 0,
        srcIpSticky: flags.includes("src_ip_sticky"),
        removed: flags.includes("removed"),
        newSize: 0,
        counters: { next: 0, first: 0, untracked: 0, noServer: 0 },
      };
      continue;
    }
    if (!cur) continue;
    const size = /^\s+new_size:(\d+)/.exec(line);
    if (size) cur.newSize = Number(size[1]);
    const proto = /^\s+protocol:(\d+) port:(\d+)/.exec(line);
    if (proto) {
      cur.protocol = Number(proto[1]);
      cur.port = Number(proto[2]);
    }
    const counter = /^\s+([a-z ]+): (\d+)\s*$/.exec(line);
    if (counter && counter[1] in COUNTER_KEYS) {
      cur.counters[COUNTER_KEYS[counter[1]]] = Number(counter[2]);
    }
  }
  if (cur) out.push(cur);
  return out;
}
