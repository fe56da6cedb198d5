/**
 * A tiny scripted VPP API server for the client's own tests and benchmark.
 * It speaks the socket protocol (handshake, message table, replies, dumps
 * ended by control_ping) but has no lb semantics: that is `lab/vppsim/`.
 * @module
 */

import { decodeMessage, encodeMessage, messageIdOf } from "./codec.ts";
import { frameMessage, FrameReader } from "./framing.ts";
import { messageByName, MESSAGES, REPLY_OF } from "./messages.ts";
import type { VppTimers } from "./pending.ts";

/** What the fake does with one request. */
export type FakeAction =
  | { reply?: Record<string, unknown>; details?: Record<string, unknown>[]; drop?: boolean }
  | "stall"
  | "drop";

/** A request as the fake received it. */
export interface FakeRequest {
  /** Message name. */
  name: string;
  /** Decoded fields. */
  msg: Record<string, unknown>;
}

/** Options of `FakeVppServer.start`. */
export interface FakeVppOptions {
  /** Table keys (`name_crc`) to leave out of the message table. */
  omit?: readonly string[];
  /** First id for non-memclnt messages (plugin offset); default 100. */
  idBase?: number;
  /** Decides the answer to a request; undefined = the default (retval 0). */
  handle?: (req: FakeRequest, conn: FakeConnection) => FakeAction | undefined;
}

/** One client connection of the fake, for tests that push messages themselves. */
export class FakeConnection {
  #conn: Deno.Conn;
  #server: FakeVppServer;
  #pendingDetails = new Map<number, boolean>();
  #batch: Uint8Array[] | null = null;
  /** Resolves when the connection's loop has ended. */
  done: Promise<void>;

  /** Wraps accepted connection `conn` of `server`. */
  constructor(conn: Deno.Conn, server: FakeVppServer) {
    this.#conn = conn;
    this.#server = server;
    this.done = this.#loop();
  }

  /** Sends message `name` with `fields` (encoded with the fake's ids). */
  async send(name: string, fields: Record<string, unknown>): Promise<void> {
    await this.sendRaw(encodeMessage(name, this.#server.idOf(name), fields));
  }

  /** Sends one framed body as is. */
  async sendRaw(body: Uint8Array): Promise<void> {
    const f = frameMessage(body);
    // Replies to one read go out in one write, as a busy VPP would coalesce them.
    if (this.#batch) {
      this.#batch.push(f);
      return;
    }
    await this.#write(f);
  }

  async #write(f: Uint8Array): Promise<void> {
    for (let off = 0; off < f.length;) off += await this.#conn.write(f.subarray(off));
  }

  async #flushBatch(): Promise<void> {
    const parts = this.#batch ?? [];
    this.#batch = null;
    if (parts.length === 0) return;
    const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    await this.#write(all);
  }

  /** Closes the connection (VPP going away). */
  drop(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #loop(): Promise<void> {
    const reader = new FrameReader();
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#batch = [];
        for (const body of reader.push(buf.subarray(0, n))) {
          if (!(await this.#handle(body))) return;
        }
        await this.#flushBatch();
      }
    } catch {
      // the peer or the test closed the socket
    } finally {
      this.drop();
    }
  }

  async #handle(body: Uint8Array): Promise<boolean> {
    const name = this.#server.nameOf(messageIdOf(body));
    if (!name) return true;
    const msg = decodeMessage(name, body);
    this.#server.record({ name, msg });
    const ctx = msg.context as number;
    if (name === "sockclnt_create") {
      await this.send("sockclnt_create_reply", {
        client_index: 0,
        context: ctx,
        response: 0,
        index: 0x80000001,
        message_table: this.#server.table(),
      });
      return true;
    }
    if (name === "control_ping" && this.#pendingDetails.has(ctx)) {
      this.#pendingDetails.delete(ctx);
      await this.send("control_ping_reply", { context: ctx, retval: 0, vpe_pid: 4242 });
      return true;
    }
    const action = this.#server.options.handle?.({ name, msg }, this);
    if (action === "stall") return true;
    if (action === "drop") {
      await this.#flushBatch();
      this.drop();
      return false;
    }
    const replyName = REPLY_OF[name];
    if (!replyName) return true;
    if (name.endsWith("_dump")) {
      for (const d of action?.details ?? []) await this.send(replyName, { ...d, context: ctx });
      if (action?.drop) {
        await this.#flushBatch();
        this.drop();
        return false;
      }
      this.#pendingDetails.set(ctx, true);
      return true;
    }
    const reply: Record<string, unknown> = { context: ctx, ...(action?.reply ?? {}) };
    if (name === "control_ping") reply.vpe_pid ??= 4242;
    await this.send(replyName, reply);
    if (action?.drop) {
      await this.#flushBatch();
      this.drop();
      return false;
    }
    return true;
  }
}

/** A scripted VPP API server on a unix socket in a fresh temp dir. */
export class FakeVppServer {
  /** The socket path. */
  readonly path: string;
  /** Options it was started with. */
  readonly options: FakeVppOptions;
  /** Every request received, in order. */
  readonly received: FakeRequest[] = [];
  /** Connections accepted so far. */
  readonly connections: FakeConnection[] = [];
  #listener: Deno.Listener;
  #dir: string;
  #ids = new Map<string, number>();
  #names = new Map<number, string>();
  #accepting: Promise<void>;
  #waiters: ((c: FakeConnection) => void)[] = [];

