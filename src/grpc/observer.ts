/**
 * What the gRPC server reports per call, for the go-grpc-middleware style
 * server metrics (spec 7.2, 10). The metrics implement it; the server calls it.
 * @module
 */

/** gRPC method kinds as go-grpc-middleware names them (`grpc_type`). */
export type GrpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/** One gRPC method, e.g. `{service: "maglev.v1.Maglev", method: "GetFrontend", type: "unary"}`. */
export interface GrpcMethod {
  readonly service: string;
  readonly method: string;
  readonly type: GrpcType;
}

/** Per-call hooks. */
export interface GrpcObserver {
  /** A call arrived. */
  started(method: GrpcMethod): void;
  /** A call ended with the grpc-js numeric status `code` after `seconds`. */
  handled(method: GrpcMethod, code: number, seconds: number): void;
  /** One request message was read (unary calls count one). */
  msgReceived(method: GrpcMethod): void;
  /** One response message was written (unary calls count one). */
  msgSent(method: GrpcMethod): void;
}

/** An observer that records nothing. */
export const NOOP_OBSERVER: GrpcObserver = {
  started() {},
  handled() {},
  msgReceived() {},
  msgSent() {},
};
