/**
 * The reload plan (issue 17): what replacing the running config with another
 * one would do, computed without doing it. Each decision is taken by its
 * owner: the checker's "same probing" rule (`healthCheckEqual`) for probe
 * restarts, the reconciler's `recreateReason` for VIPs deleted and added
 * again, and the weights module for the weights VPP gets.
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { ReloadPlan, VipRecreate, WeightChange } from "../../proto/maglev_pb.ts";
import type { Config, Frontend, HealthCheck } from "../config/types.ts";
import { ownValue, referencingFrontends, sameHealthCheck } from "../checker/lookup.ts";
import type { State, StateSource } from "../health/types.ts";
import { asProgrammed, recreateReason } from "../reconciler/plan.ts";
import { desiredFromFrontend, type DesiredVip, effectiveWeights } from "../weights/mod.ts";
import { protocolName } from "../../vpp/names.ts";

/** A plan whose candidate did not load. */
export function failedPlan(kind: "parse" | "semantic", error: string): ReloadPlan {
  return {
    ...emptyPlan(),
    parse_error: kind === "parse" ? error : "",
    semantic_error: kind === "semantic" ? error : "",
  };
}

function emptyPlan(): ReloadPlan {
  return {
    ok: false,
    parse_error: "",
    semantic_error: "",
    changed: false,
    frontends_added: [],
    frontends_removed: [],
    frontends_changed: [],
    backends_added: [],
    backends_removed: [],
    healthchecks_added: [],
    healthchecks_removed: [],
    probes_restarted: [],
    vips_recreated: [],
    weights_changed: [],
  };
}

function added(from: object, to: object): string[] {
  return Object.keys(to).filter((k) => !Object.hasOwn(from, k)).sort();
}

/** Backends a pool of `config` references: those with a probe worker. */
function referenced(config: Config): Set<string> {
  return new Set(referencingFrontends(config).keys());
}

function checkOf(config: Config, backend: string): HealthCheck | undefined {
  const name = ownValue(config.backends, backend)?.healthcheck ?? "";
  return name === "" ? undefined : ownValue(config.healthchecks, name);
}

