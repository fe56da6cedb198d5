/**
 * What the rest of the daemon (gRPC, metrics) reads from and asks of the VPP
 * side, without knowing the VPP client.
 * @module
 */
import type { Adoption } from "../weights/mod.ts";

/** Facts about the connected VPP (GetVPPInfo). */
export interface VppInfo {
  readonly version: string;
  readonly buildDate: string;
  readonly buildDirectory: string;
  readonly pid: number;
  /** Unix milliseconds of VPP's boot, 0 when unknown. */
  readonly bootTimeMs: number;
  /** Unix milliseconds of our connect. */
  readonly connectedAtMs: number;
}

/** One application server as VPP has it. */
export interface AsView {
  readonly address: string;
  readonly weight: number;
  readonly flags: number;
  readonly inUseSince: number;
  readonly buckets: number;
}

/** One VIP as VPP has it. */
export interface VipView {
  /** `address/len`. */
  readonly prefix: string;
  /** 6 tcp, 17 udp, 255 any. */
  readonly protocol: number;
  readonly port: number;
  /** lb_encap_type number: GRE4=0, GRE6=1, L3DSR=2, NAT4=3, NAT6=4. */
  readonly encap: number;
  readonly srcIpSticky: boolean;
  readonly flowTableLength: number;
  /** VPP's VIP pool index from `show lb vips verbose`, -1 when unknown. */
  readonly index: number;
  /** The configured frontend this VIP belongs to, empty when none. */
  readonly frontend: string;
  /** Live ASes only (used flag set), in numeric address order. */
  readonly ases: readonly AsView[];
}

/** The lb plugin's state (GetVPPLBState). */
export interface LbStateView {
  readonly ip4SrcAddress: string;
  readonly ip6SrcAddress: string;
  readonly stickyBucketsPerCore: number;
  readonly flowTimeout: number;
  readonly vips: readonly VipView[];
}

/** Per-VIP packet counters (GetVPPLBCounters). */
export interface VipCounters {
  readonly frontend: string;
  readonly prefix: string;
  readonly protocol: number;
  readonly port: number;
  readonly next: number;
  readonly first: number;
  readonly untracked: number;
  readonly noServer: number;
}

/** Counts of what one sync changed (`maglev_vpp_lbsync_total` kinds). */
export interface SyncStats {
  vipAdded: number;
  vipRemoved: number;
  asAdded: number;
  asRemoved: number;
  asWeightUpdated: number;
}

/** Why a sync ran, for the programming-latency histogram. */
export type SyncTrigger = "probe" | "operator" | "reload" | "periodic";

/**
 * The VPP side as the API sees it. Methods that need VPP throw
 * `MaglevError("UNAVAILABLE")` with the reason: disabled, not connected, or
 * incompatible (naming the missing messages). The manager owns that rule.
 */
export interface VppControl {
  /** False when `--vpp-api-addr ""` disabled VPP integration. */
  enabled(): boolean;
  connected(): boolean;
  /** Set when VPP lacks messages we need: the missing `name_crc`s. */
  incompatible(): readonly string[];
  info(): VppInfo;
  lbState(): Promise<LbStateView>;
  /** Syncs one frontend (never removes VIPs) or, without one, everything. */
  sync(
    frontend?: string,
    options?: { flushAddress?: string; trigger?: SyncTrigger },
  ): Promise<SyncStats>;
  /**
   * The latest counters snapshot. Reading it keeps the 5 s refresh going;
   * nobody reading for a minute stops it (the scrape is a large CLI reply).
   */
  counters(): readonly VipCounters[];
  /** Counters at most one refresh interval old, reading VPP now if needed. */
  freshCounters?(): Promise<readonly VipCounters[]>;
  /**
   * Why VPP does not hold what we want for `frontend` (it refused a write at
   * the last sync, e.g. INVALID_ADDRESS_FAMILY); empty when it does.
   */
  lastSyncError?(frontend: string): string;
  /**
   * The flow-table length VPP holds for `frontend`'s VIP as last read or
   * written (an `auto` table is kept longer than the config's length when the
   * weights shrink it); undefined when VPP holds no such VIP or is not
   * connected. Pass it to `keptFlowTableLength` for what VPP hashes with.
   */
  heldTableLength?(frontend: string): number | undefined;
  /**
   * Backends of `frontend` that still keep the weight VPP held when the
   * daemon adopted it at start or reload (name -> what VPP held): they have no
   * result yet. Pass it to `withAdopted` for the weights VPP really has.
   */
  adoptedWeights?(frontend: string): ReadonlyMap<string, Adoption> | undefined;
}
