import * as assert from "node:assert/strict";
import { openNotifier, sockaddrUnix } from "./notify.ts";
import { bindNotifySink } from "./notify_test_util.ts";

Deno.test("sockaddr_un: a path ends with NUL, an abstract name starts with it", () => {
  const p = sockaddrUnix("/run/x");
  assert.deepEqual([...p.subarray(0, 2)], [1, 0]);
  assert.equal(new TextDecoder().decode(p.subarray(2)), "/run/x\0");
  const a = sockaddrUnix("@sd");
  assert.equal(new TextDecoder().decode(a.subarray(2)), "\0sd");
});

Deno.test("states reach the NOTIFY_SOCKET as datagrams, in order", async () => {
  const dir = await Deno.makeTempDir();
  const sink = bindNotifySink(`${dir}/notify.sock`);
  const n = openNotifier(sink.path);
  try {
    assert.equal(n.notify("READY=1"), true);
    assert.equal(n.notify("RELOADING=1"), true);
    assert.equal(await sink.next(), "READY=1");
    assert.equal(await sink.next(), "RELOADING=1");
  } finally {
    n.close();
    sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without NOTIFY_SOCKET nothing is sent", () => {
  const n = openNotifier(undefined);
  assert.equal(n.notify("READY=1"), false);
  n.close();
});
