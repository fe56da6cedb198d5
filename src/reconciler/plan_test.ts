import { strict as assert } from "node:assert";
import {
  currentAs,
  type CurrentVip,
  type DesiredAs,
  type DesiredVip,
  planRemoveVip,
  planVip,
  recreateReason,
  vipRecreate,
} from "./plan.ts";

function desired(
  ases: Record<string, Partial<DesiredAs>>,
  over: Partial<DesiredVip> = {},
): DesiredVip {
  const m = new Map<string, DesiredAs>();
  for (const [ip, a] of Object.entries(ases)) {
    m.set(ip, {
      weight: a.weight ?? 100,
      flush: a.flush ?? false,
      backend: a.backend ?? `b-${ip}`,
    });
  }
  return {
    frontend: "web",
    prefix: "192.0.2.1/32",
    protocol: 6,
    port: 80,
    encap: 0,
    srcIpSticky: false,
    flowTableLength: 1024,
    flowTableLengthAuto: false,
    ases: m,
    ...over,
  };
}

function current(ases: Record<string, number>, over: Partial<CurrentVip> = {}): CurrentVip {
  return {
    prefix: "192.0.2.1/32",
    protocol: 6,
    port: 80,
    encap: 0,
    srcIpSticky: false,
    flowTableLength: 1024,
    ases: new Map(Object.entries(ases).map(([ip, weight]) => [ip, { weight }])),
    ...over,
  };
}

function brief(ops: ReturnType<typeof planVip>): string[] {
  return ops.map((o) => {
    switch (o.op) {
      case "vip-add":
      case "vip-del":
        return o.op;
      case "as-add":
        return `${o.op} ${o.address} ${o.weight}`;
      case "as-del":
        return `${o.op} ${o.address}${o.flush ? " flush" : ""}`;
      case "as-weight":
        return `${o.op} ${o.address} ${o.weight}${o.flush ? " flush" : ""}`;
    }
  });
}

Deno.test("absent VIP: create it, then ASes in numeric order", () => {
  const ops = planVip(undefined, desired({ "10.0.0.10": {}, "10.0.0.2": { weight: 0 } }));
  assert.deepEqual(brief(ops), ["vip-add", "as-add 10.0.0.2 0", "as-add 10.0.0.10 100"]);
});

Deno.test("in sync: no operation at all", () => {
  const ops = planVip(
    current({ "10.0.0.2": 100, "10.0.0.3": 0 }),
    desired({ "10.0.0.2": {}, "10.0.0.3": { weight: 0, flush: true } }),
  );
  assert.deepEqual(ops, []);
});

Deno.test("weight change, add and delete, sorted", () => {
  const ops = planVip(
    current({ "10.0.0.9": 100, "10.0.0.2": 50 }),
    desired({ "10.0.0.2": { weight: 100 }, "10.0.0.10": {} }),
  );
  assert.deepEqual(brief(ops), [
    "as-weight 10.0.0.2 100",
    "as-del 10.0.0.9 flush",
    "as-add 10.0.0.10 100",
  ]);
});

Deno.test("flush only on the transition to 0", () => {
  const d = desired({ "10.0.0.2": { weight: 0, flush: true } });
  assert.deepEqual(brief(planVip(current({ "10.0.0.2": 100 }), d)), ["as-weight 10.0.0.2 0 flush"]);
  // Periodic sync with the weight already 0: no re-flush.
  assert.deepEqual(brief(planVip(current({ "10.0.0.2": 0 }), d)), []);
  // The sync for the transition itself flushes even at weight 0 (disable after drain).
  assert.deepEqual(
    brief(planVip(current({ "10.0.0.2": 0 }), d, { flushDue: (a) => a === "10.0.0.2" })),
    ["as-weight 10.0.0.2 0 flush"],
  );
  // Drain without flush (standby or flush-on-down false).
  const drain = desired({ "10.0.0.2": { weight: 0, flush: false } });
  assert.deepEqual(
    brief(planVip(current({ "10.0.0.2": 100 }), drain, { flushDue: (a) => a === "10.0.0.2" })),
    [
      "as-weight 10.0.0.2 0",
    ],
  );
});

