import { strict as assert } from "node:assert";
import { appJs, pageHtml, STYLE_CSS } from "./mod.ts";
import { formatDuration } from "../../cli/format.ts";

Deno.test("the page loads its script and stylesheet from the dashboard itself", () => {
  const html = pageHtml({ admin: false });
  assert.match(html, /<script src="\/assets\/app.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="\/assets\/style.css">/);
  assert.doesNotMatch(html, /https?:\/\//, "no CDN");
  assert.match(pageHtml({ admin: true }), /data-admin="true"/);
  assert.match(STYLE_CSS, /tr\.diff/);
});

Deno.test("the script is valid JavaScript and ages read like the CLI's", () => {
  const src = appJs();
  // Compiling is enough: it only runs in a browser.
  new Function(src);
  const format = new Function(`${src.split('\n"use strict";')[0]}; return formatDuration;`)();
  for (const ms of [0, 1500, 630_000, 4_320_000, 144_000_000]) {
    assert.equal(format(ms), formatDuration(ms));
  }
  assert.equal(formatDuration(630_000), "10m30s");
});
