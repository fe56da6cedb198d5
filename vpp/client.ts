/**
 * The VPP binary-API client over VPP's unix socket: the memclnt handshake,
 * the message table, pipelined requests matched by context, dumps ended by
 * `control_ping_reply`, per-request timeouts, and a compatibility check.
 * Self-contained: no logging or metrics, only an observer hook.
 * @module
 */

import {
  contextOf,
  decodeBody,
  decodeMessage,
  encodeFrameInto,
  encodeMessage,
  messageIdOf,
  Writer,
} from "./codec.ts";
import {
  errorMessage,
  VppApiError,
  VppClosedError,
  VppDecodeError,
  VppIncompatibleError,
  VppRequestError,
  VppTimeoutError,
} from "./errors.ts";
import { frameMessage, FrameReader } from "./framing.ts";
import {
  messageByName,
  type MessageDef,
  MESSAGES,
  REPLY_OF,
  type ReplyTypes,
  type RequestTypes,
} from "./messages.ts";
import { PendingTable, type VppTimers } from "./pending.ts";

export type { VppTimers } from "./pending.ts";

/** `sockclnt_create` has a fixed id: memclnt registers its messages first (vpp-api.md 2). */
export const SOCKCLNT_CREATE_ID = 15;

/** Default per-request (and handshake) timeout. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The requests maglev sends; connect checks them (and their replies) by default. */
export const DEFAULT_REQUIRED: readonly string[] = [
  "sockclnt_delete",
  "control_ping",
  "show_version",
  "cli_inband",
  "lb_conf",
  "lb_conf_get",
  "lb_add_del_vip_v2",
  "lb_add_del_as_v2",
  "lb_as_set_weight",
  "lb_flush_vip",
  "lb_vip_dump",
  "lb_as_v2_dump",
];

/** One message sent or received, for counting and debug logging. */
export interface VppObserverEvent {
  /** Message name, e.g. `lb_as_set_weight` or `lb_vip_details`. */
  msg: string;
  /** Which way it went. */
  direction: "send" | "recv";
  /** Sent: the write succeeded. Received: decoded, and retval (if any) >= 0. */
  ok: boolean;
}

/** Options of `VppClient.connect`. */
export interface VppConnectOptions {
  /** Name shown in VPP's `show api clients`; default `vpp-maglev`. */
  clientName?: string;
  /** Handshake and default per-request timeout; default 5000 ms. */
  timeoutMs?: number;
  /** Called for every message sent or received; exceptions are swallowed. */
  observer?: (ev: VppObserverEvent) => void;
  /** Request names that must be in VPP's table with our CRC (their replies too). */
  required?: readonly string[];
  /** Aborting cancels the connect, or closes the client once connected. */
  signal?: AbortSignal;
  /** Timers; default the runtime's. */
  timers?: VppTimers;
  /** Largest frame body accepted from VPP. */
  maxBodyLength?: number;
}

/** Options of one request. */
export interface VppRequestOptions {
  /** Overrides the connection's default timeout. */
  timeoutMs?: number;
}

/** Requests answered by a list of details (ended by `control_ping_reply`). */
export type DumpName = keyof RequestTypes & `${string}_dump`;

/** Requests answered by one reply. */
export type CallName = Exclude<keyof RequestTypes, DumpName>;

/**
 * The typed API of a VPP session, from the generated request and reply
 * types: what `VppClient` offers and what a fake of it must offer.
 */
export interface VppApi {
  /** Sends `name`; a negative retval rejects with `VppApiError`. */
  request<N extends CallName>(
    name: N,
    fields: RequestTypes[N],
    options?: VppRequestOptions,
  ): Promise<ReplyTypes[N]>;
  /** Sends dump `name` and resolves with its details. */
  dump<N extends DumpName>(
    name: N,
    fields: RequestTypes[N],
    options?: VppRequestOptions,
  ): Promise<ReplyTypes[N]>;
}