Deno.test("operator flush forces a weight call", () => {
  const ops = planVip(current({ "10.0.0.2": 100 }), desired({ "10.0.0.2": {} }), {
    forceFlush: "10.0.0.2",
  });
  assert.deepEqual(brief(ops), ["as-weight 10.0.0.2 100 flush"]);
});

Deno.test("recreate on encap, src-ip-sticky or table length change", () => {
  for (
    const [over, reason] of [
      [{ encap: 1 }, /encap/],
      [{ srcIpSticky: true }, /src-ip-sticky/],
      [{ flowTableLength: 2048 }, /flow-table-length/],
    ] as const
  ) {
    const cur = current({ "10.0.0.3": 100, "10.0.0.2": 100 });
    const d = desired({ "10.0.0.2": {}, "10.0.0.3": {} }, over);
    assert.match(recreateReason(cur, d), reason);
    assert.deepEqual(brief(planVip(cur, d)), [
      "as-del 10.0.0.2 flush",
      "as-del 10.0.0.3 flush",
      "vip-del",
      "vip-add",
      "as-add 10.0.0.2 100",
      "as-add 10.0.0.3 100",
    ]);
  }
});

Deno.test("auto table length: a longer table is kept, a shorter one grows with a warning", () => {
  const ases = { "10.0.0.2": {}, "10.0.0.3": { weight: 50 } };
  const cur = current({ "10.0.0.2": 100, "10.0.0.3": 100 }, { flowTableLength: 4096 });
  const shrink = desired(ases, { flowTableLength: 2048, flowTableLengthAuto: true });
  assert.equal(vipRecreate(cur, shrink), undefined);
  assert.deepEqual(brief(planVip(cur, shrink)), ["as-weight 10.0.0.3 50"]);

  const grow = desired(ases, { flowTableLength: 8192, flowTableLengthAuto: true });
  const why = vipRecreate(cur, grow);
  assert.equal(why?.byWeights, true);
  assert.match(why?.reason ?? "", /^flow-table-length 4096 -> 8192 \(auto: .*flatten/);
  assert.deepEqual(brief(planVip(cur, grow)).slice(2), [
    "vip-del",
    "vip-add",
    "as-add 10.0.0.2 100",
    "as-add 10.0.0.3 50",
  ]);

  // An explicit length is the operator's: shorter or longer, it is recreated.
  const explicit = desired(ases, { flowTableLength: 2048 });
  assert.deepEqual(vipRecreate(cur, explicit), {
    reason: "flow-table-length 4096 -> 2048",
    byWeights: false,
  });
});

Deno.test("unknown sticky flag does not force a recreate", () => {
  const cur = current({ "10.0.0.2": 100 }, { srcIpSticky: undefined });
  assert.equal(recreateReason(cur, desired({ "10.0.0.2": {} }, { srcIpSticky: true })), "");
});

Deno.test("stale VIP removal: ASes with flush, then the VIP", () => {
  const ops = planRemoveVip(current({ "2001:db8::2": 1, "10.0.0.2": 1 }));
  assert.deepEqual(brief(ops), ["as-del 10.0.0.2 flush", "as-del 2001:db8::2 flush", "vip-del"]);
});

Deno.test("plan: currentAs is the weight VPP holds, one shared frozen object a u8 weight", () => {
  for (const w of [0, 1, 100, 255]) {
    assert.deepEqual(currentAs(w), { weight: w });
    assert.equal(currentAs(w), currentAs(w));
    assert.ok(Object.isFrozen(currentAs(w)));
  }
  assert.deepEqual(currentAs(256), { weight: 256 });
});

Deno.test("plan: with `into`, every path appends to that list and returns it, as planned alone", () => {
  const want = desired({ "10.0.0.10": {}, "10.0.0.2": { weight: 0 } });
  const cases: [string, CurrentVip | undefined][] = [
    ["create", undefined],
    ["recreate", current({ "10.0.0.2": 100, "10.0.0.3": 5 }, { encap: 1 })],
    ["update", current({ "10.0.0.2": 100, "10.0.0.3": 5 })],
  ];
  for (const [name, cur] of cases) {
    const alone = planVip(cur, want);
    const into = planRemoveVip(current({ "10.9.9.9": 1 }));
    const before = into.slice();
    const out = planVip(cur, want, { into });
    assert.equal(out, into, name);
    assert.deepEqual(out, [...before, ...alone], name);
  }
});
