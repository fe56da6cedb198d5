import { strict as assert } from "node:assert";
import type { PlanView, PreviewView, StatusView } from "./backend.ts";
import {
  formatPlan,
  formatPreview,
  formatStatus,
  formatVersions,
  planErrors,
} from "./format_ops.ts";

const NOW = new Date(2026, 3, 1, 12, 0, 0).getTime();
const plain = { color: false, now: NOW };

const EMPTY_PLAN: PlanView = {
  ok: true,
  parseError: "",
  semanticError: "",
  changed: false,
  frontendsAdded: [],
  frontendsRemoved: [],
  frontendsChanged: [],
  backendsAdded: [],
  backendsRemoved: [],
  healthchecksAdded: [],
  healthchecksRemoved: [],
  probesRestarted: [],
  vipsRecreated: [],
  weightsChanged: [],
};

Deno.test("plan: only the sections with changes; no change said once", () => {
  assert.equal(formatPlan(EMPTY_PLAN, plain), "plan  no change\n");
  const text = formatPlan({
    ...EMPTY_PLAN,
    changed: true,
    frontendsAdded: ["new-vip", "other"],
    backendsRemoved: ["old"],
    probesRestarted: [{ backend: "nginx1", reason: "healthcheck changed" }],
    vipsRecreated: [{
      frontend: "web",
      address: "192.0.2.1",
      protocol: "tcp",
      port: 80,
      reason: "encap gre4 -> gre6",
      flows: "every established flow to 192.0.2.1 tcp/80 breaks",
      applicationServers: 2,
    }],
    weightsChanged: [{
      frontend: "web",
      pool: "primary",
      backend: "nginx2",
      weightFrom: 100,
      weightTo: 50,
      effectiveFrom: 100,
      effectiveTo: 50,
    }],
  }, plain);
  assert.equal(
    text,
    "plan  changes\n" +
      "frontends-added\n  new-vip, other\n" +
      "backends-removed\n  old\n" +
      "probes-restarted\n  nginx1  healthcheck changed\n" +
      "vips-recreated\n  web  192.0.2.1 tcp port 80  encap gre4 -> gre6: every established" +
      " flow to 192.0.2.1 tcp/80 breaks (2 application servers)\n" +
      "weights-changed\n  web primary nginx2  weight 100 -> 50  effective 100 -> 50\n",
  );
  assert.equal(
    planErrors({ ...EMPTY_PLAN, ok: false, parseError: "x.yaml: bad (line 1)" }),
    "x.yaml: bad (line 1)",
  );
});

Deno.test("preview: buckets moved with share, moves, per-backend buckets", () => {
  const p: PreviewView = {
    frontend: "web",
    tableLength: 1024,
    bucketsMoved: 341,
    moves: [{ from: "nginx2", to: "nginx1", buckets: 341 }],
    before: [
      { backend: "nginx1", address: "10.0.0.1", effectiveWeight: 100, buckets: 683 },
      { backend: "nginx2", address: "10.0.0.2", effectiveWeight: 50, buckets: 341 },
    ],
    after: [
      { backend: "nginx1", address: "10.0.0.1", effectiveWeight: 100, buckets: 1024 },
      { backend: "nginx2", address: "10.0.0.2", effectiveWeight: 0, buckets: 0 },
    ],
    fingerprintBefore: "ab12",
    fingerprintAfter: "cd34",
  };
  assert.equal(
    formatPreview(p, plain),
    "frontend       web\n" +
      "table-length   1024\n" +
      "buckets-moved  341 of 1024 (33.3%)\n" +
      "fingerprint    ab12 -> cd34\n" +
      "moves\n  nginx2 -> nginx1  341\n" +
      "buckets\n" +
      "  nginx1  683 -> 1024  (effective 100 -> 100)\n" +
      "  nginx2  341 -> 0  (effective 50 -> 0)\n",
  );
});

Deno.test("status and versions", () => {
  const s: StatusView = {
    version: "0.2.0",
    commit: "abc",
    buildDate: "2026-04-01",
    startTimeMs: NOW - 3_725_000,
    uptimeMs: 3_725_000,
    configPath: "/etc/vpp-maglev/maglev.yaml",
    configHash: "f00d",
    lastReload: { atMs: 0, ok: false, error: "" },
    warmup: "done",
    vpp: {
      state: "incompatible",
      apiSocket: "/run/vpp/api.sock",
      version: "",
      sinceMs: 0,
      missingMessages: ["lb_as_v2_dump_1234"],
      error: "",
    },
    backends: { up: 3, down: 1 },
    frontends: { up: 2 },
  };
  const text = formatStatus(s, plain);
  assert.match(text, /^version {6}0\.2\.0 \(commit abc, built 2026-04-01\)$/m);
  assert.match(text, /^started\s+2026-04-01 10:57:55\.000 \(up 1h2m5s\)$/m);
  assert.match(text, /^last-reload\s+none since start$/m);
  assert.match(text, /^vpp\s+incompatible \(\/run\/vpp\/api\.sock\): missing lb_as_v2_dump_1234$/m);
  assert.match(text, /^backends\s+up 3, down 1$/m);
  const failed = formatStatus(
    { ...s, lastReload: { atMs: NOW - 5000, ok: false, error: "bad" } },
    plain,
  );
  assert.match(failed, /^last-reload\s+\S+ \S+ \(5s ago\) failed: bad$/m);
  const client = { version: "0.2.0", commit: "abc", buildDate: "d" };
  assert.equal(
    formatVersions({ client, daemon: { ...client, version: "0.1.9" } }, plain),
    "version            0.2.0\ncommit             abc\nbuild-date         d\n" +
      "daemon-version     0.1.9\ndaemon-commit      abc\ndaemon-build-date  d\n",
  );
});
