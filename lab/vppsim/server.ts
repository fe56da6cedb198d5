/**
 * The VPP test double's socket server: VPP's binary API over a unix stream
 * socket (vpp-api.md sections 1 and 2), with the lb plugin behind it as
 * `LbModel`. It hands out socket-client indexes and a message table like a
 * real VPP (lb ids at a plugin offset that differs between runs unless
 * pinned), answers only requests whose `client_index` names a live client,
 * ignores unknown ids and truncated requests as VPP does, and can be told to
 * misbehave: drop connections, stall replies, restart empty, send a corrupt
 * frame.
 * @module
 */

import { type Clock, realClock, type TimerId } from "../../src/clock.ts";
import { encodeMessage, messageIdOf } from "../../vpp/codec.ts";
import { frameMessage, FrameReader } from "../../vpp/framing.ts";
import { messageByName, REPLY_OF } from "../../vpp/messages.ts";
import { isLbRequest, LB_GC_PERIOD_MS, LbModel, VppCrashError } from "./lb_model.ts";
import { errorMessage } from "../../src/errors.ts";
import { cliText, SIM_VPP_VERSION } from "./cli.ts";
import { buildTable, decodeRequest, keyName, pluginIdBaseOf } from "./message_table.ts";

export { SIM_VPP_VERSION };

/** Something the double did, for logging (`main.ts`) or test assertions. */
export interface VppSimEvent {
  /** `connect`, `register`, `disconnect`, `request`, `ignored`, `crash`, `restart`. */
  kind: string;
  /** Details: message name, client index, reason. */
  attrs: Record<string, string | number | boolean>;
}

/** Options of `startVppSim`. */
export interface VppSimOptions {
  /** Path of the unix socket to listen on (a stale socket file there is replaced). */
  socketPath: string;
  /** First message id of the lb plugin; default random in 100..999, as builds differ. */
  pluginIdBase?: number;
  /** Time for the lb model and its 60 s garbage collector; default the real clock. */
  clock?: Clock;
  /** Called for every event; exceptions are ignored. */
  onEvent?: (ev: VppSimEvent) => void;
  /**
   * Message names (e.g. `lb_as_set_weight`) left out of the message table,
   * as an older VPP lacks them: clients see an incompatible VPP.
   */
  omitMessages?: readonly string[];
}

/** A running double. */
export interface VppSim {
  /** The socket it listens on. */
  readonly socketPath: string;
  /** The id of the first lb message in this run. */
  readonly pluginIdBase: number;
  /** The message table it hands to clients: `name_crc` -> id. */
  readonly messageTable: ReadonlyMap<string, number>;
  /** The lb state of the current VPP "process" (replaced on restart or crash). */
  readonly model: LbModel;
  /** Open client connections. */
  readonly connectionCount: number;
  /** How many times the double restarted (by `restart()` or a crash). */
  readonly restarts: number;
  /** Closes every client connection; state is kept. */
  dropConnections(): void;
  /** While on, replies are held back; turning it off sends them in order. */
  stall(on: boolean): void;
  /** Like a VPP restart: drops every connection and forgets all state. */
  restart(): void;
  /** Sends every client a frame whose header declares an impossible length. */
  sendMalformed(): void;
  /** Sends `memclnt_keepalive` to every client; resolves when all answered or left. */
  sendKeepalive(): Promise<void>;
  /** Stops listening, closes every connection and removes the socket file. */
  close(): Promise<void>;
}

const REGISTRATION_HANDLE_BIT = 0x80000000;

