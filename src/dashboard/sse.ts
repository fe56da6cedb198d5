/**
 * Server-Sent Events for the page: numbered messages (`<epoch>-<seq>`), a
 * replay ring so a browser that reconnects with `Last-Event-ID` gets what it
 * missed, a `resync` message when it missed more than the ring holds (or
 * comes from an earlier run of the dashboard), and a `: ping` comment every
 * 15 s so proxies and the browser keep an idle stream open.
 * @module
 */
import { type Clock, realClock, type TimerId } from "../clock.ts";

/** Messages kept for replay. */
export const REPLAY_MAX_EVENTS = 2000;
/** How long a message stays replayable. */
export const REPLAY_MAX_AGE_MS = 30_000;
/** Bytes of messages kept for replay (whole daemon views of a large router add up). */
export const REPLAY_MAX_BYTES = 16 * 1024 * 1024;
/** Heartbeat period. */
export const HEARTBEAT_MS = 15_000;
/** What the browser waits before it reconnects (the `retry:` hint). */
export const RETRY_MS = 1_000;

/** Frames queued for one browser before it is cut off. */
export const MAX_QUEUED_FRAMES = 1000;

/** One message on the stream. */
export interface SseMessage {
  /** `<epoch>-<seq>`; omitted for messages outside the sequence. */
  readonly id?: string;
  /** The event name (`message` when omitted). */
  readonly event?: string;
  /** The payload; each line becomes a `data:` line. */
  readonly data: string;
}

