// latentsearch map renderer: plain canvas, no dependencies, no network. Used by the page's Map
// view (map-view.js) and inlined into `latentsearch map --out map.html`.
//
// Points are rasterised into an ImageData (one stamp per point) on an offscreen canvas, only when
// the data, colours or view change; a frame composites that bitmap and draws the overlays (labels,
// query rings, paths, hover), so 100k points pan, zoom and hover interactively. Hover and click
// look up a uniform grid over the data coordinates, never a scan of every point.
"use strict";
(function (root) {
  const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#2f4b7c", "#a05195", "#d45087", "#665191", "#003f5c", "#7a9e00",
    "#00876c", "#c44e52", "#8172b3", "#937860"];
  const OTHER = "#b8bec8";
  const HOVER_PX = 7;
  const SMOOTH_MAX = 5000;  // up to this many points are drawn as canvas arcs, more as pixel stamps

  function rgb(hex) {
    const v = parseInt(hex.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  // ImageData as Uint32 is ABGR on every little-endian machine browsers run on.
  function abgr([r, g, b], a = 255) { return ((a << 24) | (b << 16) | (g << 8) | r) >>> 0; }
  function mix(c, t) { return c.map((v) => Math.round(v + (255 - v) * t)); }

  class LatentMap {
    constructor(container, options = {}) {
      this.opts = options;
      this.el = container;
      this.el.classList.add("lmap");
      this.canvas = document.createElement("canvas");
      this.canvas.className = "lmap-canvas";
      this.tip = document.createElement("div");
      this.tip.className = "lmap-tip";
      this.tip.hidden = true;
      this.legendEl = document.createElement("div");
      this.legendEl.className = "lmap-legend";
      this.el.append(this.canvas, this.tip, this.legendEl);
      this.ctx = this.canvas.getContext("2d");
      this.base = document.createElement("canvas");
      this.points = []; this.clusters = [];
      this.view = { z: 1, px: 0, py: 0 };
      this.mode = "pan";
      this.overlay = { query: null, rings: new Set(), path: null, picks: [], marker: null, nearest: null };
      this.selected = null;  // a Set of ids, or null when no region is selected
      this.hover = -1;
      this.frameTimes = [];
      this.dirty = true;
      this._events();
      new ResizeObserver(() => this.resize()).observe(this.el);
      this.resize();
    }

    setData(data) {
      this.points = data.points || [];
      this.clusters = data.clusters || [];
      const n = this.points.length;
      this.xs = new Float32Array(n); this.ys = new Float32Array(n);
      this.index = new Map();
      this.points.forEach((p, i) => { this.xs[i] = p.x; this.ys[i] = p.y; this.index.set(p.id, i); });
      let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
      for (let i = 0; i < n; i++) {
        x0 = Math.min(x0, this.xs[i]); x1 = Math.max(x1, this.xs[i]);
        y0 = Math.min(y0, this.ys[i]); y1 = Math.max(y1, this.ys[i]);
      }
      if (!n) [x0, x1, y0, y1] = [-1, 1, -1, 1];
      this.bounds = { x0, x1, y0, y1, w: Math.max(x1 - x0, 1e-9), h: Math.max(y1 - y0, 1e-9) };
      this._grid();
      this.selected = null; this.selMask = null;
      this.overlay = { query: null, rings: new Set(), path: null, picks: [], marker: null, nearest: null };
      this.view = { z: 1, px: 0, py: 0 };
      this._fit();
      this.colorBy(this.opts.colorBy || "cluster");  // draws
    }

    // Colour by "cluster" or by a metadata field; at most PALETTE.length values, the rest grey.
    colorBy(field) {
      this.field = field;
      const n = this.points.length;
      const value = (p) => field === "cluster"
        ? (p.cluster == null ? null : p.cluster)
        : (p.metadata && p.metadata[field] != null ? JSON.stringify(p.metadata[field]) : null);
      const counts = new Map();
      for (const p of this.points) { const v = value(p); if (v != null) counts.set(v, (counts.get(v) || 0) + 1); }
      const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, PALETTE.length);
      const slot = new Map(top.map(([v], i) => [v, i]));
      this.colorIdx = new Uint8Array(n);
      this.points.forEach((p, i) => { const s = slot.get(value(p)); this.colorIdx[i] = s == null ? PALETTE.length : s; });
      const colors = [...PALETTE.slice(0, top.length), ...Array(PALETTE.length - top.length).fill(OTHER), OTHER].map(rgb);
      this.rgbs = colors;
      this.full = colors.map((c) => abgr(c));
      this.dim = colors.map((c) => abgr(mix(c, 0.78)));
      const names = new Map(this.clusters.map((c) => [c.id, c.label]));
      this.legend = top.map(([v, count], i) => ({
        label: field === "cluster" ? (names.get(v) || `cluster ${v}`) : JSON.parse(v),
        color: PALETTE[i], count,
      }));
      const rest = n - top.reduce((s, [, c]) => s + c, 0);
      if (rest) this.legend.push({ label: "other / none", color: OTHER, count: rest });
      this._legend();
      this.invalidate();
    }

    // Overlays: a query point with its hits ringed; a path of expression terms; picked items and
    // the interpolation marker; a region selection (a Set of ids, null for none).
    setQuery(point, hitIds) {
      this.overlay.query = point || null;
      this.overlay.rings = new Set((hitIds || []).filter((id) => this.index.has(id)));
      this.render();
    }
    // Each ringed hit's `why` (term -> similarity, from an expression), shown when hovered.
    setWhy(why) { this.overlay.why = why || null; }
    setPath(points) { this.overlay.path = points && points.length ? points : null; this.render(); }
    setPicks(ids) { this.overlay.picks = (ids || []).filter((id) => id && this.index.has(id)); this.render(); }
    setMarker(point, nearestId) {
      this.overlay.marker = point || null;
      this.overlay.nearest = nearestId && this.index.has(nearestId) ? nearestId : null;
      this.render();
    }
    clearOverlays() {
      this.overlay = { query: null, rings: new Set(), path: null, picks: [], marker: null, nearest: null };
      this.render();
    }
    select(ids) {
      this.selected = ids ? new Set(ids) : null;
      this.selMask = null;
      if (this.selected) {
        this.selMask = new Uint8Array(this.points.length);
        this.points.forEach((p, i) => { if (this.selected.has(p.id)) this.selMask[i] = 1; });
      }
      this.invalidate();
      if (this.opts.onSelect) this.opts.onSelect(this.selected ? [...this.selected] : null);
    }
    setMode(mode) { this.mode = mode; this.canvas.style.cursor = mode === "select" ? "crosshair" : "grab"; }
    resetView() { this.view = { z: 1, px: 0, py: 0 }; this.invalidate(); }
    invalidate() { this.dirty = true; this.render(); }

    // Screen position (CSS pixels, relative to the canvas) of an item or a data point.
    screenOf(id) { const i = this.index.get(id); return i == null ? null : this.toScreen(this.xs[i], this.ys[i]); }
    toScreen(x, y) {
      const k = this.k0 * this.view.z, b = this.bounds;
      return { x: this.W / 2 + this.view.px + (x - (b.x0 + b.w / 2)) * k,
        y: this.H / 2 + this.view.py - (y - (b.y0 + b.h / 2)) * k };
    }
    toData(sx, sy) {
      const k = this.k0 * this.view.z, b = this.bounds;
      return { x: (sx - this.W / 2 - this.view.px) / k + b.x0 + b.w / 2,
        y: -(sy - this.H / 2 - this.view.py) / k + b.y0 + b.h / 2 };
    }
    stats() {
      return { points: this.drawn || 0, rings: this.overlay.rings.size, selected: this.selected ? this.selected.size : null,
        field: this.field, legend: this.legend.length };
    }

    resize() {
      const r = this.el.getBoundingClientRect();
      this.W = Math.max(50, Math.floor(r.width)); this.H = Math.max(50, Math.floor(r.height));
      this.dpr = window.devicePixelRatio || 1;
      for (const c of [this.canvas, this.base]) { c.width = Math.round(this.W * this.dpr); c.height = Math.round(this.H * this.dpr); }
      this.canvas.style.width = this.W + "px"; this.canvas.style.height = this.H + "px";
      this._fit();
      this.invalidate();
    }

    _fit() { if (this.bounds) this.k0 = Math.min((this.W - 80) / this.bounds.w, (this.H - 80) / this.bounds.h); }

    // The points bitmap: each point stamps a small disc into an ImageData; dimmed points (outside
    // a region selection) first, so the selected ones lie on top.
    _raster() {
      const n = this.points.length, cw = this.base.width, ch = this.base.height;
      if (n <= SMOOTH_MAX) { this._rasterSmooth(); return; }
      const img = new ImageData(cw, ch);
      const buf = new Uint32Array(img.data.buffer);
      const r = (n > 20000 ? 1.2 : n > 2000 ? 2 : n > 200 ? 3.5 : 5) * this.dpr;
      const sdx = [], sdy = [];
      const ri = Math.ceil(r);
      for (let dy = -ri; dy <= ri; dy++) for (let dx = -ri; dx <= ri; dx++) if (dx * dx + dy * dy <= r * r + 0.5) { sdx.push(dx); sdy.push(dy); }
      const m = sdx.length, off = Int32Array.from(sdx, (dx, j) => sdy[j] * cw + dx);
      const k = this.k0 * this.view.z * this.dpr, b = this.bounds;
      const ox = (this.W / 2 + this.view.px) * this.dpr - (b.x0 + b.w / 2) * k;
      const oy = (this.H / 2 + this.view.py) * this.dpr + (b.y0 + b.h / 2) * k;
      const mask = this.selMask, xs = this.xs, ys = this.ys, ci = this.colorIdx;
      let drawn = 0;
      for (let pass = 0; pass < 2; pass++) {
        const pal = pass === 0 && mask ? this.dim : this.full;
        for (let i = 0; i < n; i++) {
          if (mask && mask[i] !== pass) continue;  // unselected (dimmed) points first
          if (!mask && pass === 0) break;
          const sx = Math.round(ox + xs[i] * k), sy = Math.round(oy - ys[i] * k);
          if (sx < -ri || sy < -ri || sx >= cw + ri || sy >= ch + ri) continue;
          const c = pal[ci[i]];
          if (sx >= ri && sy >= ri && sx < cw - ri && sy < ch - ri) {
            const at = sy * cw + sx;
            for (let j = 0; j < m; j++) buf[at + off[j]] = c;
          } else {
            for (let j = 0; j < m; j++) {
              const x = sx + sdx[j], y = sy + sdy[j];
              if (x >= 0 && y >= 0 && x < cw && y < ch) buf[y * cw + x] = c;
            }
          }
          drawn++;
        }
      }
      this.drawn = drawn;
      this.base.getContext("2d").putImageData(img, 0, 0);
      this.canvas.dataset.points = String(drawn);
      this.dirty = false;
    }

    // Few points: antialiased discs with a white edge, drawn by the canvas (a few ms at most).
    _rasterSmooth() {
      const g = this.base.getContext("2d"), n = this.points.length, mask = this.selMask;
      g.setTransform(1, 0, 0, 1, 0, 0); g.clearRect(0, 0, this.base.width, this.base.height);
      g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      const r = n > 2000 ? 2.5 : n > 200 ? 3.5 : 5;
      g.lineWidth = n > 2000 ? 0 : 1; g.strokeStyle = "#fff";
      let drawn = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < n; i++) {
          if (mask ? mask[i] !== pass : pass === 0) continue;
          const s = this.toScreen(this.xs[i], this.ys[i]);
          if (s.x < -r || s.y < -r || s.x > this.W + r || s.y > this.H + r) continue;
          const c = this.rgbs[this.colorIdx[i]], t = mask && pass === 0 ? 0.78 : 0;
          g.fillStyle = `rgb(${c.map((v) => Math.round(v + (255 - v) * t)).join(",")})`;
          g.beginPath(); g.arc(s.x, s.y, r, 0, 2 * Math.PI); g.fill();
          if (g.lineWidth) g.stroke();
          drawn++;
        }
      }
      this.drawn = drawn;
      this.canvas.dataset.points = String(drawn);
      this.dirty = false;
    }

    render() {
      if (!this.bounds || !this.ctx || !this.colorIdx) return;
      const t0 = performance.now();
      if (this.dirty) this._raster();
      const g = this.ctx;
      g.setTransform(1, 0, 0, 1, 0, 0);
      g.fillStyle = "#fff"; g.fillRect(0, 0, this.canvas.width, this.canvas.height);
      g.drawImage(this.base, 0, 0);
      g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      this._labels(g);
      this._overlays(g);
      this.canvas.dataset.rings = String(this.overlay.rings.size);
      this.frameTimes.push(performance.now() - t0);
      if (this.frameTimes.length > 500) this.frameTimes.shift();
    }

    _labels(g) {
      g.font = "600 12px system-ui, sans-serif"; g.textAlign = "center"; g.textBaseline = "middle";
      const placed = [];
      for (const c of [...this.clusters].sort((a, b) => b.size - a.size)) {
        if (c.x == null || !c.label) continue;
        const s = this.toScreen(c.x, c.y), w = g.measureText(c.label).width + 8;
        s.y -= 12;  // above the middle of the cluster, not over its points
        const box = [s.x - w / 2, s.y - 9, s.x + w / 2, s.y + 9];
        if (placed.some((p) => box[0] < p[2] && box[2] > p[0] && box[1] < p[3] && box[3] > p[1])) continue;
        placed.push(box);
        g.lineWidth = 4; g.strokeStyle = "rgba(255,255,255,.9)"; g.strokeText(c.label, s.x, s.y);
        g.fillStyle = "#1d2430"; g.fillText(c.label, s.x, s.y);
      }
    }

    _overlays(g) {
      const o = this.overlay;
      const ring = (id, color, r, w) => {
        const s = this.screenOf(id); if (!s) return;
        g.beginPath(); g.arc(s.x, s.y, r, 0, 2 * Math.PI); g.lineWidth = w; g.strokeStyle = color; g.stroke();
      };
      const cross = (p, color, label) => {
        const s = this.toScreen(p.x, p.y);
        g.lineWidth = 3; g.strokeStyle = "#fff";
        g.beginPath(); g.moveTo(s.x - 8, s.y); g.lineTo(s.x + 8, s.y); g.moveTo(s.x, s.y - 8); g.lineTo(s.x, s.y + 8); g.stroke();
        g.lineWidth = 2; g.strokeStyle = color; g.stroke();
        if (label) {
          g.font = "600 12px system-ui, sans-serif";
          const w = g.measureText(label).width;  // flip to the left near the right edge
          this._text(g, label, s.x + 10 + w > this.W - 4 ? s.x - 10 - w : s.x + 10, s.y - 10, color);
        }
      };
      if (o.path) {
        g.beginPath(); g.lineWidth = 2; g.strokeStyle = "#7c3aed"; g.setLineDash([6, 4]);
        o.path.forEach((p, i) => { const s = this.toScreen(p.x, p.y); if (i) g.lineTo(s.x, s.y); else g.moveTo(s.x, s.y); });
        g.stroke(); g.setLineDash([]);
        o.path.forEach((p, i) => {
          const s = this.toScreen(p.x, p.y);
          g.beginPath(); g.arc(s.x, s.y, 5, 0, 2 * Math.PI); g.fillStyle = i === o.path.length - 1 ? "#7c3aed" : "#fff";
          g.fill(); g.lineWidth = 2; g.strokeStyle = "#7c3aed"; g.stroke();
          if (p.label) this._text(g, p.label, s.x + 8, s.y + 12, "#5b21b6");
        });
      }
      for (const id of o.rings) ring(id, "#dc2626", 8, 2);
      if (o.query) cross(o.query, "#dc2626", o.query.label);
      if (o.picks.length === 2) {
        const [a, b] = o.picks.map((id) => this.screenOf(id));
        g.beginPath(); g.moveTo(a.x, a.y); g.lineTo(b.x, b.y); g.lineWidth = 1.5; g.strokeStyle = "#0f766e"; g.setLineDash([3, 3]); g.stroke(); g.setLineDash([]);
      }
      o.picks.forEach((id, i) => { ring(id, "#0f766e", 9, 3); const s = this.screenOf(id); this._text(g, "AB"[i], s.x + 10, s.y - 10, "#0f766e"); });
      if (o.nearest) ring(o.nearest, "#0f766e", 6, 2);
      if (o.marker) cross(o.marker, "#0f766e", null);
      if (this.hover >= 0) ring(this.points[this.hover].id, "#111827", 6, 2);
      if (this.drag && this.drag.select) {
        const d = this.drag;
        g.fillStyle = "rgba(37,99,235,.12)"; g.strokeStyle = "#2563eb"; g.lineWidth = 1;
        g.fillRect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0); g.strokeRect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0);
      }
    }

    _text(g, text, x, y, color) {
      g.font = "600 12px system-ui, sans-serif"; g.textAlign = "left"; g.textBaseline = "middle";
      g.lineWidth = 4; g.strokeStyle = "rgba(255,255,255,.9)"; g.strokeText(text, x, y);
      g.fillStyle = color; g.fillText(text, x, y);
    }

    _legend() {
      this.legendEl.replaceChildren(...this.legend.map((e) => {
        const row = document.createElement("div");
        const sw = document.createElement("span");
        sw.className = "lmap-swatch"; sw.style.background = e.color;
        row.append(sw, ` ${e.label} `);
        const n = document.createElement("span"); n.className = "lmap-count"; n.textContent = `(${e.count})`;
        row.append(n);
        return row;
      }));
    }

    // A uniform grid over the data bounds (CSR layout), about two points per cell.
    _grid() {
      const n = this.points.length;
      const G = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 2))));
      const cell = new Int32Array(n), counts = new Int32Array(G * G + 1);
      const b = this.bounds;
      for (let i = 0; i < n; i++) {
        const cx = Math.min(G - 1, Math.floor(((this.xs[i] - b.x0) / b.w) * G));
        const cy = Math.min(G - 1, Math.floor(((this.ys[i] - b.y0) / b.h) * G));
        cell[i] = cy * G + cx; counts[cell[i] + 1]++;
      }
      for (let c = 0; c < G * G; c++) counts[c + 1] += counts[c];
      const items = new Int32Array(n), fill = counts.slice(0, G * G);
      for (let i = 0; i < n; i++) items[fill[cell[i]]++] = i;
      this.grid = { G, start: counts, items };
    }

    // The point nearest to a screen position within HOVER_PX, or -1.
    pick(sx, sy) {
      if (!this.points.length) return -1;
      const { G, start, items } = this.grid, b = this.bounds;
      const d = this.toData(sx, sy), rd = HOVER_PX / (this.k0 * this.view.z);
      const cx0 = Math.max(0, Math.floor(((d.x - rd - b.x0) / b.w) * G)), cx1 = Math.min(G - 1, Math.floor(((d.x + rd - b.x0) / b.w) * G));
      const cy0 = Math.max(0, Math.floor(((d.y - rd - b.y0) / b.h) * G)), cy1 = Math.min(G - 1, Math.floor(((d.y + rd - b.y0) / b.h) * G));
      let best = -1, bestD = rd * rd;
      for (let cy = cy0; cy <= cy1; cy++) for (let cx = cx0; cx <= cx1; cx++) {
        const c = cy * G + cx;
        for (let j = start[c]; j < start[c + 1]; j++) {
          const i = items[j], dx = this.xs[i] - d.x, dy = this.ys[i] - d.y, dd = dx * dx + dy * dy;
          if (dd <= bestD) { bestD = dd; best = i; }
        }
      }
      return best;
    }

    // The ids inside a screen rectangle (through the grid).
    within(x0, y0, x1, y1) {
      const a = this.toData(Math.min(x0, x1), Math.max(y0, y1)), z = this.toData(Math.max(x0, x1), Math.min(y0, y1));
      const ids = [];
      this.points.forEach((p, i) => { if (this.xs[i] >= a.x && this.xs[i] <= z.x && this.ys[i] >= a.y && this.ys[i] <= z.y) ids.push(p.id); });
      return ids;
    }

    _events() {
      const c = this.canvas;
      this.setMode("pan");
      const pos = (e) => { const r = c.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; };
      c.addEventListener("pointerdown", (e) => {
        const p = pos(e);
        this.drag = { x0: p.x, y0: p.y, x1: p.x, y1: p.y, px: this.view.px, py: this.view.py,
          select: this.mode === "select" || e.shiftKey, moved: false };
        c.setPointerCapture(e.pointerId);
      });
      c.addEventListener("pointermove", (e) => {
        const p = pos(e), d = this.drag;
        if (d) {
          d.x1 = p.x; d.y1 = p.y;
          if (Math.abs(d.x1 - d.x0) + Math.abs(d.y1 - d.y0) > 3) d.moved = true;
          if (!d.select && d.moved) { this.view.px = d.px + d.x1 - d.x0; this.view.py = d.py + d.y1 - d.y0; this.invalidate(); return; }
          this.render();
          return;
        }
        const i = this.pick(p.x, p.y);
        if (i !== this.hover) { this.hover = i; this.render(); }
        this._tip(i, p);
      });
      c.addEventListener("pointerup", (e) => {
        const d = this.drag; this.drag = null;
        if (!d) return;
        if (d.select && d.moved) { this.select(this.within(d.x0, d.y0, d.x1, d.y1)); return; }
        if (!d.moved) {
          const i = this.pick(d.x0, d.y0);
          if (i >= 0 && this.opts.onOpen) this.opts.onOpen(this.points[i], e);
          else if (i < 0 && this.selected) this.select(null);
        }
        this.render();
      });
      c.addEventListener("pointerleave", () => { this.hover = -1; this.tip.hidden = true; this.render(); });
      c.addEventListener("wheel", (e) => {
        e.preventDefault();
        const p = pos(e), before = this.toData(p.x, p.y);
        this.view.z = Math.min(400, Math.max(0.2, this.view.z * Math.exp(-e.deltaY * 0.0015)));
        const after = this.toScreen(before.x, before.y);
        this.view.px += p.x - after.x; this.view.py += p.y - after.y;
        this.invalidate();
      }, { passive: false });
    }

    _tip(i, p) {
      if (i < 0) { this.tip.hidden = true; return; }
      const pt = this.points[i];
      const h = document.createElement("strong");
      h.textContent = pt.title || pt.id;
      const s = document.createElement("div");
      s.textContent = pt.snippet || "";
      const why = this.overlay.why && this.overlay.why[pt.id];
      const w = document.createElement("div");
      w.className = "lmap-why";
      w.textContent = why ? "why: " + Object.entries(why).map(([t, v]) => `${t} ${v >= 0 ? "+" : ""}${v.toFixed(2)}`).join(", ") : "";
      this.tip.replaceChildren(h, s, w);
      this.tip.hidden = false;
      this.tip.style.left = Math.min(p.x + 14, this.W - 260) + "px";
      this.tip.style.top = (p.y + 14) + "px";
    }
  }
  root.LatentMap = LatentMap;
})(typeof window !== "undefined" ? window : globalThis);
