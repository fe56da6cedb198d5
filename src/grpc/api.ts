/**
 * The `maglev.v1.Maglev` service logic, independent of any listener: each
 * method takes the decoded request and returns the response or throws a
 * `MaglevError` whose kind becomes the gRPC status.
 *
 * Names are looked up with own-property checks only, so `constructor` or
 * `__proto__` are ordinary names that are not found (issue 12.6).
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type {
  BackendRequest,
  ConfigText,
  DiffConfigRequest,
  FrontendInfo,
  GetBackendRequest,
  GetFrontendRequest,
  GetHealthCheckRequest,
  MaglevMethodTypes,
  PreviewChangeRequest,
  PreviewChangeResponse,
  ReloadPlan,
  SetWeightRequest,
  StatusInfo,
  SyncVPPLBStateRequest,
} from "../../proto/maglev_pb.ts";
import type { CheckerApi, EventSource, ReloadResult } from "../checker/types.ts";
import { type Clock, realClock } from "../clock.ts";
import type { Frontend } from "../config/types.ts";
import { renderConfig } from "../config/render.ts";
import { weightRangeError } from "../config/weight.ts";
import { type ErrorKind, errorMessage, MaglevError } from "../errors.ts";
import { lookupBackend, lookupFrontend, lookupHealthCheck, ownValue } from "../checker/lookup.ts";
import { previewChange } from "../plan/preview.ts";
import type { VppControl } from "../reconciler/types.ts";
import { asProgrammed } from "../reconciler/plan.ts";
import { servedStates } from "../reconciler/desired.ts";
import { vipFingerprint } from "../weights/fingerprint.ts";
import { desiredFromFrontend, effectiveWeights, frontendState } from "../weights/mod.ts";
import {
  backendInfo,
  frontendInfo,
  healthCheckInfo,
  lbCounters,
  lbState,
  syncResponse,
  vppInfo,
} from "./convert.ts";
import { type DaemonFacts, statusInfo } from "./status.ts";

/** What `CheckConfig` reports about the on-disk file. */
export interface CheckConfigResult {
  ok: boolean;
  kind?: "parse" | "semantic";
  error?: string;
}

/** A reload's result with the plan it applied (set when it applied one). */
export type ReloadOutcome = ReloadResult & { readonly plan?: ReloadPlan };

/** Where DiffConfig's candidate comes from; neither field: the daemon's own file. */
export interface ConfigSource {
  readonly path?: string;
  readonly yaml?: string;
}

/** Everything the service needs from the daemon. */
export interface ApiDeps {
  checker: CheckerApi & EventSource;
  vpp: VppControl;
  checkConfig: () => Promise<CheckConfigResult>;
  reload: () => Promise<ReloadOutcome>;
  /** The reload plan of a candidate config (DiffConfig). */
  diffConfig?: (source: ConfigSource) => Promise<ReloadPlan>;
  /** Facts for GetStatus and GetConfig. */
  facts?: DaemonFacts;
  /** For uptime; defaults to the wall clock. */
  clock?: Clock;
}

/** Per-call facts the service may need. */
export interface CallContext {
  /** The listener allows mutations (loopback, unix socket or remote admin). */
  readonly admin: boolean;
}

const STATUS_OF_KIND: Record<ErrorKind, grpc.status> = {
  NOT_FOUND: grpc.status.NOT_FOUND,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  INTERNAL: grpc.status.INTERNAL,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
};

/** The gRPC status of anything a handler throws. */
export function statusOf(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof MaglevError) return { code: STATUS_OF_KIND[err.kind], details: err.message };
  return { code: grpc.status.INTERNAL, details: errorMessage(err) };
}

function requireName(name: string, what: string): void {
  if (name === "") throw new MaglevError("INVALID_ARGUMENT", `${what} name is required`);
}

function missing(what: string): MaglevError {
  return new MaglevError("UNAVAILABLE", `${what} is not available in this daemon`);
}

/** The Maglev service logic. */
export class MaglevApi {
  readonly #d: ApiDeps;

  constructor(deps: ApiDeps) {
    this.#d = deps;
  }

  #frontend(name: string): Frontend {
    requireName(name, "frontend");
    return lookupFrontend(this.#d.checker.config(), name);
  }

