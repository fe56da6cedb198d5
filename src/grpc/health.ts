/**
 * The standard `grpc.health.v1.Health` service: SERVING until shutdown
 * starts, then every Watch stream is told NOT_SERVING and ended before the
 * connections close (a Watch cut by the close shows as `UNAVAILABLE:
 * Connection dropped` in the client, issue 12).
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
} from "../../proto/maglev_pb.ts";
import { MAGLEV_SERVICE } from "../../proto/maglev_pb.ts";

/** Serving state shared by the health service of every listener. */
export class HealthState {
  #serving = true;
  readonly #watchers = new Set<(status: HealthCheckResponse_ServingStatus) => void>();
  readonly #ended = new Set<Promise<void>>();

  get serving(): boolean {
    return this.#serving;
  }

  /**
   * Tells every Watch stream NOT_SERVING and ends it (OK trailers); resolves
   * when each stream has finished writing, so closing the connection after
   * it cuts nothing.
   */
  stopServing(): Promise<void> {
    this.#serving = false;
    for (const w of [...this.#watchers]) w("NOT_SERVING");
    return Promise.all([...this.#ended]).then(() => {});
  }

  /** @internal the service's handlers */
  watch(watcher: (status: HealthCheckResponse_ServingStatus) => void, ended: Promise<void>) {
    this.#watchers.add(watcher);
    this.#ended.add(ended);
    ended.finally(() => {
      this.#watchers.delete(watcher);
      this.#ended.delete(ended);
    });
  }

  unwatch(watcher: (status: HealthCheckResponse_ServingStatus) => void): void {
    this.#watchers.delete(watcher);
  }
}

function healthStatusFor(state: HealthState, service: string): HealthCheckResponse_ServingStatus {
  if (service !== "" && service !== MAGLEV_SERVICE) return "SERVICE_UNKNOWN";
  return state.serving ? "SERVING" : "NOT_SERVING";
}

/** Resolves when `call` has ended: finished writing, or cancelled. */
function callEnded(call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    call.once("finish", () => resolve());
    call.once("cancelled", () => resolve());
    call.once("close", () => resolve());
  });
}

/** Handlers of the health service over `state`. */
export function healthHandlers(state: HealthState): grpc.UntypedServiceImplementation {
  return {
    Check(
      call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: grpc.sendUnaryData<HealthCheckResponse>,
    ) {
      const status = healthStatusFor(state, call.request.service);
      if (status === "SERVICE_UNKNOWN") {
        callback({
          code: grpc.status.NOT_FOUND,
          details: `unknown service ${JSON.stringify(call.request.service)}`,
        });
      } else {
        callback(null, { status });
      }
    },
    Watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const service = call.request.service;
      const known = service === "" || service === MAGLEV_SERVICE;
      const send = (status: HealthCheckResponse_ServingStatus) => {
        if (!call.cancelled && call.writable) call.write({ status });
      };
      send(healthStatusFor(state, service));
      if (!state.serving) {
        call.end();
        return;
      }
      // An unknown service stays watched (it might appear, as the health
      // protocol asks) and is ended, without a status, at shutdown.
      const watcher = (status: HealthCheckResponse_ServingStatus) => {
        state.unwatch(watcher);
        if (known) send(status);
        if (!call.cancelled) call.end();
      };
      state.watch(watcher, callEnded(call as grpc.ServerWritableStream<unknown, unknown>));
    },
  };
}
