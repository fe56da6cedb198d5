/**
 * Which messages a connection needs from VPP's table: the requests maglev
 * sends, and for each its reply (and a dump's `control_ping` pair).
 * @module
 */

import { VppRequestError } from "./errors.ts";
import { messageByName, REPLY_OF } from "./messages.ts";

/** The requests maglev sends; connect checks them (and their replies) by default. */
export const DEFAULT_REQUIRED: readonly string[] = [
  "sockclnt_delete",
  "control_ping",
  "show_version",
  "cli_inband",
  "lb_conf",
  "lb_conf_get",
  "lb_add_del_vip_v2",
  "lb_add_del_as_v2",
  "lb_as_set_weight",
  "lb_flush_vip",
  "lb_vip_dump",
  "lb_as_v2_dump",
];

/**
 * The messages sending request `name` takes: itself, its reply, and for a
 * dump `control_ping` and its reply (they end the details).
 */
export function messagesOf(name: string): string[] {
  const out = [name];
  if (REPLY_OF[name]) out.push(REPLY_OF[name]);
  if (name.endsWith("_dump")) out.push("control_ping", "control_ping_reply");
  return out;
}

/**
 * Table keys (`name_crc`) of `names` and what they take; an undeclared name
 * is a `VppRequestError`.
 */
export function requiredKeys(names: readonly string[]): string[] {
  const keys: string[] = [];
  for (const n of names.flatMap(messagesOf)) {
    const def = messageByName(n);
    if (!def) throw new VppRequestError(`required message ${JSON.stringify(n)} is not declared`);
    if (!keys.includes(def.key)) keys.push(def.key);
  }
  return keys;
}