/** Frames one message: `id:`, `event:`, one `data:` per line, a blank line. */
export function formatSse(msg: SseMessage): string {
  let out = "";
  if (msg.id !== undefined) out += `id: ${msg.id}\n`;
  if (msg.event !== undefined) out += `event: ${msg.event}\n`;
  for (const line of msg.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + "\n";
}

/** Parses `<epoch>-<seq>`; undefined for anything else. */
export function parseEventId(id: string): { epoch: string; seq: number } | undefined {
  const m = /^([0-9a-z]+)-(\d{1,15})$/.exec(id.trim());
  return m ? { epoch: m[1], seq: Number(m[2]) } : undefined;
}

interface Stored {
  readonly seq: number;
  readonly atMs: number;
  readonly bytes: Uint8Array;
}

interface Client {
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
}

/** Options of {@link SseHub}. */
export interface SseHubOptions {
  clock?: Clock;
  /** Identifies this run in event ids (default: the start time in base 36). */
  epoch?: string;
  maxEvents?: number;
  maxAgeMs?: number;
  maxBytes?: number;
  heartbeatMs?: number;
}

const encoder = new TextEncoder();

/** The event stream every browser subscribes to. */
export class SseHub {
  /** This run's epoch, the prefix of every event id. */
  readonly epoch: string;
  #clock: Clock;
  #seq = 0;
  #ring: Stored[] = [];
  #clients = new Set<Client>();
  #maxEvents: number;
  #maxAgeMs: number;
  #maxBytes: number;
  #ringBytes = 0;
  #heartbeatMs: number;
  #timer: TimerId | undefined;
  #onClients: ((clients: number) => void) | undefined;

  constructor(options: SseHubOptions = {}) {
    this.#clock = options.clock ?? realClock;
    this.epoch = options.epoch ?? this.#clock.now().toString(36);
    this.#maxEvents = options.maxEvents ?? REPLAY_MAX_EVENTS;
    this.#maxAgeMs = options.maxAgeMs ?? REPLAY_MAX_AGE_MS;
    this.#maxBytes = options.maxBytes ?? REPLAY_MAX_BYTES;
    this.#heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  }

  /** Browsers connected now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Calls `fn` with the number of browsers whenever it changes (one listener). */
  onClients(fn: (clients: number) => void): void {
    this.#onClients = fn;
  }

  #clientsChanged(): void {
    this.#onClients?.(this.#clients.size);
  }

  /** The id of the newest message (`<epoch>-0` before the first). */
  get lastId(): string {
    return `${this.epoch}-${this.#seq}`;
  }

  /** Numbers `event`, keeps it for replay and sends it to every browser. */
  publish(event: string, data: unknown): string {
    const seq = ++this.#seq;
    const id = `${this.epoch}-${seq}`;
    const frame = formatSse({ id, event, data: JSON.stringify(data) });
    const now = this.#clock.now();
    const bytes = encoder.encode(frame);
    this.#ring.push({ seq, atMs: now, bytes });
    this.#ringBytes += bytes.length;
    this.#prune(now);
    for (const c of this.#clients) this.#send(c, bytes);
    return id;
  }

  /**
   * A new stream for one browser: the retry hint, then either the messages
   * after `lastEventId` or, when those are gone (or the id is from another
   * run), a `resync` telling the page to refetch the state; live messages
   * follow.
   */
  subscribe(lastEventId?: string | null): ReadableStream<Uint8Array> {
    let client: Client | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = { controller };
        controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n\n`));
        for (const bytes of this.#catchUp(lastEventId)) controller.enqueue(bytes);
        this.#clients.add(client);
        this.#clientsChanged();
        this.#armHeartbeat();
      },
      cancel: () => {
        if (client && this.#clients.delete(client)) this.#clientsChanged();
      },
    });
  }

  /** Ends every stream (shutdown). */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const c of this.#clients) {
      try {
        c.controller.close();
      } catch { /* already closed */ }
    }
    this.#clients.clear();
    this.#clientsChanged();
  }

  #catchUp(lastEventId: string | null | undefined): Uint8Array[] {
    if (!lastEventId) return [];
    this.#prune(this.#clock.now());
    const parsed = parseEventId(lastEventId);
    const first = this.#ring[0]?.seq ?? this.#seq + 1;
    if (parsed && parsed.epoch === this.epoch && parsed.seq <= this.#seq) {
      if (parsed.seq >= first - 1) {
        return this.#ring.filter((s) => s.seq > parsed.seq).map((s) => s.bytes);
      }
    }
    const reason = !parsed || parsed.epoch !== this.epoch
      ? `event id ${JSON.stringify(lastEventId)} is not from this run of the dashboard`
      : parsed.seq > this.#seq
      ? `event id ${lastEventId} is ahead of the newest ${this.lastId}`
      : `event ${lastEventId} is no longer kept (oldest kept is ${this.epoch}-${first})`;
    const resync = formatSse({
      id: this.lastId,
      event: "resync",
      data: JSON.stringify({ reason }),
    });
    return [encoder.encode(resync)];
  }

  #prune(now: number): void {
    let drop = Math.max(0, this.#ring.length - this.#maxEvents);
    let bytes = this.#ringBytes;
    for (let i = 0; i < drop; i++) bytes -= this.#ring[i].bytes.length;
    while (
      drop < this.#ring.length &&
      (now - this.#ring[drop].atMs > this.#maxAgeMs || bytes > this.#maxBytes)
    ) {
      bytes -= this.#ring[drop].bytes.length;
      drop++;
    }
    if (drop > 0) this.#ring.splice(0, drop);
    this.#ringBytes = bytes;
  }

  #send(c: Client, bytes: Uint8Array): void {
    try {
      // A browser that stopped reading is cut off rather than buffered for
      // without bound; it reconnects and catches up by replay or resync.
      if ((c.controller.desiredSize ?? 0) < -MAX_QUEUED_FRAMES) {
        this.#clients.delete(c);
        this.#clientsChanged();
        c.controller.close();
        return;
      }
      c.controller.enqueue(bytes);
    } catch {
      if (this.#clients.delete(c)) this.#clientsChanged();
    }
  }

  // One timer for all browsers, running only while someone listens.
  #armHeartbeat(): void {
    if (this.#timer !== undefined || this.#clients.size === 0) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      const ping = encoder.encode(": ping\n\n");
      for (const c of this.#clients) this.#send(c, ping);
      this.#armHeartbeat();
    }, this.#heartbeatMs);
  }
}
