/**
 * Real traffic through a real VPP's lb plugin, judged from VPP's own
 * counters (real VPP only; see `../shared/vpp/README.md`): a packet-generator
 * interface `pg0` faces the AS addresses (each answered by a static neighbor
 * entry, so GRE-encapsulated packets leave through `pg0`), and UDP streams
 * enter at `ip4-input` towards a VIP. What VPP served and dropped is read
 * back from `show lb vips verbose`, `show errors` and `show interface`.
 * @module
 */
import { parseShowVipsVerbose, type VipText } from "../../src/reconciler/vip_text.ts";
import { VppClient } from "../../vpp/mod.ts";
import { waitFor } from "./mod.ts";

/** One AS line of `show lb vips verbose`. */
export interface AsCounters {
  readonly weight: number;
  readonly buckets: number;
  /** Sticky flows VPP holds for this AS. */
  readonly flows: number;
}

/** What VPP says it did with the packets, at one moment. */
export interface Counters {
  /** The VIP's block (`counters.next/first/untracked/noServer`). */
  readonly vip: VipText;
  /** Per AS address. */
  readonly ases: ReadonlyMap<string, AsCounters>;
  /** Packets VPP dropped for any reason (`show errors`, severity error), by reason. */
  readonly drops: ReadonlyMap<string, number>;
  /** `pg0` tx packets (what VPP sent on towards an AS). */
  readonly tx: number;
}

/** A packet-generator dataplane on one real VPP, driven over one API session. */
export class Dataplane {
  readonly #client: VppClient;
  #streams = 0;

  private constructor(client: VppClient) {
    this.#client = client;
  }

  /**
   * Creates `pg0` at `<net>.254/24`, up, with a neighbor entry per AS address
   * (all in `<net>.0/24`).
   */
  static async open(socket: string, options: { net: string; asAddresses: string[] }) {
    const client = await VppClient.connect(socket);
    const dp = new Dataplane(client);
    try {
      await dp.cli("create packet-generator interface pg0");
      await dp.cli(`set interface ip address pg0 ${options.net}.254/24`);
      await dp.cli("set interface state pg0 up");
      for (const [i, a] of options.asAddresses.entries()) {
        const mac = `02:00:00:00:00:${(i + 1).toString(16).padStart(2, "0")}`;
        await dp.cli(`set ip neighbor pg0 ${a} ${mac}`);
      }
    } catch (e) {
      await client.close();
      throw e;
    }
    return dp;
  }

