import { strict as assert } from "node:assert";
import { startDashboard } from "./mod.ts";
import { backend, FakeDaemon, frontend, poolBackend } from "./fake_client_test_util.ts";

Deno.test("startDashboard listens, serves the state of every daemon and closes", async () => {
  const d = new FakeDaemon();
  d.frontends = [frontend("web", [poolBackend("a")])];
  d.backends = [backend("a")];
  const dash = await startDashboard({
    servers: ["r1:9090"],
    listen: { host: "127.0.0.1", port: 0 },
    connect: () => d,
  });
  try {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(`${dash.url}healthz`);
    assert.equal(await res.text(), "ok\n");
    const events = await fetch(`${dash.url}api/events`);
    const reader = events.body!.getReader();
    await reader.read();
    // An open page stream must not hold up the shutdown.
    const st = await (await fetch(`${dash.url}api/state`)).json();
    assert.equal(st.daemons[0].address, "r1:9090");
    await dash.close();
    // Events sent before the close may still be queued (a loaded machine sends the first page in
    // more than one chunk); the stream must then end. A stream left open would hang the test:
    // cut it after 10 s and say so.
    let cut = false;
    const guard = setTimeout(() => {
      cut = true;
      reader.cancel();
    }, 10_000);
    try {
      while (!(await reader.read()).done) { /* an event queued before the close */ }
    } finally {
      clearTimeout(guard);
    }
    assert.equal(cut, false, "the page stream stayed open after close");
  } finally {
    await dash.close().catch(() => {});
  }
  assert.ok(d.closed);
});

Deno.test("maglevd dashboard without --server: exit 2 and a line naming the flag", async () => {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "dashboard", "--listen", "127.0.0.1:0"],
    env: { MAGLEV_DASHBOARD_SERVER: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2);
  assert.match(err, /maglevd dashboard: --server: give at least one maglevd address/);
  assert.match(err, /usage: maglevd dashboard --server ADDR/);
});

Deno.test("a listen address in use is an error naming it", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const d = new FakeDaemon();
    await assert.rejects(
      startDashboard({
        servers: ["r1:9090"],
        listen: { host: "127.0.0.1", port },
        connect: () => d,
      }),
      new RegExp(`dashboard address "127\\.0\\.0\\.1:${port}": .*in use`, "i"),
    );
    assert.ok(d.closed, "nothing is left connecting");
  } finally {
    taken.close();
  }
});

Deno.test("the dashboard listener caps connections and closes idle ones", async () => {
  const d = new FakeDaemon();
  const dash = await startDashboard({
    servers: ["r1:9090"],
    listen: { host: "127.0.0.1", port: 0 },
    connect: () => d,
    // The cap is reached while the idle clients are still open, also on a loaded machine.
    limits: { maxConnections: 2, headerTimeoutMs: 2_000 },
  });
  const port = Number(new URL(dash.url).port);
  const closedByServer = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(1024);
    try {
      while ((await conn.read(buf)) !== null) { /* drain */ }
    } catch {
      // A reset is a close too.
    }
    conn.close();
  };
  try {
    const idle = [
      await Deno.connect({ hostname: "127.0.0.1", port }),
      await Deno.connect({ hostname: "127.0.0.1", port }),
    ];
    // Over the cap: closed at once; the idle ones by the header timeout.
    await closedByServer(await Deno.connect({ hostname: "127.0.0.1", port }));
    await Promise.all(idle.map(closedByServer));
    const res = await fetch(`${dash.url}healthz`);
    assert.equal(await res.text(), "ok\n", "still serving");
  } finally {
    await dash.close();
  }
});
