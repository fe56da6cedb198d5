/**
 * The typed API of a VPP session and the options of `VppClient`: what the
 * client offers and what a fake or wrapper of a session must offer.
 * @module
 */

import type { ReplyTypes, RequestTypes } from "./messages.ts";
import type { VppTimers } from "./pending.ts";

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

/** Options of `VppClient.requestEach`. */
export interface VppBatchOptions extends VppRequestOptions {
  /** Requests unanswered at most at once (each answer sends the next item). */
  window: number;
}

/** Where `requestEach`'s `send` puts the request an item stands for. */
export interface VppRequestQueue {
  /**
   * Queues request `name` for the item being sent (during `send` only); its
   * outcome is the item's.
   */
  request<N extends CallName>(name: N, fields: RequestTypes[N]): void;
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
  /**
   * Sends one request per item (built by `send`) pipelined, and resolves
   * with each item's error (as `request` rejects) or undefined. A session
   * that wraps a client passes it through (recording what `send` queues).
   */
  requestEach<T>(
    items: readonly T[],
    send: (q: VppRequestQueue, item: T) => void,
    options: VppBatchOptions,
  ): Promise<(Error | undefined)[]>;
}
