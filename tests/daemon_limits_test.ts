/**
 * The real daemon with a small fd table (`prlimit --nofile=160`): floods of
 * idle connections on both listeners are capped below the limit, so the
 * daemon never runs out of fds, keeps answering scrapes and RPCs, and logs
 * the refusals (issue 12.1 and 12.2).
 */
import { strict as assert } from "node:assert";
import { createClient } from "../src/grpc/client.ts";
import { DaemonProcess, freePort, labConfig, waitFor } from "./helpers/mod.ts";

Deno.test("daemon under prlimit: connection floods are capped, nothing fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "maglev-limits-test-" });
  const configPath = `${dir}/maglev.yaml`;
  await Deno.writeTextFile(configPath, labConfig({ net: "127.0.63", hcPort: freePort() }));
  let d: DaemonProcess | undefined;
  const conns: Deno.Conn[] = [];
  try {
    d = await DaemonProcess.start(configPath, { vppSocket: "", fdLimit: 160 });
    const daemon = d;
    for (const addr of [d.grpcAddr, d.metricsAddr]) {
      const [hostname, port] = addr.split(":");
      for (let i = 0; i < 150; i++) {
        conns.push(await Deno.connect({ hostname, port: Number(port) }));
      }
    }
    // A quarter of 160 per listener: the rest are refused, and said so.
    await waitFor(
      "both listeners to log refusals",
      () =>
        daemon.logs.some((l) => l.msg === "grpc-connection-refused") &&
        daemon.logs.some((l) => l.msg === "metrics-connection-refused"),
    );
    for (const c of conns.splice(0)) c.close();
    // The daemon sees the closes (and the refused ones still queued) first.
    const text = await waitFor("a scrape once the flood is gone", async () => {
      const res = await fetch(`http://${daemon.metricsAddr}/metrics`).catch(() => undefined);
      return res?.status === 200 ? await res.text() : undefined;
    });
    assert.match(text, /^maglev_build_info/m);
    // The gRPC listener drains the flood on its own (the closes, and the
    // refused connections still in its accept queue): a connection made
    // before it has is refused like them, so ask until one is served.
    const names = await waitFor("an RPC once the flood is gone", async () => {
      const client = createClient(daemon.grpcAddr);
      try {
        return (await client.listFrontends()).names;
      } finally {
        client.close();
      }
    });
    assert.equal(names.length, 2);
    assert.ok(!d.logs.some((l) => /Too many open files/.test(JSON.stringify(l))), "no EMFILE");
    assert.equal(await d.stop(), 0);
  } finally {
    for (const c of conns) c.close();
    await d?.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
