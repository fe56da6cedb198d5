import { strict as assert } from "node:assert";
import { authorized, challenge, constantTimeEqual, parseBasicAuth, REALM } from "./auth.ts";

const basic = (s: string) => `Basic ${btoa(s)}`;

Deno.test("constantTimeEqual compares content, whatever the lengths", async () => {
  assert.equal(await constantTimeEqual("secret", "secret"), true);
  assert.equal(await constantTimeEqual("secret", "secreT"), false);
  assert.equal(await constantTimeEqual("secret", "secret-and-more"), false);
  assert.equal(await constantTimeEqual("", ""), true);
});

Deno.test("parseBasicAuth reads user and password; a colon may be in the password", () => {
  assert.deepEqual(parseBasicAuth(basic("admin:pa:ss")), { user: "admin", password: "pa:ss" });
  const utf8 = btoa(String.fromCharCode(...new TextEncoder().encode("ädmin:pw")));
  assert.deepEqual(parseBasicAuth(`Basic ${utf8}`), { user: "ädmin", password: "pw" });
  assert.equal(parseBasicAuth(basic("\xe4:pw")), undefined, "bytes that are not UTF-8");
  assert.equal(parseBasicAuth(null), undefined);
  assert.equal(parseBasicAuth("Bearer x"), undefined);
  assert.equal(parseBasicAuth(basic("no-colon")), undefined);
  assert.equal(parseBasicAuth("Basic !!!"), undefined);
});

Deno.test("authorized needs both user and password right", async () => {
  const want = { user: "admin", password: "s3cret" };
  const req = (h?: string) =>
    new Request("http://x/admin/", { headers: h ? { authorization: h } : {} });
  assert.equal(await authorized(req(basic("admin:s3cret")), want), true);
  assert.equal(await authorized(req(basic("admin:wrong")), want), false);
  assert.equal(await authorized(req(basic("root:s3cret")), want), false);
  assert.equal(await authorized(req(), want), false);
  const c = challenge();
  assert.equal(c.status, 401);
  assert.match(c.headers.get("www-authenticate")!, new RegExp(`^Basic realm="${REALM}"`));
  await c.body?.cancel();
});
