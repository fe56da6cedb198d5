/**
 * "The VPP under test": the VPP-facing tests run against either the project's
 * double (`lab/vppsim/`, as its own process) or a fresh real VPP
 * (`../shared/vpp/vpp.sh start DIR`), chosen by `MAGLEV_TEST_VPP=double|real`
 * (default `double`). Both are driven through the same API socket, so the
 * same assertions judge both; where they must differ, the test says which.
 *
 * A restart is the same for both: the process is stopped and a new one is
 * started on the same socket, empty.
 * @module
 */
import { lbViewOf, ROOT, type SimView } from "./mod.ts";
import { VppClient } from "../../vpp/mod.ts";

/** Which VPP a test run talks to. */
export type VppKind = "double" | "real";

/** The real VPP beside the repository (not part of it; see its README). */
export const REAL_VPP_DIR: string = new URL("../../../shared/vpp", import.meta.url).pathname;

/** The kind chosen by `MAGLEV_TEST_VPP`; anything but `double` or `real` fails loudly. */
export function vppKind(): VppKind {
  const v = Deno.env.get("MAGLEV_TEST_VPP") ?? "double";
  if (v !== "double" && v !== "real") {
    throw new Error(`MAGLEV_TEST_VPP=${JSON.stringify(v)}: expected "double" or "real"`);
  }
  return v;
}

/** The kind of this run (read once). */
export const VPP_KIND: VppKind = vppKind();

/** Why a real VPP cannot run here (a bare clone, not root), or undefined when it can. */
export function realVppSkipReason(): string | undefined {
  try {
    Deno.statSync(`${REAL_VPP_DIR}/vpp.sh`);
  } catch {
    return `no real VPP at ${REAL_VPP_DIR} (a bare clone)`;
  }
  if (Deno.uid() !== 0) return "a real VPP needs root";
  return undefined;
}

/**
 * Why this run's VPP under test cannot start, or undefined: the double always
 * can; a real VPP needs `../shared/vpp` and root.
 */
export function vppSkipReason(kind: VppKind = VPP_KIND): string | undefined {
  return kind === "real" ? realVppSkipReason() : undefined;
}

/** Prints, once per file, the one line saying why its tests are skipped (nothing when they run). */
export function announceVppSkip(file: string, reason: string | undefined): void {
  if (reason !== undefined) console.log(`${file}: skipped: ${reason}`);
}

/** A running VPP under test. */
export interface VppUnderTest {
  /** Which one. */
  readonly kind: VppKind;
  /** The directory it runs in (sockets, logs); removed by `stop`. */
  readonly dir: string;
  /** Its binary API socket. */
  readonly socket: string;
  /** Its process id (changes on restart). */
  readonly pid: number;
  /** Stops it and starts a new, empty one on the same socket. */
  restart(): Promise<void>;
  /** Runs a debug CLI command through the API (`cli_inband`) on a short-lived session. */
  cli(cmd: string): Promise<string>;
  /** Stops it (waits until it exited) and removes its directory. */
  stop(): Promise<void>;
}

/** Options of `startVppUnderTest`. */
export interface VppUnderTestOptions {
  /** Which one (default `VPP_KIND`). */
  kind?: VppKind;
  /** Directory prefix of the temp dir. */
  prefix?: string;
  /** The double's fixed lb message id base (a real VPP picks its own). */
  pluginIdBase?: number;
}

/** A process started and stopped by PID. */
export interface ScriptProcess {
  readonly pid: number;
  stop(): Promise<void>;
}

/** How `startScript` knows its script is ready. */
export interface StartScriptOptions {
  /** The text the script prints on stdout once it serves. */
  ready: string;
  /** What it is, for the error when it exits first. */
  what: string;
}

/**
 * Runs a Deno script (`deno run -A script ...args`) in its own process and
 * resolves once it prints `options.ready`; its output is drained after, so
 * a chatty process never blocks on a full pipe.
 */
