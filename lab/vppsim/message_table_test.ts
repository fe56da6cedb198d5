import { strict as assert } from "node:assert";
import { encodeMessage } from "../../vpp/codec.ts";
import { messageByName } from "../../vpp/messages.ts";
import {
  buildTable,
  decodeRequest,
  FIRST_PLUGIN_ID,
  keyName,
  MAX_PLUGIN_ID_BASE,
  pluginIdBaseOf,
} from "./message_table.ts";

Deno.test("vppsim message table: memclnt from 1, lb at the offset, every id distinct", () => {
  const table = buildTable(FIRST_PLUGIN_ID);
  assert.equal(table.get(messageByName("sockclnt_create")!.key), 15);
  assert.equal(table.get(messageByName("lb_conf")!.key)! >= FIRST_PLUGIN_ID, true);
  assert.equal(new Set(table.values()).size, table.size);
  const high = buildTable(MAX_PLUGIN_ID_BASE);
  assert.equal(Math.max(...high.values()), 0xffff);
});

Deno.test("vppsim message table: omitted messages are left out, the rest keep their ids", () => {
  const full = buildTable(500);
  const older = buildTable(500, ["lb_as_set_weight"]);
  const key = messageByName("lb_as_set_weight")!.key;
  assert.equal(keyName(key), "lb_as_set_weight");
  assert.equal(older.has(key), false);
  assert.equal(older.size, full.size - 1);
  for (const [k, id] of older) assert.equal(full.get(k), id);
});

Deno.test("vppsim message table: requests decode as VPP reads them", () => {
  const ping = encodeMessage({ name: "control_ping", id: 7 }, { client_index: 3, context: 9 });
  assert.equal(decodeRequest("control_ping", ping)!.context, 9);
  // Bytes past a fixed-size message are ignored; a short one is not read.
  const longer = new Uint8Array(ping.length + 4);
  longer.set(ping);
  assert.equal(decodeRequest("control_ping", longer)!.context, 9);
  assert.equal(decodeRequest("control_ping", ping.subarray(0, ping.length - 1)), null);
});

Deno.test("vppsim message table: the plugin offset is random in 100..999 unless given, and checked", () => {
  for (let i = 0; i < 20; i++) {
    const base = pluginIdBaseOf(undefined);
    assert.ok(Number.isInteger(base) && base >= 100 && base <= 999, String(base));
  }
  assert.equal(pluginIdBaseOf(FIRST_PLUGIN_ID), FIRST_PLUGIN_ID);
  assert.equal(pluginIdBaseOf(MAX_PLUGIN_ID_BASE), MAX_PLUGIN_ID_BASE);
  for (const bad of [FIRST_PLUGIN_ID - 1, MAX_PLUGIN_ID_BASE + 1, 400.5]) {
    assert.throws(() => pluginIdBaseOf(bad), new RegExp(`pluginIdBase ${bad} must be an integer`));
  }
});
