/**
 * A listener without a useful cap, for the EMFILE test: prints its port,
 * then its warning log lines on stdout.
 * @module
 */
import { configureLog } from "../../log/mod.ts";
import { listenHttp } from "../http.ts";

configureLog({
  level: "warn",
  format: "json",
  write: (line: string) => console.log(line),
});
const server = listenHttp(
  { hostname: "127.0.0.1", port: 0 },
  () => new Response("up 1\n"),
  {
    limits: { maxConnections: 10_000, headerTimeoutMs: 60_000, writeTimeoutMs: 30_000 },
    name: "test",
    what: "metrics",
  },
);
console.log(`PORT ${server.addr.port}`);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
