/**
 * Helpers for the prober tests: config objects and small real servers.
 * @module
 */
import type { Backend, HealthCheck, HttpParams } from "../config/types.ts";
import { healthCheck, httpParams } from "../checker/checker_test_util.ts";
import type { EngineName } from "./local.ts";
import { AF_INET, openLibc, SOCK_STREAM_NB, sockaddr } from "./libc.ts";

/** Both engines of plain http and tcp: every prober test runs against each. */
export const ENGINES: readonly EngineName[] = ["socket", "stream"];

/** Registers `fn` once per engine, the engine in the test's name. */
export function engineTest(name: string, fn: (engine: EngineName) => Promise<void>): void {
  for (const engine of ENGINES) Deno.test(`${name} [${engine}]`, () => fn(engine));
}

/** A server whose connections end in a RST: it closes with the request unread. */
export function resetServer(hostname: string): { port: number; close(): Promise<void> } {
  const listener = Deno.listen({ hostname, port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) {
      // Read one byte so the request is surely there, then close over the rest.
      conn.read(new Uint8Array(1)).then(() => conn.close(), () => conn.close());
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await accepting;
    },
  };
}

/**
 * A loopback port that drops SYNs: a listening socket with a backlog of 0
 * that never accepts, filled by one connection of its own. Connects to it
 * hang until their deadline, as against a black-holed backend.
 */
export function blackholePort(): { port: number; close(): void } {
  const libc = openLibc();
  const lib = libc.symbols;
  const l = Deno.dlopen("libc.so.6", {
    listen: { parameters: ["i32", "i32"], result: "i32" },
    getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  });
  const fd = lib.socket(AF_INET, SOCK_STREAM_NB, 0);
  const sa = sockaddr(new Uint8Array([127, 0, 0, 1]));
  if (fd < 0 || lib.bind(fd, sa, sa.length) < 0 || l.symbols.listen(fd, 0) < 0) {
    throw new Error("blackhole listener failed");
  }
  const len = new Uint32Array([16]);
  l.symbols.getsockname(fd, sa, new Uint8Array(len.buffer));
  const port = new DataView(sa.buffer).getUint16(2, false);
  // One connection fills the queue; the kernel drops every later SYN.
  const filler = lib.socket(AF_INET, SOCK_STREAM_NB, 0);
  const target = sockaddr(new Uint8Array([127, 0, 0, 1]), port);
  lib.connect(filler, target, target.length);
  return {
    port,
    close() {
      lib.close(filler);
      lib.close(fd);
      l.close();
      libc.close();
    },
  };
}

/** Open fds of this process, each as `<fd> <link target>` (a reused number is a new fd). */
export function openFds(): Set<string> {
  const fds = new Set<string>();
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      fds.add(`${e.name} ${Deno.readLinkSync(`/proc/self/fd/${e.name}`)}`);
    } catch { /* closed between the listing and the read */ }
  }
  return fds;
}

/**
 * The fds open now that were not open at `before` (an {@linkcode openFds}
 * snapshot). Fds of earlier tests in this process may close meanwhile (a
 * child's pipes, a socket's deferred close); only new ones are a leak.
 */
export function newFds(before: ReadonlySet<string>): string[] {
  return [...openFds()].filter((fd) => !before.has(fd));
}

/**
 * `healthCheck("hc")` with a 2 s timeout; `http` params merge over the
 * defaults and only http/https checks carry them.
 */
export function check(
  type: HealthCheck["type"],
  port: number,
  extra: Partial<Omit<HealthCheck, "http">> & { http?: Partial<HttpParams> } = {},
): HealthCheck {
  const { http, ...rest } = extra;
  return {
    ...healthCheck("hc", { type, port, timeoutMs: 2000, ...rest }),
    http: type === "http" || type === "https" ? httpParams(http) : undefined,
  };
}

/** A backend at `address`. */
export function backend(address: string): Backend {
  return {
    name: "be",
    address,
    family: address.includes(":") ? 6 : 4,
    healthcheck: "hc",
    enabled: true,
    description: "",
  };
}

/** A signal that never fires. */
export const NEVER: AbortSignal = new AbortController().signal;

/** What a raw server saw of one connection. */
export interface SeenRequest {
  readonly remote: string;
  readonly request: string;
}

/** A TCP server that answers each request with `respond(request)`; null means never answer. */
export interface RawServer {
  readonly port: number;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

/** What a raw server writes: parts then close, null to never answer, or parts then hold. */
export type RawReply =
  | (string | Uint8Array)[]
  | null
  | { readonly write: (string | Uint8Array)[]; readonly hold: true };

/** Starts a raw HTTP-ish server on `hostname`. */
export function rawServer(
  hostname: string,
  respond: (request: string) => RawReply,
): RawServer {
  const listener = Deno.listen({ hostname, port: 0 });
  const seen: SeenRequest[] = [];
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const serveOne = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(8192);
    let text = "";
    try {
      while (!text.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      seen.push({ remote: (conn.remoteAddr as Deno.NetAddr).hostname, request: text });
      const reply = respond(text);
      const parts = reply === null ? [] : Array.isArray(reply) ? reply : reply.write;
      for (const p of parts) {
        const bytes = typeof p === "string" ? new TextEncoder().encode(p) : p;
        let off = 0;
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      }
      if (reply === null || !Array.isArray(reply)) {
        // Hold the connection open until the peer or close() ends it.
        while ((await conn.read(buf)) !== null);
      }
    } catch {
      // The prober hung up; that is its right.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        const t = serveOne(conn);
        tasks.add(t);
        t.finally(() => tasks.delete(t));
      }
    } catch {
      // Listener closed.
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    seen,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Closed already.
        }
      }
      await accepting;
      await Promise.all([...tasks]);
    },
  };
}

/** A self-signed certificate for `name`, made with openssl in a temp dir. */
export async function selfSigned(name: string): Promise<{ key: string; cert: string }> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-prober-tls-" });
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "1",
        "-subj",
        `/CN=${name}`,
        "-addext",
        `subjectAltName=DNS:${name}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`openssl: ${new TextDecoder().decode(out.stderr)}`);
    return {
      key: await Deno.readTextFile(`${dir}/key.pem`),
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** True when running as root (namespaces, raw sockets). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}
