/**
 * An in-memory maglevd for the dashboard tests: answers the reads from
 * fields the test sets, records every call, and hands out event streams the
 * test pushes events into, ends or breaks.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { RpcError } from "../grpc/client.ts";
import type {
  BackendInfo,
  Event,
  FrontendInfo,
  PoolBackendInfo,
  PreviewChangeRequestInit,
  PreviewChangeResponse,
  VPPInfo,
  VPPLBState,
  WatchRequestInit,
} from "../../proto/maglev_pb.ts";
import type { DashboardClient } from "./link.ts";
import { Board } from "./board.ts";
import { SseHub } from "./sse.ts";
import { FakeClock, flushMicrotasks } from "../clock.ts";

/** A pool backend with defaults. */
export function poolBackend(name: string, over: Partial<PoolBackendInfo> = {}): PoolBackendInfo {
  return {
    name,
    weight: 100,
    effective_weight: 100,
    enabled: true,
    state: "up",
    address: `10.0.0.${name.length}`,
    adopted: false,
    ...over,
  };
}

/** A frontend with one pool of `backends`. */
export function frontend(
  name: string,
  backends: PoolBackendInfo[],
  over: Partial<FrontendInfo> = {},
): FrontendInfo {
  return {
    name,
    address: "192.0.2.1",
    protocol: "tcp",
    port: 80,
    pools: [{ name: "primary", backends }],
    description: "",
    src_ip_sticky: false,
    flush_on_down: true,
    state: "up",
    flow_table_length: 1024,
    flow_table_length_auto: true,
    active_pool: "primary",
    fingerprint: "",
    warning: "",
    vpp_sync_error: "",
    ...over,
  };
}

/** A backend with defaults. */
export function backend(name: string, over: Partial<BackendInfo> = {}): BackendInfo {
  return {
    name,
    address: `10.0.0.${name.length}`,
    state: "up",
    enabled: true,
    healthcheck: "http",
    health: 2,
    health_max: 2,
    description: "",
    transitions: [],
    probes: [],
    ...over,
  };
}

/**
 * A canned disruption preview of `web`: half of its 1024 buckets move from
 * `a` to `b`.
 */
export function preview(over: Partial<PreviewChangeResponse> = {}): PreviewChangeResponse {
  return {
    frontend: "web",
    table_length: 1024,
    buckets_moved: 512,
    moves: [{ from: "a", to: "b", buckets: 512 }],
    before: [],
    after: [],
    fingerprint_before: "f1",
    fingerprint_after: "f2",
    ...over,
  };
}

/** A backend transition of {@linkcode backendEvent}: whose, from and to which state, and when. */
export interface BackendEventOptions {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly atMs?: number;
}

/** A backend transition event. */
export function backendEvent(
  seq: number,
  { name, from, to, atMs = 1_700_000_000_000 }: BackendEventOptions,
): Event {
  return {
    seq: String(seq),
    at_ns: String(BigInt(atMs) * 1_000_000n),
    event: "backend",
    backend: {
      frontend: "",
      backend: name,
      address: "",
      transition: { from, to, at_ns: String(BigInt(atMs) * 1_000_000n), code: "L7OK", detail: "" },
    },
  };
}

/** A stream the test feeds. */
export class FakeStream implements AsyncIterable<Event> {
  /** The request it was opened with. */
  readonly request: WatchRequestInit;
  #queue: Event[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #error: unknown;
  /** True once the dashboard cancelled it. */
  cancelled = false;

  constructor(request: WatchRequestInit) {
    this.request = request;
  }

  /** Delivers events. */
  push(...events: Event[]): void {
    this.#queue.push(...events);
    this.#wake?.();
  }

  /** Breaks the stream with `err` (a dropped connection). */
  fail(err: unknown = new RpcError(grpc.status.UNAVAILABLE, "connection dropped")): void {
    this.#error = err;
    this.#wake?.();
  }

