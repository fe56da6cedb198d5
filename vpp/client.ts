/**
 * The VPP binary-API client over VPP's unix socket: the memclnt handshake,
 * the message table, pipelined requests matched by context, dumps ended by
 * `control_ping_reply`, per-request timeouts, and a compatibility check.
 * Self-contained: no logging or metrics, only an observer hook.
 * @module
 */

import type {
  CallName,
  DumpName,
  VppApi,
  VppBatchOptions,
  VppConnectOptions,
  VppObserverEvent,
  VppRequestOptions,
  VppRequestQueue,
} from "./api.ts";
import { RequestBatch } from "./batch.ts";
import { DEFAULT_REQUIRED, messagesOf, requiredKeys } from "./compat.ts";
import {
  contextOf,
  decodeBody,
  decodeMessage,
  encodeFrameInto,
  encodeMessage,
  isStatusLayout,
  messageIdOf,
  type RequestFrame,
  STATUS_BODY_LENGTH,
  statusContext,
  statusRetval,
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
import { PendingTable, RUNTIME_TIMERS } from "./pending.ts";

export type { VppTimers } from "./pending.ts";
export { DEFAULT_REQUIRED } from "./compat.ts";
export type * from "./api.ts";

/** `sockclnt_create` has a fixed id: memclnt registers its messages first (vpp-api.md 2). */
export const SOCKCLNT_CREATE_ID = 15;

/** Default per-request (and handshake) timeout. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** How a request name is sent on this connection (looked up once). */
interface Route {
  readonly def: MessageDef;
  readonly id: number;
  readonly replyName: string;
  readonly dump: boolean;
  /** Whether `new_flows_table_length` must be checked (VIP adds). */
  readonly guardFlowTable: boolean;
}

/** A message VPP may send us, by its id on this connection. */
interface Incoming {
  readonly def: MessageDef;
  /** Only context and retval (`isStatusLayout`): settled without a decode. */
  readonly status: boolean;
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
  #incoming = new Map<number, Incoming>();
  #routes = new Map<string, Route>();
  /** Frames waiting for the next write, and the buffer the write in flight uses. */
  #out = new Writer(64 * 1024);
  #spare = new Writer(64 * 1024);
  /** Names of the frames in `#out`, kept only for an observer. */
  #outNames: string[] = [];
  /** The request being framed, stamped with `client_index` and the last request's `context`. */
  #frame: RequestFrame = { clientIndex: 0, context: 0, def: PING, msgId: 0, fields: NO_FIELDS };
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
      options.timers ?? RUNTIME_TIMERS,
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
    const required = requiredKeys(options.required ?? DEFAULT_REQUIRED);
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
    const fields = { context, name: clientName };
    const body = encodeMessage({ name: "sockclnt_create", id: SOCKCLNT_CREATE_ID }, fields);
    // The reply's id is not known before the table arrives: the first message
    // on a fresh connection is the answer to sockclnt_create.
    const replyBody = await new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.add(context, {
        name: "sockclnt_create",
        replyName: "sockclnt_create_reply",
        details: null,
        checkRetval: false,
        wantsReply: true,
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
    this.#frame.clientIndex = this.#clientIndex;
    for (const e of reply.message_table as { index: number; name: string }[]) {
      this.#messageTable.set(e.name, e.index);
    }
    for (const def of MESSAGES) {
      const id = this.#messageTable.get(def.key);
      if (id === undefined) continue;
      this.#nameToId.set(def.name, id);
      this.#incoming.set(id, { def, status: isStatusLayout(def) });
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

  #call(
    name: string,
    fields: Record<string, unknown>,
    options: VppRequestOptions | undefined,
    dump: boolean,
    checkRetval: boolean,
  ): Promise<unknown> {
    const route = this.#encode(name, fields, dump);
    if (route instanceof Error) return Promise.reject(route);
    const context = this.#frame.context;
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      this.#pending.add(context, {
        name,
        replyName: route.replyName,
        details: dump ? [] : null,
        checkRetval,
        wantsReply: true,
        resolve,
        reject,
      }, timeoutMs);
    });
  }

  /**
   * Sends one request per item, pipelined with at most `options.window`
   * unanswered; `send` builds an item's request into the queue it is given.
   * Resolves, in item order, with each item's error (`VppRequestError`,
   * `VppApiError`, `VppTimeoutError`, `VppClosedError`, as `request` would
   * reject) or undefined; never rejects. A request costs no promise.
   */
  requestEach<T>(
    items: readonly T[],
    send: (q: VppRequestQueue, item: T) => void,
    options: VppBatchOptions,
  ): Promise<(Error | undefined)[]> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const batch = new RequestBatch(items, {
      send,
      window: options.window,
      enqueue: (name, fields, entry) => {
        const route = this.#encode(name, fields as Record<string, unknown>, false);
        if (route instanceof Error) return route;
        this.#pending.add(this.#frame.context, entry, timeoutMs);
        return undefined;
      },
    });
    batch.pump();
    return batch.done;
  }

  /**
   * Encodes request `name` (and a dump's ping) into the next write, under
   * the context left in `#stamp.context`, or returns why it is not sent.
   */
  #encode(name: string, fields: Record<string, unknown>, dump: boolean): Route | Error {
    let route = this.#routes.get(name);
    if (
      route === undefined || route.dump !== dump || route.guardFlowTable ||
      this.#closeError !== null || this.#closing !== null ||
      typeof fields !== "object" || fields === null || Array.isArray(fields)
    ) {
      const checked = this.#checked(name, fields, dump);
      if (checked instanceof Error) return checked;
      route = checked;
    }
    this.#frame.context = this.#pending.nextContext();
    try {
      const frame = this.#frame;
      frame.def = route.def;
      frame.msgId = route.id;
      frame.fields = fields;
      encodeFrameInto(this.#out, frame);
    } catch (e) {
      return e as Error;
    }
    this.#queued(name);
    if (dump) {
      const frame = this.#frame;
      frame.def = PING;
      frame.msgId = this.#nameToId.get("control_ping")!;
      frame.fields = NO_FIELDS;
      encodeFrameInto(this.#out, frame);
      this.#queued("control_ping");
    }
    return route;
  }

  /**
   * The checks a request rarely fails, in the order they apply: how `name`
   * is sent here (looked up once), or the error that says why it cannot be.
   */
  #checked(name: string, fields: Record<string, unknown>, dump: boolean): Route | Error {
    if (this.#closeError) return this.#closedErrorFor(name);
    if (this.#closing && name !== "sockclnt_delete") {
      return new VppClosedError(`cannot send ${name}: the client is closing`);
    }
    if (name.endsWith("_dump") !== dump) {
      return new VppRequestError(
        dump ? `${name} is not a dump: use request()` : `${name} is a dump: use dump()`,
      );
    }
    let route = this.#routes.get(name);
    if (!route) {
      const def = messageByName(name);
      const replyName = REPLY_OF[name];
      if (!def || !replyName) {
        return new VppRequestError(`${JSON.stringify(name)} is not a known request`);
      }
      const missing = messagesOf(name).filter((n) => !this.#nameToId.has(n));
      if (missing.length > 0) {
        return new VppIncompatibleError(missing.map((n) => messageByName(n)!.key));
      }
      const guardFlowTable = name.startsWith("lb_add_del_vip");
      route = { def, id: this.#nameToId.get(name)!, replyName, dump, guardFlowTable };
      this.#routes.set(name, route);
    }
    if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
      return new VppRequestError(`${name}: fields must be an object`);
    }
    if (route.guardFlowTable && fields.new_flows_table_length === 0) {
      // VPP takes 0 for a power of two and aborts (vpp-api.md 4): never send it.
      return new VppRequestError(
        `${name}: new_flows_table_length 0 would crash VPP; give a power of two (default 1024)`,
      );
    }
    return route;
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
    const dispatch = (b: Uint8Array, start: number, end: number) => this.#dispatch(b, start, end);
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

  /** One message from VPP, `buf[start..end)`; only valid during the call. */
  #dispatch(buf: Uint8Array, start: number, end: number): void {
    if (end - start < 2) return;
    const h = this.#handshake;
    if (h) {
      this.#handshake = null;
      return h(buf.slice(start, end));
    }
    const inc = this.#incoming.get(messageIdOf(buf, start));
    // Messages we do not declare (or VPP never registered) are not ours to answer.
    if (inc === undefined) return;
    const status = inc.status && end - start === STATUS_BODY_LENGTH;
    if (!status || !this.#settleStatus(inc.def.name, buf, start)) {
      this.#dispatchDecoded(inc.def, buf.subarray(start, end));
    }
  }

  /**
   * A status reply read at its offsets, settled as `#dispatchDecoded` would;
   * false, with nothing done, when a dump waits under its context.
   */
  #settleStatus(name: string, buf: Uint8Array, at: number): boolean {
    const ctx = statusContext(buf, at);
    const p = this.#pending.get(ctx);
    if (p !== undefined && p.details !== null) return false;
    const rv = statusRetval(buf, at);
    if (this.#observer) this.#observe(name, "recv", rv >= 0);
    if (p === undefined || name !== p.replyName) return true; // late answer, or not its reply
    this.#pending.take(ctx);
    if (rv < 0 && p.checkRetval) p.reject(new VppApiError(p.name, rv));
    else p.resolve(p.wantsReply ? { context: ctx, retval: rv } : undefined);
    return true;
  }

  #dispatchDecoded(def: MessageDef, body: Uint8Array): void {
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
    const body = encodeMessage({ name: "memclnt_keepalive_reply", id }, { context, retval: 0 });
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
