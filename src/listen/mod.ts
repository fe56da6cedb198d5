/**
 * What the gRPC and the metrics listener share: the address parser, the
 * loopback rule and the connection cap.
 * @module
 */
export {
  isLoopbackAddress,
  joinHostPort,
  type ListenAddress,
  parseListenAddress,
} from "./address.ts";
export { defaultConnectionCap, openFileLimit } from "./limits.ts";
