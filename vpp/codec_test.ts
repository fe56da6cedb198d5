import { strict as assert } from "node:assert";
import { decodeMessage, encodeFrameInto, encodeMessage, messageIdOf, Writer } from "./codec.ts";
import { VppDecodeError, VppRequestError } from "./errors.ts";
import { frameMessage } from "./framing.ts";
import { ENUMS, type FieldDef, messageByName, MESSAGES, STRUCTS } from "./messages.ts";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("codec: sockclnt_create frame matches vpp-api.md section 6", () => {
  const frame = frameMessage(
    encodeMessage("sockclnt_create", 15, { context: 123, name: "vpp-maglev" }),
  );
  assert.equal(frame.length, 86);
  assert.equal(
    hex(frame),
    "0000000000000000" + "00000046" + "00000000" + "000f" + "0000007b" +
      "7670702d6d61676c6576" + "00".repeat(54),
  );
});

Deno.test("codec: lb_as_set_weight body matches vpp-api.md section 6", () => {
  const body = encodeMessage("lb_as_set_weight", 0x0258, {
    client_index: 0x01000000,
    context: 7,
    pfx: "192.0.2.1/32",
    protocol: 6,
    port: 80,
    as_address: "10.0.0.2",
    weight: 50,
    is_flush: true,
  });
  assert.equal(
    hex(body),
    "0258" + "01000000" + "00000007" + "00" + "c0000201" + "00".repeat(12) + "20" + "06" +
      "0050" + "00" + "0a000002" + "00".repeat(12) + "32" + "01",
  );
  assert.equal(body.length, 50);
  assert.equal(messageIdOf(body), 0x258);
});

let sampleSeq = 0;
function sample(f: FieldDef): unknown {
  sampleSeq++;
  const t = f.type;
  if (t === "string") return f.length ? `s${sampleSeq}` : `variable text ${sampleSeq} ünï`;
  if (t === "bool") return sampleSeq % 2 === 0;
  if (t === "u8") return 200;
  if (t === "i8") return -5;
  if (t === "u16") return 0xfedc;
  if (t === "i16") return -300;
  if (t === "u32") return 0xfedcba98;
  if (t === "i32") return -70;
  if (t === "u64") return 0xfedcba9876543210n;
  if (t === "i64") return -5n;
  if (t === "f64") return 1.5;
  if (t === "address") return sampleSeq % 2 ? "10.1.2.3" : "2001:db8:a::1";
  if (t === "prefix") return sampleSeq % 2 ? "198.51.100.0/24" : "2001:db8:1::/64";
  if (t === "ip4_address") return "192.0.2.254";
  if (t === "ip6_address") return "2001:db8::254";
  if (t.startsWith("enum:")) {
    const vals = Object.values(ENUMS[t.slice(5)].values);
    return vals[sampleSeq % vals.length];
  }
  if (t.startsWith("struct:")) return sampleObject(STRUCTS[t.slice(7)]);
  throw new Error(`no sample for ${t}`);
}

function sampleObject(fields: readonly FieldDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const counted = new Map<string, number>();
  for (const f of fields) if (f.lengthFrom) counted.set(f.lengthFrom, 2);
  for (const f of fields) {
    if (counted.has(f.name)) out[f.name] = counted.get(f.name);
    else if (f.lengthFrom) out[f.name] = [sample({ ...f, lengthFrom: undefined }), sample(f)];
    else out[f.name] = sample(f);
  }
  return out;
}

for (const m of MESSAGES) {
  Deno.test(`codec: ${m.name} decode(encode(x)) == x, cut or padded input is an error`, () => {
    const x = sampleObject(m.fields);
    const body = encodeMessage(m.name, 1234, x);
    assert.equal(messageIdOf(body), 1234);
    assert.deepEqual(decodeMessage(m.name, body), x);
    for (let n = 0; n < body.length; n++) {
      assert.throws(() => decodeMessage(m.name, body.subarray(0, n)), VppDecodeError);
    }
    const longer = new Uint8Array(body.length + 3);
    longer.set(body);
    assert.throws(() => decodeMessage(m.name, longer), /trailing/);
  });
}

Deno.test("codec: missing fields take JSON defaults, else zero; enums take names", () => {
  const body = encodeMessage("lb_add_del_vip_v2", 5, {
    pfx: "2001:db8::1/128",
    encap: "LB_API_ENCAP_TYPE_GRE6",
    type: "LB_API_SRV_TYPE_NODEPORT",
  });
  const d = decodeMessage("lb_add_del_vip_v2", body);
  assert.equal(d.protocol, 255);
  assert.equal(d.new_flows_table_length, 1024);
  assert.equal(d.encap, 1);
  assert.equal(d.type, 1);
  assert.equal(d.port, 0);
  assert.equal(d.is_del, false);
  assert.equal(d.client_index, 0);
  const conf = decodeMessage("lb_conf", encodeMessage("lb_conf", 5, {}));
  assert.equal(conf.sticky_buckets_per_core, 0xffffffff);
  assert.equal(conf.ip4_src_address, "0.0.0.0");
  assert.equal(conf.ip6_src_address, "::");
  const dump = decodeMessage("lb_as_v2_dump", encodeMessage("lb_as_v2_dump", 5, {}));
  assert.equal(dump.pfx, "0.0.0.0/0");
});