const runtimeTimers: VppTimers = {
  // Deno returns the timer id; the Node typings in scope call it a Timeout.
  setTimeout: (fn, ms) => Number(setTimeout(fn, ms)),
  clearTimeout: (id) => clearTimeout(id),
};

/** How a request name is sent on this connection (looked up once). */
interface Route {
  readonly def: MessageDef;
  readonly id: number;
  readonly replyName: string;
}

const NO_FIELDS: Record<string, unknown> = Object.freeze({});
const PING = messageByName("control_ping")!;

/** A connected, registered session with VPP. Build it with `VppClient.connect`. */
export class VppClient implements VppApi {
  #conn: Deno.Conn;
  #observer: ((ev: VppObserverEvent) => void) | undefined;
  #timeoutMs: number;
  #reader: FrameReader;
  #pending: PendingTable;
  #nameToId = new Map<string, number>();
  #idToDef = new Map<number, MessageDef>();
  #routes = new Map<string, Route>();
  /** Frames waiting for the next write, and the buffer the write in flight uses. */
  #out = new Writer(64 * 1024);
  #spare = new Writer(64 * 1024);
  /** Names of the frames in `#out`, kept only for an observer. */
  #outNames: string[] = [];
  /** `client_index` and `context` stamped into the frame being encoded. */
  #stamp = { clientIndex: 0, context: 0 };
  #flushing = false;
  #closeError: Error | null = null;
  #closing: Promise<void> | null = null;
  #readDone: Promise<void>;
  #resolveClosed!: (e: Error) => void;
  #handshake: ((body: Uint8Array) => void) | null = null;
  #clientIndex = 0;
  #messageTable = new Map<string, number>();

  /** Resolves with the reason once the connection has ended (never rejects). */
  readonly closed: Promise<Error>;

