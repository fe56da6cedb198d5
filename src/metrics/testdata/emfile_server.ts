/**
 * A metrics listener without a useful cap, for the EMFILE test: prints its
 * port, then its warning log lines on stdout.
 * @module
 */
import { configureLog } from "../../log/mod.ts";
import { serveMetrics } from "../server.ts";

configureLog({
  level: "warn",
  format: "json",
  write: (line: string) => console.log(line),
});
const server = serveMetrics("127.0.0.1:0", {
  contentType: "text/plain",
  render: () => Promise.resolve("up 1\n"),
}, { limits: { maxConnections: 10_000, headerTimeoutMs: 60_000 } });
console.log(`PORT ${server!.port}`);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
