/**
 * The admin area's basic auth. Both the user and the password are compared
 * through SHA-256 digests byte by byte without an early exit, so the time a
 * check takes says nothing about how much of a guess was right (nor about
 * the length of the real password).
 * @module
 */

/** The configured admin credentials. */
export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** The realm in the `WWW-Authenticate` challenge. */
export const REALM = "maglev dashboard admin";

/** True when `a` and `b` hold the same bytes; takes the same time whatever they hold. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(a)),
    crypto.subtle.digest("SHA-256", enc.encode(b)),
  ]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

/** The user and password of an `Authorization: Basic ...` header, or undefined. */
export function parseBasicAuth(header: string | null): Credentials | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!m) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** True when the request carries the configured credentials. */
export async function authorized(req: Request, want: Credentials): Promise<boolean> {
  const got = parseBasicAuth(req.headers.get("authorization"));
  if (!got) return false;
  // Both compared every time: which of the two was wrong is not told either.
  const [u, p] = await Promise.all([
    constantTimeEqual(got.user, want.user),
    constantTimeEqual(got.password, want.password),
  ]);
  return u && p;
}

/** The 401 answer that makes a browser ask for credentials. */
export function challenge(): Response {
  return new Response("authentication required\n", {
    status: 401,
    headers: {
      "www-authenticate": `Basic realm="${REALM}", charset="UTF-8"`,
      "content-type": "text/plain; charset=utf-8",
    },
  });
}
