import { strict as assert } from "node:assert";
import {
  AF_INET,
  EMFILE,
  ENFILE,
  ENOBUFS,
  ENOMEM,
  ENOSPC,
  EPERM,
  errnoText,
  isLocalErrno,
  lastError,
  openLibc,
  parseIpBytes,
  SOCK_STREAM_NB,
  sockaddr,
  softNofile,
} from "./libc.ts";

Deno.test("libc: a sockaddr_in / sockaddr_in6 is laid out as the kernel reads it", () => {
  assert.deepEqual(
    [...sockaddr(parseIpBytes("10.1.2.3")!, 8080)],
    [2, 0, 0x1f, 0x90, 10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0],
  );
  const v6 = sockaddr(parseIpBytes("2001:db8::1")!, 443);
  assert.equal(v6.length, 28);
  assert.deepEqual(
    [...v6.subarray(0, 8)],
    [10, 0, 0x01, 0xbb, 0, 0, 0, 0],
    "family, port, flowinfo",
  );
  assert.deepEqual([...v6.subarray(8, 10)], [0x20, 0x01]);
  assert.equal(v6[23], 1);
  assert.deepEqual([...v6.subarray(24)], [0, 0, 0, 0], "scope id");
  assert.deepEqual([...sockaddr(new Uint8Array(4)).subarray(2, 4)], [0, 0], "port 0 by default");
});

Deno.test("libc: parseIpBytes reads either family, and nothing else", () => {
  assert.equal(parseIpBytes("192.0.2.1")?.length, 4);
  assert.equal(parseIpBytes("::1")?.length, 16);
  for (const bad of ["", "host", "10.0.0.256", "10.0.0.1/32", "[::1]"]) {
    assert.equal(parseIpBytes(bad), undefined, bad);
  }
});

Deno.test("libc: the local errnos are the host's resources, not the backend's", () => {
  for (const e of [EMFILE, ENFILE, ENOBUFS, ENOMEM, ENOSPC]) assert.ok(isLocalErrno(e), String(e));
  for (const e of [0, EPERM, 111, /* ECONNREFUSED */ 113 /* EHOSTUNREACH */]) {
    assert.ok(!isLocalErrno(e), String(e));
  }
});

Deno.test("libc: errno is read right after a failing call, with its text", () => {
  const lib = openLibc();
  try {
    assert.equal(lib.symbols.close(-1), -1);
    assert.deepEqual(lastError(lib), { errno: 9, text: "Bad file descriptor" });
    assert.equal(errnoText(lib, EPERM), "Operation not permitted");
    const fd = lib.symbols.socket(AF_INET, SOCK_STREAM_NB, 0);
    assert.ok(fd >= 0, "a socket opens");
    assert.equal(lib.symbols.close(fd), 0);
  } finally {
    lib.close();
  }
});

Deno.test("libc: the soft open-file limit matches /proc", () => {
  const lib = openLibc();
  try {
    const soft = /^Max open files\s+(\S+)/m.exec(Deno.readTextFileSync("/proc/self/limits"))![1];
    assert.equal(softNofile(lib), soft === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(soft));
  } finally {
    lib.close();
  }
});
