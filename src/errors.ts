/**
 * Errors the daemon's operations raise, with the kind that the gRPC layer maps
 * to a status code (spec 0.5). Messages are the upstream runtime strings.
 * @module
 */

/** Kinds of operator-facing failure. */
export type ErrorKind =
  | "NOT_FOUND"
  | "INVALID_ARGUMENT"
  | "FAILED_PRECONDITION"
  | "UNAVAILABLE"
  | "PERMISSION_DENIED"
  | "INTERNAL"
  | "UNIMPLEMENTED";

/** An error an operator caused or must act on. */
export class MaglevError extends Error {
  /** What kind of failure this is. */
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.name = "MaglevError";
    this.kind = kind;
  }
}

/** `frontend %q not found` */
export function frontendNotFound(name: string): MaglevError {
  return new MaglevError("NOT_FOUND", `frontend ${JSON.stringify(name)} not found`);
}

/** `backend %q not found` */
export function backendNotFound(name: string): MaglevError {
  return new MaglevError("NOT_FOUND", `backend ${JSON.stringify(name)} not found`);
}

/** `healthcheck %q not found` */
export function healthcheckNotFound(name: string): MaglevError {
  return new MaglevError("NOT_FOUND", `healthcheck ${JSON.stringify(name)} not found`);
}

/**
 * The text of anything thrown: an Error's message, else its string form.
 * The one way `src/` turns a caught value into words for a log or a reply.
 */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
