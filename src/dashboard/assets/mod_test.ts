import { strict as assert } from "node:assert";
import { appJs, pageHtml, STYLE_CSS } from "./mod.ts";
import { formatDuration } from "../../config/duration.ts";
import { formatAge } from "../age.ts";

Deno.test("the page loads its script and stylesheet from the dashboard itself", () => {
  const html = pageHtml({ admin: false });
  assert.match(html, /<script type="module" src="\/assets\/app.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="\/assets\/style.css">/);
  assert.doesNotMatch(html, /https?:\/\//, "no CDN");
  assert.match(pageHtml({ admin: true }), /data-admin="true"/);
  assert.match(STYLE_CSS, /tr\.diff/);
});

Deno.test("the script is valid JavaScript with the daemon's own formatters", () => {
  const src = appJs();
  // Compiling is enough: it only runs in a browser.
  new Function(src);
  const prelude = src.split('\n"use strict";')[0];
  const [duration, age] = new Function(`${prelude}; return [formatDuration, formatAge];`)();
  for (const ms of [0, 0.25, 1500, 630_000, 4_350_000, 144_000_000]) {
    assert.equal(duration(ms), formatDuration(ms));
    assert.equal(age(ms), formatAge(ms));
  }
});
