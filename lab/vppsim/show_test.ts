import { strict as assert } from "node:assert";
import { startVppSim } from "./server.ts";
import { renderLbState } from "./show.ts";

Deno.test("vppsim:show renders the CLI text and a table of VIPs, ASes, weights and buckets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vppsim-show-" });
  const sim = await startVppSim({ socketPath: `${dir}/api.sock` });
  try {
    const vip = { pfx: "2001:db8::1/128", protocol: 6, port: 80 };
    sim.model.apply("lb_add_del_vip_v2", { ...vip, encap: 1, new_flows_table_length: 256 });
    sim.model.apply("lb_add_del_as_v2", { ...vip, as_address: "2001:db8:a::1", weight: 30 });
    sim.model.apply("lb_add_del_as_v2", { ...vip, as_address: "2001:db8:a::2", weight: 10 });
    sim.model.apply("lb_add_del_as_v2", { ...vip, as_address: "2001:db8:a::2", is_del: true });
    const text = await renderLbState(`${dir}/api.sock`);
    assert.ok(text.startsWith(sim.model.showVipsVerbose()));
    assert.match(text, /2001:db8::1\/128 6\/80 +gre6 +256 +2001:db8:a::1 +30 +256 +used/);
    assert.match(text, /2001:db8:a::2 +10 +0 +removed/);
  } finally {
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vppsim:show says so when there are no VIPs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vppsim-show-" });
  const sim = await startVppSim({ socketPath: `${dir}/api.sock` });
  try {
    assert.match(await renderLbState(`${dir}/api.sock`), /\(no VIPs\)/);
  } finally {
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});
