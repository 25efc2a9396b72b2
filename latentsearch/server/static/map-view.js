// The page's Map view: the caller's visible items on a latent map (map.js) beside the result list.
// app.js calls three hooks: mapView.reset(name) when the key or collection changes, and
// mapView.showQuery(q, isExpression, hits) after a search. Everything else lives here.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, props = {}, ...kids) => { const e = Object.assign(document.createElement(tag), props); e.append(...kids); return e; };
  const KEY = "latentsearch.key";
  const quote = (id) => '@"' + id.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + (sessionStorage.getItem(KEY) || "") };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || res.status + " " + res.statusText);
    return data;
  }

  const view = {
    name: "", data: null, map: null, picks: [], pending: null, loading: null, seq: 0,

    init() {
      const box = $("#mapview");
      if (!box) return;
      const color = el("select", { id: "map-color", title: "Colour points by" }, el("option", { value: "cluster", textContent: "colour: cluster" }));
      const method = el("select", { id: "map-method", title: "Projection" },
        el("option", { value: "umap", textContent: "UMAP" }), el("option", { value: "pca", textContent: "PCA" }));
      const select = el("button", { type: "button", id: "map-select", textContent: "Select region", title: "Drag a rectangle to filter the results (or shift-drag)" });
      const reset = el("button", { type: "button", id: "map-reset", textContent: "Reset view" });
      const clear = el("button", { type: "button", id: "map-clear", textContent: "Clear" });
      const slider = el("input", { type: "range", id: "map-slider", min: 0, max: 100, step: 5, value: 0, disabled: true });
      box.append(
        el("div", { id: "map-tools" }, color, method, select, reset, clear),
        el("div", { id: "map-canvas" }),
        el("p", { id: "map-status", className: "muted", ariaLive: "polite" }),
        el("div", { id: "map-interp" }, el("span", { id: "map-a", textContent: "A: –" }), slider, el("span", { id: "map-b", textContent: "B: –" })),
        el("p", { id: "map-nearest", className: "muted" }),
        el("div", { id: "map-item", hidden: true }),
      );
      this.map = new window.LatentMap($("#map-canvas"), {
        onOpen: (p) => this.open(p),
        onSelect: (ids) => this.filterResults(ids),
      });
      color.addEventListener("change", () => this.map.colorBy(color.value));
      method.addEventListener("change", () => this.load());
      select.addEventListener("click", () => {
        const on = this.map.mode !== "select";
        this.map.setMode(on ? "select" : "pan");
        select.setAttribute("aria-pressed", String(on));
      });
      reset.addEventListener("click", () => this.map.resetView());
      clear.addEventListener("click", () => { this.map.select(null); this.map.clearOverlays(); this.setPicks([]); });
      let timer = null;
      slider.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => this.walk(Number(slider.value) / 100), 120); });
      $("#map-toggle").addEventListener("click", () => this.toggle());
    },

    toggle(on) {
      const show = on === undefined ? !document.body.classList.contains("with-map") : on;
      document.body.classList.toggle("with-map", show);
      $("#map-toggle").setAttribute("aria-pressed", String(show));
      if (!show) return;
      this.map.resize();
      if (!this.data) this.load();
      else if (this.pending) { const p = this.pending; this.pending = null; this.showQuery(...p); }
    },

    status(text, isError) { const s = $("#map-status"); s.textContent = text; s.className = isError ? "error" : "muted"; },
    base() { return `/collections/${encodeURIComponent(this.name)}`; },

    reset(name) {
      this.name = name || ""; this.data = null; this.pending = null; this.setPicks([]);
      if (!this.map) return;
      this.map.setData({ points: [], clusters: [] });
      $("#map-item").hidden = true;
      this.status("");
      if (this.name && document.body.classList.contains("with-map")) this.load();
    },

    async load() {
      if (!this.name) return;
      const seq = ++this.seq;
      this.status("Drawing the map…");
      try {
        const method = $("#map-method").value;
        const data = await api("POST", `${this.base()}/map`, { method, seed: 0 });
        if (seq !== this.seq) return;  // a newer load (another key or collection) won
        this.data = data;
        this.method = method;  // what project must ask for (data.method says what was fitted)
        this.map.setData(data);
        this.fields(data.points);
        this.status(`${data.points.length} point(s) · ${data.clusters.length} cluster(s) · ${data.method}${data.cached ? " (cached)" : ""}`);
        if (this.pending) { const p = this.pending; this.pending = null; await this.showQuery(...p); }
      } catch (e) { if (seq === this.seq) this.status(e.message, true); }
    },

    // The colour-by choices: "cluster" and the metadata fields with a few distinct values.
    fields(points) {
      const values = new Map();
      for (const p of points.slice(0, 5000)) for (const [k, v] of Object.entries(p.metadata || {})) {
        if (v === null || typeof v === "object") continue;
        if (!values.has(k)) values.set(k, new Set());
        values.get(k).add(v);
      }
      const sel = $("#map-color");
      sel.replaceChildren(el("option", { value: "cluster", textContent: "colour: cluster" }),
        ...[...values].filter(([, s]) => s.size > 1 && s.size <= 50).map(([k]) => el("option", { value: k, textContent: `colour: ${k}` })));
      this.map.colorBy("cluster");
    },

    // A search's query point and rings around its hits; an expression draws the path of its terms.
    async showQuery(q, isExpression, hits) {
      if (!this.map) return;
      // Drawn when the map is shown and loaded; until then the latest query waits.
      if (!this.data || !document.body.classList.contains("with-map")) { this.pending = [q, isExpression, hits]; return; }
      this.pending = null;
      if (this.map.selected) this.filterResults([...this.map.selected]);  // the new results, filtered too
      // a chunk hit rings its point, and its document's point on a document-level map
      const hitIds = new Set(hits.flatMap((h) => (h.chunk ? [h.id, h.chunk.parent] : [h.id])));
      const ringed = this.data.points.filter((p) => hitIds.has(p.id) || (p.parent && hitIds.has(p.parent))).map((p) => p.id);
      // an expression's hits carry `why` (each term's similarity): shown when a ringed point is hovered
      this.map.setWhy(Object.fromEntries(hits.filter((h) => h.why).map((h) => [h.id, h.why])));
      const body = isExpression ? { expression: q } : { queries: [q] };
      try {
        const out = await api("POST", `${this.base()}/project`, { ...body, method: this.method, seed: this.data.seed });
        const last = out.points[out.points.length - 1];
        this.map.setPath(isExpression && out.points.length > 1 ? out.points : null);
        this.map.setQuery({ x: last.x, y: last.y, label: isExpression ? "= result" : "query" }, ringed);
      } catch (e) {
        this.map.setQuery(null, ringed);
        this.status(`query not drawn: ${e.message}`, true);
      }
    },

    async open(point) {
      const box = $("#map-item");
      box.dataset.id = point.id;
      box.hidden = false;
      box.replaceChildren(el("h4", { textContent: point.title || point.id }), el("p", { className: "muted", textContent: "Loading…" }));
      this.highlight(point);
      let item;
      try { item = await api("GET", `${this.base()}/item?id=${encodeURIComponent(point.id)}`); }
      catch (e) { box.replaceChildren(el("p", { className: "error", textContent: e.message })); return; }
      if (box.dataset.id !== point.id) return;
      const title = el("h4", { textContent: item.source.title || item.id });
      const text = el("p", { className: "snippet", textContent: item.kind === "text" ? (item.text || "").slice(0, 600) : `(${item.kind} item)` });
      const meta = el("div", { className: "meta", textContent: `${item.id} · ${JSON.stringify(item.metadata)}` });
      const a = el("button", { type: "button", textContent: "Use as A" }), b = el("button", { type: "button", textContent: "Use as B" });
      a.addEventListener("click", () => this.setPicks([point.id, this.picks[1]]));
      b.addEventListener("click", () => this.setPicks([this.picks[0], point.id]));
      box.replaceChildren(title, text, meta, el("div", {}, a, " ", b));
    },

    highlight(point) {  // its entry in the result list: the item's, or its document's
      for (const li of document.querySelectorAll("#results > li")) li.classList.toggle("map-open", li.dataset.id === point.id || li.dataset.id === point.parent);
    },

    setPicks(picks) {
      this.picks = picks;
      const title = (id) => { const p = id && this.data && this.data.points.find((x) => x.id === id); return p ? (p.title || p.id) : "–"; };
      $("#map-a").textContent = `A: ${title(picks[0])}`;
      $("#map-b").textContent = `B: ${title(picks[1])}`;
      const ready = picks.length === 2 && picks[0] && picks[1];
      $("#map-slider").disabled = !ready;
      $("#map-slider").value = 0;
      $("#map-nearest").textContent = ready ? "Move the slider to walk from A to B." : "Open two points and use them as A and B to walk between them.";
      if (this.map) { this.map.setPicks(picks.filter(Boolean)); this.map.setMarker(null, null); }
    },

    // The interpolation slider: the point (1-t)·A + t·B placed on the map, and its nearest item.
    async walk(t) {
      const [a, b] = this.picks;
      if (!a || !b) return;
      const expr = `${(1 - t).toFixed(2)} * ${quote(a)} + ${t.toFixed(2)} * ${quote(b)}`;
      try {
        const [proj, near] = await Promise.all([
          api("POST", `${this.base()}/project`, { expression: expr, method: this.method, seed: this.data.seed }),
          api("POST", `${this.base()}/query`, { expr, k: 1 }),
        ]);
        const last = proj.points[proj.points.length - 1];
        const hit = near.hits[0];
        this.map.setMarker({ x: last.x, y: last.y }, hit ? hit.id : null);
        $("#map-nearest").textContent = hit ? `t = ${t.toFixed(2)} · nearest: ${hit.citation.title || hit.id}` : `t = ${t.toFixed(2)}`;
      } catch (e) { $("#map-nearest").textContent = e.message; }
    },

    // A region selection filters the result list to the hits inside it (or their documents).
    filterResults(ids) {
      const keep = ids ? new Set(ids) : null;
      if (keep && this.data) for (const p of this.data.points) if (keep.has(p.id) && p.parent) keep.add(p.parent);
      let shown = 0, total = 0;
      for (const li of document.querySelectorAll("#results > li")) {
        if (!li.dataset.id) continue;
        total++;
        const inside = !keep || keep.has(li.dataset.id);
        li.classList.toggle("map-outside", !inside);
        if (inside) shown++;
      }
      this.status(keep ? `${ids.length} point(s) selected · ${shown} of ${total} result(s) inside` : `${this.data ? this.data.points.length : 0} point(s)`);
    },
  };
  window.mapView = view;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => view.init()); else view.init();
})();
