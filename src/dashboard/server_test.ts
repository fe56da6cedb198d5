import { strict as assert } from "node:assert";
import * as grpc from "@grpc/grpc-js";
import { RpcError } from "../grpc/client.ts";
import { fakeBoard, preview } from "./fake_client_test_util.ts";
import { ACTION_HEADER, dashboardHandler, httpStatusOf } from "./server.ts";
import { NotFoundError } from "./board.ts";

const CREDS = { user: "ops", password: "hunter2" };
const AUTH = { authorization: `Basic ${btoa("ops:hunter2")}` };

async function setup(withCreds = true) {
  const w = await fakeBoard();
  const handle = dashboardHandler(w.board, { credentials: withCreds ? CREDS : undefined });
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await handle(new Request(`http://dash${path}`, init));
    const type = res.headers.get("content-type") ?? "";
    const body = type.startsWith("application/json") ? await res.json() : await res.text();
    return { status: res.status, type, body, headers: res.headers };
  };
  const post = (path: string, extra: Record<string, string> = {}, body?: string) =>
    call(path, { method: "POST", headers: { ...AUTH, [ACTION_HEADER]: "1", ...extra }, body });
  return { ...w, handle, call, post };
}

Deno.test("read-only routes: page, assets, state, healthz", async () => {
  const { call, board } = await setup();
  const page = await call("/");
  assert.equal(page.status, 200);
  assert.match(page.type, /^text\/html/);
  assert.match(page.body, /data-admin="false"/);
  assert.match((await call("/assets/app.js")).body, /function formatDuration/);
  assert.match((await call("/assets/style.css")).type, /^text\/css/);
  assert.equal((await call("/healthz")).body, "ok\n");
  const st = await call("/api/state");
  assert.equal(st.body.admin, false);
  assert.deepEqual(st.body.daemons.map((d: { id: string }) => d.id), ["0", "1"]);
  assert.equal((await call("/nope")).status, 404);
  await board.stop();
});

Deno.test("the event stream is SSE, unbuffered, resumable", async () => {
  const { handle, board } = await setup();
  const res = await handle(
    new Request("http://dash/api/events", { headers: { "last-event-id": "other-1" } }),
  );
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  assert.equal(res.headers.get("x-accel-buffering"), "no");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("event: resync")) text += (await reader.read()).value;
  await reader.cancel();
  // The page's first connection names the state it loaded in the query.
  board.hub.publish("log", { n: 1 });
  const first = board.hub.lastId;
  board.hub.publish("log", { n: 2 });
  const res2 = await handle(new Request(`http://dash/api/events?lastEventId=${first}`));
  const r2 = res2.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text2 = "";
  while (!text2.includes('"n":2')) text2 += (await r2.read()).value;
  assert.doesNotMatch(text2, /"n":1/);
  await r2.cancel();
  await board.stop();
});

Deno.test("the admin area asks for credentials, and is absent without them", async () => {
  const { call, board } = await setup();
  const noAuth = await call("/admin/");
  assert.equal(noAuth.status, 401);
  assert.match(noAuth.headers.get("www-authenticate")!, /^Basic realm=/);
  const wrong = await call("/admin/api/state", {
    headers: { authorization: `Basic ${btoa("ops:guess")}` },
  });
  assert.equal(wrong.status, 401);
  const ok = await call("/admin/", { headers: AUTH });
  assert.match(ok.body, /data-admin="true"/);
  assert.equal((await call("/admin/api/state", { headers: AUTH })).body.admin, true);
  await board.stop();
  const off = await setup(false);
  const r = await off.call("/admin/");
  assert.equal(r.status, 404);
  assert.match(r.body.error, /MAGLEV_DASHBOARD_USER and MAGLEV_DASHBOARD_PASSWORD/);
  await off.board.stop();
});

Deno.test("an admin action reaches the daemon; the read-only API refuses it", async () => {
  const { post, call, daemons, board } = await setup();
  const r = await post("/admin/api/daemons/0/backends/a/disable");
  assert.equal(r.status, 200);
  assert.equal(r.body.state, "disabled");
  assert.ok(daemons.get("r1:9090")!.calls.includes("DisableBackend a"));
  const ro = await call("/api/daemons/0/backends/a/disable", { method: "POST" });
  assert.equal(ro.status, 403);
  assert.match(ro.body.error, /only allowed in the admin area/);
  const noHeader = await call("/admin/api/daemons/0/backends/a/pause", {
    method: "POST",
    headers: AUTH,
  });
  assert.equal(noHeader.status, 403);
  assert.match(noHeader.body.error, /x-maglev-dashboard: 1/);
  assert.equal((await post("/admin/api/daemons/0/backends/a/explode")).status, 404);
  assert.equal((await post("/admin/api/daemons/0/backends/zz/pause")).status, 404);
  assert.equal((await post("/admin/api/daemons/9/backends/a/pause")).status, 404);
  const get = await call("/admin/api/daemons/0/backends/a/pause", { headers: AUTH });
  assert.equal(get.status, 405);
  await board.stop();
});

