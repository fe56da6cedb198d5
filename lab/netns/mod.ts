/**
 * The root lab (used by CI and `tests/e2e/`): network namespaces joined by
 * veth links as hosts, each running its own nginx as a real backend, and a
 * `dataplane` namespace holding the bridge that maglevd probes through
 * (`healthchecker.netns`). Needs root, `ip` (iproute2) and `nginx`.
 *
 * Every run gets its own id (`<prefix>-<pid>-<random>`), so parallel runs and
 * leftovers of a crashed run never clash; {@linkcode setupLab} first removes
 * leftovers whose owning process is gone. Only private addresses are used,
 * and only inside the namespaces created here.
 *
 * ```ts
 * const lab = await setupLab();
 * try {
 *   await lab.writeConfig("/tmp/maglev.yaml");
 *   // run maglevd --config /tmp/maglev.yaml ...
 * } finally {
 *   await lab.teardown();
 * }
 * ```
 * @module
 */
import { stringify } from "yaml";
import { errorMessage } from "../../src/errors.ts";

/** Prefix of every namespace this lab creates (and of the leftovers it cleans up). */
export const DEFAULT_PREFIX = "mglab";

/** The IPv4 subnet of the lab bridge. */
export const LAB_SUBNET4 = "172.20.30.0/24";
/** The IPv6 (ULA) subnet of the lab bridge. */
export const LAB_SUBNET6 = "fd20:30::/64";

/** One backend host to create. */
export interface LabHostSpec {
  /** Backend name (also the nginx and namespace suffix). */
  readonly name: string;
  /** Last octet / last group of its addresses (2..254). */
  readonly host: number;
}

/** The default hosts: nginx1..nginx3 at .11, .12, .13 as in the upstream lab. */
export const DEFAULT_HOSTS: readonly LabHostSpec[] = [
  { name: "nginx1", host: 11 },
  { name: "nginx2", host: 12 },
  { name: "nginx3", host: 13 },
];

/** Addresses of the lab's static (never probed) backends. */
export const STATIC_BACKENDS: Readonly<Record<string, string>> = {
  "static-primary": "172.20.30.21",
  "static-fallback": "172.20.30.22",
};

/** Options of {@linkcode setupLab}. */
export interface LabOptions {
  /** Namespace prefix; default {@linkcode DEFAULT_PREFIX}. */
  readonly prefix?: string;
  /** Hosts to create; default {@linkcode DEFAULT_HOSTS}. */
  readonly hosts?: readonly LabHostSpec[];
  /** Keep the lab directory (configs, logs) after teardown; default false. */
  readonly keepDir?: boolean;
}

/** One backend host of a running lab. */
export interface LabBackend {
  /** Backend name. */
  readonly name: string;
  /** IPv4 address (in {@linkcode LAB_SUBNET4}). */
  readonly address: string;
  /** IPv6 address (in {@linkcode LAB_SUBNET6}). */
  readonly address6: string;
  /** The namespace the host lives in. */
  readonly namespace: string;
  /** nginx access log path. */
  readonly accessLog: string;
  /** nginx error log path. */
  readonly errorLog: string;
  /** nginx config path. */
  readonly configPath: string;
  /** nginx pid file path. */
  readonly pidFile: string;
}

/** Overrides merged into the `maglev:` map by {@linkcode Lab.writeConfig}; `null` deletes a key. */
export type ConfigOverrides = Record<string, unknown>;

/** A running lab. */
export interface Lab {
  /** The run id, the prefix of every namespace of this run. */
  readonly id: string;
  /** Directory holding nginx configs, pid files and logs. */
  readonly dir: string;
  /** The namespace maglevd probes through (`healthchecker.netns`). */
  readonly dataplane: string;
  /** The dataplane's IPv4 address on the bridge (the probes' source). */
  readonly dataplaneAddress: string;
  /** The dataplane's IPv6 address on the bridge. */
  readonly dataplaneAddress6: string;
  /** Backends by name. */
  readonly backends: Readonly<Record<string, LabBackend>>;
  /** Stops the nginx of backend `name` (the host stays reachable; its port 80 refuses). */
  stopBackend(name: string): Promise<void>;
  /** Starts the nginx of backend `name` again (no-op when it runs). */
  startBackend(name: string): Promise<void>;
  /** True while backend `name`'s nginx runs. */
  isRunning(name: string): boolean;
  /** The complete lines of backend `name`'s access log so far. */
  accessLogLines(name: string): Promise<string[]>;
  /** The lab's maglev.yaml as an object (`{maglev: {...}}`), with `overrides` merged. */
  config(overrides?: ConfigOverrides): Record<string, unknown>;
  /** Writes the lab's maglev.yaml (see {@linkcode Lab.config}) to `path`. */
  writeConfig(path: string, overrides?: ConfigOverrides): Promise<void>;
  /** Runs `argv` inside namespace `ns` (`ip netns exec`); returns its output. */
  exec(ns: string, argv: readonly string[]): Promise<CommandResult>;
  /** Stops every nginx, kills what still runs in the namespaces, deletes them. */
  teardown(): Promise<void>;
}

