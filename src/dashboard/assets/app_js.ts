/**
 * The page's script, plain browser JavaScript (no framework, no build step)
 * kept in the module graph so `deno compile` embeds it. `mod.ts` prepends
 * the daemon's duration formatter and the dashboard's age formatter.
 *
 * It runs as a module script (its own scope, no wrapper function). The page
 * holds the state `/api/state` returned and replaces one daemon's
 * view whenever the event stream sends it; it renders from that state only.
 * Everything from a daemon is put in the page as text, never as markup.
 * @module
 */

/** The script body; expects global `formatDuration(ms)` and `formatAge(ms)`. */
export const APP_SOURCE = String.raw`"use strict";
var ADMIN = document.body.getAttribute("data-admin") === "true";
// Absolute: a page opened as http://user:pass@host/ cannot fetch relative URLs.
var API = location.origin + (ADMIN ? "/admin/api" : "/api");
var S = { daemons: [], fleet: [], tab: decodeURIComponent(location.hash.slice(1)) || "",
  stream: "connecting", es: null, timer: 0, dirty: {} };

function h(tag, attrs) {
  var el = document.createElement(tag);
  var k;
  for (k in attrs || {}) {
    var v = attrs[k];
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
  return el;
}
function add(el, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
  el.append(c instanceof Node ? c : document.createTextNode(String(c)));
}
function nsToMs(ns) { return ns ? Math.floor(Number(ns) / 1e6) : 0; }
function age(ms) { return ms ? formatAge(Date.now() - ms) : "-"; }
function clock(ms) { return new Date(ms).toLocaleTimeString(); }
function badge(state) { return h("span", { class: "badge s-" + state, "data-state": state }, state); }
function byId(id) { return S.daemons.find(function (d) { return d.id === id; }); }
function label(d) { return d.address; }

function load() {
  return fetch(API + "/state", { cache: "no-store" }).then(function (r) {
    if (!r.ok) throw new Error("GET " + API + "/state: " + r.status);
    return r.json();
  }).then(function (st) {
    S.daemons = st.daemons;
    S.fleet = st.fleet;
    document.getElementById("version").textContent = "maglev " + st.version;
    if (!S.tab || (S.tab !== "fleet" && !byId(S.tab))) {
      S.tab = S.daemons.length > 1 ? "fleet" : (S.daemons[0] || {}).id || "fleet";
    }
    render();
    connect(st.lastEventId);
  }).catch(function (e) {
    S.stream = "error: " + e.message;
    renderStatus();
    setTimeout(load, 2000);
  });
}

function connect(lastId) {
  if (S.es) S.es.close();
  var es = new EventSource(API + "/events?lastEventId=" + encodeURIComponent(lastId));
  S.es = es;
  es.onopen = function () { S.stream = "live"; renderStatus(); };
  es.onerror = function () { S.stream = "reconnecting"; renderStatus(); };
  es.addEventListener("daemon", function (e) {
    var v = JSON.parse(e.data);
    var old = byId(v.id);
    v.events = old ? old.events : [];
    S.daemons = S.daemons.map(function (d) { return d.id === v.id ? v : d; });
    schedule("full");
  });
  es.addEventListener("log", function (e) {
    var m = JSON.parse(e.data);
    var d = byId(m.daemon);
    if (!d) return;
    d.events.push(m.line);
    if (d.events.length > 200) d.events.splice(0, d.events.length - 200);
    schedule("log");
  });
  es.addEventListener("probes", function (e) {
    var m = JSON.parse(e.data);
    var d = byId(m.daemon);
    if (d) { d.probes = m.probes; schedule("beats"); }
  });
  es.addEventListener("fleet", function (e) { S.fleet = JSON.parse(e.data); schedule("full"); });
  es.addEventListener("resync", function () { es.close(); S.es = null; load(); });
}

// Heartbeats and log lines only touch their own cells: a full render
// replaces the buttons, and a click whose press and release land on
// different nodes is lost, so full renders stay as rare as real changes.
function schedule(what) {
  S.dirty[what] = true;
  if (S.timer) return;
  S.timer = setTimeout(function () {
    var dirty = S.dirty;
    S.timer = 0;
    S.dirty = {};
    if (dirty.full) { render(); return; }
    var d = byId(S.tab);
    if (!d) return;
    if (dirty.beats) {
      document.querySelectorAll("td[data-hb]").forEach(function (td) {
        td.replaceChildren(heart(d.probes[td.getAttribute("data-hb")]));
      });
    }
    var log = document.querySelector(".log");
    if (dirty.log && log) log.replaceWith(eventLog(d));
  }, 16);
}

function renderStatus() {
  var el = document.getElementById("stream");
  el.textContent = S.stream;
  el.setAttribute("data-stream", S.stream);
}

function render() {
  renderStatus();
  var tabs = document.getElementById("tabs");
  tabs.replaceChildren(tab("fleet", "fleet", null));
  S.daemons.forEach(function (d) { tabs.append(tab(d.id, label(d), d)); });
  var main = document.getElementById("main");
  main.replaceChildren(S.tab === "fleet" ? renderFleet() : renderDaemon(byId(S.tab)));
}

function tab(id, text, d) {
  var dot = d ? h("span", { class: "dot " + (d.connection.connected ? "on" : "off"),
    title: d.connection.connected ? "connected" : d.connection.error }) : null;
  return h("button", { class: "tab" + (S.tab === id ? " active" : ""), "data-tab": id,
    "data-connected": d ? String(d.connection.connected) : null,
    onclick: function () { S.tab = id; location.hash = encodeURIComponent(id); render(); } },
    dot, text);
}

function renderDaemon(d) {
  if (!d) return h("p", null, "no such daemon");
  var c = d.connection;
  var conn = h("p", { class: "conn " + (c.connected ? "on" : "off") },
    c.connected ? "connected to " + d.address + " for " + age(c.sinceMs)
      : "not connected to " + d.address + " (" + c.error + ") for " + age(c.sinceMs) +
        (d.refreshedAtMs ? "; what follows is the last known state" : ""),
    ADMIN && d.acceptsMutations === false ? h("span", { class: "warn" },
      " - this listener refuses mutating RPCs: actions are off") : null);
  return h("div", { class: "daemon" + (c.connected ? "" : " stale"), "data-daemon": d.id }, conn,
    h("div", { class: "cards" }, d.frontends.map(function (f) { return card(d, f); })),
    h("div", { class: "side" }, vppPanel(d), eventLog(d)));
}

function vipText(f) { return f.address + ":" + (f.port || "*") + "/" + f.protocol; }

function card(d, f) {
  var fp = f.fingerprint ? h("span", { class: "fp", title: "VIP fingerprint" }, f.fingerprint) : null;
  return h("section", { class: "card", "data-frontend": f.name, "data-state": f.state },
    h("header", null, h("h2", null, f.name), badge(f.state), h("span", { class: "vip" }, vipText(f)), fp),
    f.description ? h("p", { class: "desc" }, f.description) : null,
    f.vpp_sync_error ? h("p", { class: "warn sync-error" }, "VPP sync: " + f.vpp_sync_error) : null,
    f.warning ? h("p", { class: "warn" }, f.warning) : null,
    f.pools.map(function (p) { return pool(d, f, p); }));
}

function pool(d, f, p) {
  var active = f.active_pool === p.name;
  var head = h("tr", null, ["", "backend", "address", "state", "weight", "effective", "buckets",
    "last change"].concat(ADMIN ? ["actions"] : []).map(function (t) { return h("th", null, t); }));
  return h("div", { class: "pool" + (active ? " active" : ""), "data-pool": p.name },
    h("h3", null, "pool " + p.name, active ? h("span", { class: "serving" }, " serving") : null),
    h("table", null, h("thead", null, head),
      h("tbody", null, p.backends.map(function (pb) { return row(d, f, p, pb); }))));
}

function buckets(d, f, address) {
  var lb = d.vpp && d.vpp.lb;
  if (!lb) return "-";
  var vip = lb.vips.find(function (v) { return v.frontend === f.name; });
  var as = vip && vip.application_servers.find(function (a) { return a.address === address; });
  return as ? as.buckets : "-";
}

function heart(beat) {
  if (!beat) return h("span", { class: "beat none", title: "no probe seen (static backend?)" }, "\u00b7");
  if (beat.inFlight) return h("span", { class: "beat live", title: "probe in flight" }, "\u2665");
  return h("span", { class: "beat " + (beat.lastOk ? "ok" : "bad"),
    title: "last probe " + age(beat.lastAtMs) + " ago" }, "\u25cf");
}

function row(d, f, p, pb) {
  var b = d.backends[pb.name] || { transitions: [] };
  var t = b.transitions[0];
  var since = t ? nsToMs(t.at_ns) : 0;
  return h("tr", { "data-backend": pb.name, "data-state": pb.state },
    h("td", { "data-hb": pb.name }, heart(d.probes[pb.name])),
    h("td", null, h("button", { class: "link", onclick: function () { details(d, pb.name); } }, pb.name)),
    h("td", null, pb.address),
    h("td", null, badge(pb.state)),
    h("td", { class: "num weight" }, pb.weight),
    h("td", pb.adopted
      ? { class: "num effective adopted", title: "adopted from VPP, awaiting the first probe result" }
      : { class: "num effective" }, pb.effective_weight + (pb.adopted ? "*" : "")),
    h("td", { class: "num buckets" }, buckets(d, f, pb.address)),
    h("td", { class: "age", "data-since": since, title: t ? t.from + " -> " + t.to + " " + t.code : "" },
      age(since)),
    ADMIN ? h("td", null, actions(d, f, p, pb)) : null);
}

function actions(d, f, p, pb) {
  if (d.acceptsMutations === false || !d.connection.connected) return "-";
  var want = { pause: pb.state !== "paused" && pb.state !== "disabled", resume: pb.state === "paused",
    enable: !pb.enabled, disable: pb.enabled };
  return ["pause", "resume", "enable", "disable"].filter(function (a) { return want[a]; })
    .map(function (a) {
      return h("button", { class: "act", "data-action": a,
        onclick: function () { ask(d, { kind: a, backend: pb.name, frontend: f.name }); } }, a);
    }).concat([h("button", { class: "act", "data-action": "weight",
      onclick: function () { ask(d, { kind: "weight", backend: pb.name, frontend: f.name, pool: p.name,
        weight: pb.weight }); } }, "weight")]);
}

function vppPanel(d) {
  var v = d.vpp || {};
  if (v.error) return h("section", { class: "vpp" }, h("h2", null, "VPP"), h("p", { class: "warn" }, v.error));
  if (!v.info) return h("section", { class: "vpp" }, h("h2", null, "VPP"), h("p", null, "-"));
  var lb = v.lb || { vips: [] };
  var rows = [["version", v.info.version], ["pid", v.info.pid],
    ["connected", age(nsToMs(v.info.connecttime_ns)) + " ago"],
    ["VIPs", lb.vips.length], ["sticky buckets/core", lb.sticky_buckets_per_core],
    ["flow timeout", lb.flow_timeout + "s"]];
  if (v.info.missing_messages.length) rows.push(["missing", v.info.missing_messages.join(", ")]);
  return h("section", { class: "vpp" }, h("h2", null, "VPP"),
    h("table", null, rows.map(function (r) { return h("tr", null, h("th", null, r[0]), h("td", null, r[1])); })));
}

function eventLog(d) {
  var lines = d.events.slice(-100).reverse();
  return h("section", { class: "log" }, h("h2", null, "events"),
    h("ol", null, lines.map(function (l) {
      return h("li", { class: "l-" + l.level + " k-" + l.kind }, h("time", null, clock(l.atMs)), " ", l.text);
    })));
}

function renderFleet() {
  var ds = S.daemons;
  var box = h("div", { class: "fleet" });
  if (S.fleet.length === 0) box.append(h("p", null, "no daemon answered yet"));
  S.fleet.forEach(function (r) {
    var ids = Object.keys(r.cells);
    var head = h("tr", null, h("th", null, r.frontend), ids.map(function (id) {
      var d = byId(id);
      return h("th", null, d ? label(d) : id);
    }));
    var rows = [h("tr", { class: r.presenceDiffers ? "diff" : "", "data-row": "state" }, h("th", null, "state"),
      ids.map(function (id) { var c = r.cells[id]; return h("td", null, c.present ? badge(c.state) : "absent"); }))];
    rows.push(h("tr", { class: r.tableLengthDiffers ? "diff" : "", "data-row": "table-length" },
    h("th", null, "table length"),
    ids.map(function (id) { return h("td", { class: "num" }, r.cells[id].present ? r.cells[id].tableLength : "-"); })));
  if (ids.some(function (id) { return r.cells[id].fingerprint; })) {
      rows.push(h("tr", { class: r.fingerprintDiffers ? "diff" : "", "data-row": "fingerprint" },
        h("th", null, "fingerprint"),
        ids.map(function (id) { return h("td", { class: "fp" }, r.cells[id].fingerprint || "-"); })));
    }
    r.backends.forEach(function (b) {
      var differs = r.weightDiffers.indexOf(b) >= 0;
      rows.push(h("tr", { class: differs ? "diff" : "", "data-backend": b, "data-differs": String(differs) },
        h("th", null, b), ids.map(function (id) {
          var w = r.cells[id].weights[b];
          return h("td", { class: "num" }, w === undefined ? "-" : w);
        })));
    });
    box.append(h("section", { class: "fleet-row" + (r.differs ? " differs" : ""), "data-frontend": r.frontend,
      "data-differs": String(r.differs) },
      h("table", null, h("thead", null, head), h("tbody", null, rows)),
      r.differs ? h("p", { class: "warn" }, "the daemons disagree on this frontend") : null));
  });
  if (ds.length < 2) box.append(h("p", { class: "hint" }, "one daemon: give --server several to compare"));
  return box;
}

function details(d, name) {
  var panel = document.getElementById("details");
  panel.replaceChildren(h("p", null, "loading " + name + "..."));
  panel.hidden = false;
  fetch(API + "/daemons/" + encodeURIComponent(d.id) + "/backends/" + encodeURIComponent(name))
    .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error); return j; }); })
    .then(function (b) {
      panel.replaceChildren(h("header", null, h("h2", null, b.name), badge(b.state),
        h("button", { class: "close", onclick: function () { panel.hidden = true; } }, "close")),
        h("p", null, b.address + (b.healthcheck ? " - " + b.healthcheck + " health " + b.health + "/" +
          b.health_max : " - static")),
        h("h3", null, "last probes"),
        h("table", { class: "probes" }, h("tr", null, ["time", "result", "code", "detail", "duration"]
          .map(function (t) { return h("th", null, t); })),
          b.probes.map(function (p) {
            return h("tr", { class: p.ok ? "ok" : "bad" }, h("td", null, clock(nsToMs(p.at_ns))),
              h("td", null, p.ok ? "ok" : "fail"), h("td", null, p.code), h("td", null, p.detail),
              h("td", { class: "num" }, formatDuration(Number(p.duration_ns) / 1e6)));
          })),
        h("h3", null, "transitions"),
        h("ol", null, b.transitions.map(function (t) {
          return h("li", null, clock(nsToMs(t.at_ns)) + " " + t.from + " -> " + t.to + " " + t.code +
            (t.detail ? " (" + t.detail + ")" : ""));
        })));
    }).catch(function (e) { panel.replaceChildren(h("p", { class: "warn" }, e.message)); });
}

function ask(d, a) {
  var panel = document.getElementById("confirm");
  var input = a.kind === "weight" ? h("input", { type: "number", min: 0, max: 100, value: a.weight,
    id: "weight-input" }) : null;
  var text = a.kind === "weight" ? "set the weight of " + a.backend + " in " + a.frontend + " pool " + a.pool
    : a.kind + " backend " + a.backend;
  var out = h("p", { class: "result" });
  var preview = h("div", { class: "preview" });
  panel.replaceChildren(h("div", null, h("h2", null, "on " + label(d) + ": " + text), input, preview,
    h("button", { class: "go", onclick: function () { run(d, a, input, out); } }, "confirm"),
    h("button", { onclick: function () { panel.hidden = true; } }, "cancel"), out));
  panel.hidden = false;
  if (!d.offersPreview || (a.kind !== "weight" && a.kind !== "disable")) return;
  var timer = 0;
  var show = function () {
    showPreview(d, { frontend: a.frontend, backend: a.backend, pool: a.pool || "",
      weight: input ? Number(input.value) : 0, disable: a.kind === "disable" }, preview);
  };
  if (input) input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(show, 200); });
  show();
}

function showPreview(d, req, box) {
  box.replaceChildren(h("p", null, "computing the disruption preview..."));
  fetch(API + "/daemons/" + encodeURIComponent(d.id) + "/preview", { method: "POST",
    headers: { "content-type": "application/json" }, body: JSON.stringify(req) })
    .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error); return j; }); })
    .then(function (p) {
      var share = function (list) {
        return list.map(function (s) { return s.backend + " " + s.buckets; }).join(", ") || "-";
      };
      box.replaceChildren(h("div", null, h("p", { class: "moved", "data-moved": p.buckets_moved },
        p.buckets_moved + " of " + p.table_length + " buckets move"),
        h("ul", null, p.moves.map(function (m) {
          return h("li", null, (m.from || "(none)") + " \u2192 " + (m.to || "(none)") + ": " + m.buckets);
        })),
        h("p", { class: "fp" }, "before: " + share(p.before)), h("p", { class: "fp" }, "after: " + share(p.after)),
        p.fingerprint_before ? h("p", { class: "fp" }, "fingerprint " + p.fingerprint_before + " \u2192 " +
          p.fingerprint_after) : null));
    }).catch(function (e) { box.replaceChildren(h("p", { class: "warn" }, "no preview: " + e.message)); });
}

function run(d, a, input, out) {
  var base = API + "/daemons/" + encodeURIComponent(d.id);
  var req = a.kind === "weight"
    ? fetch(base + "/weight", { method: "POST", headers: { "x-maglev-dashboard": "1",
      "content-type": "application/json" }, body: JSON.stringify({ frontend: a.frontend, pool: a.pool,
      backend: a.backend, weight: Number(input.value) }) })
    : fetch(base + "/backends/" + encodeURIComponent(a.backend) + "/" + a.kind,
      { method: "POST", headers: { "x-maglev-dashboard": "1" } });
  req.then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error); return j; }); })
    .then(function () { document.getElementById("confirm").hidden = true; })
    .catch(function (e) { out.textContent = e.message; out.className = "result warn"; });
}

setInterval(function () {
  document.querySelectorAll(".age[data-since]").forEach(function (el) {
    el.textContent = age(Number(el.getAttribute("data-since")));
  });
}, 1000);
window.addEventListener("hashchange", function () {
  var t = decodeURIComponent(location.hash.slice(1));
  if (t && t !== S.tab) { S.tab = t; render(); }
});
load();
`;
