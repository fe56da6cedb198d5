/**
 * A headless Debian `chromium` driven over the DevTools protocol (its own
 * websocket, no extra package): open a page, evaluate an expression in it,
 * click, take a screenshot. Each browser gets a fresh profile directory and
 * is told not to phone home (no background networking, component updates,
 * sync or QUIC), so a test only talks to loopback.
 * @module
 */

/** Where Debian installs chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Why the browser tests cannot run here, or undefined. */
export function chromiumSkipReason(): string | undefined {
  try {
    Deno.statSync(CHROMIUM);
    return undefined;
  } catch {
    return `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does it as root)`;
  }
}

/** The folder screenshots go to: `$MAGLEV_ARTIFACTS` or `/tmp/maglev-artifacts`. */
export function artifactsDir(): string {
  const dir = Deno.env.get("MAGLEV_ARTIFACTS") || "/tmp/maglev-artifacts";
  Deno.mkdirSync(dir, { recursive: true });
  return dir;
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  method: string;
}

/** One page of a running headless chromium. */
export class Browser {
  readonly #child: Deno.ChildProcess;
  readonly #ws: WebSocket;
  readonly #profile: string;
  readonly #pending = new Map<number, Pending>();
  readonly #stderr: string[];
  #nextId = 1;

  private constructor(
    child: Deno.ChildProcess,
    ws: WebSocket,
    profile: string,
    stderr: string[],
  ) {
    this.#child = child;
    this.#ws = ws;
    this.#profile = profile;
    this.#stderr = stderr;
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data));
      const p = msg.id !== undefined ? this.#pending.get(msg.id) : undefined;
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result ?? {});
    };
    ws.onclose = () => {
      for (const p of this.#pending.values()) p.reject(new Error(`${p.method}: browser went away`));
      this.#pending.clear();
    };
  }

  /** Starts chromium at `about:blank` with a window of `width` x `height`. */
  static async launch(options: { width?: number; height?: number } = {}): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "maglev-chromium-" });
    const child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        `--user-data-dir=${profile}`,
        `--window-size=${options.width ?? 1400},${options.height ?? 1000}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr: string[] = [];
    const { promise: endpoint, resolve, reject } = Promise.withResolvers<string>();
    (async () => {
      let buf = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          stderr.push(line);
          if (stderr.length > 200) stderr.shift();
          const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
          if (m) resolve(m[1]);
        }
      }
      reject(new Error(`chromium exited before DevTools listened:\n${stderr.join("\n")}`));
    })();
    try {
      const browserWs = new URL(await endpoint);
      const list = await (await fetch(`http://${browserWs.host}/json/list`)).json() as {
        type: string;
        webSocketDebuggerUrl: string;
      }[];
      const page = list.find((t) => t.type === "page");
      if (!page) throw new Error(`chromium has no page target: ${JSON.stringify(list)}`);
      const ws = new WebSocket(page.webSocketDebuggerUrl);
      await new Promise<void>((res, rej) => {
        ws.onopen = () => res();
        ws.onerror = () => rej(new Error(`cannot open ${page.webSocketDebuggerUrl}`));
      });
      const b = new Browser(child, ws, profile, stderr);
      await b.send("Page.enable");
      await b.send("Runtime.enable");
      return b;
    } catch (e) {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /** Sends one DevTools command; resolves with its result. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
    this.#pending.set(id, { resolve, reject, method });
    this.#ws.send(JSON.stringify({ id, method, params }));
    return promise;
  }

  /** Loads `url` and resolves once its load event fired. */
  async navigate(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => {
      const onMessage = (m: MessageEvent) => {
        if (JSON.parse(String(m.data)).method === "Page.loadEventFired") {
          this.#ws.removeEventListener("message", onMessage);
          resolve();
        }
      };
      this.#ws.addEventListener("message", onMessage);
    });
    const r = await this.send("Page.navigate", { url });
    if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
    await loaded;
  }

  /** Sends `headers` with every request from now on (e.g. basic auth). */
  async setHeaders(headers: Record<string, string>): Promise<void> {
    await this.send("Network.enable");
    await this.send("Network.setExtraHTTPHeaders", { headers });
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }) as { result: { value?: T }; exceptionDetails?: { exception?: { description?: string } } };
    if (r.exceptionDetails) {
      throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? "exception"}`);
    }
    return r.result.value as T;
  }

  /** Writes a PNG of the page to `path`. */
  async screenshot(path: string): Promise<void> {
    const r = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    });
    const bin = atob(String(r.data));
    await Deno.writeFile(path, Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  }

  /** The browser's last stderr lines, for failure messages. */
  tail(n = 20): string {
    return this.#stderr.slice(-n).join("\n");
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      this.#ws.close();
    } catch { /* closed */ }
    try {
      this.#child.kill("SIGTERM");
    } catch { /* gone */ }
    await this.#child.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}