class SimConn {
  readonly reader = new FrameReader();
  out: Uint8Array[] = [];
  held: Uint8Array[] = [];
  writing: Promise<void> | null = null;
  closed = false;
  closeAfterFlush = false;
  constructor(readonly conn: Deno.Conn, readonly regIndex: number) {}
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

class VppSimServer implements VppSim {
  readonly socketPath: string;
  readonly pluginIdBase: number;
  readonly messageTable: ReadonlyMap<string, number>;
  #idToName = new Map<number, string>();
  #listener: Deno.Listener;
  #clock: Clock;
  #onEvent: ((ev: VppSimEvent) => void) | undefined;
  #model: LbModel;
  #restarts = 0;
  #conns = new Set<SimConn>();
  #regs = new Map<number, SimConn>();
  #regFree: number[] = [];
  #regNext = 1;
  #stalled = false;
  #tasks = new Set<Promise<void>>();
  #gcTimer: TimerId | undefined;
  #closed = false;
  #keepaliveContext = 0x4b410000;
  #keepaliveWaiters = new Map<number, { left: Set<SimConn>; done: () => void }>();

  constructor(listener: Deno.Listener, options: VppSimOptions, pluginIdBase: number) {
    this.#listener = listener;
    this.socketPath = options.socketPath;
    this.pluginIdBase = pluginIdBase;
    const table = buildTable(pluginIdBase, options.omitMessages);
    this.messageTable = table;
    for (const [key, id] of table) this.#idToName.set(id, keyName(key));
    this.#clock = options.clock ?? realClock;
    this.#onEvent = options.onEvent;
    this.#model = new LbModel({ clock: this.#clock });
    this.#scheduleGc();
    this.#track(this.#acceptLoop());
  }

  get model(): LbModel {
    return this.#model;
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  get restarts(): number {
    return this.#restarts;
  }

  #emit(kind: string, attrs: Record<string, string | number | boolean> = {}): void {
    try {
      this.#onEvent?.({ kind, attrs });
    } catch {
      // An observer's failure must not take the double down.
    }
  }

  #track(p: Promise<void>): void {
    this.#tasks.add(p);
    p.finally(() => this.#tasks.delete(p));
  }

