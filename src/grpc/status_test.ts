/**
 * GetStatus's VPP part: the four connection states, each with the manager's
 * own reason where it has one (the whole answer runs in api_test.ts).
 */
import { strict as assert } from "node:assert";
import { MaglevError } from "../errors.ts";
import type { VppControl, VppInfo } from "../reconciler/types.ts";
import { vppStatus } from "./status.ts";

const INFO: VppInfo = {
  version: "25.10-rc0",
  buildDate: "",
  buildDirectory: "",
  pid: 7,
  bootTimeMs: 0,
  connectedAtMs: 1_700_000_000_123,
};

/** A VPP side that is enabled or not, and answers `info` or throws `refusal`. */
function vpp(o: { enabled: boolean; missing?: string[]; refusal?: string }): VppControl {
  return {
    enabled: () => o.enabled,
    connected: () => o.refusal === undefined,
    incompatible: () => o.missing ?? [],
    info: () => {
      if (o.refusal !== undefined) throw new MaglevError("UNAVAILABLE", o.refusal);
      return INFO;
    },
    lbState: () => Promise.reject(new Error("not used")),
    sync: () => Promise.reject(new Error("not used")),
    counters: () => [],
  };
}

Deno.test("vppStatus: disabled, connected, disconnected and incompatible, each with its reason", () => {
  const sock = "/run/vpp/api.sock";
  const disabled = vppStatus(vpp({ enabled: false }), "");
  assert.deepEqual([disabled.state, disabled.api_socket, disabled.error], ["disabled", "", ""]);

  const up = vppStatus(vpp({ enabled: true }), sock);
  assert.deepEqual(
    [up.state, up.api_socket, up.version, up.since_ns, up.error],
    ["connected", sock, "25.10-rc0", "1700000000123000000", ""],
  );

  const down = vppStatus(vpp({ enabled: true, refusal: "VPP is not connected" }), sock);
  assert.deepEqual(
    [down.state, down.version, down.since_ns, down.error],
    ["disconnected", "", "0", "VPP is not connected"],
  );

  const missing = ["lb_as_set_weight_1a2b3c4d"];
  const old = vppStatus(
    vpp({
      enabled: true,
      missing,
      refusal: "VPP is incompatible: missing lb_as_set_weight_1a2b3c4d",
    }),
    sock,
  );
  assert.deepEqual(
    [old.state, old.missing_messages, old.error],
    ["incompatible", missing, "VPP is incompatible: missing lb_as_set_weight_1a2b3c4d"],
  );
});