  private constructor(conn: Deno.Conn, options: VppConnectOptions) {
    this.#conn = conn;
    this.#observer = options.observer;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#pending = new PendingTable(
      options.timers ?? runtimeTimers,
      (p, ms) => new VppTimeoutError(p.name, ms),
    );
    this.#reader = new FrameReader({ maxBodyLength: options.maxBodyLength });
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#readDone = this.#readLoop();
  }

  /**
   * Connects to VPP's API socket at `socketPath`, registers as a socket
   * client, reads the message table and checks compatibility. Throws
   * `VppIncompatibleError` (after closing) when a required message is
   * missing, `VppTimeoutError`/`VppClosedError` when VPP does not answer.
   */
  static async connect(socketPath: string, options: VppConnectOptions = {}): Promise<VppClient> {
    const { signal } = options;
    signal?.throwIfAborted();
    const required = expandRequired(options.required ?? DEFAULT_REQUIRED);
    const conn = await Deno.connect({ transport: "unix", path: socketPath });
    const client = new VppClient(conn, options);
    const onAbort = () =>
      client.#shutdown(new VppClosedError("connect aborted", { cause: signal?.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await client.#register(options.clientName ?? "vpp-maglev");
      signal?.throwIfAborted();
    } catch (e) {
      signal?.removeEventListener("abort", onAbort);
      client.#shutdown(e instanceof Error ? e : new Error(String(e)));
      await client.#readDone;
      throw signal?.aborted ? signal.reason : e;
    }
    signal?.removeEventListener("abort", onAbort);
    const missing = required.filter((key) => !client.#messageTable.has(key));
    if (missing.length > 0) {
      await client.close();
      throw new VppIncompatibleError(missing);
    }
    if (signal) {
      const closeOnAbort = () => void client.close();
      signal.addEventListener("abort", closeOnAbort, { once: true });
      client.closed.then(() => signal.removeEventListener("abort", closeOnAbort));
    }
    return client;
  }

  /** The client index VPP assigned (put in every request's `client_index`). */
  get clientIndex(): number {
    return this.#clientIndex;
  }

  /** VPP's message table: `name_crc` -> message id. */
  get messageTable(): Map<string, number> {
    return this.#messageTable;
  }

  /** Whether the connection has ended. */
  get isClosed(): boolean {
    return this.#closeError !== null;
  }

  async #register(clientName: string): Promise<void> {
    const context = this.#pending.nextContext();
    const body = encodeMessage("sockclnt_create", SOCKCLNT_CREATE_ID, {
      context,
      name: clientName,
    });
    // The reply's id is not known before the table arrives: the first message
    // on a fresh connection is the answer to sockclnt_create.
    const replyBody = await new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.add(context, {
        name: "sockclnt_create",
        replyName: "sockclnt_create_reply",
        details: null,
        checkRetval: false,
        resolve: () => {},
        reject,
      }, this.#timeoutMs);
      this.#handshake = (b) => {
        this.#pending.take(context);
        resolve(b);
      };
      this.#out.bytes(frameMessage(body));
      this.#queued("sockclnt_create");
    });
    this.#handshake = null;
    const reply = decodeMessage("sockclnt_create_reply", replyBody);
    this.#observe("sockclnt_create_reply", "recv", reply.response === 0);
    if (reply.context !== context) {
      throw new VppDecodeError(
        `sockclnt_create_reply has context ${reply.context}, expected ${context}`,
      );
    }
    if ((reply.response as number) < 0) {
      throw new VppApiError("sockclnt_create", reply.response as number);
    }
    this.#clientIndex = reply.index as number;
    this.#stamp.clientIndex = this.#clientIndex;
    for (const e of reply.message_table as { index: number; name: string }[]) {
      this.#messageTable.set(e.name, e.index);
    }
    for (const def of MESSAGES) {
      const id = this.#messageTable.get(def.key);
      if (id === undefined) continue;
      this.#nameToId.set(def.name, id);
      this.#idToDef.set(id, def);
    }
  }

  /**
   * Sends request `name` and resolves with its decoded reply, whatever the
   * retval. Rejects with `VppRequestError` (nothing sent) on bad fields,
   * `VppTimeoutError`, or `VppClosedError`.
   */
  requestRaw<N extends CallName>(
    name: N,
    fields?: RequestTypes[N],
    options?: VppRequestOptions,
  ): Promise<ReplyTypes[N]>;
  /** Untyped form for any declared request. */
  requestRaw(
    name: string,
    fields?: Record<string, unknown>,
    options?: VppRequestOptions,
  ): Promise<Record<string, unknown>>;
  requestRaw(name: string, fields: object = NO_FIELDS, options?: VppRequestOptions): unknown {
    return this.#call(name, fields as Record<string, unknown>, options, false, false);
  }

  /**
   * Sends request `name` and resolves with its decoded reply; a negative
   * retval rejects with `VppApiError` (VNET error name and number).
   */
  request<N extends CallName>(
    name: N,
    fields?: RequestTypes[N],
    options?: VppRequestOptions,
  ): Promise<ReplyTypes[N]>;
  /** Untyped form for any declared request. */
  request(
    name: string,
    fields?: Record<string, unknown>,
    options?: VppRequestOptions,
  ): Promise<Record<string, unknown>>;
  request(name: string, fields: object = NO_FIELDS, options?: VppRequestOptions): unknown {
    return this.#call(name, fields as Record<string, unknown>, options, false, true);
  }

  /**
   * Sends dump `name` followed by `control_ping` with the same context and
   * resolves with every details message received before `control_ping_reply`.
   */
  dump<N extends DumpName>(
    name: N,
    fields?: RequestTypes[N],
    options?: VppRequestOptions,
  ): Promise<ReplyTypes[N]>;
  /** Untyped form for any declared dump. */
  dump(
    name: string,
    fields?: Record<string, unknown>,
    options?: VppRequestOptions,
  ): Promise<Record<string, unknown>[]>;
  dump(name: string, fields: object = NO_FIELDS, options?: VppRequestOptions): unknown {
    return this.#call(name, fields as Record<string, unknown>, options, true, false);
  }

  /** How `name` is sent here, or the error that says why it cannot be. */
  #route(name: string, dump: boolean): Route | Error {
    if (name.endsWith("_dump") !== dump) {
      return new VppRequestError(
        dump ? `${name} is not a dump: use request()` : `${name} is a dump: use dump()`,
      );
    }
    const known = this.#routes.get(name);
    if (known) return known;
    const def = messageByName(name);
    const replyName = REPLY_OF[name];
    if (!def || !replyName) {
      return new VppRequestError(`${JSON.stringify(name)} is not a known request`);
    }
    const id = this.#nameToId.get(name);
    const needed = dump
      ? [name, replyName, "control_ping", "control_ping_reply"]
      : [name, replyName];
    const missing = needed.filter((n) => !this.#nameToId.has(n)).map((n) => messageByName(n)!.key);
    if (id === undefined || missing.length > 0) return new VppIncompatibleError(missing);
    const route = { def, id, replyName };
    this.#routes.set(name, route);
    return route;
  }

  #call(
    name: string,
    fields: Record<string, unknown>,
    options: VppRequestOptions | undefined,
    dump: boolean,
    checkRetval: boolean,
  ): Promise<unknown> {
    if (this.#closeError) return Promise.reject(this.#closedErrorFor(name));
    if (this.#closing && name !== "sockclnt_delete") {
      return Promise.reject(new VppClosedError(`cannot send ${name}: the client is closing`));
    }
    const route = this.#route(name, dump);
    if (route instanceof Error) return Promise.reject(route);
    if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
      return Promise.reject(new VppRequestError(`${name}: fields must be an object`));
    }
    if (fields.new_flows_table_length === 0 && name.startsWith("lb_add_del_vip")) {
      // VPP takes 0 for a power of two and aborts (vpp-api.md 4): never send it.
      return Promise.reject(
        new VppRequestError(
          `${name}: new_flows_table_length 0 would crash VPP; give a power of two (default 1024)`,
        ),
      );
    }
    const context = this.#pending.nextContext();
    this.#stamp.context = context;
    try {
      encodeFrameInto(this.#out, route.def, route.id, fields, this.#stamp);
    } catch (e) {
      return Promise.reject(e);
    }
    if (dump) {
      encodeFrameInto(this.#out, PING, this.#nameToId.get("control_ping")!, NO_FIELDS, this.#stamp);
    }
    this.#queued(name);
    if (dump) this.#queued("control_ping");
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      this.#pending.add(context, {
        name,
        replyName: route.replyName,
        details: dump ? [] : null,
        checkRetval,
        resolve,
        reject,
      }, timeoutMs);
    });
  }

  /** A frame was added to `#out`: schedule the write (once per burst). */
  #queued(name: string): void {
    if (this.#observer) this.#outNames.push(name);
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    while (this.#out.pos > 0 && !this.#closeError) {
      // Swap buffers: new requests go into the other while this one is written.
      const w = this.#out;
      this.#out = this.#spare;
      this.#spare = w;
      this.#pending.seal();
      const names = this.#outNames;
      this.#outNames = [];
      try {
        for (let off = 0; off < w.pos;) off += await this.#conn.write(w.buf.subarray(off, w.pos));
        for (const n of names) this.#observe(n, "send", true);
      } catch (e) {
        for (const n of names) this.#observe(n, "send", false);
        this.#shutdown(
          new VppClosedError(`writing to VPP failed: ${errorMessage(e)}`, { cause: e }),
        );
      }
      w.pos = 0;
    }
    this.#out.pos = 0;
    this.#outNames = [];
    this.#flushing = false;
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(256 * 1024);
    const dispatch = (body: Uint8Array) => this.#dispatch(body);
    let reason: Error;
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          reason = new VppClosedError("VPP closed the connection");
          break;
        }
        this.#reader.each(buf.subarray(0, n), dispatch);
      }
    } catch (e) {
      reason = this.#closeError ??
        (e instanceof VppDecodeError
          ? new VppClosedError(`VPP sent a bad frame: ${e.message}`, { cause: e })
          : new VppClosedError(`VPP connection failed: ${errorMessage(e)}`, { cause: e }));
    }
    this.#shutdown(reason);
  }

  /** One message from VPP; `body` is only valid during the call. */
  #dispatch(body: Uint8Array): void {
    if (body.length < 2) return;
    if (this.#handshake) {
      const h = this.#handshake;
      this.#handshake = null;
      h(body.slice());
      return;
    }
    const def = this.#idToDef.get(messageIdOf(body));
    // Messages we do not declare (or VPP never registered) are not ours to answer.
    if (def === undefined) return;
    const name = def.name;
    let msg: Record<string, unknown>;
    try {
      msg = decodeBody(def, body);
    } catch (e) {
      this.#observe(name, "recv", false);
      const ctx = contextOf(name, body);
      const p = ctx === undefined ? undefined : this.#pending.take(ctx);
      p?.reject(e as Error);
      return;
    }
    const rv = typeof msg.retval === "number" ? msg.retval : msg.response;
    const failed = typeof rv === "number" && rv < 0;
    if (this.#observer) this.#observe(name, "recv", !failed);
    if (name === "memclnt_keepalive") {
      this.#answerKeepalive(msg.context as number);
      return;
    }
    const ctx = msg.context as number;
    const p = this.#pending.get(ctx);
    if (!p) return; // late answer to a request that timed out
    if (p.details) {
      if (name === p.replyName) p.details.push(msg);
      else if (name === "control_ping_reply") this.#pending.take(ctx)!.resolve(p.details);
    } else if (name === p.replyName) {
      this.#pending.take(ctx);
      if (failed && p.checkRetval) p.reject(new VppApiError(p.name, rv as number));
      else p.resolve(msg);
    }
  }

  #answerKeepalive(context: number): void {
    const id = this.#nameToId.get("memclnt_keepalive_reply");
    if (id === undefined || this.#closeError) return;
    const body = encodeMessage("memclnt_keepalive_reply", id, { context, retval: 0 });
    this.#out.bytes(frameMessage(body));
    this.#queued("memclnt_keepalive_reply");
  }

  #observe(msg: string, direction: "send" | "recv", ok: boolean): void {
    if (!this.#observer) return;
    try {
      this.#observer({ msg, direction, ok });
    } catch {
      // An observer's failure must not break the session.
    }
  }

  #closedErrorFor(name: string): Error {
    return new VppClosedError(`cannot send ${name}: ${this.#closeError!.message}`, {
      cause: this.#closeError,
    });
  }

  #shutdown(reason: Error): void {
    if (this.#closeError) return;
    this.#closeError = reason;
    this.#handshake = null;
    for (const p of this.#pending.drain()) {
      p.reject(
        reason instanceof VppClosedError
          ? new VppClosedError(`${p.name} failed: ${reason.message}`, { cause: reason })
          : reason,
      );
    }
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    this.#resolveClosed(reason);
  }

  /**
   * Unregisters (`sockclnt_delete`, best effort, short timeout) and closes the
   * socket. Pending requests fail with `VppClosedError`. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = (async () => {
      if (!this.#closeError && this.#nameToId.has("sockclnt_delete")) {
        try {
          await this.requestRaw("sockclnt_delete", { index: this.#clientIndex }, {
            timeoutMs: Math.min(1000, this.#timeoutMs),
          });
        } catch {
          // Best effort: VPP drops the registration with the socket anyway.
        }
      }
      this.#shutdown(new VppClosedError("connection closed by the client"));
      await this.#readDone;
    })();
    return this.#closing;
  }
}

function expandRequired(names: readonly string[]): string[] {
  const keys: string[] = [];
  const add = (n: string) => {
    const def = messageByName(n);
    if (!def) throw new VppRequestError(`required message ${JSON.stringify(n)} is not declared`);
    if (!keys.includes(def.key)) keys.push(def.key);
  };
  for (const n of names) {
    add(n);
    if (REPLY_OF[n]) add(REPLY_OF[n]);
    if (n.endsWith("_dump")) {
      add("control_ping");
      add("control_ping_reply");
    }
  }
  return keys;
}
