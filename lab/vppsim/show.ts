/**
 * `deno task vppsim:show --socket PATH`: connects to a VPP (the double or a
 * real one) with maglev's `vpp/` client and prints its lb state: the
 * `show lb vips verbose` text, then a compact table of VIPs and ASes with
 * weights and bucket counts read through the API.
 * @module
 */

import { parseArgs } from "node:util";
import { VppClient } from "../../vpp/client.ts";
import { encapName } from "../../vpp/names.ts";
import { errorMessage } from "../../src/errors.ts";

const USAGE = "usage: deno task vppsim:show --socket PATH";

function pad(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** Reads the lb state over the API socket at `socketPath` and renders it as text. */
export async function renderLbState(socketPath: string): Promise<string> {
  const client = await VppClient.connect(socketPath, { clientName: "vppsim-show" });
  try {
    const cli = (await client.request("cli_inband", { cmd: "show lb vips verbose" })).reply;
    const vips = await client.dump("lb_vip_dump", {});
    // Unfiltered: VPP's lb_as_v2_dump filter never matches IPv4 VIPs.
    const ases = await client.dump("lb_as_v2_dump", {});
    const vipKey = (v: { pfx: string; protocol: number; port: number }) =>
      `${v.pfx} ${v.port === 0 ? "all-ports" : `${v.protocol}/${v.port}`}`;
    const live = new Set(vips.map((v) => vipKey(v.vip)));
    const rows = [["VIP", "ENCAP", "TABLE", "AS", "WEIGHT", "BUCKETS", "STATE"]];
    for (const v of vips) {
      const mine = ases.filter((a) => vipKey(a.vip) === vipKey(v.vip));
      if (mine.length === 0) {
        rows.push([
          vipKey(v.vip),
          encapName(v.encap),
          String(v.flow_table_length),
          "-",
          "-",
          "-",
          "-",
        ]);
      }
      for (const a of mine) {
        rows.push([
          vipKey(v.vip),
          encapName(v.encap),
          String(v.flow_table_length),
          a.app_srv,
          String(a.weight),
          String(a.num_buckets),
          a.flags & 1 ? "used" : "removed",
        ]);
      }
    }
    const orphans = ases.filter((a) => !live.has(vipKey(a.vip)));
    for (const a of orphans) {
      rows.push([vipKey(a.vip), "?", "-", a.app_srv, String(a.weight), "0", "VIP removed"]);
    }
    const table = rows.length > 1 ? pad(rows) : "(no VIPs)";
    return `${cli === "" ? "(show lb vips verbose: empty)\n" : cli}\n${table}\n`;
  } finally {
    await client.close();
  }
}

if (import.meta.main) {
  let socket: string | undefined;
  try {
    ({ values: { socket } } = parseArgs({
      args: Deno.args,
      options: { socket: { type: "string" } },
      strict: true,
    }));
  } catch (e) {
    console.error(`${errorMessage(e)}\n${USAGE}`);
    Deno.exit(2);
  }
  if (!socket) {
    console.error(`--socket PATH is required\n${USAGE}`);
    Deno.exit(2);
  }
  try {
    console.log(await renderLbState(socket));
  } catch (e) {
    console.error(`vppsim:show: cannot read ${socket}: ${errorMessage(e)}`);
    Deno.exit(1);
  }
}