/** Output of a finished command. */
export interface CommandResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/**
 * Why the root lab cannot run here, or undefined when it can: needs root,
 * `ip`, `nsenter` and `nginx`.
 */
export function labSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "the root lab needs Linux";
  if (Deno.uid() !== 0) return "the root lab needs root (network namespaces)";
  for (const tool of ["ip", "nginx", "nsenter"]) {
    if (findTool(tool) === undefined) return `the root lab needs \`${tool}\` on PATH`;
  }
  return undefined;
}

/** The full path of `tool` on PATH (plus the sbin directories), or undefined. */
export function findTool(tool: string): string | undefined {
  const path = (Deno.env.get("PATH") ?? "").split(":");
  for (const dir of [...path, "/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${tool}`).isFile) return `${dir}/${tool}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Runs a command to completion, never throwing for a non-zero exit. */
export async function run(argv: readonly string[]): Promise<CommandResult> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function must(argv: readonly string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) {
    throw new Error(`lab: \`${argv.join(" ")}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Names of the namespaces that exist now. */
export async function listNamespaces(): Promise<string[]> {
  const out = await must(["ip", "netns", "list"]);
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((n) => n !== "");
}

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Kills every process inside namespace `ns` (SIGKILL: they belong to a dead lab). */
async function killNamespace(ns: string): Promise<void> {
  const r = await run(["ip", "netns", "pids", ns]);
  for (const pid of r.stdout.split(/\s+/).filter((p) => p !== "").map(Number)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  await killNamespace(ns);
  const r = await run(["ip", "netns", "del", ns]);
  if (r.code !== 0 && !/No such file/.test(r.stderr)) {
    throw new Error(`lab: cannot delete namespace ${ns}: ${r.stderr.trim()}`);
  }
}

/**
 * Deletes namespaces named `<prefix>-<pid>-...` whose owning process `<pid>`
 * is gone (leftovers of crashed runs), with whatever still runs in them.
 * Namespaces of live runs are left alone. Returns the names deleted.
 */
export async function cleanupStaleLabs(prefix = DEFAULT_PREFIX): Promise<string[]> {
  const re = new RegExp(`^${prefix}-(\\d+)-[0-9a-f]+-`);
  const stale = (await listNamespaces()).filter((ns) => {
    const m = re.exec(ns);
    return m !== null && !processAlive(Number(m[1]));
  });
  for (const ns of stale) await deleteNamespace(ns);
  return stale;
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function nginxConfig(b: LabBackend, dir: string): string {
  const tmp = `${dir}/${b.name}-tmp`;
  return `# nginx for lab backend ${b.name} (namespace ${b.namespace})
worker_processes 1;
daemon off;
master_process on;
pid ${b.pidFile};
error_log ${b.errorLog} warn;
events { worker_connections 64; }
http {
  access_log ${b.accessLog};
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  server {
    listen ${b.address}:80;
    listen [${b.address6}]:80;
    default_type text/plain;
    location = /healthz { return 200 "ok ${b.name}\\n"; }
    location / { return 200 "${b.name}\\n"; }
  }
}
`;
}

/** Deep-merges `over` into `base` (new objects; `null` deletes; arrays are replaced). */
export function mergeConfig(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) {
      delete out[k];
    } else if (isPlainObject(v) && isPlainObject(out[k])) {
      out[k] = mergeConfig(out[k] as Record<string, unknown>, v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The lab's config (the `maglev:` map): http-check every 200ms with rise 2 /
 * fall 2 through namespace `dataplane`, nginx1..3, two static backends, and
 * the frontends `http-vip` (primary nginx1+nginx2, fallback nginx3) and
 * `failover-vip` (static-primary / static-fallback).
 */
export function labConfig(
  dataplane: string,
  backends: Readonly<Record<string, LabBackend>>,
): Record<string, unknown> {
  const be: Record<string, unknown> = {};
  for (const b of Object.values(backends)) {
    be[b.name] = { address: b.address, healthcheck: "http-check" };
  }
  for (const [name, address] of Object.entries(STATIC_BACKENDS)) be[name] = { address };
  const poolOf = (names: string[]) =>
    Object.fromEntries(names.filter((n) => n in be).map((n) => [n, { weight: 100 }]));
  return {
    healthchecker: { "transition-history": 10, netns: dataplane },
    vpp: {
      lb: {
        "ipv4-src-address": "192.0.2.254",
        "ipv6-src-address": "2001:db8::254",
        "sticky-buckets-per-core": 1024,
        "flow-timeout": "40s",
        "sync-interval": "30s",
        "startup-min-delay": "200ms",
        "startup-max-delay": "3s",
      },
    },
    healthchecks: {
      "http-check": {
        type: "http",
        port: 80,
        params: { path: "/healthz" },
        // 200 ms between probes while not fully up; a 500 ms timeout so that a loaded CI machine
        // (nginx and the probe agent starved for a moment) does not read as a failing backend.
        interval: "500ms",
        "fast-interval": "200ms",
        timeout: "500ms",
        rise: 2,
        fall: 2,
      },
    },
    backends: be,
    frontends: {
      "http-vip": {
        address: "192.0.2.1",
        protocol: "tcp",
        port: 80,
        pools: [
          { name: "primary", backends: poolOf(["nginx1", "nginx2"]) },
          { name: "fallback", backends: poolOf(["nginx3"]) },
        ],
      },
      "failover-vip": {
        address: "192.0.2.2",
        protocol: "tcp",
        port: 80,
        pools: [
          { name: "primary", backends: poolOf(["static-primary"]) },
          { name: "fallback", backends: poolOf(["static-fallback"]) },
        ],
      },
    },
  };
}

/** The prefix and hosts of `options`, checked; throws naming the bad one. */
function checkedLabOptions(options: LabOptions): { prefix: string; hosts: readonly LabHostSpec[] } {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (!/^[a-z][a-z0-9]{0,11}$/.test(prefix)) {
    throw new Error(`lab: prefix ${JSON.stringify(prefix)} must be 1-12 of [a-z0-9]`);
  }
  const hosts = options.hosts ?? DEFAULT_HOSTS;
  for (const h of hosts) {
    if (!/^[a-z][a-z0-9-]{0,15}$/.test(h.name) || h.host < 2 || h.host > 254) {
      throw new Error(`lab: bad host ${JSON.stringify(h)} (name [a-z0-9-], host 2..254)`);
    }
  }
  return { prefix, hosts };
}

/** The backends of lab `id`: addresses, namespace and nginx files under `dir`. */
function labBackends(
  id: string,
  dir: string,
  hosts: readonly LabHostSpec[],
): Record<string, LabBackend> {
  const backends: Record<string, LabBackend> = {};
  for (const h of hosts) {
    backends[h.name] = {
      name: h.name,
      address: `172.20.30.${h.host}`,
      address6: `fd20:30::${h.host.toString(16)}`,
      namespace: `${id}-${h.name}`,
      accessLog: `${dir}/${h.name}.access.log`,
      errorLog: `${dir}/${h.name}.error.log`,
      configPath: `${dir}/${h.name}.conf`,
      pidFile: `${dir}/${h.name}.pid`,
    };
  }
  return backends;
}

/** The nginx processes of a lab's backends, one per backend at most. */
class BackendProcesses {
  readonly #children = new Map<string, Deno.ChildProcess>();

  constructor(readonly backends: Readonly<Record<string, LabBackend>>, readonly dir: string) {}

  /** The backend named `name`; throws naming it and the known ones. */
  backendOf(name: string): LabBackend {
    const b = this.backends[name];
    if (b === undefined) {
      throw new Error(
        `lab: unknown backend ${JSON.stringify(name)} (have ${
          Object.keys(this.backends).join(", ")
        })`,
      );
    }
    return b;
  }

  isRunning(name: string): boolean {
    return this.#children.has(this.backendOf(name).name);
  }

  /** Starts nginx in the backend's namespace; resolves once it serves. */
  async start(name: string): Promise<void> {
    const b = this.backendOf(name);
    if (this.#children.has(name)) return;
    await Deno.remove(b.pidFile).catch(() => {});
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        b.namespace,
        "nginx",
        "-c",
        b.configPath,
        "-p",
        this.dir,
        "-e",
        b.errorLog,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#children.set(name, child);
    let exited = false;
    child.status.then(() => exited = true);
    // nginx writes its pid file after binding its listeners, so the file means "serving".
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (exited) break;
      try {
        if ((await Deno.readTextFile(b.pidFile)).trim() !== "") return;
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 20));
    }
    this.#children.delete(name);
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    const status = await child.status;
    const errLog = await Deno.readTextFile(b.errorLog).catch(() => "(no error log)");
    throw new Error(
      `lab: nginx for ${name} did not start (exit ${
        exited ? status.code : "timeout"
      }): ${errLog.trim()}`,
    );
  }

  /** Stops the backend's nginx and anything it left in the namespace. */
  async stop(name: string): Promise<void> {
    const b = this.backendOf(name);
    const child = this.#children.get(name);
    if (child === undefined) return;
    this.#children.delete(name);
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5_000);
    await child.status;
    clearTimeout(timer);
    // A worker that outlived its master would keep port 80 open: kill whatever is left.
    await killNamespace(b.namespace);
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.#children.keys()]) await this.stop(name).catch(() => {});
  }
}

/**
 * Creates the dataplane namespace with its bridge, and one namespace per
 * backend on a veth port of it, with nginx's files; every namespace made is
 * pushed onto `created` at once, so a failure part way can be undone.
 */
async function createTopology(
  dataplane: string,
  backends: Readonly<Record<string, LabBackend>>,
  options: { dir: string; created: string[] },
): Promise<void> {
  const { dir, created } = options;
  await must(["ip", "netns", "add", dataplane]);
  created.push(dataplane);
  const dp = (args: string[]) => must(["ip", "-n", dataplane, ...args]);
  await dp(["link", "set", "lo", "up"]);
  await dp(["link", "add", "br0", "type", "bridge"]);
  await dp(["addr", "add", "172.20.30.1/24", "dev", "br0"]);
  await dp(["-6", "addr", "add", "fd20:30::1/64", "dev", "br0", "nodad"]);
  await dp(["link", "set", "br0", "up"]);
  for (const b of Object.values(backends)) {
    await must(["ip", "netns", "add", b.namespace]);
    created.push(b.namespace);
    const port = `v-${b.name}`.slice(0, 15);
    await dp(["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", b.namespace]);
    await dp(["link", "set", port, "master", "br0", "up"]);
    const host = (args: string[]) => must(["ip", "-n", b.namespace, ...args]);
    await host(["link", "set", "lo", "up"]);
    await host(["addr", "add", `${b.address}/24`, "dev", "eth0"]);
    await host(["-6", "addr", "add", `${b.address6}/64`, "dev", "eth0", "nodad"]);
    await host(["link", "set", "eth0", "up"]);
    await Deno.writeTextFile(b.configPath, nginxConfig(b, dir));
    await Deno.mkdir(`${dir}/${b.name}-tmp`, { recursive: true });
    await Deno.writeTextFile(b.accessLog, "");
  }
}

/** Creates the lab (as root): namespaces, veth links, bridge, addresses, nginx. */
export async function setupLab(options: LabOptions = {}): Promise<Lab> {
  const reason = labSkipReason();
  if (reason !== undefined) throw new Error(`lab: ${reason}`);
  const { prefix, hosts } = checkedLabOptions(options);
  await cleanupStaleLabs(prefix);

  const id = `${prefix}-${Deno.pid}-${randomHex(3)}`;
  const dir = await Deno.makeTempDir({ prefix: `${id}-` });
  const dataplane = `${id}-dp`;
  const created: string[] = [];
  const backends = labBackends(id, dir, hosts);
  const nginx = new BackendProcesses(backends, dir);

  const teardown = async () => {
    await nginx.stopAll();
    const errors: string[] = [];
    for (const ns of created.reverse()) {
      await deleteNamespace(ns).catch((e) => errors.push(errorMessage(e)));
    }
    created.length = 0;
    if (!options.keepDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (errors.length > 0) throw new Error(errors.join("\n"));
  };

  try {
    await createTopology(dataplane, backends, { dir, created });
    for (const name of Object.keys(backends)) await nginx.start(name);
  } catch (e) {
    await teardown().catch(() => {});
    throw e;
  }

  const config = (overrides: ConfigOverrides = {}) => ({
    maglev: mergeConfig(labConfig(dataplane, backends), overrides),
  });
  return {
    id,
    dir,
    dataplane,
    dataplaneAddress: "172.20.30.1",
    dataplaneAddress6: "fd20:30::1",
    backends,
    stopBackend: (name) => nginx.stop(name),
    startBackend: (name) => nginx.start(name),
    isRunning: (name) => nginx.isRunning(name),
    accessLogLines: async (name) => {
      const text = await Deno.readTextFile(nginx.backendOf(name).accessLog);
      // Only complete lines: nginx may be writing the last one right now.
      return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "");
    },
    config,
    writeConfig: async (path, overrides = {}) => {
      await Deno.writeTextFile(path, stringify(config(overrides)));
    },
    exec: (ns, argv) => run(["ip", "netns", "exec", ns, ...argv]),
    teardown,
  };
}
