/**
 * The daemon's config file and what happened to it: the content hash of the
 * running config, the last reload, the reload path itself (SIGHUP and
 * `config reload`, one at a time, coalesced) with the plan it applied, and
 * the plan of a candidate (`config diff`) without applying it.
 * @module
 */
import { createHash } from "node:crypto";
import type { ReloadPlan } from "../../proto/maglev_pb.ts";
import type { Checker } from "../checker/mod.ts";
import type { Clock } from "../clock.ts";
import {
  type Config,
  type ConfigIssue,
  formatIssue,
  type LoadResult,
  parseConfig,
} from "../config/mod.ts";
import { readConfigText } from "../config/read.ts";
import { errorMessage } from "../errors.ts";
import type { CheckConfigResult, ConfigSource, ReloadOutcome } from "../grpc/api.ts";
import type { ReloadRecord } from "../grpc/status.ts";
import { log } from "../log/mod.ts";
import { failedPlan, reloadPlan, type ReloadPlanOptions } from "../plan/reload_plan.ts";

/** What a reload touches beyond the checker. */
export interface ReloadHooks {
  /** Runs after the checker took the new config (the VPP manager resyncs). */
  applied(): Promise<void>;
  /** Around each reload that applies a config (systemd RELOADING=1 / READY=1). */
  starting?(): void;
  finished?(): void;
  /** What VPP holds for a frontend's table (see `ReloadPlanOptions`). */
  heldTableLength?(frontend: string): number | undefined;
}

/** A loaded file: the result and the sha256 of its bytes. */
interface Loaded {
  readonly result: LoadResult;
  readonly hash: string;
}

function issuesText(issues: readonly ConfigIssue[], path: string): string {
  return issues.map((i) => formatIssue(i, path)).join("\n");
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Runs reloads one at a time without letting them pile up: a reload asked
 * for while one runs joins the single queued run (which reads the file as
 * it is then), so a burst of SIGHUPs costs at most two reads, and no reload
 * waits behind more than one other. Each run is bounded, because the config
 * read is (`READ_TIMEOUT_MS`): a hung file system fails that reload with an
 * error instead of blocking every later one.
 */
export function coalesced<T extends ReloadOutcome>(
  task: () => Promise<T>,
): () => Promise<ReloadOutcome> {
  let running: Promise<ReloadOutcome> | undefined;
  let queued: Promise<ReloadOutcome> | undefined;
  const start = (): Promise<ReloadOutcome> => {
    running = task()
      .catch((e): ReloadOutcome => ({ ok: false, kind: "parse", error: errorMessage(e) }))
      .finally(() => running = undefined);
    return running;
  };
  return () => {
    if (queued !== undefined) return queued;
    if (running === undefined) return start();
    queued = running.then(() => {
      queued = undefined;
      return start();
    });
    return queued;
  };
}

/** The config file of a running daemon. */
export class ConfigState {
  readonly path: string;
  readonly #vppEnabled: boolean;
  readonly #clock: Clock;
  #hash = "";
  #last: ReloadRecord | undefined;

  constructor(path: string, options: { vppEnabled: boolean; clock: Clock }) {
    this.path = path;
    this.#vppEnabled = options.vppEnabled;
    this.#clock = options.clock;
  }

  /** sha256 (hex) of the running config file's bytes. */
  hash(): string {
    return this.#hash;
  }

  /** The last reload since start, if any. */
  lastReload(): ReloadRecord | undefined {
    return this.#last;
  }

  async #load(source: ConfigSource = {}): Promise<Loaded> {
    const opts = { vppEnabled: this.#vppEnabled };
    if (source.yaml !== undefined) {
      return {
        result: parseConfig(source.yaml, { source: "<yaml>", ...opts }),
        hash: sha256(source.yaml),
      };
    }
    const path = source.path ?? this.path;
    const read = await readConfigText(path);
    if (!read.ok) return { result: { ok: false, kind: "parse", issues: [read.issue] }, hash: "" };
    return { result: parseConfig(read.text, { source: path, ...opts }), hash: sha256(read.text) };
  }

  /** The config at start; throws naming every issue when it does not load. */
  async initial(): Promise<Config> {
    const { result, hash } = await this.#load();
    if (!result.ok) {
      throw new Error(
        `config ${result.kind} error:\n` +
          issuesText(result.issues, this.path).replace(/^/gm, "  "),
      );
    }
    this.#hash = hash;
    return result.config;
  }

  /** `CheckConfig`: does the file on disk load? */
  async check(): Promise<CheckConfigResult> {
    const { result } = await this.#load();
    return result.ok
      ? { ok: true }
      : { ok: false, kind: result.kind, error: issuesText(result.issues, this.path) };
  }

  /** `DiffConfig`: what a reload with `source` would do to `checker` (and VPP's tables). */
  async diff(
    checker: Checker,
    source: ConfigSource,
    options: Pick<ReloadPlanOptions, "heldTableLength"> = {},
  ): Promise<ReloadPlan> {
    const { result } = await this.#load(source);
    const name = source.yaml !== undefined ? "<yaml>" : source.path ?? this.path;
    if (!result.ok) return failedPlan(result.kind, issuesText(result.issues, name));
    return reloadPlan(checker.config(), result.config, {
      states: checker,
      heldTableLength: options.heldTableLength,
    });
  }

  /** The reload path, coalesced (see {@linkcode coalesced}). */
  reloader(checker: Checker, hooks: ReloadHooks): () => Promise<ReloadOutcome> {
    return coalesced(() => this.#reload(checker, hooks));
  }

  async #reload(checker: Checker, hooks: ReloadHooks): Promise<ReloadOutcome> {
    const { result, hash } = await this.#load();
    const atMs = this.#clock.now();
    if (!result.ok) {
      const error = issuesText(result.issues, this.path);
      log.error(
        result.kind === "parse" ? "config-reload-parse-error" : "config-reload-semantic-error",
        { file: this.path, err: error },
      );
      this.#last = { atMs, ok: false, error };
      return { ok: false, kind: result.kind, error };
    }
    for (const w of result.config.warnings) log.warn("config-warning", { warning: w });
    hooks.starting?.();
    try {
      const plan = reloadPlan(checker.config(), result.config, {
        states: checker,
        heldTableLength: (fe) => hooks.heldTableLength?.(fe),
      });
      checker.applyConfig(result.config);
      this.#hash = hash;
      this.#last = { atMs, ok: true, error: "" };
      log.info("config-reload", {
        file: this.path,
        frontends: Object.keys(result.config.frontends).length,
        backends: Object.keys(result.config.backends).length,
        changed: plan.changed,
      });
      await hooks.applied();
      return { ok: true, config: result.config, plan };
    } finally {
      hooks.finished?.();
    }
  }
}
