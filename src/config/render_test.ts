import * as assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { parseConfig } from "./mod.ts";
import { renderConfig } from "./render.ts";

const YAML = `maglev:
  healthchecks:
    web:
      type: http
      port: 8080
      interval: 2s
      params: { path: /health, response-code: 200-299 }
    tcp: { type: tcp, port: 22 }
    ping: { type: icmp }
  backends:
    a: { address: 10.0.0.1, healthcheck: web }
    b: { address: 10.0.0.2, healthcheck: tcp, enabled: false }
    c: { address: 10.0.0.3, healthcheck: ping, description: third }
  frontends:
    www:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: { a: { weight: 50 }, b: {} }
        - name: backup
          backends: { c: {} }
      flow-table-length: 2048
`;

Deno.test("the rendered config loads back into the same config, defaults written out", () => {
  const first = parseConfig(YAML, { vppEnabled: false });
  assert.ok(first.ok, JSON.stringify(first));
  const text = renderConfig(first.config);
  assert.match(text, /fast-interval: /);
  assert.match(text, /response-code: 200-299/);
  const second = parseConfig(text, { vppEnabled: false });
  assert.ok(second.ok, text);
  assert.ok(isDeepStrictEqual(first.config, second.config), text);
});