Deno.test("set weight: validated before anything is sent", async () => {
  const { post, daemons, board } = await setup();
  const json = { "content-type": "application/json" };
  const good = JSON.stringify({ frontend: "web", pool: "primary", backend: "a", weight: 40 });
  assert.equal((await post("/admin/api/daemons/1/weight", json, good)).status, 200);
  assert.ok(daemons.get("r2:9090")!.calls.includes("SetWeight web a 40"));
  const cases: [string, RegExp][] = [
    ["{", /not JSON/],
    ["[]", /not a JSON object/],
    ["{}", /"frontend" must be a non-empty string/],
    [
      JSON.stringify({ frontend: "web", pool: "p", backend: "a", weight: 101 }),
      /weight 101 out of range \[0, 100\]/,
    ],
    [
      JSON.stringify({ frontend: "web", pool: "p", backend: "a", weight: 1.5 }),
      /weight 1\.5 out of range/,
    ],
    [JSON.stringify({ frontend: "web", pool: "p", backend: "a", weight: 1, flush: "y" }), /flush/],
  ];
  const before = daemons.get("r2:9090")!.calls.length;
  for (const [body, why] of cases) {
    const r = await post("/admin/api/daemons/1/weight", json, body);
    assert.equal(r.status, 400, body);
    assert.match(r.body.error, why);
  }
  assert.equal(daemons.get("r2:9090")!.calls.length, before, "no bad request reached the daemon");
  await board.stop();
});

Deno.test("a daemon that refuses mutations is not asked", async () => {
  const { post, board } = await setup();
  board.views()[0].acceptsMutations = false;
  const r = await post("/admin/api/daemons/0/backends/a/pause");
  assert.equal(r.status, 403);
  assert.match(r.body.error, /r1:9090 refuses mutating RPCs .*--grpc-allow-remote-admin/);
  await board.stop();
});

Deno.test("the last probes of a backend are read live", async () => {
  const { call, daemons, board } = await setup();
  daemons.get("r1:9090")!.backends[0].probes = [
    { at_ns: "1", ok: false, code: "L7STS", detail: "HTTP 503", duration_ns: "2000000" },
  ];
  const r = await call("/api/daemons/0/backends/a");
  assert.equal(r.status, 200);
  assert.equal(r.body.probes[0].detail, "HTTP 503");
  assert.equal((await call("/api/daemons/0/backends/zz")).status, 404);
  await board.stop();
});

Deno.test("gRPC verdicts map to HTTP statuses", () => {
  const s = (code: grpc.status) => httpStatusOf(new RpcError(code, "x"));
  assert.equal(s(grpc.status.FAILED_PRECONDITION), 409);
  assert.equal(s(grpc.status.PERMISSION_DENIED), 403);
  assert.equal(s(grpc.status.UNAVAILABLE), 503);
  assert.equal(s(grpc.status.INTERNAL), 502);
  assert.equal(httpStatusOf(new NotFoundError("x")), 404);
  assert.equal(httpStatusOf(new Error("x")), 500);
});

Deno.test("the disruption preview is asked of the daemon, read-only page included", async () => {
  const { call, daemons, board } = await setup();
  const r1 = daemons.get("r1:9090")!;
  const body = JSON.stringify({ frontend: "web", backend: "a", disable: true });
  const off = await call("/api/daemons/0/preview", { method: "POST", body });
  assert.equal(off.status, 501, "a daemon without the RPC says so");
  r1.preview = preview();
  const on = await call("/api/daemons/0/preview", { method: "POST", body });
  assert.equal(on.status, 200);
  assert.equal(on.body.buckets_moved, 512);
  assert.ok(r1.calls.includes("PreviewChange web a"));
  const bad = await call("/api/daemons/0/preview", {
    method: "POST",
    body: JSON.stringify({ frontend: "web", backend: "a", weight: 500 }),
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /weight 500 out of range \[0, 100\]/);
  assert.equal((await call("/api/daemons/0/preview")).status, 405);
  await board.stop();
});
