/**
 * What the socket engine sends to one backend for one check, built once per
 * backend object (a reload makes new objects, so a changed check or address
 * is built afresh).
 * @module
 */
import type { Backend, HealthCheck } from "../config/types.ts";
import { requestFor } from "./http.ts";
import { parseIpBytes, sockaddr } from "./libc.ts";

/**
 * What a probe of one backend sends: the request (http) then the sockaddr,
 * in one buffer so a backend costs one allocation.
 */
export interface Target {
  readonly hc: HealthCheck;
  readonly bytes: Uint8Array;
  readonly requestLen: number;
  readonly family: 4 | 6;
  /**
   * Whether the engine sends the request right after connect: true until
   * one such send finds the handshake still under way (a remote backend).
   */
  early: boolean;
}

/** The targets of one engine, by backend object. */
export class Targets {
  readonly #userAgent: string;
  readonly #targets = new WeakMap<Backend, Target>();
  readonly #sources = new Map<string, Uint8Array | undefined>();

  /** Targets whose http requests carry `userAgent`. */
  constructor(userAgent: string) {
    this.#userAgent = userAgent;
  }

  /** The target of `backend` under `hc`; undefined when its address is no IP literal. */
  of(hc: HealthCheck, backend: Backend): Target | undefined {
    const have = this.#targets.get(backend);
    if (have && have.hc === hc) return have;
    // Not cached by address: at 50,000 backends a second copy of each costs megabytes.
    const addr = parseIpBytes(backend.address);
    if (!addr) return undefined;
    const request = hc.type === "http"
      ? requestFor(hc, backend, { userAgent: this.#userAgent })
      : undefined;
    const sa = sockaddr(addr, hc.port);
    const requestLen = request?.length ?? 0;
    const bytes = new Uint8Array(requestLen + sa.length);
    if (request) bytes.set(request);
    bytes.set(sa, requestLen);
    const t: Target = { hc, bytes, requestLen, family: addr.length === 4 ? 4 : 6, early: true };
    this.#targets.set(backend, t);
    return t;
  }

  /** The address bytes of a probe source address (4 or 16), parsed once; undefined when no IP. */
  source(text: string): Uint8Array | undefined {
    if (this.#sources.has(text)) return this.#sources.get(text);
    const bytes = parseIpBytes(text);
    // Sources come from the config: a handful, unless configs churn for a long time.
    if (this.#sources.size > 200_000) this.#sources.clear();
    this.#sources.set(text, bytes);
    return bytes;
  }
}
