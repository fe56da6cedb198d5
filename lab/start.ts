/**
 * `deno task start`: the whole system on one machine, no root needed. Starts
 * the VPP test double on a private socket, local HTTP backends on loopback
 * addresses (one flapping every other minute), maglevd with
 * `lab/maglev.yaml`, and the web dashboard watching it; Ctrl-C stops all of
 * it.
 * @module
 */
import { startBackends } from "./backends.ts";
import { startVppSim } from "./vppsim/server.ts";
import { errorMessage } from "../src/errors.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const GRPC = "localhost:9090";
const METRICS = "127.0.0.1:9091";
const DASHBOARD = "localhost:9092";
/** The lab dashboard's admin credentials (loopback only; never reuse them). */
const LAB_ADMIN = { MAGLEV_DASHBOARD_USER: "admin", MAGLEV_DASHBOARD_PASSWORD: "maglev-lab" };

/** The lab's backends, matching lab/maglev.yaml. */
export const LAB_BACKENDS = [
  { name: "nginx1", address: "127.0.10.11", port: 18080 },
  { name: "nginx2", address: "127.0.10.12", port: 18080, flapPeriodMs: 60_000 },
  { name: "nginx3", address: "127.0.10.13", port: 18080 },
];

async function isListening(hostname: string, port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname, port });
    c.close();
    return true;
  } catch {
    return false;
  }
}

async function waitForPort(hostname: string, port: number, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    try {
      const c = await Deno.connect({ hostname, port });
      c.close();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

/** The first lab port something else already listens on, as a message; undefined when all are free. */
async function portInUse(): Promise<string | undefined> {
  for (
    const [host, port, what] of [
      ["127.0.0.1", 9090, "gRPC"],
      ["127.0.0.1", 9091, "metrics"],
      ["127.0.0.1", 9092, "dashboard"],
    ] as const
  ) {
    if (await isListening(host, port)) {
      return `${host}:${port} (${what}) is already in use — is another lab or maglevd running?`;
    }
  }
  return undefined;
}

/** `main.ts` with `args`, output to this terminal. */
function spawnMaglevd(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...args],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
    env,
  }).spawn();
}

function banner(socket: string, dashboardUp: boolean): string {
  const admin = `user ${LAB_ADMIN.MAGLEV_DASHBOARD_USER}, ` +
    `password ${LAB_ADMIN.MAGLEV_DASHBOARD_PASSWORD}`;
  return `
maglev lab is running:
  VPP test double   ${socket}
  backends          ${LAB_BACKENDS.map((b) => `${b.name}=${b.address}:${b.port}`).join(" ")}
  gRPC              ${GRPC}
  metrics           http://${METRICS}/metrics
  dashboard         ${dashboardUp ? `http://${DASHBOARD}/` : "(did not start, see above)"}
  dashboard admin   http://${DASHBOARD}/admin/ (${admin})

Look at it from another terminal:
  deno task maglevd show frontends
  deno task maglevd show frontends http-vip
  deno task maglevd show backends nginx2
  deno task maglevd shell
  deno task vppsim:show --socket ${socket}
  curl -s http://${METRICS}/metrics | grep maglev_backend_state

Ctrl-C stops everything.
`;
}

async function main(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "maglev-lab-" });
  const socket = `${dir}/api.sock`;
  const fail = async (message: string) => {
    console.error(`%cmaglev lab: ${message}`, "color: red");
    await Deno.remove(dir, { recursive: true });
    return 1;
  };
  const busy = await portInUse();
  if (busy) return await fail(busy);
  let backends;
  try {
    backends = startBackends(LAB_BACKENDS);
  } catch (e) {
    return await fail(`cannot start the HTTP backends: ${errorMessage(e)}`);
  }
  const sim = await startVppSim({ socketPath: socket });
  const daemon = spawnMaglevd([
    ...["--config", `${ROOT}lab/maglev.yaml`, "--vpp-api-addr", socket],
    ...["--grpc-addr", GRPC, "--metrics-addr", METRICS, "--log-format", "text"],
  ]);
  let dashboard: Deno.ChildProcess | undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const p of [dashboard, daemon]) {
      try {
        p?.kill("SIGTERM");
      } catch { /* already gone */ }
    }
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);

  if (await waitForPort("127.0.0.1", 9090) && !stopping) {
    // A lab on loopback: the admin area, with the credentials in the banner.
    dashboard = spawnMaglevd(["dashboard", "--server", GRPC, "--listen", DASHBOARD], {
      MAGLEV_DASHBOARD_LOG_FORMAT: "text",
      ...LAB_ADMIN,
    });
    console.log(banner(socket, await waitForPort("127.0.0.1", 9092)));
  }
  const status = await daemon.status;
  const asked = stopping;
  // The dashboard has nothing to show once the daemon is gone.
  stop();
  await dashboard?.status;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await backends.close();
  await sim.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  console.log(`lab stopped (maglevd exit code ${status.code})`);
  return asked ? 0 : status.code;
}

if (import.meta.main) Deno.exit(await main());
