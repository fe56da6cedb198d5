import { strict as assert } from "node:assert";
import { formatIssue, loadConfigFile, parseConfig } from "./mod.ts";
import { type BadCase, doc, testBadCases } from "./bad_case_test_util.ts";
import { DEFAULT_HTTP_PARAMS } from "./defaults.ts";

/** Lines 1..8 shared by the frontend cases; frontends start on line 9. */
const HEAD = [
  "maglev:", // 1
  "  healthchecks:", // 2
  "    hc: { type: tcp, port: 80 }", // 3
  "  backends:", // 4
  "    b1: { address: 10.0.0.1, healthcheck: hc }", // 5
  "    b2: { address: 10.0.0.2 }", // 6
  '    b6: { address: "2001:db8::6" }', // 7
  "  frontends:", // 8
];

/** A valid frontend `fe` on lines 9..15. */
/** One HTTP check `hc` on port 80, lines 1-5; its `params` start at line 6. */
const HTTP_HC = [
  "maglev:", // 1
  "  healthchecks:", // 2
  "    hc:", // 3
  "      type: http", // 4
  "      port: 80", // 5
];
const FE = [
  "    fe:", // 9
  "      address: 192.0.2.1", // 10
  "      protocol: tcp", // 11
  "      port: 80", // 12
  "      pools:", // 13
  "        - name: primary", // 14
  "          backends: { b1: {}, b2: {} }", // 15
];