/** Why the checker restarts `backend`'s probe, or "" when it keeps it. */
function restartReason(from: Config, to: Config, backend: string): string {
  const a = checkOf(from, backend);
  const b = checkOf(to, backend);
  if (sameHealthCheck(a, b)) return "";
  if (a === undefined || b === undefined) {
    return a === undefined ? `healthcheck added (${b!.name})` : `healthcheck removed (${a.name})`;
  }
  const fields = Object.keys({ ...a, ...b }).filter((k) =>
    k !== "name" &&
    !isDeepStrictEqual(
      (a as unknown as Record<string, unknown>)[k],
      (b as unknown as Record<string, unknown>)[k],
    )
  );
  // The config's spelling: `intervalMs` is `interval`, `fastIntervalMs` `fast-interval`; `http`
  // and `tcp` are both `params`, named once when a type change swaps one for the other.
  const keys = new Set(
    fields.map((k) =>
      k === "http" || k === "tcp"
        ? "params"
        : k.replace(/Ms$/, "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
    ),
  );
  const which = a.name === b.name ? `healthcheck ${a.name}` : `healthcheck ${a.name} -> ${b.name}`;
  return `${which}: ${[...keys].join(", ")} changed`;
}

/**
 * States after the reload, as they weigh in VPP: a kept probe keeps its
 * state; a restarted one at the same address keeps the weight VPP holds
 * until its first result (the reconciler adopts it), so it weighs as now;
 * a new one starts `unknown` (`disabled` when the new config disables it).
 */
function statesAfter(
  states: StateSource,
  change: { from: Config; to: Config; restarted: Set<string> },
): StateSource {
  const { from, to, restarted } = change;
  return {
    backendState(name: string): State | undefined {
      const now = states.backendState(name);
      if (!Object.hasOwn(to.backends, name)) return undefined;
      const next = to.backends[name];
      const fresh = now === undefined || now === "removed";
      if (fresh) return next.enabled ? "unknown" : "disabled";
      if (!next.enabled && restarted.has(name)) return "disabled";
      if (!restarted.has(name)) return now;
      const held = Object.hasOwn(from.backends, name) &&
        from.backends[name].address === next.address;
      return held ? now : "unknown";
    },
  };
}

function vipRecreate(fe: Frontend, reason: string, before: DesiredVip): VipRecreate {
  const live = [...before.ases.values()].filter((a) => a.weight > 0).length;
  const vip = `${fe.address} ${protocolName(before.protocol)}/${fe.port}`;
  return {
    frontend: fe.name,
    address: fe.address,
    protocol: fe.port === 0 ? "any" : fe.protocol,
    port: fe.port,
    reason,
    flows: `every established flow to ${vip} breaks (its flow table and sticky entries go)`,
    application_servers: live,
  };
}

/** Why the VIP of a kept frontend is deleted and added again, or "". */
function vipChange(before: DesiredVip, after: DesiredVip): string {
  if (before.prefix !== after.prefix) return `address ${before.prefix} -> ${after.prefix}`;
  if (before.protocol !== after.protocol || before.port !== after.port) {
    return `protocol/port ${protocolName(before.protocol)}/${before.port} -> ` +
      `${protocolName(after.protocol)}/${after.port}`;
  }
  return recreateReason(before, after);
}

function weightChanges(
  before: { fe: Frontend; states: StateSource },
  after: { fe: Frontend; states: StateSource },
): WeightChange[] {
  const out: WeightChange[] = [];
  const effBefore = effectiveWeights(before.fe, before.states);
  const effAfter = effectiveWeights(after.fe, after.states);
  const cfg = (fe: Frontend, pool: string, backend: string) =>
    fe.pools.find((p) => p.name === pool)?.backends.find((b) => b.name === backend)?.weight ?? 0;
  const pools = new Set([...effBefore.keys(), ...effAfter.keys()]);
  for (const pool of pools) {
    const names = new Set([
      ...(effBefore.get(pool)?.keys() ?? []),
      ...(effAfter.get(pool)?.keys() ?? []),
    ]);
    for (const backend of names) {
      const change: WeightChange = {
        frontend: after.fe.name,
        pool,
        backend,
        weight_from: cfg(before.fe, pool, backend),
        weight_to: cfg(after.fe, pool, backend),
        effective_from: effBefore.get(pool)?.get(backend) ?? 0,
        effective_to: effAfter.get(pool)?.get(backend) ?? 0,
      };
      if (
        change.weight_from !== change.weight_to || change.effective_from !== change.effective_to
      ) {
        out.push(change);
      }
    }
  }
  return out;
}

/** What {@linkcode reloadPlan} reads besides the two configs. */
export interface ReloadPlanOptions {
  /** The backends' current states. */
  readonly states: StateSource;
  /**
   * The table length VPP holds for a frontend's VIP (`VppControl.heldTableLength`):
   * an `auto` table VPP kept longer is what a reload compares against, as the
   * sync engine does. Absent without VPP.
   */
  readonly heldTableLength?: (frontend: string) => number | undefined;
}

/**
 * What replacing `from` (the running config, runtime changes included) with
 * `to` does, given the backends' current states and what VPP holds.
 */
export function reloadPlan(from: Config, to: Config, options: ReloadPlanOptions): ReloadPlan {
  const { states } = options;
  const plan = emptyPlan();
  plan.ok = true;
  plan.frontends_added = added(from.frontends, to.frontends);
  plan.frontends_removed = added(to.frontends, from.frontends);
  plan.backends_added = added(from.backends, to.backends);
  plan.backends_removed = added(to.backends, from.backends);
  plan.healthchecks_added = added(from.healthchecks, to.healthchecks);
  plan.healthchecks_removed = added(to.healthchecks, from.healthchecks);
  const before = referenced(from);
  const restarted = new Set<string>();
  for (const backend of [...referenced(to)].sort()) {
    if (!before.has(backend) || !Object.hasOwn(from.backends, backend)) continue;
    const reason = restartReason(from, to, backend);
    if (reason === "") continue;
    restarted.add(backend);
    plan.probes_restarted.push({ backend, reason });
  }
  const after = statesAfter(states, { from, to, restarted });
  for (const name of Object.keys(to.frontends).sort()) {
    const next = to.frontends[name];
    if (!Object.hasOwn(from.frontends, name)) continue;
    const cur = from.frontends[name];
    if (!isDeepStrictEqual({ ...cur, pools: [] }, { ...next, pools: [] })) {
      plan.frontends_changed.push(name);
    }
    // The VIP as VPP holds it: the sync engine decides a recreate against that.
    const d0 = asProgrammed(
      desiredFromFrontend(cur, states, from),
      options.heldTableLength?.(name),
    );
    const d1 = desiredFromFrontend(next, after, to);
    const why = vipChange(d0, d1);
    if (why !== "") plan.vips_recreated.push(vipRecreate(cur, why, d0));
    plan.weights_changed.push(
      ...weightChanges({ fe: cur, states }, { fe: next, states: after }),
    );
  }
  plan.changed = !isDeepStrictEqual({ ...from, warnings: [] }, { ...to, warnings: [] });
  return plan;
}