Deno.test("codec: addresses decode to RFC 5952 text", () => {
  const body = encodeMessage("lb_as_set_weight", 5, {
    pfx: "2001:DB8:0:0:1:0:0:0/80",
    as_address: "2001:0db8:0000:0000:0000:0000:0002:0001",
  });
  const d = decodeMessage("lb_as_set_weight", body);
  assert.equal(d.pfx, "2001:db8:0:0:1::/80");
  assert.equal(d.as_address, "2001:db8::2:1");
});

Deno.test("codec: bad values are clear errors naming the field, nothing encoded", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ weight: 256 }, /lb_as_set_weight\.weight: expected a u8/],
    [{ weight: 1.5 }, /weight/],
    [{ as_address: "10.0.0.300" }, /as_address: not an IP address/],
    [{ pfx: "10.0.0.0" }, /pfx: not an IP prefix/],
    [{ pfx: "10.0.0.0/33" }, /bad prefix length/],
    [{ wieght: 5 }, /unknown field "wieght"/],
    [{ is_flush: "yes" }, /is_flush: expected a boolean/],
    [{ protocol: -1 }, /protocol/],
  ];
  for (const [fields, re] of cases) {
    assert.throws(() => encodeMessage("lb_as_set_weight", 5, fields), (e: Error) => {
      assert.ok(e instanceof VppRequestError, `${e}`);
      assert.match(e.message, re);
      return true;
    });
  }
  assert.throws(
    () => encodeMessage("lb_add_del_vip_v2", 5, { encap: "GRE9" }),
    /unknown lb_encap_type name "GRE9"/,
  );
  assert.throws(() => encodeMessage("lb_conf", 5, { ip4_src_address: "::1" }), /IPv4/);
  assert.throws(() => encodeMessage("no_such_msg", 5, {}), /unknown VPP message/);
  assert.throws(() => encodeMessage("show_version_reply", 5, { program: "x".repeat(33) }), /fit/);
  assert.throws(
    () =>
      encodeMessage("sockclnt_create_reply", 5, {
        count: 3,
        message_table: [{ index: 1, name: "a" }],
      }),
    /count: is 3 but the array it counts has 1/,
  );
});

Deno.test("codec: decode errors are VppDecodeError, never crashes", () => {
  const body = encodeMessage("lb_as_v2_details", 9, {
    vip: { pfx: "10.0.0.0/8", protocol: 6, port: 80 },
    app_srv: "10.0.0.1",
  });
  const bad = body.slice();
  bad[6] = 7; // address family of vip.pfx
  assert.throws(() => decodeMessage("lb_as_v2_details", bad), /address family 7/);
  assert.throws(() => decodeMessage("nope", body), VppDecodeError);
  assert.throws(() => messageIdOf(new Uint8Array(1)), VppDecodeError);
  // A variable array count far beyond the body.
  const reply = encodeMessage("sockclnt_create_reply", 16, { message_table: [] });
  const lying = reply.slice();
  lying[18] = 0xff;
  lying[19] = 0xff;
  assert.throws(() => decodeMessage("sockclnt_create_reply", lying), /truncated/);
  const cli = encodeMessage("cli_inband_reply", 16, { reply: "hi" });
  const longStr = cli.slice();
  longStr[10] = 0x7f;
  assert.throws(
    () => decodeMessage("cli_inband_reply", longStr),
    /truncated at cli_inband_reply\.reply/,
  );
});

Deno.test("codec: u64 as bigint, strings NUL-trimmed", () => {
  const d = decodeMessage(
    "show_version_reply",
    encodeMessage("show_version_reply", 3, { program: "vpe", version: "26.10" }),
  );
  assert.equal(d.program, "vpe");
  assert.equal(d.build_directory, "");
  const cli = encodeMessage("cli_inband_reply", 3, { reply: "text" });
  const withNul = new Uint8Array(cli.length + 1);
  withNul.set(cli);
  new DataView(withNul.buffer).setUint32(10, 5);
  assert.equal(decodeMessage("cli_inband_reply", withNul).reply, "text");
});

Deno.test("codec: a repeated prefix encodes as the first time; a changed one is parsed again", () => {
  const frame = (pfx: string) => {
    const w = new Writer(64);
    encodeFrameInto(w, messageByName("lb_as_set_weight")!, 9, {
      pfx,
      as_address: "10.0.0.1",
      weight: 3,
    }, { clientIndex: 0x80000001, context: 5 });
    return w.buf.slice(0, w.pos);
  };
  const order = [
    "198.51.100.1/32",
    "198.51.100.1/32",
    "2001:db8::/64",
    "198.51.100.1/32",
    "10.0.0.0/8",
  ];
  const fresh = new Map(order.map((p) => [
    p,
    encodeMessage("lb_as_set_weight", 9, {
      pfx: p,
      as_address: "10.0.0.1",
      weight: 3,
      client_index: 0x80000001,
      context: 5,
    }),
  ]));
  for (const p of order) {
    const f = frame(p);
    assert.deepEqual(f.subarray(16), fresh.get(p), p);
    assert.equal(decodeMessage("lb_as_set_weight", f.subarray(16)).pfx, p);
  }
  assert.throws(() => frame("198.51.100.1/33"), VppRequestError);
  assert.throws(() => frame(""), VppRequestError);
});