  /** Runs a CLI command; VPP's complaints (`unknown input`, errors) fail naming the command. */
  async cli(cmd: string): Promise<string> {
    const out = (await this.#client.request("cli_inband", { cmd })).reply;
    if (/unknown input|error|failed/i.test(out) && !cmd.startsWith("show")) {
      throw new Error(`VPP refused \`${cmd}\`: ${out.trim()}`);
    }
    return out;
  }

  /**
   * A UDP stream from sources `<srcNet>.1 .. <srcNet>.<flows>` (one flow
   * each, sent round-robin) to `vip:port`. With `packets` it sends exactly
   * that many and resolves when VPP sent them all; otherwise it runs at
   * `rate` packets/s until the returned `stop`.
   */
  async stream(
    spec: { vip: string; port: number; srcNet: string; flows: number },
    options: { packets?: number; rate?: number } = {},
  ): Promise<{ stop(): Promise<void> }> {
    const name = `s${++this.#streams}`;
    const limit = options.packets ?? 1_000_000;
    const rate = options.packets === undefined ? ` rate ${options.rate ?? 2000}` : "";
    await this.cli(
      `packet-generator new { name ${name} limit ${limit}${rate} size 64-64 interface pg0 ` +
        `node ip4-input data { UDP: ${spec.srcNet}.1 - ${spec.srcNet}.${spec.flows} -> ` +
        `${spec.vip} UDP: 1000 -> ${spec.port} incrementing 30 } }`,
    );
    await this.cli(`packet-generator enable-stream ${name}`);
    const stop = async () => {
      await this.cli(`packet-generator disable-stream ${name}`);
      await this.cli(`packet-generator delete ${name}`);
    };
    if (options.packets !== undefined) {
      // A stream without a rate runs in VPP's main loop; its sent count is final once disabled.
      const re = new RegExp(`^${name}\\s+No\\s+${limit}\\b`, "m");
      let last = "";
      await waitFor(`VPP to send ${limit} packets`, async () => {
        last = await this.cli("show packet-generator");
        return re.test(last);
      }, { describe: () => last });
      await stop();
    }
    return { stop };
  }

  /** The counters of VIP `prefix` (`10.50.0.1/32`) and of `pg0`, read now. */
  async counters(prefix: string): Promise<Counters> {
    const text = await this.cli("show lb vips verbose");
    const vip = parseShowVipsVerbose(text).find((v) => v.prefix === prefix && !v.removed);
    if (!vip) throw new Error(`VPP holds no VIP ${prefix}:\n${text}`);
    return {
      vip,
      ases: asLines(text, prefix),
      drops: dropsOf(await this.cli("show errors")),
      ...pgCounters(await this.cli("show interface pg0")),
    };
  }

  /** Closes the API session (VPP and its pg0 stay). */
  close(): Promise<void> {
    return this.#client.close();
  }
}

/** The AS lines of VIP `prefix`'s block: `<address> weight:W buckets:B flows:F ...`. */
function asLines(text: string, prefix: string): Map<string, AsCounters> {
  const out = new Map<string, AsCounters>();
  let inVip = false;
  for (const line of text.split("\n")) {
    if (/^\s*ip[46]-\S+ \[\d+\] /.test(line)) inVip = line.includes(` ${prefix}`);
    const m = /^\s+(\S+) weight:(\d+) buckets:(\d+) flows:(\d+)/.exec(line);
    if (inVip && m) {
      out.set(m[1], { weight: Number(m[2]), buckets: Number(m[3]), flows: Number(m[4]) });
    }
  }
  return out;
}

/** `show errors` rows of severity error: reason -> count. */
function dropsOf(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+(\S+)\s+(.+?)\s+error\s*$/.exec(line);
    if (m) out.set(`${m[2]}: ${m[3]}`, (out.get(`${m[2]}: ${m[3]}`) ?? 0) + Number(m[1]));
  }
  return out;
}

function pgCounters(text: string): { tx: number } {
  const tx = /tx packets\s+(\d+)/.exec(text);
  return { tx: Number(tx?.[1] ?? 0) };
}

/** What VPP did between two readings. */
export interface CounterDelta {
  /**
   * Packets the VIP's lb node handled (its four counters). Not `pg0` rx:
   * the generator counts a frame it builds even when the stream is disabled
   * before the frame leaves, so rx runs ahead by up to a frame.
   */
  readonly received: number;
  /** Packets VPP sent on (GRE towards an AS). */
  readonly forwarded: number;
  /** The VIP's `no server configured` increase. */
  readonly noServer: number;
  /** Increase of each drop reason (only those that grew). */
  readonly drops: Record<string, number>;
  /** The VIP's `packet from existing sessions` and `first session packet` increases. */
  readonly existing: number;
  readonly first: number;
}

/** The difference `after - before`. */
export function delta(before: Counters, after: Counters): CounterDelta {
  const drops: Record<string, number> = {};
  for (const [k, v] of after.drops) {
    const d = v - (before.drops.get(k) ?? 0);
    if (d > 0) drops[k] = d;
  }
  return {
    received: seen(after) - seen(before),
    forwarded: after.tx - before.tx,
    noServer: after.vip.counters.noServer - before.vip.counters.noServer,
    drops,
    existing: after.vip.counters.next - before.vip.counters.next,
    first: after.vip.counters.first - before.vip.counters.first,
  };
}

function seen(c: Counters): number {
  const v = c.vip.counters;
  return v.next + v.first + v.untracked + v.noServer;
}