export async function startScript(
  script: string,
  args: string[],
  options: StartScriptOptions,
): Promise<ScriptProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes(options.ready)) {
    const { value, done } = await reader.read();
    if (done) {
      const err = await new Response(child.stderr).text();
      await child.status;
      throw new Error(`${options.what} exited before listening:\n${out}${err}`);
    }
    out += value;
  }
  const drain = Promise.all([
    (async () => {
      while (!(await reader.read()).done) { /* keep the pipe flowing */ }
    })(),
    child.stderr.pipeTo(new WritableStream()),
  ]);
  return {
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await drain;
    },
  };
}

function startDouble(socket: string, pluginIdBase?: number): Promise<ScriptProcess> {
  const base = pluginIdBase === undefined ? [] : ["--plugin-id-base", String(pluginIdBase)];
  // The double announces readiness on stdout once it listens.
  return startScript(`${ROOT}lab/vppsim/main.ts`, ["--socket", socket, ...base], {
    ready: "vppsim-listening",
    what: "the VPP double",
  });
}

async function vppSh(args: string[]): Promise<string> {
  const out = await new Deno.Command(`${REAL_VPP_DIR}/vpp.sh`, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`vpp.sh ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

async function startReal(dir: string): Promise<ScriptProcess> {
  // vpp.sh waits until the API socket exists; stop waits until the process exited.
  await vppSh(["start", dir]);
  const pid = Number((await Deno.readTextFile(`${dir}/vpp.pid`)).trim());
  return { pid, stop: async () => void await vppSh(["stop", dir]) };
}

/**
 * Starts the VPP under test in a fresh temp dir and returns it once its API
 * socket answers a control ping.
 */
export async function startVppUnderTest(
  options: VppUnderTestOptions = {},
): Promise<VppUnderTest> {
  const kind = options.kind ?? VPP_KIND;
  const why = vppSkipReason(kind);
  if (why !== undefined) throw new Error(`cannot start a ${kind} VPP: ${why}`);
  const dir = await Deno.makeTempDir({ prefix: options.prefix ?? `maglev-${kind}-vpp-` });
  const socket = `${dir}/api.sock`;
  const launch = () => kind === "real" ? startReal(dir) : startDouble(socket, options.pluginIdBase);
  let proc: ScriptProcess | undefined = await launch().catch(async (e) => {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  });
  await pingOnce(socket);
  const cli = async (cmd: string) => {
    const c = await VppClient.connect(socket);
    try {
      return (await c.request("cli_inband", { cmd: cmd })).reply;
    } finally {
      await c.close();
    }
  };
  return {
    kind,
    dir,
    socket,
    get pid() {
      return proc?.pid ?? 0;
    },
    async restart() {
      await proc?.stop();
      proc = undefined;
      proc = await launch();
      await pingOnce(socket);
    },
    cli,
    async stop() {
      await proc?.stop();
      proc = undefined;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function pingOnce(socket: string): Promise<void> {
  const c = await VppClient.connect(socket);
  try {
    await c.request("control_ping", {});
  } finally {
    await c.close();
  }
}

/** Options of `vppTest`. */
export interface VppTestOptions {
  /** Directory prefix of the VPP's temp dir. */
  prefix?: string;
}

/**
 * A test against a VPP under test of this run's kind, started for it and
 * stopped after; named after the kind, ignored when that kind cannot run here.
 */
export function vppTest(
  name: string,
  fn: (vpp: VppUnderTest) => Promise<void>,
  options: VppTestOptions = {},
): void {
  Deno.test({
    name: `${name} (${VPP_KIND} VPP)`,
    ignore: vppSkipReason() !== undefined,
    async fn() {
      const vpp = await startVppUnderTest({ prefix: options.prefix });
      try {
        await fn(vpp);
      } finally {
        await vpp.stop();
      }
    },
  });
}

/**
 * What a VPP's lb plugin holds, read the way a client reads it (vip dump and
 * unfiltered as_v2 dump, see `lbViewOf`), on one short-lived session.
 */
export async function readLbView(socket: string): Promise<SimView> {
  const c = await VppClient.connect(socket);
  try {
    const [vips, ases] = await Promise.all([
      c.dump("lb_vip_dump", {}) as Promise<unknown> as Promise<Record<string, unknown>[]>,
      c.dump("lb_as_v2_dump", {}) as Promise<unknown> as Promise<Record<string, unknown>[]>,
    ]);
    return lbViewOf(vips, ases);
  } finally {
    await c.close();
  }
}