  cancel(): void {
    this.cancelled = true;
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Event> {
    while (true) {
      if (this.#queue.length > 0) {
        yield this.#queue.shift()!;
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return;
      await new Promise<void>((r) => this.#wake = r);
      this.#wake = undefined;
    }
  }
}

/** The fake daemon. */
export class FakeDaemon implements DashboardClient {
  frontends: FrontendInfo[] = [];
  backends: BackendInfo[] = [];
  vppInfo: VPPInfo | undefined;
  lb: VPPLBState | undefined;
  /** Mutating calls answer PERMISSION_DENIED (a non-loopback listener). */
  refuseMutations = false;
  /** The answer to PreviewChange; undefined: UNIMPLEMENTED (an older daemon). */
  preview: PreviewChangeResponse | undefined;
  /** Every call fails with UNAVAILABLE. */
  unreachable = false;
  /** Method names in call order. */
  readonly calls: string[] = [];
  /** Every stream opened, oldest first. */
  readonly streams: FakeStream[] = [];
  closed = false;

  #read<T>(method: string, value: () => T): Promise<T> {
    this.calls.push(method);
    if (this.unreachable) {
      return Promise.reject(new RpcError(grpc.status.UNAVAILABLE, "No connection established"));
    }
    return Promise.resolve(structuredClone(value()));
  }

  #mutate(method: string, name: string, to?: string): Promise<BackendInfo> {
    this.calls.push(`${method} ${name}`);
    if (this.unreachable) return Promise.reject(new RpcError(grpc.status.UNAVAILABLE, "down"));
    if (this.refuseMutations) {
      return Promise.reject(new RpcError(grpc.status.PERMISSION_DENIED, `${method} refused`));
    }
    if (name === "") return Promise.reject(new RpcError(grpc.status.INVALID_ARGUMENT, "no name"));
    const b = this.backends.find((x) => x.name === name);
    if (!b) return Promise.reject(new RpcError(grpc.status.NOT_FOUND, `no backend ${name}`));
    if (to) b.state = to;
    return Promise.resolve(structuredClone(b));
  }

  listFrontends() {
    return this.#read("ListFrontends", () => ({
      names: this.frontends.map((f) => f.name),
      frontends: this.frontends,
    }));
  }
  listBackends() {
    return this.#read("ListBackends", () => ({
      names: this.backends.map((b) => b.name),
      backends: this.backends,
    }));
  }
  getBackend(req: { name?: string }) {
    const b = this.backends.find((x) => x.name === req.name);
    if (!b) return Promise.reject(new RpcError(grpc.status.NOT_FOUND, `no backend ${req.name}`));
    return this.#read("GetBackend", () => b);
  }
  getVPPInfo() {
    if (!this.vppInfo) return Promise.reject(new RpcError(grpc.status.UNAVAILABLE, "VPP is off"));
    return this.#read("GetVPPInfo", () => this.vppInfo!);
  }
  getVPPLBState() {
    if (!this.lb) return Promise.reject(new RpcError(grpc.status.UNAVAILABLE, "VPP is off"));
    return this.#read("GetVPPLBState", () => this.lb!);
  }
  pauseBackend(req: { name?: string }) {
    return this.#mutate("PauseBackend", req.name ?? "", "paused");
  }
  resumeBackend(req: { name?: string }) {
    return this.#mutate("ResumeBackend", req.name ?? "", "unknown");
  }
  enableBackend(req: { name?: string }) {
    return this.#mutate("EnableBackend", req.name ?? "", "unknown");
  }
  disableBackend(req: { name?: string }) {
    return this.#mutate("DisableBackend", req.name ?? "", "disabled");
  }
  setFrontendPoolBackendWeight(req: { frontend?: string; backend?: string; weight?: number }) {
    this.calls.push(`SetWeight ${req.frontend} ${req.backend} ${req.weight}`);
    if (this.refuseMutations) {
      return Promise.reject(new RpcError(grpc.status.PERMISSION_DENIED, "refused"));
    }
    const f = this.frontends.find((x) => x.name === req.frontend);
    if (!f) {
      return Promise.reject(new RpcError(grpc.status.NOT_FOUND, `no frontend ${req.frontend}`));
    }
    return Promise.resolve(structuredClone(f));
  }
  previewChange(req: PreviewChangeRequestInit): Promise<PreviewChangeResponse> {
    this.calls.push(`PreviewChange ${req.frontend ?? ""} ${req.backend ?? ""}`);
    if (!this.preview) {
      return Promise.reject(
        new RpcError(grpc.status.UNIMPLEMENTED, "PreviewChange is not implemented"),
      );
    }
    if (!req.frontend) {
      return Promise.reject(new RpcError(grpc.status.INVALID_ARGUMENT, "no frontend"));
    }
    return Promise.resolve(structuredClone(this.preview));
  }
  watchEvents(req: WatchRequestInit) {
    this.calls.push(`WatchEvents after ${req.after_seq}`);
    const s = new FakeStream(req);
    this.streams.push(s);
    if (this.unreachable) s.fail();
    return s;
  }
  close() {
    this.closed = true;
  }
}

/** A hub that also keeps every message it published. */
export class RecordingHub extends SseHub {
  /** Event name and payload, oldest first. */
  readonly published: { event: string; data: unknown }[] = [];

  override publish(event: string, data: unknown): string {
    this.published.push({ event, data });
    return super.publish(event, data);
  }
}

/** A board on two fake daemons, with every message the hub published. */
export async function fakeBoard(): Promise<{
  clock: FakeClock;
  daemons: Map<string, FakeDaemon>;
  board: Board;
  published: RecordingHub["published"];
}> {
  const clock = new FakeClock();
  const daemons = new Map<string, FakeDaemon>();
  const hub = new RecordingHub({ clock, epoch: "ep" });
  const published = hub.published;
  const board = new Board(["r1:9090", "r2:9090"], {
    clock,
    hub,
    connect: (address) => {
      const d = new FakeDaemon();
      d.frontends = [frontend("web", [poolBackend("a"), poolBackend("b")])];
      d.backends = [backend("a"), backend("b")];
      daemons.set(address, d);
      return d;
    },
  });
  board.start();
  for (let i = 0; i < 50 && [...daemons.values()].some((d) => d.streams.length === 0); i++) {
    await flushMicrotasks();
  }
  return { clock, daemons, board, published };
}
