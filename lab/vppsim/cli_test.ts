import { strict as assert } from "node:assert";
import { FakeClock } from "../../src/clock.ts";
import { cliText, SIM_VPP_VERSION } from "./cli.ts";
import { LbModel } from "./lb_model.ts";

Deno.test("vppsim cli: show lb vips reads what it knows and ignores the rest, as VPP's handler does", () => {
  const model = new LbModel({ clock: new FakeClock() });
  assert.deepEqual(cliText(model, "sh lb v"), { retval: 0, reply: model.showVips() });
  assert.deepEqual(cliText(model, "show lb vips verbose extra"), {
    retval: 0,
    reply: model.showVipsVerbose(),
  });
});

Deno.test("vppsim cli: show lb and show version name trailing input VPP's parser did not know", () => {
  const model = new LbModel({ clock: new FakeClock() });
  assert.deepEqual(cliText(model, " show  lb "), { retval: 0, reply: model.showLb() });
  assert.deepEqual(cliText(model, "show lb nonsense"), {
    retval: -1,
    reply: `${model.showLb()}unknown input \`nonsense'\n`,
  });
  const version = cliText(model, "sh ver");
  assert.equal(version.retval, 0);
  assert.ok(version.reply.startsWith(`vpp v${SIM_VPP_VERSION} `), version.reply);
});

Deno.test("vppsim cli: unknown commands fail with VPP's text", () => {
  const model = new LbModel({ clock: new FakeClock() });
  assert.deepEqual(cliText(model, "show interfaces"), {
    retval: -1,
    reply: "show: unknown input `interfaces'\n",
  });
  assert.deepEqual(cliText(model, "s lb"), { retval: -1, reply: "unknown input `s lb'\n" });
  assert.deepEqual(cliText(model, "clear lb"), { retval: -1, reply: "unknown input `clear lb'\n" });
});
