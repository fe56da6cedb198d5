/**
 * The client wired to the in-process fake daemon, for the pseudo-terminal
 * shell test: `deno run -A src/cli/testdata/fake_client.ts [args]`.
 * @module
 */
import { runClient } from "../../../cli.ts";
import { FakeBackend } from "../fake_backend.ts";

Deno.exit(await runClient(Deno.args, { backend: new FakeBackend() }));
