/**
 * The go-grpc-middleware style server metrics (spec 7.2, 10), fed by the
 * gRPC server's {@linkcode GrpcObserver}.
 * @module
 */
import type { GrpcMethod, GrpcObserver } from "../grpc/observer.ts";
import { type FamilySet, series } from "./families.ts";

const LABELS = ["grpc_method", "grpc_service", "grpc_type"];

/** `grpc_server_handling_seconds` buckets (client_golang's defaults). */
export const GRPC_BUCKETS: readonly number[] = series(0.005, 10);

/** gRPC status names by number, as Go's `codes.Code.String()` spells them. */
export const GRPC_CODES: readonly string[] = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/** Name for the `grpc_code` label, from the numeric status. */
export function grpcCodeName(code: number): string {
  return GRPC_CODES[code] ?? `Code(${code})`;
}

function grpcLabels(m: GrpcMethod): Record<string, string> {
  return { grpc_method: m.method, grpc_service: m.service, grpc_type: m.type };
}

/** Adds the gRPC families; returns the observer and the pre-registration. */
export function addGrpcFamilies(set: FamilySet): {
  grpcObserver: GrpcObserver;
  preRegisterGrpc(methods: readonly GrpcMethod[]): void;
} {
  const { counter, histogram } = set;
  const grpcStarted = counter(
    "grpc_server_started_total",
    "Total number of RPCs started on the server.",
    LABELS,
  );
  const grpcHandled = counter(
    "grpc_server_handled_total",
    "Total number of RPCs completed on the server, regardless of success or failure.",
    ["grpc_code", ...LABELS],
  );
  const grpcReceived = counter(
    "grpc_server_msg_received_total",
    "Total number of RPC stream messages received on the server.",
    LABELS,
  );
  const grpcSent = counter(
    "grpc_server_msg_sent_total",
    "Total number of gRPC stream messages sent by the server.",
    LABELS,
  );
  const grpcSeconds = histogram(
    "grpc_server_handling_seconds",
    "Histogram of response latency (seconds) of gRPC that had been application-level " +
      "handled by the server.",
    { labelNames: LABELS, buckets: GRPC_BUCKETS },
  );
  return {
    grpcObserver: {
      started: (m) => grpcStarted.inc(grpcLabels(m)),
      handled: (m, code, seconds) => {
        grpcHandled.inc({ grpc_code: grpcCodeName(code), ...grpcLabels(m) });
        grpcSeconds.observe(grpcLabels(m), seconds);
      },
      msgReceived: (m) => grpcReceived.inc(grpcLabels(m)),
      msgSent: (m) => grpcSent.inc(grpcLabels(m)),
    },
    preRegisterGrpc(methods) {
      for (const m of methods) {
        const labels = grpcLabels(m);
        grpcStarted.inc(labels, 0);
        grpcReceived.inc(labels, 0);
        grpcSent.inc(labels, 0);
        grpcSeconds.zero(labels);
        for (const code of GRPC_CODES) grpcHandled.inc({ grpc_code: code, ...labels }, 0);
      }
    },
  };
}
