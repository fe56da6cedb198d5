/**
 * What the listeners share: the address parser, the loopback rule and the
 * connection cap. The HTTP listener of the metrics endpoint and the
 * dashboard is http.ts.
 * @module
 */
export {
  isLoopbackAddress,
  joinHostPort,
  type ListenAddress,
  parseListenAddress,
} from "./address.ts";
export { defaultConnectionCap, openFileLimit } from "./limits.ts";
