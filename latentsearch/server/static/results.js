// The result list: one entry per document with its best passages folded under it, clean
// snippets (the server's `preview`), thumbnails for images, `why` bars for expressions, and
// scores in words. Plain DOM building: never innerHTML with data from the server.
"use strict";
const Results = (() => {
  const MAX_DOCS = 10;
  const MORE_PASSAGES = 4;
  const THUMB = 192;

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function highlighted(snippet, spans) {
    // Text nodes and <mark>s from offsets.
    const frag = document.createDocumentFragment();
    let at = 0;
    for (const s of spans || []) {
      if (s.start < at) continue;
      frag.append(snippet.slice(at, s.start), el("mark", null, snippet.slice(s.start, s.end)));
      at = s.end;
    }
    frag.append(snippet.slice(at));
    return frag;
  }

  function safeHref(uri) {
    // Only absolute web links: file sources come as paths relative to the index (plain text).
    try {
      const u = new URL(uri);
      return ["http:", "https:"].includes(u.protocol) ? u.href : null;
    } catch { return null; }
  }

  function groups(hits, documents) {
    // The server's grouping when it sent one; else group here by the chunk's parent.
    if (Array.isArray(documents)) return documents;
    const byDoc = new Map();
    hits.forEach((h, i) => {
      const id = h.citation?.doc_id || (h.chunk ? h.chunk.parent : h.id);
      if (!byDoc.has(id)) {
        byDoc.set(id, { doc_id: id, title: h.citation?.title, uri: h.citation?.uri, kind: h.kind,
          rank: i + 1, score: h.score, hits: [] });
      }
      byDoc.get(id).hits.push(i);
    });
    return [...byDoc.values()];
  }

  // How a score reads: `label` on the page, `tip` in the tooltip saying which kind it is.
  function scoreLabel(hit, rank, ctx) {
    const s = hit.score;
    if (ctx.mode === "hybrid") {
      const parts = Object.entries(hit.why || {}).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", ");
      return { kind: "rank", label: `#${rank} fused rank`,
        tip: `Hybrid: position after reciprocal-rank fusion of the dense and keyword rankings ` +
          `(fused score ${s.toFixed(4)}${parts ? "; " + parts : ""}).` };
    }
    if (ctx.mode === "keyword") {
      return { kind: "rank", label: `#${rank} keyword rank`,
        tip: `Keyword: full-text relevance (BM25 on SQLite, ts_rank_cd on PostgreSQL), score ` +
          `${s.toFixed(3)}; only the order compares between queries.` };
    }
    if (ctx.metric === "l2") {
      return { kind: "distance", label: `distance ${Math.sqrt(Math.max(0, -s)).toFixed(3)}`,
        tip: "Dense: Euclidean distance between the query and this item's vector (lower is closer)." };
    }
    if (ctx.metric === "ip") {
      return { kind: "similarity", label: `inner product ${s.toFixed(3)}`,
        tip: "Dense: inner product of the query and this item's vector (higher is closer)." };
    }
    return { kind: "similarity", label: `similarity ${s.toFixed(2)}`, value: s,
      tip: `Dense: cosine similarity ${s.toFixed(3)} between the query and this ` +
        `${hit.kind === "image" ? "image" : "passage"}, from -1 to 1 (1 = same direction, ` +
        `0 = unrelated); the bar shows 0 to 1.` };
  }

  function scoreEl(hit, rank, ctx) {
    const sc = scoreLabel(hit, rank, ctx);
    const span = el("span", "score", sc.label);
    span.dataset.kind = sc.kind;
    span.title = sc.tip;
    if (sc.value !== undefined) {
      const meter = el("span", "meter");
      meter.append(el("span", "fill"));
      meter.firstChild.style.width = `${Math.max(0, Math.min(1, sc.value)) * 100}%`;
      span.prepend(meter);
    }
    return span;
  }

  function whyBars(why) {
    // Similarity of the hit to each term of an expression: one small bar per term.
    const box = el("div", "why");
    box.title = "Why: this hit's cosine similarity to each term of the expression";
    for (const [term, v] of Object.entries(why)) {
      const row = el("div", "why-row");
      row.dataset.term = term;
      const bar = el("span", "why-bar");
      const fill = el("span", v < 0 ? "fill neg" : "fill");
      fill.style.width = `${Math.min(1, Math.abs(v)) * 100}%`;
      bar.append(fill);
      row.append(el("span", "why-term", term), bar, el("span", "why-value", v.toFixed(2)));
      box.append(row);
    }
    return box;
  }

  function snippetEl(hit) {
    const p = el("p", "snippet");
    const pv = hit.preview;
    if (pv) {
      // The ellipses are a separate node, outside the text the offsets point into.
      if (pv.more_before) p.append(el("span", "ellipsis", "… "));
      p.append(highlighted(pv.text, pv.highlights));
      if (pv.more_after) p.append(el("span", "ellipsis", " …"));
      p.dataset.format = pv.format;
    } else if (hit.citation && hit.citation.snippet) {
      p.append(highlighted(hit.citation.snippet, hit.citation.highlights));
    }
    return p;
  }

  function passageEl(hit, rank, ctx, withScore) {
    // The best passage's score is the document's, shown once on the document's line.
    const li = el("li", "passage");
    li.dataset.id = hit.id;
    li.append(snippetEl(hit));
    const meta = el("div", "meta");
    const c = hit.citation || {};
    if (withScore) meta.append(scoreEl(hit, rank, ctx), c.snippet ? " · " : "");
    if (c.snippet) meta.append(`characters ${c.start}–${c.end}`);
    if (meta.childNodes.length) li.append(meta);
    if (hit.why && ctx.mode !== "hybrid") li.append(whyBars(hit.why));
    return li;
  }

  async function thumbnail(img, name, id, key) {
    try {
      // The ?id= form: ids may contain "/" (images in subfolders), which a path segment mangles.
      const res = await fetch(
        `/collections/${encodeURIComponent(name)}/image?id=${encodeURIComponent(id)}&size=${THUMB}`,
        { headers: { Authorization: "Bearer " + key } });
      if (res.ok) img.src = URL.createObjectURL(await res.blob());
    } catch { /* a missing thumbnail is not an error */ }
  }

  function documentEl(doc, hits, ctx) {
    const best = hits[doc.hits[0]];
    const li = el("li", "hit");
    li.dataset.id = doc.doc_id;
    if (doc.kind === "image") {
      const img = el("img", "thumb");
      img.alt = doc.title || best.id;
      img.width = img.height = 96;
      thumbnail(img, ctx.name, best.id, ctx.key);
      li.append(img);
    }
    const body = el("div", "doc");
    const title = el("h3");
    const href = doc.uri && safeHref(doc.uri);
    const t = doc.title || doc.doc_id;
    if (href) {
      const a = el("a", null, t);
      a.href = href; a.target = "_blank"; a.rel = "noopener";
      title.append(a);
    } else title.textContent = t;
    const meta = el("div", "meta");
    const n = doc.hits.length;
    meta.append(scoreEl(best, doc.rank, ctx), ` · ${doc.doc_id}`,
      doc.uri && doc.uri !== doc.doc_id ? ` · ${doc.uri}` : "",
      n > 1 ? ` · ${n} passages` : "");
    body.append(title, meta);
    if (best.kind === "text" || best.why) {
      const passages = el("ol", "passages");
      passages.append(passageEl(best, doc.rank, ctx, false));
      body.append(passages);
    }
    const more = doc.hits.slice(1, 1 + MORE_PASSAGES);
    if (more.length) {
      const fold = el("details", "more");
      const of = n - 1 > more.length ? ` (the best ${more.length} of ${n - 1})` : "";
      fold.append(el("summary", null,
        `${more.length} more passage${more.length > 1 ? "s" : ""} from this document${of}`));
      const list = el("ol", "passages");
      for (const i of more) list.append(passageEl(hits[i], i + 1, ctx, true));
      fold.append(list);
      body.append(fold);
    }
    li.append(body);
    return li;
  }

  // ctx: {name, key, mode, metric}. Returns how many documents were shown.
  function render(list, hits, documents, ctx) {
    list.replaceChildren();
    const docs = groups(hits, documents).slice(0, MAX_DOCS);
    for (const d of docs) list.append(documentEl(d, hits, ctx));
    if (!docs.length) list.append(el("li", "muted", "No results."));
    return docs.length;
  }

  return { render, highlighted, safeHref, scoreLabel, groups };
})();
