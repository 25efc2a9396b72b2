// latentsearch search page: plain JS, no build step. The API key lives in sessionStorage only.
"use strict";
const $ = (sel) => document.querySelector(sel);
const KEY = "latentsearch.key";
const state = { filters: {}, collections: {} };
const K = 30; // passages asked for: up to 10 documents are shown, their further passages folded

function key() { return sessionStorage.getItem(KEY) || ""; }

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + key() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.status + " " + res.statusText);
  return data;
}

function status(text, isError) {
  const el = $("#status");
  el.textContent = text;
  el.className = isError ? "error" : "muted";
}

async function useKey(event) {
  if (event) event.preventDefault();
  const typed = $("#api-key").value.trim();
  if (typed) sessionStorage.setItem(KEY, typed);
  $("#api-key").value = "";
  $("#results").replaceChildren();
  $("#collection").replaceChildren();
  $("#facets").replaceChildren();
  $("#whoami").textContent = "";
  state.filters = {};
  if (!key()) { $("#whoami").textContent = "no key"; return; }
  try {
    const me = await api("GET", "/me");
    $("#whoami").textContent = `${me.user} (${me.groups.join(", ") || "no groups"}) · ${me.role}`;
    await loadCollections();
    status("");
  } catch (e) {
    $("#whoami").textContent = "";
    status(e.message, true);
  }
}

function forgetKey() {
  sessionStorage.removeItem(KEY);
  $("#whoami").textContent = "no key";
  $("#collection").replaceChildren();
  $("#results").replaceChildren();
  $("#facets").replaceChildren();
  if (window.mapView) window.mapView.reset("");
}

async function loadCollections() {
  const cols = await api("GET", "/collections");
  state.collections = Object.fromEntries(cols.map((c) => [c.name, c]));
  const sel = $("#collection");
  const previous = sel.value;
  sel.replaceChildren(...cols.map((c) => {
    const o = document.createElement("option");
    o.value = c.name;
    o.textContent = `${c.name} (${c.count})`;
    return o;
  }));
  if (cols.some((c) => c.name === previous)) sel.value = previous;
  await loadFacets();
}

async function loadFacets() {
  const box = $("#facets");
  const name = $("#collection").value;
  box.replaceChildren();
  state.filters = {};
  if (window.mapView) window.mapView.reset(name);  // map-view.js: the Map view follows
  if (!name) return;
  const data = await api("GET", `/collections/${encodeURIComponent(name)}/facets`);
  // Another collection was picked while this answer was on its way: its own call fills the box.
  if (name !== $("#collection").value) return;
  box.replaceChildren();
  for (const [field, values] of Object.entries(data.facets)) {
    const h = document.createElement("h3");
    h.textContent = field;
    box.append(h);
    for (const v of values) {
      const label = document.createElement("label");
      const cb = document.createElement("input");
      cb.type = "checkbox";
      cb.dataset.field = field;
      cb.value = JSON.stringify(v.value);
      cb.addEventListener("change", onFacet);
      label.append(cb, ` ${v.value} `);
      const n = document.createElement("span");
      n.className = "muted";
      n.textContent = `(${v.count})`;
      label.append(n);
      box.append(label);
    }
  }
  if (!box.children.length) box.innerHTML = '<p class="muted">No metadata to filter on.</p>';
}

function onFacet(e) {
  const { field } = e.target.dataset;
  const value = JSON.parse(e.target.value);
  const set = new Set((state.filters[field] || []).map((x) => JSON.stringify(x)));
  if (e.target.checked) set.add(JSON.stringify(value)); else set.delete(JSON.stringify(value));
  state.filters[field] = [...set].map((x) => JSON.parse(x));
  if (!state.filters[field].length) delete state.filters[field];
  if ($("#query").value.trim()) search();
}

function where() {
  const parts = Object.entries(state.filters).map(([f, vals]) => ({ [f]: { $in: vals } }));
  if (!parts.length) return undefined;
  return parts.length === 1 ? parts[0] : { $and: parts };
}

function isExpression(q) {
  // Quoted terms combined with + or -, a weight like 0.5 * "x", or an @item reference.
  return /"[^"]*"\s*[-+*]|[-+*]\s*"[^"]*"|(^|\s)@\S|\d\s*\*\s*"/.test(q);
}

async function search(event) {
  if (event) event.preventDefault();
  const q = $("#query").value.trim();
  const name = $("#collection").value;
  if (!q || !name) return;
  const mode = document.querySelector("input[name=mode]:checked").value;
  const base = `/collections/${encodeURIComponent(name)}`;
  const filter = where();
  status("Searching…");
  try {
    let data;
    if (isExpression(q)) {
      data = await api("POST", `${base}/query`, { expr: q, k: K, where: filter });
    } else {
      data = await api("POST", `${base}/search`, { text: q, k: K, mode, where: filter });
    }
    const docs = render(data.hits, name, data);
    if (window.mapView) window.mapView.showQuery(q, isExpression(q), data.hits);
    status(`${docs} result(s) from ${data.hits.length} passage(s) · ${data.mode}${isExpression(q) ? " expression" : ""} · ${data.took_ms} ms`);
  } catch (e) {
    $("#results").replaceChildren();
    status(e.message, true);
  }
}

function render(hits, name, data) {
  // The list itself is results.js: one entry per document with its passages folded under it.
  const col = (state.collections || {})[name] || {};
  return Results.render($("#results"), hits, data && data.documents,
    { name, key: key(), mode: (data && data.mode) || "dense", metric: col.metric || "cosine" });
}

$("#key-form").addEventListener("submit", useKey);
$("#forget-key").addEventListener("click", forgetKey);
$("#search-form").addEventListener("submit", search);
$("#collection").addEventListener("change", () => loadFacets().catch((e) => status(e.message, true)));
if (key()) useKey(); else $("#whoami").textContent = "no key";
