/**
 * `maglevd dashboard`: a web view of one or more maglevd, served by the
 * same binary. It is only a client of their gRPC APIs.
 * @module
 */
import { configureLog, log } from "../log/mod.ts";
import { defaultConnectionCap, joinHostPort } from "../listen/mod.ts";
import { type HttpLimits, type HttpListener, serveHttp } from "../listen/http.ts";
import { VERSION } from "../version.ts";
import { errorMessage } from "../errors.ts";
import { Board } from "./board.ts";
import { DASHBOARD_USAGE, parseDashboardFlags } from "./flags.ts";
import { dashboardHandler } from "./server.ts";
import type { Credentials } from "./auth.ts";
import { type DashboardClient, dashboardClient } from "./link.ts";

export { DASHBOARD_USAGE } from "./flags.ts";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** maglevd addresses. */
  servers: readonly string[];
  /** Where to listen (port 0: any free port). */
  listen: { host: string; port: number };
  credentials?: Credentials;
  /** Stream debug records for the probe heartbeat (default true). */
  heartbeat?: boolean;
  /** Makes a daemon's client (default: the gRPC client). */
  connect?: (address: string) => DashboardClient;
  /** Connection bounds (default: a quarter of the fd limit, 10 s requests, 30 s writes). */
  limits?: Partial<HttpLimits>;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's URL. */
  readonly url: string;
  readonly board: Board;
  /** Stops serving and disconnects from the daemons. */
  close(): Promise<void>;
}

/** Starts the links and the HTTP listener; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const board = new Board(options.servers, {
    connect: options.connect ?? dashboardClient,
    link: { heartbeat: options.heartbeat },
  });
  const { host, port } = options.listen;
  const addr = joinHostPort(host, port);
  const limits: HttpLimits = {
    maxConnections: options.limits?.maxConnections ?? defaultConnectionCap(),
    headerTimeoutMs: options.limits?.headerTimeoutMs ?? 10_000,
    writeTimeoutMs: options.limits?.writeTimeoutMs ?? 30_000,
  };
  let server: HttpListener;
  try {
    server = serveHttp(
      { text: addr, host, port },
      dashboardHandler(board, { credentials: options.credentials }),
      { limits, name: addr, what: "dashboard" },
    );
  } catch (e) {
    await board.stop();
    throw e;
  }
  const bound = server.addr;
  board.start();
  const shown = host === "localhost"
    ? "localhost"
    : bound.hostname.includes(":")
    ? `[${bound.hostname}]`
    : bound.hostname;
  return {
    url: `http://${shown}:${bound.port}/`,
    board,
    async close() {
      // The page streams never end on their own: end them so shutdown does not wait.
      await board.stop();
      await server.close();
    },
  };
}

/** Entry point of `maglevd dashboard ...`; returns the exit code. */
export async function runDashboard(args: readonly string[]): Promise<number> {
  let flags;
  try {
    flags = parseDashboardFlags(args, { isTty: Deno.stdout.isTerminal() });
  } catch (e) {
    console.error(`%cmaglevd dashboard: ${errorMessage(e)}`, "color: red");
    console.error(DASHBOARD_USAGE);
    return 2;
  }
  if (flags.help) {
    console.log(DASHBOARD_USAGE);
    return 0;
  }
  configureLog({ level: flags.logLevel, format: flags.logFormat });
  let dash: Dashboard;
  try {
    dash = await startDashboard(flags);
  } catch (e) {
    console.error(`%cmaglevd dashboard: ${errorMessage(e)}`, "color: red");
    return 1;
  }
  log.info("dashboard-listen", {
    version: VERSION,
    url: dash.url,
    servers: flags.servers.join(","),
    admin: flags.credentials !== undefined,
  });
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, resolve);
  // Like upstream's frontend: a HUP (a reload of the daemons' units) must not end the page.
  Deno.addSignalListener("SIGHUP", () => {});
  await stopped;
  log.info("stopping", {});
  await dash.close();
  return 0;
}
