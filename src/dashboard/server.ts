/**
 * The dashboard's HTTP routes. The read-only page and its API live at `/`
 * and `/api/`; the admin area (`/admin/`, same page with the action
 * buttons, and `/admin/api/`) exists only when credentials are configured
 * and asks for them on every request.
 * @module
 */
import { RpcError } from "../grpc/client.ts";
import { errorMessage } from "../errors.ts";
import { weightRangeError } from "../config/weight.ts";
import { authorized, challenge, type Credentials } from "./auth.ts";
import { type BackendAction, type Board, NotFoundError, type WeightChange } from "./board.ts";
import { appJs, pageHtml, STYLE_CSS } from "./assets/mod.ts";

/** The header every admin POST must carry: a cross-site form cannot set it. */
export const ACTION_HEADER = "x-maglev-dashboard";

/** Options of {@link dashboardHandler}. */
export interface HandlerOptions {
  /** Admin credentials; without them there is no admin area. */
  credentials?: Credentials;
}

const ACTIONS: readonly BackendAction[] = ["pause", "resume", "enable", "disable"];

/** HTTP status for a failed RPC: the daemon's verdict, as close as HTTP has it. */
export function httpStatusOf(e: unknown): number {
  if (e instanceof NotFoundError) return 404;
  if (!(e instanceof RpcError)) return 500;
  const map: Record<string, number> = {
    INVALID_ARGUMENT: 400,
    NOT_FOUND: 404,
    FAILED_PRECONDITION: 409,
    PERMISSION_DENIED: 403,
    UNAVAILABLE: 503,
    DEADLINE_EXCEEDED: 504,
    UNIMPLEMENTED: 501,
  };
  return map[e.codeName] ?? 502;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function fail(status: number, error: string): Response {
  return json({ error }, status);
}

function asset(body: string, type: string): Response {
  return new Response(body, {
    headers: { "content-type": `${type}; charset=utf-8`, "cache-control": "no-cache" },
  });
}

/** The request handler of the dashboard. */
export function dashboardHandler(
  board: Board,
  options: HandlerOptions = {},
): (req: Request) => Promise<Response> {
  const creds = options.credentials;
  return async (req) => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    if (path === "/assets/app.js") return asset(appJs(), "text/javascript");
    if (path === "/assets/style.css") return asset(STYLE_CSS, "text/css");
    if (path === "/admin" || path.startsWith("/admin/")) {
      if (!creds) {
        return fail(
          404,
          "the admin area is off: start the dashboard with MAGLEV_DASHBOARD_USER and " +
            "MAGLEV_DASHBOARD_PASSWORD set",
        );
      }
      if (!(await authorized(req, creds))) return challenge();
      const rest = path.slice("/admin".length) || "/";
      return await route(board, req, url, rest, true);
    }
    return await route(board, req, url, path, false);
  };
}

async function route(
  board: Board,
  req: Request,
  url: URL,
  path: string,
  admin: boolean,
): Promise<Response> {
  if (path === "/" || path === "/view/" || path === "/view") {
    if (req.method !== "GET" && req.method !== "HEAD") return fail(405, "GET only");
    return asset(pageHtml({ admin }), "text/html");
  }
  if (path === "/api/state") return json(board.state(admin));
  if (path === "/api/events") {
    const last = req.headers.get("last-event-id") ?? url.searchParams.get("lastEventId");
    return new Response(board.hub.subscribe(last), {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        // nginx in front must not buffer the stream.
        "x-accel-buffering": "no",
      },
    });
  }
  const m = /^\/api\/daemons\/([^/]+)\/(.+)$/.exec(path);
  if (!m) return fail(404, `no page ${path}`);
  const daemon = decodeURIComponent(m[1]);
  try {
    return await daemonRoute(board, req, daemon, m[2], admin);
  } catch (e) {
    return fail(httpStatusOf(e), errorMessage(e));
  }
}

async function daemonRoute(
  board: Board,
  req: Request,
  daemon: string,
  rest: string,
  admin: boolean,
): Promise<Response> {
  const backend = /^backends\/([^/]+)(?:\/([a-z]+))?$/.exec(rest);
  if (backend && !backend[2] && req.method === "GET") {
    return json(await board.backend(daemon, decodeURIComponent(backend[1])));
  }
  // A preview changes nothing: the read-only page may show it too.
  if (rest === "preview") {
    if (req.method !== "POST") return fail(405, "a preview is a POST with a JSON body");
    const body = await jsonBody(req);
    if (typeof body === "string") return fail(400, body);
    const err = requireStrings(body, ["frontend", "backend"]) ?? checkWeight(body.weight, true);
    if (err) return fail(400, err);
    return json(
      await board.preview(daemon, {
        frontend: body.frontend as string,
        backend: body.backend as string,
        pool: typeof body.pool === "string" ? body.pool : "",
        weight: typeof body.weight === "number" ? body.weight : 0,
        disable: body.disable === true,
      }),
    );
  }
  if (!backend && rest !== "weight") return fail(404, `no page ${rest}`);
  if (!admin) return fail(403, "actions are only allowed in the admin area (/admin/)");
  if (req.method !== "POST") return fail(405, "actions are POST requests");
  if (req.headers.get(ACTION_HEADER) !== "1") {
    return fail(403, `actions need the ${ACTION_HEADER}: 1 header (the page sends it)`);
  }
  const view = board.views().find((v) => v.id === daemon);
  if (!view) throw new NotFoundError(`no daemon ${JSON.stringify(daemon)}`);
  if (view.acceptsMutations === false) {
    return fail(
      403,
      `maglevd ${view.address} refuses mutating RPCs on this listener (connect to its ` +
        `loopback or unix socket listener, or start it with --grpc-allow-remote-admin)`,
    );
  }
  if (backend) {
    const action = backend[2] as BackendAction;
    if (!ACTIONS.includes(action)) return fail(404, `unknown action ${JSON.stringify(action)}`);
    return json(await board.backendAction(daemon, action, decodeURIComponent(backend[1])));
  }
  const change = await weightChange(req);
  if (typeof change === "string") return fail(400, change);
  return json(await board.setWeight(daemon, change));
}

async function jsonBody(req: Request): Promise<Record<string, unknown> | string> {
  let body: unknown;
  try {
    body = await req.json();
  } catch (e) {
    return `the body is not JSON: ${errorMessage(e)}`;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return "the body is not a JSON object";
  }
  return body as Record<string, unknown>;
}

function requireStrings(body: Record<string, unknown>, keys: string[]): string | undefined {
  const k = keys.find((k) => typeof body[k] !== "string" || body[k] === "");
  return k === undefined ? undefined : `"${k}" must be a non-empty string`;
}

function checkWeight(w: unknown, optional: boolean): string | undefined {
  if (optional && w === undefined) return undefined;
  if (typeof w !== "number") return `"weight" must be a number, got ${JSON.stringify(w)}`;
  return weightRangeError(w);
}

/** The weight change of a request body, or what is wrong with it. */
export async function weightChange(req: Request): Promise<WeightChange | string> {
  const body = await jsonBody(req);
  if (typeof body === "string") return body;
  const err = requireStrings(body, ["frontend", "pool", "backend"]) ??
    checkWeight(body.weight, false);
  if (err) return err;
  if (body.flush !== undefined && typeof body.flush !== "boolean") {
    return `"flush" must be a boolean`;
  }
  return {
    frontend: body.frontend as string,
    pool: body.pool as string,
    backend: body.backend as string,
    weight: body.weight as number,
    flush: body.flush === true,
  };
}
