// The page of a `latentsearch map --out map.html` export: no server, no network. The map's data
// (the map answer of the HTTP API, plus the query drawn at export time) is inlined as JSON.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, props = {}, ...kids) => { const e = Object.assign(document.createElement(tag), props); e.append(...kids); return e; };
  const data = JSON.parse($("#map-data").textContent);
  const byId = new Map(data.points.map((p) => [p.id, p]));
  let picks = [];

  function row(p, extra) {
    const li = el("li", {}, el("strong", { textContent: p.title || p.id }), extra ? el("span", { className: "muted", textContent: ` ${extra}` }) : "",
      el("div", { className: "snippet", textContent: p.snippet || "" }));
    li.dataset.id = p.id;
    li.addEventListener("click", () => open(p));
    return li;
  }
  function list(title, rows) { $("#side-title").textContent = title; $("#side-list").replaceChildren(...rows); }

  function open(p) {
    const box = $("#item");
    box.dataset.id = p.id; box.hidden = false;
    const a = el("button", { type: "button", textContent: "Use as A" }), b = el("button", { type: "button", textContent: "Use as B" });
    a.addEventListener("click", () => setPicks([p.id, picks[1]]));
    b.addEventListener("click", () => setPicks([picks[0], p.id]));
    box.replaceChildren(el("h3", { textContent: p.title || p.id }), el("p", { textContent: p.snippet || `(${p.kind} item)` }),
      el("div", { className: "muted", textContent: `${p.id}${p.parent ? " · in " + p.parent : ""} · ${JSON.stringify(p.metadata)}` }), el("div", {}, a, " ", b));
  }

  // The export has no model to embed with, so the slider walks the straight line between A and B
  // on the map and marks the point nearest to it (the page's Map view walks in the latent space).
  function setPicks(ids) {
    picks = ids;
    const name = (id) => (id && byId.get(id) ? byId.get(id).title || id : "–");
    $("#map-a").textContent = `A: ${name(ids[0])}`; $("#map-b").textContent = `B: ${name(ids[1])}`;
    $("#slider").disabled = !(ids[0] && ids[1]); $("#slider").value = 0;
    map.setPicks(ids.filter(Boolean)); map.setMarker(null, null);
  }
  function walk(t) {
    const [a, b] = picks.map((id) => byId.get(id));
    if (!a || !b) return;
    const x = a.x + (b.x - a.x) * t, y = a.y + (b.y - a.y) * t;
    let best = null, bd = Infinity;
    for (const p of data.points) { const d = (p.x - x) ** 2 + (p.y - y) ** 2; if (d < bd) { bd = d; best = p; } }
    map.setMarker({ x, y }, best.id);
    $("#nearest").textContent = `t = ${t.toFixed(2)} · nearest: ${best.title || best.id}`;
  }

  function showHits() {
    if (data.query) list(`Hits for ${data.query.label}`, data.hits.map((h, i) => row(byId.get(h.id) || h, `#${i + 1} · ${h.score.toFixed(3)}`)));
    else list("Clusters", data.clusters.map((c) => { const p = byId.get(c.medoid); return p ? row(p, `cluster: ${c.label} (${c.size})`) : ""; }));
  }

  const map = new window.LatentMap($("#map"), {
    colorBy: data.color_by || "cluster",
    onOpen: open,
    onSelect: (ids) => {
      if (!ids) { showHits(); return; }
      list(`${ids.length} item(s) in the region`, ids.slice(0, 500).map((id) => row(byId.get(id))));
    },
  });
  map.setData(data);
  const fields = new Set();
  for (const p of data.points.slice(0, 5000)) for (const [k, v] of Object.entries(p.metadata || {})) if (v !== null && typeof v !== "object") fields.add(k);
  const color = $("#color");
  color.replaceChildren(el("option", { value: "cluster", textContent: "colour: cluster" }), ...[...fields].map((f) => el("option", { value: f, textContent: `colour: ${f}` })));
  color.value = data.color_by && fields.has(data.color_by) ? data.color_by : "cluster";
  color.addEventListener("change", () => map.colorBy(color.value));
  if (data.path) map.setPath(data.path);
  if (data.query) map.setQuery(data.query, data.rings || []);
  $("#select").addEventListener("click", () => { const on = map.mode !== "select"; map.setMode(on ? "select" : "pan"); $("#select").setAttribute("aria-pressed", String(on)); });
  $("#reset").addEventListener("click", () => map.resetView());
  $("#clear").addEventListener("click", () => { map.select(null); setPicks([]); });
  $("#slider").addEventListener("input", () => walk(Number($("#slider").value) / 100));
  $("#summary").textContent = `${data.points.length} point(s) · ${data.clusters.length} cluster(s) · ${data.method}, seed ${data.seed}`;
  showHits();
  setPicks([]);
  window.latentMap = map;
})();
