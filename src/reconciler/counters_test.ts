/**
 * The counters session against the double: scrapes only on demand, labelled
 * with frontend names, and on a session of their own, so that a slow
 * `show lb vips verbose` never holds up a transition's writes.
 */
import { strict as assert } from "node:assert";
import { FAIL } from "../checker/checker_test_util.ts";
import type { VppSession } from "./mod.ts";
import {
  asWeights,
  closeAll,
  harness,
  labConfig,
  startAndSettle,
  until,
} from "./harness_test_util.ts";

/**
 * A session that answers in order, as VPP answers one client, and while
 * `slow.on` holds back every `show lb vips verbose` reply (and so everything
 * after it) until released: a slow scrape.
 */
function slowCli(
  session: VppSession,
  held: (() => void)[],
  slow: { on: boolean },
): VppSession {
  let last: Promise<unknown> = Promise.resolve();
  const inOrder = <T>(p: Promise<T>, hold: boolean): Promise<T> => {
    const gate = hold ? new Promise<void>((r) => held.push(r)) : undefined;
    const out = Promise.all([p, last, gate]).then(([r]) => r);
    last = out.catch(() => {});
    return out;
  };
  return {
    request: (name, fields) =>
      inOrder(
        session.request(name, fields),
        slow.on && name === "cli_inband" && JSON.stringify(fields).includes("show lb vips"),
      ),
    dump: (name, fields) => inOrder(session.dump(name, fields), false),
    requestEach: (items, send, options) => session.requestEach(items, send, options),
    close: () => session.close(),
    closed: session.closed,
  };
}

Deno.test("a slow counters scrape in a loop does not hold up a transition's sync", async () => {
  const held: (() => void)[] = [];
  const opened: number[] = [];
  const slow = { on: false };
  const h = await harness(labConfig(), {
    // Session 1 syncs; every later one is the counters session, made slow.
    wrap: (s, n) => {
      opened.push(n);
      return n === 1 ? s : slowCli(s, held, slow);
    },
  });
  await startAndSettle(h);
  await until("first scrape", () => h.manager.counters().length === 2);
  slow.on = true;
  await h.clock.advance(5_000);
  await until("a scrape held", () => held.length > 0);
  h.latencies.length = 0;
  h.prober.behaviour.set("a", FAIL);
  await h.clock.advance(10_000);
  // The counters loop keeps asking (it shares the held scrape) while the
  // transition is written and answered on the sync session.
  await until("failover written", () => asWeights(h.sim, "192.0.2.1/32")["10.0.0.10"] === 0);
  await until("transition timed", () => h.latencies.includes("probe"));
  assert.ok(held.length > 0, "the scrape was still held when VPP answered the write");
  slow.on = false;
  for (const r of held) r();
  assert.deepEqual(opened, [1, 2], "one sync session, one counters session");
  await closeAll(h);
});

Deno.test("counters are scraped only while someone reads them", async () => {
  const scrapes = { n: 0 };
  // No periodic full sync in this test: its state read asks for the same text.
  const h = await harness(labConfig({ syncIntervalMs: 3_600_000 }), {
    wrap: (s, n) =>
      n === 1 ? s : {
        ...s,
        request: (name, fields) => {
          if (name === "cli_inband") scrapes.n++;
          return s.request(name, fields);
        },
      },
  });
  await startAndSettle(h);
  // A scrape right after connect, so the first metrics scrape has every series.
  await until("snapshot", () => h.manager.counters().length === 2);
  // The read above keeps the refresh going for a minute; then it stops.
  await h.clock.advance(65_000);
  const idle = scrapes.n;
  await h.clock.advance(30_000);
  assert.equal(scrapes.n, idle, "no scrape a minute after the last read");
  // An API read gets counters at once, with frontend names.
  const fresh = await h.manager.freshCounters();
  assert.deepEqual(
    fresh.map((c) => [c.frontend, c.prefix, c.port, c.next, c.noServer]).sort(),
    [["failover", "192.0.2.2/32", 80, 0, 0], ["web", "192.0.2.1/32", 80, 0, 0]],
  );
  assert.equal(scrapes.n, idle + 1);
  // A reader (a metrics scrape) keeps the 5 s refresh going while it reads.
  h.manager.counters();
  await h.clock.advance(5_000);
  await until("refresh", () => scrapes.n >= idle + 2);
  await closeAll(h);
});

Deno.test("a sync that adds or removes a VIP makes the next read scrape again", async () => {
  const h = await harness(labConfig({ syncIntervalMs: 3_600_000 }));
  await startAndSettle(h);
  await until("snapshot", () => h.manager.counters().length === 2);
  // Within the refresh interval, yet the snapshot no longer lists what VPP holds.
  const both = labConfig({ syncIntervalMs: 3_600_000 });
  h.checker.applyConfig({ ...both, frontends: { web: both.frontends.web } });
  await h.manager.configApplied();
  assert.deepEqual((await h.manager.freshCounters()).map((c) => c.frontend), ["web"]);
  h.checker.applyConfig(both);
  await h.manager.configApplied();
  assert.deepEqual(
    (await h.manager.freshCounters()).map((c) => c.frontend).sort(),
    ["failover", "web"],
  );
  await closeAll(h);
});
