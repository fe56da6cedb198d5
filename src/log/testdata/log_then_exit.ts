/**
 * Writes N JSON log lines to stdout through the default (buffered) writer,
 * then exits at once: `Deno.args[0]` is N, `Deno.args[1]` how it ends
 * (`exit`: Deno.exit(3) in the same task; `return`: the script ends).
 */
import { configureLog, log } from "../mod.ts";

configureLog({ level: "info", format: "json" });
const n = Number(Deno.args[0]);
for (let i = 0; i < n; i++) log.info("vpp-lb-as-add", { seq: i, vip: `192.0.2.1/32 tcp/80` });
if (Deno.args[1] === "exit") Deno.exit(3);