  private constructor(dir: string, options: FakeVppOptions) {
    this.#dir = dir;
    this.path = `${dir}/api.sock`;
    this.options = options;
    // memclnt first from id 1 (sockclnt_create lands on 15 in real VPP), the rest at an offset.
    const memclnt = [
      "memclnt_create",
      "memclnt_create_reply",
      "memclnt_delete",
      "memclnt_delete_reply",
      "rx_thread_exit",
      "memclnt_rx_thread_suspend",
      "memclnt_read_timeout",
      "rpc_call",
      "rpc_call_reply",
      "get_first_msg_id",
      "get_first_msg_id_reply",
      "api_versions",
      "api_versions_reply",
      "trace_plugin_msg_ids",
      "sockclnt_create",
      "sockclnt_create_reply",
      "sockclnt_delete",
      "sockclnt_delete_reply",
      "sock_init_shm",
      "sock_init_shm_reply",
      "memclnt_keepalive",
      "memclnt_keepalive_reply",
      "control_ping",
      "control_ping_reply",
    ];
    memclnt.forEach((n, i) => this.#ids.set(n, i + 1));
    let next = options.idBase ?? 100;
    for (const m of MESSAGES) if (!this.#ids.has(m.name)) this.#ids.set(m.name, next++);
    for (const [n, id] of this.#ids) this.#names.set(id, n);
    this.#listener = Deno.listen({ transport: "unix", path: this.path });
    this.#accepting = this.#accept();
  }

  /** Starts a fake on a fresh socket path. */
  static async start(options: FakeVppOptions = {}): Promise<FakeVppServer> {
    const dir = await Deno.makeTempDir({ prefix: "vpp-fake-" });
    return new FakeVppServer(dir, options);
  }

  #watchers: { pred: (r: FakeRequest) => boolean; resolve: (r: FakeRequest) => void }[] = [];

  /** Records a received request and wakes `waitFor` callers it matches. */
  record(req: FakeRequest): void {
    this.received.push(req);
    this.#watchers = this.#watchers.filter((w) => {
      if (!w.pred(req)) return true;
      w.resolve(req);
      return false;
    });
  }

  /** Resolves with the first request (already received or future) matching `pred`. */
  waitFor(pred: (r: FakeRequest) => boolean): Promise<FakeRequest> {
    const hit = this.received.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => this.#watchers.push({ pred, resolve }));
  }

  /** The id the fake gives message `name`. */
  idOf(name: string): number {
    const id = this.#ids.get(name);
    if (id === undefined) throw new Error(`fake VPP has no id for ${name}`);
    return id;
  }

  /** The message name for id `id` among declared messages, if any. */
  nameOf(id: number): string | undefined {
    const n = this.#names.get(id);
    return n && messageByName(n) ? n : undefined;
  }

  /** The message table entries the fake announces. */
  table(): { index: number; name: string }[] {
    const omit = new Set(this.options.omit ?? []);
    return MESSAGES.filter((m) => !omit.has(m.key)).map((m) => ({
      index: this.idOf(m.name),
      name: m.key,
    }));
  }

  /** Resolves with the next accepted connection (or the n-th, 0-based, if already there). */
  connection(n: number): Promise<FakeConnection> {
    if (this.connections[n]) return Promise.resolve(this.connections[n]);
    return new Promise((resolve) => {
      const w = (_c: FakeConnection) => {
        if (this.connections.length > n) resolve(this.connections[n]);
        else this.#waiters.push(w);
      };
      this.#waiters.push(w);
    });
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const c = new FakeConnection(conn, this);
        this.connections.push(c);
        const ws = this.#waiters;
        this.#waiters = [];
        for (const w of ws) w(c);
      }
    } catch {
      // listener closed
    }
  }

  /** Stops listening, drops every connection and removes the socket dir. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    for (const c of this.connections) c.drop();
    await Promise.all(this.connections.map((c) => c.done));
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** Timers fired by hand, so timeout tests never wait. */
export class ManualTimers implements VppTimers {
  #next = 1;
  /** Armed timers by id. */
  timers = new Map<number, { fn: () => void; ms: number }>();
  #onSet: (() => void)[] = [];
  /** Arms a timer that fires only on `fireAll`. */
  setTimeout(fn: () => void, ms: number): number {
    const id = this.#next++;
    this.timers.set(id, { fn, ms });
    for (const f of this.#onSet.splice(0)) f();
    return id;
  }
  /** Resolves once at least one timer is armed. */
  armed(): Promise<void> {
    if (this.timers.size > 0) return Promise.resolve();
    return new Promise((resolve) => this.#onSet.push(resolve));
  }
  /** Disarms a timer. */
  clearTimeout(id: number): void {
    this.timers.delete(id);
  }
  /** Fires every armed timer. */
  fireAll(): void {
    const due = [...this.timers.values()];
    this.timers.clear();
    for (const t of due) t.fn();
  }
}