const BAD: BadCase[] = [
  // ---- parse: YAML syntax, unknown keys, wrong types ----
  {
    name: "YAML syntax error",
    text: doc("maglev:", "  backends: [a, b", "  frontends: {}"),
    kind: "parse",
    path: "",
    line: 3,
    column: 3,
    message: "YAML:",
  },
  {
    name: "duplicate YAML key",
    text: doc("maglev:", "  backends: {}", "  backends: {}"),
    kind: "parse",
    path: "",
    line: 3,
    column: 3,
    message: "Map keys must be unique",
  },
  {
    name: "empty file",
    text: "",
    kind: "parse",
    path: "",
    line: 1,
    column: 1,
    message: 'top-level "maglev:" key',
  },
  {
    name: "misspelt top-level key",
    text: doc("maglv:", "  backends: {}"),
    kind: "parse",
    path: "maglv",
    line: 1,
    column: 1,
    message: 'unknown key "maglv"; did you mean "maglev"?',
  },
  {
    name: "missing maglev key",
    text: doc("other: 1"),
    kind: "parse",
    path: "maglev",
    line: 1,
    column: 1,
    message: 'missing required key "maglev"',
  },
  {
    name: "unknown key in healthchecker, underscore for dash",
    text: doc("maglev:", "  healthchecker:", "    transition_history: 3"),
    kind: "parse",
    path: "maglev.healthchecker.transition_history",
    line: 3,
    column: 5,
    message: 'did you mean "transition-history"?',
  },
  {
    name: "typo in health check key",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: icmp", "      intervall: 2s"),
    kind: "parse",
    path: "maglev.healthchecks.hc.intervall",
    line: 5,
    column: 7,
    message: 'unknown key "intervall"; did you mean "interval"?',
  },
  {
    name: "unknown key without a close match lists the known keys",
    text: doc("maglev:", "  vpp:", "    lb:", "      colour: blue"),
    kind: "parse",
    path: "maglev.vpp.lb.colour",
    line: 4,
    column: 7,
    message: "known keys: ipv4-src-address, ipv6-src-address",
  },
  {
    name: "typo in vpp.lb key",
    text: doc("maglev:", "  vpp:", "    lb: { flow-timout: 40s }"),
    kind: "parse",
    path: "maglev.vpp.lb.flow-timout",
    line: 3,
    column: 11,
    message: 'did you mean "flow-timeout"?',
  },
  {
    name: "port as a string",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: tcp", '      port: "80"'),
    kind: "parse",
    path: "maglev.healthchecks.hc.port",
    line: 5,
    column: 13,
    message: 'must be a number, got "80"',
  },
  {
    name: "fractional rise",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: icmp", "      rise: 1.5"),
    kind: "parse",
    path: "maglev.healthchecks.hc.rise",
    line: 5,
    column: 13,
    message: "must be an integer, got number 1.5",
  },
  {
    name: "unknown health check type",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: htp"),
    kind: "parse",
    path: "maglev.healthchecks.hc.type",
    line: 4,
    column: 13,
    message: 'must be one of "icmp", "tcp", "http", "https", got "htp"; did you mean "http"?',
  },
  {
    name: "missing health check type",
    text: doc("maglev:", "  healthchecks:", "    hc: { port: 80 }"),
    kind: "parse",
    path: "maglev.healthchecks.hc.type",
    line: 3,
    column: 5,
    message: 'missing required key "type"',
  },
  {
    name: "bare number as duration",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: icmp", "      interval: 2"),
    kind: "parse",
    path: "maglev.healthchecks.hc.interval",
    line: 5,
    column: 17,
    message: 'a bare number is not a duration (2); write a number with a unit, e.g. "150ms"',
  },
  {
    name: "duration in words",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    hc:",
      "      type: icmp",
      "      timeout: 2 seconds",
    ),
    kind: "parse",
    path: "maglev.healthchecks.hc.timeout",
    line: 5,
    column: 16,
    message: 'invalid duration "2 seconds"',
  },
  {
    name: "duration with unknown unit",
    text: doc("maglev:", "  vpp:", "    lb:", "      sync-interval: 1d"),
    kind: "parse",
    path: "maglev.vpp.lb.sync-interval",
    line: 4,
    column: 22,
    message: 'invalid duration "1d"',
  },
  {
    name: "enabled as yes (YAML 1.2: a string)",
    text: doc("maglev:", "  backends:", "    b1:", "      address: 10.0.0.1", "      enabled: yes"),
    kind: "parse",
    path: "maglev.backends.b1.enabled",
    line: 5,
    column: 16,
    message: 'must be true or false, got "yes"',
  },
  {
    name: "backends as a list",
    text: doc("maglev:", "  backends: [a, b]"),
    kind: "parse",
    path: "maglev.backends",
    line: 2,
    column: 13,
    message: "must be a map, got a list",
  },
  {
    name: "backend without address",
    text: doc("maglev:", "  backends:", "    b1: { healthcheck: hc }"),
    kind: "parse",
    path: "maglev.backends.b1.address",
    line: 3,
    column: 5,
    message: 'missing required key "address"',
  },
  {
    name: "frontend without pools",
    text: doc(...HEAD, "    fe: { address: 192.0.2.1, protocol: tcp, port: 80 }"),
    kind: "parse",
    path: "maglev.frontends.fe.pools",
    line: 9,
    column: 5,
    message: 'missing required key "pools"',
  },
  {
    name: "pools as a map",
    text: doc(...HEAD, ...FE.slice(0, 4), "      pools: { primary: { b1: {} } }"),
    kind: "parse",
    path: "maglev.frontends.fe.pools",
    line: 13,
    column: 14,
    message: "must be a list, got a map",
  },
  {
    name: "weight as a word",
    text: doc(...HEAD, ...FE.slice(0, 6), "          backends: { b1: { weight: heavy } }"),
    kind: "parse",
    path: "maglev.frontends.fe.pools[0].backends.b1.weight",
    line: 15,
    column: 37,
    message: 'must be a number, got "heavy"',
  },
  {
    name: "typo in pool key",
    text: doc(...HEAD, ...FE.slice(0, 6), "          backend: { b1: {} }"),
    kind: "parse",
    path: "maglev.frontends.fe.pools[0].backend",
    line: 15,
    column: 11,
    message: 'did you mean "backends"?',
  },
  {
    name: "typo in params key",
    text: doc(
      ...HTTP_HC,
      "      params: { paht: /x }",
    ),
    kind: "parse",
    path: "maglev.healthchecks.hc.params.paht",
    line: 6,
    column: 17,
    message: 'did you mean "path"?',
  },
  {
    name: "frontend protocol sctp",
    text: doc(...HEAD, ...FE.slice(0, 2), "      protocol: sctp", ...FE.slice(3)),
    kind: "parse",
    path: "maglev.frontends.fe.protocol",
    line: 11,
    column: 17,
    message: 'must be one of "tcp", "udp", got "sctp"',
  },
  {
    name: "flow-table-length as a word",
    text: doc(...HEAD, ...FE, "      flow-table-length: big"),
    kind: "parse",
    path: "maglev.frontends.fe.flow-table-length",
    line: 16,
    column: 26,
    message: 'must be "auto" or a power of two from 1024 to 32768, got "big"',
  },
  {
    name: "response-code in words",
    text: doc(
      ...HTTP_HC,
      "      params:",
      "        response-code: 2xx",
    ),
    kind: "parse",
    path: "maglev.healthchecks.hc.params.response-code",
    line: 7,
    column: 24,
    message: 'must be a status code (200) or a range string ("200-399"), got "2xx"',
  },
  {
    name: "YAML merge key",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    a: &x { type: icmp }",
      "    b: { <<: *x, rise: 3 }",
    ),
    kind: "parse",
    path: "maglev.healthchecks.b.<<",
    line: 4,
    column: 10,
    message: "YAML merge keys are not supported",
  },
  {
    name: "two YAML documents",
    text: doc("maglev:", "  backends: {}", "---", "maglev: {}"),
    kind: "parse",
    path: "",
    line: 3,
    column: 1,
    message: "the file must hold one YAML document",
  },
  {
    name: "health check type as a list",
    text: doc("maglev:", "  healthchecks:", "    a: { type: [icmp] }"),
    kind: "parse",
    path: "maglev.healthchecks.a.type",
    line: 3,
    column: 16,
    message: 'must be one of "icmp", "tcp", "http", "https", got a list',
  },
  {
    name: "backend with an empty value",
    text: doc("maglev:", "  backends:", "    b1:"),
    kind: "parse",
    path: "maglev.backends.b1",
    line: 3,
    column: 5,
    message: "must be a map, got an empty value",
  },
  // ---- semantic ----
  {
    name: "transition-history 0",
    text: doc("maglev:", "  healthchecker:", "    transition-history: 0"),
    kind: "semantic",
    path: "maglev.healthchecker.transition-history",
    line: 3,
    column: 25,
    message: "must be at least 1, got 0",
  },
  {
    name: "netns given as a path",
    text: doc("maglev:", "  healthchecker:", "    netns: /var/run/netns/dp"),
    kind: "semantic",
    path: "maglev.healthchecker.netns",
    line: 3,
    column: 12,
    message: "must be a namespace name",
  },
  {
    name: "unknown backend in a pool (spec 0.2 example)",
    text: doc(...HEAD, ...FE.slice(0, 6), "          backends: { b1: {}, nginx9: {} }"),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[0].backends.nginx9",
    line: 15,
    column: 31,
    message: 'unknown backend "nginx9"',
  },
  {
    name: "unknown health check with suggestion",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    http-check: { type: http, port: 80 }",
      "  backends:",
      "    b1: { address: 10.0.0.1, healthcheck: http-chek }",
    ),
    kind: "semantic",
    path: "maglev.backends.b1.healthcheck",
    line: 5,
    column: 43,
    message: 'unknown healthcheck "http-chek"; did you mean "http-check"?',
  },
  {
    name: "no pools",
    text: doc(...HEAD, ...FE.slice(0, 4), "      pools: []"),
    kind: "semantic",
    path: "maglev.frontends.fe.pools",
    line: 13,
    column: 14,
    message: "must list at least one pool",
  },
  {
    name: "empty pool name",
    text: doc(...HEAD, ...FE.slice(0, 5), '        - name: ""', FE[6]),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[0].name",
    line: 14,
    column: 17,
    message: "must not be empty",
  },
  {
    name: "duplicate pool name",
    text: doc(
      ...HEAD,
      ...FE.slice(0, 5),
      "        - { name: main, backends: { b1: {} } }",
      "        - { name: main, backends: { b2: {} } }",
    ),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[1].name",
    line: 15,
    column: 19,
    message: 'duplicate pool name "main" (also pools[0])',
  },
  {
    name: "pool without backends",
    text: doc(...HEAD, ...FE.slice(0, 6), "          backends: {}"),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[0].backends",
    line: 15,
    column: 21,
    message: "must list at least one backend",
  },
  {
    name: "backend in two pools of one frontend",
    text: doc(
      ...HEAD,
      ...FE.slice(0, 5),
      "        - { name: primary, backends: { b1: {} } }",
      "        - { name: fallback, backends: { b2: {}, b1: {} } }",
    ),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[1].backends.b1",
    line: 15,
    column: 49,
    message: 'backend "b1" is already in pool "primary" (pools[0])',
  },
  {
    name: "weight above 100",
    text: doc(...HEAD, ...FE.slice(0, 6), "          backends: { b1: { weight: 101 } }"),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[0].backends.b1.weight",
    line: 15,
    column: 37,
    message: "weight 101 out of range [0, 100]",
  },
  {
    name: "mixed address families in one frontend",
    text: doc(...HEAD, ...FE.slice(0, 6), "          backends: { b1: {}, b6: {} }"),
    kind: "semantic",
    path: "maglev.frontends.fe.pools[0].backends.b6",
    line: 15,
    column: 31,
    message: 'backend "b6" is IPv6 but backend "b1" is IPv4',
  },
  {
    name: "frontends on one VIP address with different backend families",
    text: doc(
      ...HEAD,
      ...FE,
      "    fe6:",
      "      address: 192.0.2.1",
      "      protocol: udp",
      "      port: 53",
      "      pools: [{ name: p, backends: { b6: {} } }]",
    ),
    kind: "semantic",
    path: "maglev.frontends.fe6",
    line: 16,
    column: 5,
    message: 'shares VIP address 192.0.2.1 with frontend "fe", whose backends are IPv4',
  },
  {
    name: "VIP address with a leading zero octet",
    text: doc(
      ...HEAD,
      ...FE,
      "    fe2:",
      "      address: 192.0.2.01",
      "      protocol: tcp",
      "      port: 80",
      "      pools: [{ name: p, backends: { b2: {} } }]",
    ),
    kind: "semantic",
    path: "maglev.frontends.fe2.address",
    line: 17,
    column: 16,
    message: 'invalid IP address "192.0.2.01"',
  },
  {
    name: "per-port VIP on an address that has an all-port VIP",
    text: doc(
      ...HEAD,
      ...FE.slice(0, 3),
      "      port: 0",
      ...FE.slice(4),
      "    fe2:",
      "      address: 192.0.2.1",
      "      protocol: tcp",
      "      port: 443",
      "      pools: [{ name: p, backends: { b1: {} } }]",
    ),
    kind: "semantic",
    path: "maglev.frontends.fe2",
    line: 16,
    column: 5,
    message:
      'port 443 on 192.0.2.1, where frontend "fe" is an all-port VIP; VPP allows either one all-port VIP or per-port VIPs on an address',
  },
  {
    name: "two all-port VIPs on one address differ only in protocol",
    text: doc(
      ...HEAD,
      ...FE.slice(0, 3),
      "      port: 0",
      ...FE.slice(4),
      "    fe2:",
      "      address: 192.0.2.1",
      "      protocol: udp",
      "      port: 0",
      "      pools: [{ name: p, backends: { b1: {} } }]",
    ),
    kind: "semantic",
    path: "maglev.frontends.fe2",
    line: 16,
    column: 5,
    message: 'a second all-port VIP (port 0, any protocol) on 192.0.2.1, as frontend "fe"',
  },
  {
    name: "duplicate VIP tuple, spelt differently",
    text: doc(
      ...HEAD,
      ...FE.slice(0, 1),
      '      address: "2001:db8:0::1"',
      ...FE.slice(2, 6),
      "          backends: { b6: {} }",
      "    fe2:",
      '      address: "2001:DB8::1"',
      "      protocol: tcp",
      "      port: 80",
      "      pools: [{ name: p, backends: { b6: {} } }]",
    ),
    kind: "semantic",
    path: "maglev.frontends.fe2",
    line: 16,
    column: 5,
    message: 'same address, protocol and port (2001:db8::1 tcp 80) as frontend "fe"',
  },
  {
    name: "frontend port out of range",
    text: doc(...HEAD, ...FE.slice(0, 3), "      port: 70000", ...FE.slice(4)),
    kind: "semantic",
    path: "maglev.frontends.fe.port",
    line: 12,
    column: 13,
    message: "must be from 0 (all ports) to 65535, got 70000",
  },
  {
    name: "flow-table-length not a power of two",
    text: doc(...HEAD, ...FE, "      flow-table-length: 3000"),
    kind: "semantic",
    path: "maglev.frontends.fe.flow-table-length",
    line: 16,
    column: 26,
    message: "got 3000",
  },
  {
    name: "flow-table-length above 32768",
    text: doc(...HEAD, ...FE, "      flow-table-length: 65536"),
    kind: "semantic",
    path: "maglev.frontends.fe.flow-table-length",
    line: 16,
    column: 26,
    message: "power of two from 1024 to 32768, got 65536",
  },
  {
    name: "invalid backend address",
    text: doc("maglev:", "  backends:", "    b1: { address: 10.0.0.300 }"),
    kind: "semantic",
    path: "maglev.backends.b1.address",
    line: 3,
    column: 20,
    message: 'invalid IP address "10.0.0.300"',
  },
  {
    name: "backend address with prefix length",
    text: doc("maglev:", "  backends:", "    b1:", "      address: 10.0.0.1/32"),
    kind: "semantic",
    path: "maglev.backends.b1.address",
    line: 4,
    column: 16,
    message: "write the address without a prefix length",
  },
  {
    name: "probe-ipv4-src is IPv6",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    hc:",
      "      type: icmp",
      '      probe-ipv4-src: "2001:db8::1"',
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.probe-ipv4-src",
    line: 5,
    column: 23,
    message: 'must be an IPv4 address, got IPv6 address "2001:db8::1"',
  },
  {
    name: "vpp ipv6-src-address is IPv4",
    text: doc(
      "maglev:",
      "  vpp:",
      "    lb:",
      "      ipv4-src-address: 192.0.2.254",
      "      ipv6-src-address: 192.0.2.253",
    ),
    kind: "semantic",
    path: "maglev.vpp.lb.ipv6-src-address",
    line: 5,
    column: 25,
    message: "must be an IPv6 address",
  },
  {
    name: "vpp source address missing while VPP is enabled",
    text: doc("maglev:", "  vpp:", "    lb:", '      ipv6-src-address: "2001:db8::254"'),
    kind: "semantic",
    path: "maglev.vpp.lb.ipv4-src-address",
    line: 3,
    column: 5,
    message: "required when VPP integration is enabled",
    vppEnabled: true,
  },
  {
    name: "no vpp section while VPP is enabled",
    text: doc("maglev:", "  backends: {}"),
    kind: "semantic",
    path: "maglev.vpp.lb.ipv4-src-address",
    line: 1,
    column: 1,
    message: "required when VPP integration is enabled",
    vppEnabled: true,
  },
  {
    name: "sticky buckets not a power of two",
    text: doc("maglev:", "  vpp:", "    lb:", "      sticky-buckets-per-core: 1000"),
    kind: "semantic",
    path: "maglev.vpp.lb.sticky-buckets-per-core",
    line: 4,
    column: 32,
    message: "must be a power of two",
  },
  {
    name: "flow-timeout not whole seconds",
    text: doc("maglev:", "  vpp:", "    lb:", "      flow-timeout: 1500ms"),
    kind: "semantic",
    path: "maglev.vpp.lb.flow-timeout",
    line: 4,
    column: 21,
    message: "must be whole seconds from 1s to 1h, got 1.5s",
  },
  {
    name: "flow-timeout above 1h",
    text: doc("maglev:", "  vpp:", "    lb:", "      flow-timeout: 2h"),
    kind: "semantic",
    path: "maglev.vpp.lb.flow-timeout",
    line: 4,
    column: 21,
    message: "got 2h",
  },
  {
    name: "startup-min-delay above startup-max-delay",
    text: doc(
      "maglev:",
      "  vpp:",
      "    lb:",
      "      startup-min-delay: 40s",
      "      startup-max-delay: 30s",
    ),
    kind: "semantic",
    path: "maglev.vpp.lb.startup-min-delay",
    line: 4,
    column: 26,
    message: "must not exceed startup-max-delay (30s)",
  },
  {
    name: "response-regexp does not compile",
    text: doc(
      ...HTTP_HC,
      '      params: { response-regexp: "(unclosed" }',
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.params.response-regexp",
    line: 6,
    column: 34,
    message: "is not a valid RE2 expression: missing closing )",
  },
  {
    name: "response-regexp with a backreference (RE2 cannot run it)",
    text: doc(
      ...HTTP_HC,
      "      params:",
      '        response-regexp: "(ok)\\\\1"',
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.params.response-regexp",
    line: 7,
    column: 26,
    message: "backreferences are not supported by RE2",
  },
  {
    name: "response-regexp with lookahead (RE2 cannot run it)",
    text: doc(
      ...HTTP_HC,
      "      params: { response-regexp: 'ok(?=!)' }",
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.params.response-regexp",
    line: 6,
    column: 34,
    message: "lookahead and lookbehind are not supported by RE2",
  },
  {
    name: "response-code range reversed",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    hc:",
      "      type: https",
      "      port: 443",
      '      params: { response-code: "500-200" }',
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.params.response-code",
    line: 6,
    column: 32,
    message: "got 500-200",
  },
  {
    name: "http path without leading slash",
    text: doc(
      ...HTTP_HC,
      "      params: { path: healthz }",
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.params.path",
    line: 6,
    column: 23,
    message: 'must start with "/"',
  },
  {
    name: "port missing for http",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: http"),
    kind: "semantic",
    path: "maglev.healthchecks.hc.port",
    line: 3,
    column: 5,
    message: "required for type http",
  },
  {
    name: "port given for icmp",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: icmp", "      port: 7"),
    kind: "semantic",
    path: "maglev.healthchecks.hc.port",
    line: 5,
    column: 13,
    message: "not allowed for type icmp",
  },
  {
    name: "tcp port 0",
    text: doc("maglev:", "  healthchecks:", "    hc: { type: tcp, port: 0 }"),
    kind: "semantic",
    path: "maglev.healthchecks.hc.port",
    line: 3,
    column: 28,
    message: "must be from 1 to 65535, got 0",
  },
  {
    name: "server-name on an http check",
    text: doc(
      ...HTTP_HC,
      "      params:",
      "        server-name: example.com",
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.params.server-name",
    line: 7,
    column: 9,
    message: "not allowed for type http (allowed for http: path, host, response-code",
  },
  {
    name: "ssl on an https check",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    hc: { type: https, port: 443, params: { ssl: true } }",
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.params.ssl",
    line: 3,
    column: 45,
    message: "not allowed for type https",
  },
  {
    name: "params on an icmp check",
    text: doc("maglev:", "  healthchecks:", "    hc: { type: icmp, params: { path: / } }"),
    kind: "semantic",
    path: "maglev.healthchecks.hc.params.path",
    line: 3,
    column: 33,
    message: "icmp health checks take no params",
  },
  {
    name: "timeout above interval",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    hc:",
      "      type: icmp",
      "      interval: 200ms",
      "      timeout: 3s",
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.timeout",
    line: 6,
    column: 16,
    message: "must not exceed interval (200ms), got 3s",
  },
  {
    name: "interval 0s",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: icmp", "      interval: 0s"),
    kind: "semantic",
    path: "maglev.healthchecks.hc.interval",
    line: 5,
    column: 17,
    message: "must be greater than 0, got 0s",
  },
  {
    name: "negative fast-interval",
    text: doc(
      "maglev:",
      "  healthchecks:",
      "    hc:",
      "      type: icmp",
      "      fast-interval: -1s",
    ),
    kind: "semantic",
    path: "maglev.healthchecks.hc.fast-interval",
    line: 5,
    column: 22,
    message: "must be greater than 0, got -1s",
  },
  {
    name: "fall 0",
    text: doc("maglev:", "  healthchecks:", "    hc:", "      type: icmp", "      fall: 0"),
    kind: "semantic",
    path: "maglev.healthchecks.hc.fall",
    line: 5,
    column: 13,
    message: "must be at least 1, got 0",
  },
  {
    name: "empty backend name",
    text: doc("maglev:", "  backends:", '    "": { address: 10.0.0.1 }'),
    kind: "semantic",
    path: "maglev.backends.",
    line: 3,
    column: 5,
    message: "backends names must not be empty",
  },
];

testBadCases("bad config", BAD);

Deno.test("bad config table has at least 40 cases", () => {
  assert.ok(BAD.length >= 40, `${BAD.length}`);
});

Deno.test("all structural errors of a file are reported at once, in file order", () => {
  const result = parseConfig(
    doc(
      "maglev:", // 1
      "  healthchecker: { transition-histroy: 3 }", // 2
      "  healthchecks:", // 3
      "    hc: { type: tcp, port: eighty, interval: 5 }", // 4
      "  backends:", // 5
      "    b1: { adress: 10.0.0.1 }", // 6
      "  frontends:", // 7
      "    fe: { address: 192.0.2.1, protocol: tcp, port: 80, pools: [], colour: red }", // 8
    ),
    { vppEnabled: false },
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.kind, "parse");
  const got = result.issues.map((i) => `${i.path}@${i.line}:${i.column}`);
  assert.deepEqual(got, [
    "maglev.healthchecker.transition-histroy@2:20",
    "maglev.healthchecks.hc.port@4:28",
    "maglev.healthchecks.hc.interval@4:46",
    "maglev.backends.b1.address@6:5",
    "maglev.backends.b1.adress@6:11",
    "maglev.frontends.fe.colour@8:67",
  ]);
  assert.match(result.issues[0].message, /did you mean "transition-history"\?/);
  assert.match(result.issues[4].message, /did you mean "address"\?/);
});

Deno.test("all semantic errors of a file are reported at once", () => {
  const result = parseConfig(
    doc(
      ...HEAD,
      "    fe:", // 9
      "      address: 192.0.2.1", // 10
      "      protocol: tcp", // 11
      "      port: 80", // 12
      "      pools:", // 13
      "        - { name: p, backends: { b1: { weight: 200 }, nope: {} } }", // 14
      "        - { name: p, backends: { b1: {} } }", // 15
    ),
    { vppEnabled: true },
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.kind, "semantic");
  assert.deepEqual(result.issues.map((i) => `${i.path}@${i.line}:${i.column}`), [
    "maglev.vpp.lb.ipv4-src-address@1:1",
    "maglev.vpp.lb.ipv6-src-address@1:1",
    "maglev.frontends.fe.pools[0].backends.b1.weight@14:48",
    "maglev.frontends.fe.pools[0].backends.nope@14:55",
    "maglev.frontends.fe.pools[1].name@15:19",
    "maglev.frontends.fe.pools[1].backends.b1@15:34",
  ]);
});

Deno.test("a typo'd key is reported with line, column and a suggestion", () => {
  const result = parseConfig(doc("maglev:", "  frontends:", "    web:", "      adress: 192.0.2.1"));
  assert.equal(result.ok, false);
  if (result.ok) return;
  const texts = result.issues.map((i) => formatIssue(i, "maglev.yaml"));
  assert.ok(
    texts.includes(
      'maglev.yaml: maglev.frontends.web.adress: unknown key "adress"; did you mean "address"? (line 4, column 7)',
    ),
    texts.join("\n"),
  );
});

Deno.test("defaults of spec 0.2 are applied", () => {
  const result = parseConfig(
    doc(
      "maglev:",
      "  healthchecks:",
      "    h: { type: http, port: 8080 }",
      "    t: { type: tcp, port: 22 }",
      "    i: { type: icmp }",
      "    fast: { type: icmp, interval: 200ms }",
      "  backends:",
      "    b1: { address: 10.0.0.1, healthcheck: h }",
      "    b2: { address: 10.0.0.2, healthcheck: '' }",
      "  frontends:",
      "    fe:",
      "      address: 192.0.2.1",
      "      protocol: udp",
      "      port: 0",
      "      pools:",
      "        - name: p",
      "          backends:",
      "            b2:",
      "            b1: {}",
    ),
    { vppEnabled: false },
  );
  assert.ok(result.ok, JSON.stringify(result));
  const c = result.config;
  assert.deepEqual(c.healthchecker, { transitionHistory: 5, netns: "" });
  assert.deepEqual(c.vpp.lb, {
    ipv4SrcAddress: "",
    ipv6SrcAddress: "",
    stickyBucketsPerCore: 1024,
    flowTimeoutS: 40,
    syncIntervalMs: 30_000,
    startupMinDelayMs: 5_000,
    startupMaxDelayMs: 30_000,
  });
  assert.deepEqual(c.healthchecks.h, {
    name: "h",
    type: "http",
    port: 8080,
    intervalMs: 2000,
    fastIntervalMs: 2000,
    downIntervalMs: 2000,
    timeoutMs: 1000,
    rise: 2,
    fall: 3,
    probeIpv4Src: "",
    probeIpv6Src: "",
    http: DEFAULT_HTTP_PARAMS,
  });
  assert.deepEqual(c.healthchecks.t.tcp, { ssl: false, serverName: "", insecureSkipVerify: false });
  assert.equal(c.healthchecks.t.http, undefined);
  assert.equal(c.healthchecks.i.port, 0);
  assert.equal(c.healthchecks.i.tcp, undefined);
  // The 1s timeout default never exceeds a shorter interval.
  assert.equal(c.healthchecks.fast.timeoutMs, 200);
  assert.equal(c.healthchecks.fast.fastIntervalMs, 200);
  assert.deepEqual(c.backends.b2, {
    name: "b2",
    address: "10.0.0.2",
    family: 4,
    healthcheck: "",
    enabled: true,
    description: "",
  });
  assert.deepEqual(c.frontends.fe, {
    name: "fe",
    address: "192.0.2.1",
    family: 4,
    protocol: "udp",
    port: 0,
    description: "",
    // YAML order, default weight for both `b2:` and `b1: {}`.
    pools: [{ name: "p", backends: [{ name: "b2", weight: 100 }, { name: "b1", weight: 100 }] }],
    srcIpSticky: false,
    flushOnDown: true,
    flowTableLength: 2048,
    flowTableLengthAuto: true,
  });
  assert.deepEqual(c.warnings, []);
});

Deno.test("explicit values override defaults; sync-interval <= 0 falls back to 30s", () => {
  const result = parseConfig(
    doc(
      "maglev:",
      "  healthchecker: { transition-history: 1, netns: dataplane }",
      "  vpp:",
      "    lb:",
      "      ipv4-src-address: 192.0.2.254",
      "      ipv6-src-address: 2001:DB8:0:0::254",
      "      sticky-buckets-per-core: 65536",
      "      flow-timeout: 1m30s",
      "      sync-interval: 0s",
      "      startup-min-delay: 0s",
      "      startup-max-delay: 0s",
      "  healthchecks:",
      "    h:",
      "      type: https",
      "      port: 443",
      "      interval: 1m",
      "      fast-interval: 1s",
      "      down-interval: 10s",
      "      timeout: 1.5s",
      "      rise: 1",
      "      fall: 1",
      "      probe-ipv6-src: 2001:db8::0001",
      "      params:",
      "        response-code: 204",
      "        server-name: example.com",
      "        insecure-skip-verify: true",
      "        response-regexp: ^ok$",
    ),
  );
  assert.ok(result.ok, JSON.stringify(result));
  const c = result.config;
  assert.deepEqual(c.healthchecker, { transitionHistory: 1, netns: "dataplane" });
  assert.equal(c.vpp.lb.ipv6SrcAddress, "2001:db8::254");
  assert.equal(c.vpp.lb.stickyBucketsPerCore, 65536);
  assert.equal(c.vpp.lb.flowTimeoutS, 90);
  assert.equal(c.vpp.lb.syncIntervalMs, 30_000);
  assert.equal(c.vpp.lb.startupMaxDelayMs, 0);
  const h = c.healthchecks.h;
  assert.deepEqual(
    [h.intervalMs, h.fastIntervalMs, h.downIntervalMs, h.timeoutMs, h.rise, h.fall],
    [60_000, 1000, 10_000, 1500, 1, 1],
  );
  assert.equal(h.probeIpv6Src, "2001:db8::1");
  assert.equal(h.http?.responseCodeMin, 204);
  assert.equal(h.http?.responseCodeMax, 204);
  assert.equal(h.http?.serverName, "example.com");
  assert.equal(h.http?.insecureSkipVerify, true);
  assert.equal(h.http?.responseRegexp, "^ok$");
});

Deno.test("flow-table-length: auto follows the weight sum; a small explicit value warns", () => {
  const backends = Array.from({ length: 20 }, (_, i) => `    s${i}: { address: 10.0.1.${i + 1} }`);
  const members = Array.from({ length: 20 }, (_, i) => `s${i}: { weight: ${i % 2 ? 50 : 100} }`);
  const text = (ftl: string) =>
    doc(
      "maglev:",
      "  backends:",
      ...backends,
      "  frontends:",
      "    big:",
      "      address: 192.0.2.9",
      "      protocol: tcp",
      "      port: 443",
      `      pools: [{ name: p, backends: { ${members.join(", ")} } }]`,
      ...(ftl === "" ? [] : [`      flow-table-length: ${ftl}`]),
    );
  const auto = parseConfig(text(""), { vppEnabled: false });
  assert.ok(auto.ok, JSON.stringify(auto));
  // 10 x 100 + 10 x 50 = 1500; 8 x 1500 = 12000 -> 16384.
  assert.equal(auto.config.frontends.big.flowTableLength, 16384);
  assert.equal(auto.config.frontends.big.flowTableLengthAuto, true);
  assert.deepEqual(auto.config.warnings, []);

  const small = parseConfig(text("1024"), { vppEnabled: false });
  assert.ok(small.ok, JSON.stringify(small));
  assert.equal(small.config.frontends.big.flowTableLength, 1024);
  assert.equal(small.config.frontends.big.flowTableLengthAuto, false);
  assert.equal(small.config.warnings.length, 1);
  assert.match(
    small.config.warnings[0],
    /^frontend "big": flow-table-length 1024 is smaller than 16384/,
  );

  const large = parseConfig(text("32768"), { vppEnabled: false });
  assert.ok(large.ok);
  assert.deepEqual(large.config.warnings, []);
});

Deno.test("addresses are canonicalised", () => {
  const result = parseConfig(
    doc(
      "maglev:",
      "  backends:",
      '    b1: { address: "2001:0DB8:0000:0000:0000:0000:0000:0001" }',
      '    b2: { address: "2001:db8:0:1:0:0:0:1" }',
      "  frontends:",
      "    fe:",
      '      address: "2001:db8::0:0:a"',
      "      protocol: tcp",
      "      port: 80",
      "      pools: [{ name: p, backends: { b1: {}, b2: {} } }]",
    ),
    { vppEnabled: false },
  );
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.config.backends.b1.address, "2001:db8::1");
  assert.equal(result.config.backends.b2.address, "2001:db8:0:1::1");
  assert.equal(result.config.backends.b2.family, 6);
  assert.equal(result.config.frontends.fe.address, "2001:db8::a");
  assert.equal(result.config.frontends.fe.family, 6);
});

Deno.test("an IPv6 VIP with IPv4 backends is allowed", () => {
  const result = parseConfig(
    doc(...HEAD, "    fe6:", '      address: "2001:db8::80"', ...FE.slice(2)),
    { vppEnabled: false },
  );
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.config.frontends.fe6.family, 6);
});

Deno.test("YAML anchors and aliases are followed", () => {
  const result = parseConfig(
    doc(
      "maglev:",
      "  healthchecks:",
      "    a: &common { type: tcp, port: 80, rise: 4 }",
      "    b: *common",
      "  backends:",
      "    b1: { address: 10.0.0.1, healthcheck: b }",
    ),
    { vppEnabled: false },
  );
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.config.healthchecks.b.rise, 4);
});

Deno.test("the config is deeply frozen and its maps are sorted by name", () => {
  const result = parseConfig(doc(...HEAD, ...FE), { vppEnabled: false });
  assert.ok(result.ok, JSON.stringify(result));
  const c = result.config;
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.vpp.lb));
  assert.ok(Object.isFrozen(c.frontends));
  assert.ok(Object.isFrozen(c.frontends.fe.pools));
  assert.ok(Object.isFrozen(c.frontends.fe.pools[0].backends[0]));
  assert.ok(Object.isFrozen(c.healthchecks.hc.tcp));
  assert.ok(Object.isFrozen(c.warnings));
  assert.throws(() => {
    (c.backends.b1 as { enabled: boolean }).enabled = false;
  }, TypeError);
  assert.throws(() => {
    (c.frontends.fe.pools as unknown as unknown[]).push({});
  }, TypeError);
  assert.deepEqual(Object.keys(c.backends), ["b1", "b2", "b6"]);
});