  #frontendInfo(name: string): FrontendInfo {
    const fe = this.#frontend(name);
    const { checker, vpp } = this.#d;
    const backends = checker.config().backends;
    // What VPP serves: weights adopted at start or reload count until a first result.
    const served = servedStates(checker, { vpp, frontend: fe.name });
    const info = frontendInfo(fe, {
      effective: effectiveWeights(fe, served),
      // The aggregate state stays health's own (the events say the same).
      state: frontendState(fe, checker),
      states: served,
      enabled: (b) => ownValue(backends, b)?.enabled ?? false,
      address: (b) => ownValue(backends, b)?.address ?? "",
      vppSyncError: vpp.lastSyncError?.(fe.name),
    });
    // What VPP hashes with: an `auto` table VPP kept longer than the config's length counts.
    const programmed = asProgrammed(
      desiredFromFrontend(fe, served, { backends }),
      vpp.heldTableLength?.(fe.name),
    );
    info.flow_table_length = programmed.flowTableLength;
    if (vpp.enabled()) info.fingerprint = vipFingerprint(programmed);
    return info;
  }

  ListFrontends(): MaglevMethodTypes["ListFrontends"]["response"] {
    const names = Object.keys(this.#d.checker.config().frontends);
    return { names, frontends: names.map((n) => this.#frontendInfo(n)) };
  }

  GetFrontend(req: GetFrontendRequest): FrontendInfo {
    return this.#frontendInfo(req.name);
  }

  ListBackends(): MaglevMethodTypes["ListBackends"]["response"] {
    const names = this.#d.checker.listBackends();
    return { names, backends: names.map((n) => backendInfo(this.#d.checker.getBackend(n))) };
  }

  /** The checker owns backend lookups (a Map: any name is an ordinary name). */
  #backendName(name: string): string {
    requireName(name, "backend");
    return name;
  }

  GetBackend(req: GetBackendRequest) {
    return backendInfo(this.#d.checker.getBackend(this.#backendName(req.name)));
  }

  PauseBackend(req: BackendRequest) {
    return backendInfo(this.#d.checker.pause(this.#backendName(req.name)));
  }

  ResumeBackend(req: BackendRequest) {
    return backendInfo(this.#d.checker.resume(this.#backendName(req.name)));
  }

  EnableBackend(req: BackendRequest) {
    return backendInfo(this.#d.checker.enable(this.#backendName(req.name)));
  }

  DisableBackend(req: BackendRequest) {
    return backendInfo(this.#d.checker.disable(this.#backendName(req.name)));
  }

  ListHealthChecks(): MaglevMethodTypes["ListHealthChecks"]["response"] {
    const hcs = this.#d.checker.config().healthchecks;
    const names = Object.keys(hcs).sort();
    return { names, healthchecks: names.map((n) => healthCheckInfo(hcs[n])) };
  }

  GetHealthCheck(req: GetHealthCheckRequest) {
    requireName(req.name, "healthcheck");
    return healthCheckInfo(lookupHealthCheck(this.#d.checker.config(), req.name));
  }

  /**
   * The checker owns the weight range and the pool membership rules; VPP
   * not connected is no failure: the weight is programmed on reconnect.
   */
  async SetFrontendPoolBackendWeight(req: SetWeightRequest): Promise<FrontendInfo> {
    const fe = this.#frontend(req.frontend);
    requireName(req.pool, "pool");
    requireName(req.backend, "backend");
    const { checker, vpp } = this.#d;
    checker.setWeight(fe.name, req.pool, req.backend, req.weight);
    let warning = "";
    if (vpp.enabled()) {
      const address = ownValue(checker.config().backends, req.backend)?.address;
      try {
        await vpp.sync(fe.name, {
          flushAddress: req.flush ? address : undefined,
          trigger: "operator",
        });
      } catch (err) {
        const { details } = statusOf(err);
        if (vpp.connected()) {
          // Connected and still refused: the periodic sync retries, but say so.
          throw new MaglevError(
            "UNAVAILABLE",
            `weight set to ${req.weight} in memory, but syncing frontend ` +
              `${JSON.stringify(fe.name)} to VPP failed: ${details}`,
          );
        }
        warning = `${details}: weight ${req.weight} is set and will be programmed when VPP ` +
          `connects`;
      }
    }
    return { ...this.#frontendInfo(fe.name), warning };
  }

  async CheckConfig(): Promise<MaglevMethodTypes["CheckConfig"]["response"]> {
    const r = await this.#d.checkConfig();
    return {
      ok: r.ok,
      parse_error: !r.ok && r.kind === "parse" ? r.error ?? "" : "",
      semantic_error: !r.ok && r.kind !== "parse" ? r.error ?? "" : "",
    };
  }

  async ReloadConfig(): Promise<MaglevMethodTypes["ReloadConfig"]["response"]> {
    const r = await this.#d.reload();
    if (r.ok) return { ok: true, parse_error: "", semantic_error: "", plan: r.plan ?? null };
    return {
      ok: false,
      parse_error: r.kind === "parse" ? r.error : "",
      semantic_error: r.kind === "semantic" ? r.error : "",
      plan: null,
    };
  }

  GetVPPInfo() {
    // The manager decides availability and says why (disabled, not connected, incompatible).
    const { vpp } = this.#d;
    return vppInfo(vpp.info(), vpp.incompatible());
  }

  async GetVPPLBState() {
    return lbState(await this.#d.vpp.lbState());
  }

  async SyncVPPLBState(req: SyncVPPLBStateRequest) {
    const frontend = req.frontend === "" ? undefined : this.#frontend(req.frontend).name;
    return syncResponse(await this.#d.vpp.sync(frontend, { trigger: "operator" }));
  }

  async GetVPPLBCounters() {
    const { vpp } = this.#d;
    return lbCounters(vpp.freshCounters ? await vpp.freshCounters() : vpp.counters());
  }

  GetStatus(): StatusInfo {
    const { facts, checker, vpp } = this.#d;
    if (!facts) throw missing("GetStatus");
    return statusInfo(facts, { checker, vpp, clock: this.#d.clock ?? realClock });
  }

  GetConfig(): ConfigText {
    const { facts, checker } = this.#d;
    return {
      yaml: renderConfig(checker.config()),
      path: facts?.configPath ?? "",
      hash: facts?.configHash() ?? "",
    };
  }

  async DiffConfig(req: DiffConfigRequest, call: CallContext): Promise<ReloadPlan> {
    if (!this.#d.diffConfig) throw missing("DiffConfig");
    if (req.path !== "" && req.yaml !== "") {
      throw new MaglevError("INVALID_ARGUMENT", "DiffConfig takes a path or YAML text, not both");
    }
    if (req.path !== "" && !call.admin) {
      // Reading any file the daemon can read is not for a remote listener.
      throw new MaglevError(
        "PERMISSION_DENIED",
        "DiffConfig with a path is only allowed on loopback or unix socket listeners; " +
          "send the YAML text instead",
      );
    }
    return await this.#d.diffConfig({
      path: req.path || undefined,
      yaml: req.yaml || undefined,
    });
  }

  PreviewChange(req: PreviewChangeRequest): PreviewChangeResponse {
    const fe = this.#frontend(req.frontend);
    const backend = this.#backendName(req.backend);
    lookupBackend(this.#d.checker.config(), backend);
    const pools = fe.pools.filter((p) => p.backends.some((b) => b.name === backend));
    if (pools.length === 0) {
      throw new MaglevError(
        "NOT_FOUND",
        `backend ${JSON.stringify(backend)} is in no pool of frontend ${JSON.stringify(fe.name)}`,
      );
    }
    if (req.pool !== "" && !pools.some((p) => p.name === req.pool)) {
      throw new MaglevError(
        "NOT_FOUND",
        `backend ${JSON.stringify(backend)} not found in pool ${JSON.stringify(req.pool)} ` +
          `of frontend ${JSON.stringify(fe.name)}`,
      );
    }
    const outOfRange = req.disable ? undefined : weightRangeError(req.weight);
    if (outOfRange) throw new MaglevError("INVALID_ARGUMENT", outOfRange);
    const { checker, vpp } = this.#d;
    return previewChange(fe, {
      backend,
      pool: req.pool || undefined,
      change: req.disable ? "disable" : { weight: req.weight },
    }, {
      config: checker.config(),
      // From what VPP serves, as GetFrontend: adopted weights count until a first result.
      states: servedStates(checker, { vpp, frontend: fe.name }),
      heldTableLength: vpp.heldTableLength?.(fe.name),
    });
  }
}