  #scheduleGc(): void {
    if (this.#gcTimer !== undefined) this.#clock.clearTimeout(this.#gcTimer);
    this.#gcTimer = this.#clock.setTimeout(() => {
      this.#gcTimer = undefined;
      if (this.#closed) return;
      this.#model.collectGarbage();
      this.#scheduleGc();
    }, LB_GC_PERIOD_MS);
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      const regIndex = this.#regFree.pop() ?? this.#regNext++;
      const sc = new SimConn(conn, regIndex);
      this.#conns.add(sc);
      this.#regs.set(regIndex, sc);
      this.#emit("connect", { client_index: (REGISTRATION_HANDLE_BIT | regIndex) >>> 0 });
      this.#track(this.#readLoop(sc));
    }
  }

  async #readLoop(sc: SimConn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await sc.conn.read(buf);
        if (n === null) break;
        let bodies: Uint8Array[];
        try {
          bodies = sc.reader.push(buf.subarray(0, n));
        } catch {
          break; // a length no VPP would buffer: the stream is lost
        }
        for (const body of bodies) {
          if (sc.closed) break;
          this.#handle(sc, body);
        }
        if (sc.closed) break;
      }
    } catch {
      // reset by the peer or closed by us
    }
    this.#closeConn(sc, "eof");
  }

  #closeConn(sc: SimConn, reason: string): void {
    if (sc.closed) return;
    sc.closed = true;
    this.#conns.delete(sc);
    if (this.#regs.get(sc.regIndex) === sc) {
      this.#regs.delete(sc.regIndex);
      this.#regFree.push(sc.regIndex);
    }
    for (const [ctx, w] of this.#keepaliveWaiters) {
      w.left.delete(sc);
      if (w.left.size === 0) {
        this.#keepaliveWaiters.delete(ctx);
        w.done();
      }
    }
    try {
      sc.conn.close();
    } catch {
      // already closed
    }
    this.#emit("disconnect", {
      client_index: (REGISTRATION_HANDLE_BIT | sc.regIndex) >>> 0,
      reason,
    });
  }

  #send(sc: SimConn, name: string, fields: Record<string, unknown>): void {
    const id = this.messageTable.get(messageByName(name)!.key)!;
    const frame = frameMessage(encodeMessage({ name: name, id: id }, fields));
    this.#sendFrame(sc, frame);
  }

  #sendFrame(sc: SimConn, frame: Uint8Array): void {
    if (sc.closed) return;
    if (this.#stalled) {
      sc.held.push(frame);
      return;
    }
    sc.out.push(frame);
    this.#pump(sc);
  }

  #pump(sc: SimConn): void {
    if (sc.writing) return;
    const run = async () => {
      while (sc.out.length > 0 && !sc.closed) {
        const chunk = concat(sc.out.splice(0));
        try {
          let done = 0;
          while (done < chunk.length) done += await sc.conn.write(chunk.subarray(done));
        } catch {
          this.#closeConn(sc, "write failed");
          break;
        }
      }
      sc.writing = null;
      if (sc.closeAfterFlush && sc.out.length === 0) this.#closeConn(sc, "sockclnt_delete");
    };
    sc.writing = run();
    this.#track(sc.writing);
  }

  #handle(sc: SimConn, body: Uint8Array): void {
    if (body.length < 2) return;
    const name = this.#idToName.get(messageIdOf(body));
    // Unknown ids, replies and messages the codec does not declare: VPP has no
    // handler for them on this path, so nothing is answered.
    if (
      name === undefined || !messageByName(name) ||
      (!REPLY_OF[name] && name !== "memclnt_keepalive_reply")
    ) {
      this.#emit("ignored", { id: messageIdOf(body), name: name ?? "?" });
      return;
    }
    const msg = decodeRequest(name, body);
    if (msg === null) {
      this.#emit("ignored", { name, reason: "truncated" });
      return;
    }
    if (name === "sockclnt_create") {
      this.#send(sc, "sockclnt_create_reply", {
        client_index: 0,
        context: msg.context,
        response: 0,
        index: (REGISTRATION_HANDLE_BIT | sc.regIndex) >>> 0,
        count: this.messageTable.size,
        message_table: [...this.messageTable].map(([key, id]) => ({ index: id, name: key })),
      });
      this.#emit("register", {
        client_index: (REGISTRATION_HANDLE_BIT | sc.regIndex) >>> 0,
        name: String(msg.name),
      });
      return;
    }
    if (name === "memclnt_keepalive_reply") {
      const w = this.#keepaliveWaiters.get(msg.context as number);
      if (w) {
        w.left.delete(sc);
        if (w.left.size === 0) {
          this.#keepaliveWaiters.delete(msg.context as number);
          w.done();
        }
      }
      return;
    }
    // Every handler finds the reply's destination from client_index and
    // drops the request when it names no client.
    const ci = msg.client_index as number;
    const target = (ci & REGISTRATION_HANDLE_BIT)
      ? this.#regs.get((ci & ~REGISTRATION_HANDLE_BIT) >>> 0)
      : undefined;
    if (!target) {
      this.#emit("ignored", { name, reason: `client_index ${ci} names no client` });
      return;
    }
    this.#emit("request", { name, client_index: ci });
    const context = msg.context as number;
    if (this.#handleControl(target, name, msg)) return;
    this.#handleLb(target, name, msg, context);
  }

  /** Answers the memclnt/vpe requests the double serves; false for any other message. */
  #handleControl(target: SimConn, name: string, msg: Record<string, unknown>): boolean {
    const ci = msg.client_index as number;
    const context = msg.context as number;
    switch (name) {
      case "sockclnt_delete": {
        const reg = this.#regs.get(((msg.index as number) & ~REGISTRATION_HANDLE_BIT) >>> 0);
        this.#send(target, "sockclnt_delete_reply", { context, response: reg ? 1 : -1 });
        if (reg) {
          target.closeAfterFlush = true;
          if (!target.writing && !this.#stalled) this.#closeConn(target, "sockclnt_delete");
        }
        return true;
      }
      case "control_ping":
        this.#send(target, "control_ping_reply", {
          context,
          retval: 0,
          client_index: ci,
          vpe_pid: Deno.pid,
        });
        return true;
      case "memclnt_keepalive":
        // VPP answers into its own shared-memory queue: a socket client sees nothing.
        return true;
      case "show_version":
        this.#send(target, "show_version_reply", {
          context,
          retval: 0,
          program: "vpe",
          version: SIM_VPP_VERSION,
          build_date: "vppsim",
          build_directory: "lab/vppsim",
        });
        return true;
      case "cli_inband":
        this.#send(target, "cli_inband_reply", {
          context,
          ...cliText(this.#model, String(msg.cmd)),
        });
        return true;
    }
    return false;
  }

  /** Answers an lb request from the model (a dump with one message per row). */
  #handleLb(target: SimConn, name: string, msg: Record<string, unknown>, context: number): void {
    if (!isLbRequest(name)) {
      this.#emit("ignored", { name, reason: "no handler in the double" });
      return;
    }
    let result;
    try {
      result = this.#model.apply(name, msg);
    } catch (e) {
      if (e instanceof VppCrashError) {
        this.#emit("crash", { name, reason: e.message });
        this.#restart("crash");
        return;
      }
      this.#emit("ignored", { name, reason: errorMessage(e) });
      return;
    }
    const replyName = REPLY_OF[name];
    if (Array.isArray(result)) {
      for (const row of result) this.#send(target, replyName, { ...row, context });
    } else {
      this.#send(target, replyName, { ...result, context });
    }
  }

  dropConnections(): void {
    for (const sc of [...this.#conns]) this.#closeConn(sc, "dropped");
  }

  stall(on: boolean): void {
    this.#stalled = on;
    if (on) return;
    for (const sc of this.#conns) {
      if (sc.held.length === 0) continue;
      sc.out.push(...sc.held.splice(0));
      this.#pump(sc);
    }
  }

  #restart(reason: string): void {
    this.dropConnections();
    this.#regs.clear();
    this.#regFree = [];
    this.#regNext = 1;
    this.#model = new LbModel({ clock: this.#clock });
    this.#restarts++;
    this.#scheduleGc();
    this.#emit("restart", { reason });
  }

  restart(): void {
    this.#restart("requested");
  }

  sendMalformed(): void {
    const frame = new Uint8Array(32);
    new DataView(frame.buffer).setUint32(8, 0xfffffff0);
    frame.fill(0xa5, 16);
    for (const sc of this.#conns) {
      sc.out.push(frame);
      this.#pump(sc);
    }
  }

  sendKeepalive(): Promise<void> {
    const targets = new Set([...this.#conns].filter((sc) => !sc.closed));
    if (targets.size === 0) return Promise.resolve();
    const context = this.#keepaliveContext++;
    return new Promise((resolve) => {
      this.#keepaliveWaiters.set(context, { left: targets, done: resolve });
      for (const sc of targets) this.#send(sc, "memclnt_keepalive", { client_index: 0, context });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#gcTimer !== undefined) this.#clock.clearTimeout(this.#gcTimer);
    this.#gcTimer = undefined;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    this.dropConnections();
    for (const w of this.#keepaliveWaiters.values()) w.done();
    this.#keepaliveWaiters.clear();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    try {
      await Deno.remove(this.socketPath);
    } catch {
      // already gone
    }
  }
}

/**
 * Starts the double listening on `options.socketPath`. Throws naming the
 * path when something other than a socket is there, and naming the value
 * when `pluginIdBase` would overlap the core messages or overflow a u16.
 */
export async function startVppSim(options: VppSimOptions): Promise<VppSim> {
  const { socketPath } = options;
  if (typeof socketPath !== "string" || socketPath === "") {
    throw new TypeError("startVppSim: socketPath must be a non-empty path");
  }
  const base = pluginIdBaseOf(options.pluginIdBase);
  try {
    const st = await Deno.lstat(socketPath);
    if (!st.isSocket) {
      throw new Error(`startVppSim: ${socketPath} exists and is not a socket; not replacing it`);
    }
    await Deno.remove(socketPath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  return new VppSimServer(listener, options, base);
}
