/**
 * The connection loop: connect, learn who VPP is, ping, notice a dead VPP,
 * reconnect; an incompatible VPP is reported once and retried slowly. This is
 * the one owner of "is VPP available, and if not, why".
 * @module
 */
import { type Clock, sleep } from "../clock.ts";
import { errorMessage, MaglevError } from "../errors.ts";
import { log } from "../log/mod.ts";
import { VppIncompatibleError } from "../../vpp/mod.ts";
import type { LbClient } from "./lb_state.ts";
import type { VppInfo } from "./types.ts";

/** A connected session as the manager needs it. */
export interface VppSession extends LbClient {
  close(): Promise<void>;
  readonly closed: Promise<unknown>;
}

/** The VPP an operator must run when messages are missing. */
export const NEEDED_VPP =
  "needs VPP with the lb weight API: FDio/vpp master since ca870e99f61 (26.10)";

/** Options of `VppConnection`. */
export interface ConnectionOptions {
  /** The socket path; "" disables VPP integration. */
  readonly apiAddr: string;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly open: () => Promise<VppSession>;
  readonly reconnectMs?: number;
  readonly pingMs?: number;
  readonly incompatibleRetryMs?: number;
  /** Runs once per connection, after `info` is known; a throw drops the session. */
  readonly onUp: (session: VppSession) => Promise<void>;
  /** Runs once per lost connection, before the reconnect wait. */
  readonly onDown: () => Promise<void>;
}

/** The connection and its state; see the module doc. */
export class VppConnection {
  readonly #o: ConnectionOptions;
  #session: VppSession | undefined;
  #info: VppInfo | undefined;
  #incompatible: string[] = [];

  constructor(options: ConnectionOptions) {
    this.#o = options;
  }

  /** False when `--vpp-api-addr ""` disabled VPP integration. */
  enabled(): boolean {
    return this.#o.apiAddr !== "";
  }

  /** Connected and identified. */
  connected(): boolean {
    return this.#session !== undefined && this.#info !== undefined;
  }

  /** The missing `name_crc`s of an incompatible VPP, empty otherwise. */
  incompatible(): readonly string[] {
    return this.#incompatible;
  }

  /** The session, or `MaglevError("UNAVAILABLE")` saying why there is none. */
  session(): VppSession {
    if (!this.enabled()) throw new MaglevError("UNAVAILABLE", "VPP integration is disabled");
    if (!this.#session || !this.#info) {
      const why = this.#incompatible.length
        ? `VPP is incompatible: missing ${this.#incompatible.join(", ")} (${NEEDED_VPP})`
        : "VPP is not connected";
      throw new MaglevError("UNAVAILABLE", why);
    }
    return this.#session;
  }

  /** Facts about the connected VPP; UNAVAILABLE like `session()`. */
  info(): VppInfo {
    this.session();
    return this.#info!;
  }

  /** Closes the current session (shutdown). */
  async close(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s) await s.close().catch(() => {});
  }

  /** Connects, monitors and reconnects until the signal aborts. */
  async run(): Promise<void> {
    const { signal, clock } = this.#o;
    while (!signal.aborted) {
      let session: VppSession;
      try {
        session = await this.#o.open();
      } catch (e) {
        if (signal.aborted) return;
        await sleep(clock, this.#failed(e), { signal }).catch(() => {});
        continue;
      }
      this.#incompatible = [];
      try {
        await this.#identify(session);
        await this.#o.onUp(session);
        await this.#monitor(session);
      } catch (e) {
        if (!signal.aborted) log.debug("vpp-session-error", { err: errorMessage(e) });
      }
      this.#session = undefined;
      this.#info = undefined;
      await session.close().catch(() => {});
      await this.#o.onDown();
      if (signal.aborted) return;
      log.warn("vpp-disconnect", { msg: "connection lost, reconnecting" });
      await sleep(clock, this.#o.reconnectMs ?? 5000, { signal }).catch(() => {});
    }
  }

  /** Logs a failed connect; returns how long to wait before the next. */
  #failed(e: unknown): number {
    if (!(e instanceof VppIncompatibleError)) {
      log.debug("vpp-connect-failed", { err: errorMessage(e) });
      return this.#o.reconnectMs ?? 5000;
    }
    const missing = [...e.missing];
    if (missing.join() !== this.#incompatible.join()) {
      log.error("vpp-incompatible", { missing: missing.join(", "), need: NEEDED_VPP });
    }
    this.#incompatible = missing;
    return this.#o.incompatibleRetryMs ?? 60_000;
  }

  async #identify(session: VppSession): Promise<void> {
    const [version, ping] = await Promise.all([
      session.request("show_version", {}),
      session.request("control_ping", {}),
    ]);
    this.#session = session;
    this.#info = {
      version: version.version,
      buildDate: version.build_date,
      buildDirectory: version.build_directory,
      pid: ping.vpe_pid,
      bootTimeMs: 0,
      connectedAtMs: this.#o.clock.now(),
    };
    log.info("vpp-connect", {
      version: this.#info.version,
      "build-date": this.#info.buildDate,
      pid: this.#info.pid,
      api: this.#o.apiAddr,
    });
  }

  async #monitor(session: VppSession): Promise<void> {
    const { signal, clock } = this.#o;
    let closed = false;
    session.closed.then(() => closed = true, () => closed = true);
    while (!signal.aborted && !closed) {
      const ended = await Promise.race([
        sleep(clock, this.#o.pingMs ?? 10_000, { signal }).then(() => false, () => true),
        session.closed.then(() => true, () => true),
      ]);
      if (ended || closed || signal.aborted) return;
      try {
        await session.request("control_ping", {});
      } catch (e) {
        log.debug("vpp-ping-failed", { err: errorMessage(e) });
        return;
      }
    }
  }
}