Deno.test("the shipped example loads", async () => {
  const path = new URL("../../docs/examples/maglev.yaml", import.meta.url).pathname;
  const result = await loadConfigFile(path);
  assert.ok(result.ok, JSON.stringify(result));
  const c = result.config;
  assert.equal(Object.keys(c.frontends).length, 4);
  assert.equal(c.vpp.lb.ipv4SrcAddress, "192.0.2.254");
  assert.equal(c.healthchecker.transitionHistory, 10);
  assert.equal(c.healthchecks["http-check"].http?.path, "/healthz");
  assert.equal(c.backends["static-primary"].healthcheck, "");
  assert.equal(c.backends.maintenance.enabled, false);
  assert.deepEqual(c.frontends["http-vip"].pools.map((p) => p.name), ["primary", "fallback"]);
  assert.deepEqual(c.warnings, []);
});

Deno.test("a missing file is a parse issue naming the path", async () => {
  const result = await loadConfigFile("/nonexistent/maglev.yaml");
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.kind, "parse");
  assert.equal(result.issues.length, 1);
  assert.match(result.issues[0].message, /cannot read config file "\/nonexistent\/maglev.yaml"/);
  assert.equal(
    formatIssue(result.issues[0], "/nonexistent/maglev.yaml"),
    '/nonexistent/maglev.yaml: cannot read config file "/nonexistent/maglev.yaml": no such file',
  );
});

Deno.test("formatIssue matches the spec 0.2 style", () => {
  const issue = {
    path: "maglev.frontends.web.pools[0].backends.nginx9",
    line: 41,
    column: 11,
    message: 'unknown backend "nginx9"',
  };
  assert.equal(
    formatIssue(issue),
    'maglev.frontends.web.pools[0].backends.nginx9: unknown backend "nginx9" (line 41, column 11)',
  );
  assert.equal(
    formatIssue(issue, "file.yaml"),
    'file.yaml: maglev.frontends.web.pools[0].backends.nginx9: unknown backend "nginx9" (line 41, column 11)',
  );
});
