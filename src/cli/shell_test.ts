/**
 * The interactive shell driven through a real pseudo-terminal: util-linux
 * `script` runs the real binary on a pty against a daemon built from real
 * parts, and we type into it, reading the screen output back.
 */
import { strict as assert } from "node:assert";
import { configureLog } from "../log/mod.ts";
import { runCli } from "../../tests/helpers/mod.ts";
import { startTestDaemon } from "./daemon_test_util.ts";

const CLIENT = new URL("../../main.ts", import.meta.url).pathname;

// The in-process daemon's own log would drown the test report.
configureLog({ level: "error", format: "json", write: () => {} });

function hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Removes terminal control sequences so assertions see the visible text. */
function visible(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "").replace(/\r/g, "");
}

class Pty {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #raw = "";
  #waiters: (() => void)[] = [];
  #reading: Promise<void>;
  /** Where the next `expect` starts looking. */
  mark = 0;

  constructor(args: string[], env: Record<string, string> = {}) {
    const cmd = `stty cols 120 rows 40; exec ${Deno.execPath()} run -A ${CLIENT} ${args.join(" ")}`;
    this.#child = new Deno.Command("script", {
      args: ["-qfec", cmd, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { TERM: "xterm", NO_COLOR: "", ...env },
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of this.#child.stdout) {
      this.#raw += dec.decode(chunk, { stream: true });
      for (const w of this.#waiters.splice(0)) w();
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  get text(): string {
    return visible(this.#raw);
  }

  /** Everything written so far, escape sequences included. */
  get raw(): string {
    return this.#raw;
  }

  async type(keys: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(keys));
  }

  /** Waits until the output after `mark` matches; moves `mark` past the match. */
  async expect(re: RegExp): Promise<string> {
    const deadline = Date.now() + 10_000;
    while (true) {
      const rest = this.text.slice(this.mark);
      const m = re.exec(rest);
      if (m !== null) {
        this.mark += m.index + m[0].length;
        return rest.slice(0, m.index + m[0].length);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; screen:\n${rest}`);
      // Woken by the next chunk of output (or by the end of it); the timer
      // only bounds a broken run.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1);
      });
      clearTimeout(timer);
      if (this.#done && !re.test(this.text.slice(this.mark))) {
        throw new Error(`client ended before ${re}; screen:\n${this.text.slice(this.mark)}`);
      }
    }
  }

  #done = false;

  /** Ends the session; `kill` when the client may still be running. */
  async close(kill: boolean): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    if (kill) this.#child.kill("SIGKILL");
    const status = await this.#child.status;
    await this.#reading;
    this.#done = true;
    await this.#child.stderr.cancel();
    return status;
  }
}

Deno.test({
  name: "shell on a pty: banner, completion, ? help, history, errors, watch, quit",
  ignore: !hasScript(),
  async fn() {
    const d = await startTestDaemon();
    const pty = new Pty(["--server", d.server, "--color=false"]);
    let quit = false;
    try {
      await pty.expect(/maglevd \d+\.\d+\.\d+ connected to 127\.0\.0\.1:\d+\nmaglev> $/);

      // Tab completes a keyword, then a live name from the server.
      await pty.type("sh\t");
      await pty.expect(/^show $/);
      await pty.type("fr\t");
      await pty.expect(/frontends $/);

      // `?` shows help at once, without Enter, and the line stays as typed.
      await pty.type("?");
      const help = await pty.expect(/run the command\n/);
      await pty.expect(/maglev> show frontends $/);
      assert.match(
        help,
        /show frontends \?\n {2}<frontend>\s+show one frontend in detail\n {2}<cr>\s+run the command\n/,
      );

      await pty.type("w\t");
      await pty.expect(/web $/);
      await pty.type("\r");
      const out = await pty.expect(/\nmaglev> $/);
      assert.match(out, /nginx1\s+weight\s+100\s+effective\s+100\b/);
      assert.match(out, /^state\s+up$/m);

      // A bad word: targeted error, shell goes on.
      await pty.type("show bogus\r");
      const err = await pty.expect(/\nmaglev> $/);
      assert.match(
        err,
        /unknown word "bogus" after "show"; expected version, status, config, frontends/,
      );

      // Up arrow twice recalls the line before the error.
      await pty.type("\x1b[A\x1b[A");
      await pty.expect(/maglev> show frontends web ?$/);
      await pty.type("\x15"); // Ctrl-U: drop the recalled line

      // Completion of a name under a context (pools of frontend web).
      await pty.type("set frontend web pool \t\t");
      const pools = await pty.expect(/fallback\s+primary/);
      assert.match(pools, /fallback\s+primary/);
      await pty.type("\x15\r");
      await pty.expect(/maglev> $/);

      // watch events: one human line per event on a terminal; a keypress ends it.
      await pty.type("watch events\r");
      await pty.expect(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} {2}frontend {2}web {2}up -> up\n/);
      await pty.type("x");
      await pty.expect(/maglev> $/);

      await pty.type("quit\r");
      quit = true;
    } finally {
      const status = await pty.close(!quit);
      await d.close();
      if (quit) assert.equal(status.code, 0, pty.text);
    }
  },
});

Deno.test({
  name: "shell on a pty: labels in colour, none with NO_COLOR, --color beats NO_COLOR",
  ignore: !hasScript(),
  async fn() {
    const d = await startTestDaemon();
    const screen = async (args: string[], env: Record<string, string>) => {
      const pty = new Pty(["--server", d.server, ...args], env);
      await pty.expect(/maglev> $/);
      await pty.type("show frontends web\r");
      await pty.expect(/active-pool.*\n(.*\n)*maglev> $/);
      await pty.type("quit\r");
      await pty.close(false);
      return pty.raw;
    };
    try {
      const BLUE = "\x1b[34m";
      assert.ok((await screen([], {})).includes(`${BLUE}active-pool\x1b[0m`));
      assert.ok(!(await screen([], { NO_COLOR: "1" })).includes(BLUE), "NO_COLOR");
      assert.ok((await screen(["--color"], { NO_COLOR: "1" })).includes(`${BLUE}active-pool`));
    } finally {
      await d.close();
    }
  },
});

Deno.test("shell: piped lines all run in order, quit drops the rest, a failure sets the exit code", async () => {
  const d = await startTestDaemon();
  try {
    const run = async (input: string) => {
      const r = await runCli(d.server, ["shell"], { stdin: input });
      return { code: r.code, text: r.stdout + r.stderr };
    };
    const ok = await run("show healthchecks\nshow frontends\nquit\nshow backends\n");
    assert.equal(ok.code, 0, ok.text);
    assert.match(ok.text, /fall/);
    assert.match(ok.text, /web/);
    assert.doesNotMatch(ok.text, /healthcheck/, "nothing runs after quit");
    const bad = await run("show backends nope\nshow healthchecks\n");
    assert.equal(bad.code, 1);
    assert.match(bad.text, /not found/);
    assert.match(bad.text, /fall/, "the line after a failure still runs");
  } finally {
    await d.close();
  }
});
