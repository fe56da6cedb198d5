/**
 * The daemon's metrics about itself (issue 17): build info, the last config
 * load, each programmed VIP's fleet fingerprint, and the process (CPU, RSS,
 * open fds, start time) from prom-client's own collectors, those of its
 * default set that work under Deno (the event-loop-lag ones do not).
 * @module
 */
import { Registry } from "prom-client";
import type { FamilySet } from "./families.ts";
import processCpuTotal from "prom-client/lib/metrics/processCpuTotal.js";
import processStartTime from "prom-client/lib/metrics/processStartTime.js";
import osMemoryHeap from "prom-client/lib/metrics/osMemoryHeap.js";
import processOpenFileDescriptors from "prom-client/lib/metrics/processOpenFileDescriptors.js";
import processMaxFileDescriptors from "prom-client/lib/metrics/processMaxFileDescriptors.js";
import type { CheckerApi } from "../checker/types.ts";
import type { MetricsVpp } from "./state.ts";
import { vipFingerprint } from "../weights/fingerprint.ts";
import { desiredFromFrontend } from "../weights/mod.ts";
import { asProgrammed } from "../reconciler/plan.ts";
import { servedStates } from "../reconciler/desired.ts";

/** What the daemon tells the metrics about itself. */
export interface SelfFacts {
  readonly version: string;
  readonly commit: string;
  /** Unix milliseconds of the process start. */
  readonly startedAtMs: number;
  /** The last reload; undefined: none since the start, whose load succeeded. */
  lastReload(): { readonly atMs: number; readonly ok: boolean } | undefined;
}

/** Adds build info, config load and fingerprint families. */
export function addSelfFamilies(
  sink: FamilySet,
  sources: { facts: SelfFacts; checker: CheckerApi; vpp?: MetricsVpp },
): void {
  const { facts, checker, vpp } = sources;
  const build = sink.gauge("maglev_build_info", "maglevd's version and commit; always 1.", [
    "commit",
    "version",
  ]);
  build.set({ commit: facts.commit, version: facts.version }, 1);
  const success = sink.gauge(
    "maglev_config_last_reload_success",
    "1 when the last config load (start or reload) succeeded, 0 when it failed.",
    [],
  );
  const stamp = sink.gauge(
    "maglev_config_last_reload_timestamp_seconds",
    "Unix time of the last config load (start or reload), successful or not.",
    [],
  );
  sink.atScrape("maglev_config_last_reload_success", () => {
    const last = facts.lastReload();
    success.set(last === undefined || last.ok ? 1 : 0);
    stamp.set((last?.atMs ?? facts.startedAtMs) / 1000);
  });
  const fingerprint = sink.gauge(
    "maglev_vip_fingerprint_info",
    "Fleet fingerprint of each VIP (AS set, weights, table length); always 1. Routers that " +
      "disagree for one VIP hash flows differently.",
    ["fingerprint", "frontend"],
  );
  sink.atScrape("maglev_vip_fingerprint_info", () => {
    fingerprint.reset();
    if (vpp === undefined || !vpp.enabled()) return;
    const config = checker.config();
    for (const fe of Object.values(config.frontends)) {
      const served = servedStates(checker, { vpp, frontend: fe.name });
      const desired = desiredFromFrontend(fe, served, config);
      const fp = vipFingerprint(asProgrammed(desired, vpp.heldTableLength?.(fe.name)));
      fingerprint.set({ fingerprint: fp, frontend: fe.name }, 1);
    }
  });
}

/** A registry of the process families (`process_*`), rendered after ours. */
export function processRegistry(): Registry {
  const registry = new Registry();
  for (
    const collector of [
      processCpuTotal,
      processStartTime,
      osMemoryHeap,
      processOpenFileDescriptors,
      processMaxFileDescriptors,
    ]
  ) {
    collector(registry, {});
  }
  return registry;
}
