// Folio desk: an upload page and the editors' dashboard, on the gateway's API (docs/API.md). No build step,
// no library: the gateway serves this file as it is. The token stays in this tab's sessionStorage.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { catalogue: "", token: "", timer: null, thumbs: new Map(), latestBuild: null, busy: false };

function say(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", Boolean(isError));
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (state.token) h["Authorization"] = "Bearer " + state.token;
  return h;
}

function api(path) {
  return "/v1/catalogues/" + encodeURIComponent(state.catalogue) + path;
}

async function problemText(response) {
  try {
    const p = await response.json();
    return (p.title ? p.title + ": " : "") + (p.detail || response.statusText);
  } catch (_) {
    return response.status + " " + response.statusText;
  }
}

async function getJson(path) {
  const r = await fetch(api(path), { headers: headers() });
  if (!r.ok) throw new Error(await problemText(r));
  return r.json();
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
  }
  return e;
}

// Thumbnails need the token, which an <img> cannot send: fetched once each, shown from a blob URL.
async function thumbnail(doc) {
  if (!doc.thumbnail_url) return null;
  let url = state.thumbs.get(doc.id);
  if (!url) {
    const r = await fetch(doc.thumbnail_url, { headers: headers() });
    if (!r.ok) return null;
    url = URL.createObjectURL(await r.blob());
    state.thumbs.set(doc.id, url);
  }
  return el("img", { src: url, alt: "First page of " + doc.file_name, "data-document": doc.id });
}

async function decide(method, path, reason) {
  const init = { method, headers: headers({ "Content-Type": "application/json" }) };
  if (reason !== undefined) init.body = JSON.stringify({ reason });
  const r = await fetch(api(path), init);
  if (!r.ok) throw new Error(await problemText(r));
}

function findingView(card, f) {
  const item = el("p", { class: "finding " + f.severity }, el("span", { class: "badge" }, f.severity), " ", f.message);
  if (f.severity === "blocking" && f.code !== "excluded") {
    const input = el("input", { "aria-label": "Why waive: " + f.message, placeholder: "Why waive it?", required: true });
    const form = el("form", {
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await decide("PUT", "/contributions/" + card.id + "/waivers/" + f.code, input.value);
          say("Waived: " + f.code + " on “" + card.title + "”.");
          refresh();
        } catch (e) { say(e.message, true); }
      },
    }, input, el("button", { type: "submit", class: "secondary" }, "Waive"));
    item.append(form);
  }
  return item;
}

async function cardView(card) {
  const thumbs = el("div", { class: "thumbs" });
  for (const d of card.documents) {
    const img = await thumbnail(d);
    if (img) thumbs.append(img);
  }
  const docs = el("ul", {}, card.documents.map((d) => el("li", {},
    d.file_name, " ",
    el("span", { class: "badge " + d.state }, d.state),
    d.record ? " " + [d.record.format, d.record.pages + (d.record.pages === 1 ? " page" : " pages"), d.record.language].filter(Boolean).join(" · ") : "",
    d.last_error && d.state === "failed" ? el("div", { class: "muted" }, d.last_error) : null)));
  const exclusion = card.excluded
    ? el("button", { type: "button", class: "secondary", onclick: async () => {
        try { await decide("DELETE", "/contributions/" + card.id + "/exclusion"); say("Taken back into the book: “" + card.title + "”."); refresh(); }
        catch (e) { say(e.message, true); }
      } }, "Include again")
    : el("button", { type: "button", class: "secondary", onclick: async () => {
        const reason = window.prompt("Why leave “" + card.title + "” out of the book?");
        if (!reason) return;
        try { await decide("PUT", "/contributions/" + card.id + "/exclusion", reason); say("Left out: “" + card.title + "”."); refresh(); }
        catch (e) { say(e.message, true); }
      } }, "Exclude");
  return el("article", { class: "card" + (card.in_book ? "" : " out"), "data-contribution": card.id, "aria-label": card.title },
    el("h4", {}, card.title),
    el("div", { class: "muted" }, card.author + " · " + card.state + " · " + card.kind),
    el("div", {}, el("span", { class: "badge " + (card.in_book ? "done" : "failed") }, card.in_book ? "in the book" : "left out")),
    thumbs, docs,
    card.findings.map((f) => findingView(card, f)),
    el("div", {}, exclusion));
}

async function refresh() {
  if (!state.catalogue || state.busy) return;
  // Someone typing a reason on the dashboard: the next tick will do.
  const active = document.activeElement;
  if (active && active.tagName === "INPUT" && $("chapters").contains(active)) return;
  state.busy = true;
  try {
    const [catalogue, list, builds] = await Promise.all([getJson(""), getJson("/contributions"), getJson("/builds")]);
    $("dashboard-title").textContent = catalogue.title;
    const chapters = $("chapters");
    const views = [];
    for (const ch of catalogue.chapters) {
      const cards = list.contributions.filter((c) => c.chapter === ch.key);
      const done = ch.documents ? ch.finished + " of " + ch.documents + " documents processed" : "no documents yet";
      views.push(el("section", { class: "chapter", "aria-label": ch.title, "data-chapter": ch.key },
        el("h3", {}, ch.position + ". " + ch.title),
        el("div", { class: "muted" }, cards.length + (cards.length === 1 ? " contribution, " : " contributions, ") + done + (ch.failed ? ", " + ch.failed + " failed" : "")),
        el("progress", { max: Math.max(ch.documents, 1), value: ch.finished, "aria-label": "Progress of " + ch.title }),
        el("div", { class: "cards" }, await Promise.all(cards.map(cardView)))));
    }
    chapters.replaceChildren(...views);
    const done = builds.builds.filter((b) => b.state === "done");
    state.latestBuild = done.length ? done[0] : null;
    $("download").disabled = !state.latestBuild;
    const since = builds.stale ? "; something has changed since: assemble again for a new build" : "; nothing has changed since";
    $("builds").textContent = state.latestBuild
      ? "Latest build: " + state.latestBuild.number + " (" + builds.builds.length + " in all)" + since
      : "No build yet.";
    const select = $("f-chapter");
    if (select.options.length !== catalogue.chapters.length) {
      select.replaceChildren(...catalogue.chapters.map((c) => el("option", { value: c.key }, c.title)));
    }
  } catch (e) {
    say(e.message, true);
  } finally {
    state.busy = false;
  }
}

function open(catalogue, token) {
  state.catalogue = catalogue;
  state.token = token;
  sessionStorage.setItem("folio.catalogue", catalogue);
  sessionStorage.setItem("folio.token", token);
  const url = new URL(window.location.href);
  url.searchParams.set("catalogue", catalogue);
  history.replaceState(null, "", url);
  say("Following " + catalogue + "; updates every 2 seconds.");
  clearInterval(state.timer);
  state.timer = setInterval(refresh, 2000);
  refresh();
}

function show(view) {
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-pressed", String(tab.dataset.view === view));
  $("dashboard").hidden = view !== "dashboard";
  $("upload").hidden = view !== "upload";
}

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const chosen = [];
function listFiles() {
  $("f-files-list").replaceChildren(...chosen.map((f, i) => el("li", {}, f.name + " (" + Math.ceil(f.size / 1024) + " KiB) ",
    el("button", { type: "button", class: "secondary", "aria-label": "Remove " + f.name, onclick: () => { chosen.splice(i, 1); listFiles(); } }, "Remove"))));
}
function addFiles(files) {
  for (const f of files) if (!chosen.some((c) => c.name === f.name && c.size === f.size)) chosen.push(f);
  listFiles();
}

function upload(event) {
  event.preventDefault();
  const form = $("upload-form");
  const result = $("upload-result");
  if (!form.reportValidity()) return;
  if (!chosen.length) { result.replaceChildren(el("p", { class: "error" }, "Choose at least one file.")); return; }
  const data = new FormData(form);
  const metadata = {};
  for (const k of ["chapter", "state", "author", "title", "kind", "role", "modality", "received"]) metadata[k] = String(data.get(k) || "").trim();
  const rights = String(data.get("rights") || "").trim();
  metadata.rights = rights || null;
  const body = new FormData();
  body.append("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }));
  for (const f of chosen) body.append("file", f, f.name);
  const xhr = new XMLHttpRequest();
  const progress = $("progress");
  progress.hidden = false;
  progress.value = 0;
  $("send").disabled = true;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100); };
  xhr.onload = () => {
    $("send").disabled = false;
    let answer = {};
    try { answer = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status === 200 || xhr.status === 201) {
      progress.value = 100;
      result.replaceChildren(el("p", { class: "ok" }, (xhr.status === 201 ? "Received: " : "Already here: ") + metadata.title + " (" + answer.documents.length + " files). It appears on the dashboard as it is processed."));
      chosen.length = 0;
      listFiles();
      refresh();
    } else {
      const problems = answer.problems || [answer.detail || xhr.statusText];
      result.replaceChildren(el("p", { class: "error" }, answer.title || "Refused"), el("ul", {}, problems.map((p) => el("li", {}, p))));
    }
  };
  xhr.onerror = () => { $("send").disabled = false; result.replaceChildren(el("p", { class: "error" }, "The upload did not reach the gateway; try again.")); };
  xhr.open("POST", api("/contributions"));
  if (state.token) xhr.setRequestHeader("Authorization", "Bearer " + state.token);
  xhr.setRequestHeader("Idempotency-Key", newKey());
  xhr.send(body);
}

async function assemble() {
  $("assemble").disabled = true;
  say("Assembling…");
  try {
    const r = await fetch(api("/builds"), { method: "POST", headers: headers() });
    if (!r.ok) throw new Error(await problemText(r));
    const build = await r.json();
    say(r.status === 201 ? "Build " + build.number + " assembled." : "Nothing changed since build " + build.number + ".");
    refresh();
  } catch (e) {
    say(e.message, true);
  } finally {
    $("assemble").disabled = false;
  }
}

async function download() {
  if (!state.latestBuild) return;
  try {
    const r = await fetch(state.latestBuild.bundle_url, { headers: headers() });
    if (!r.ok) throw new Error(await problemText(r));
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: state.catalogue + "-build-" + state.latestBuild.number + ".zip" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say("Downloading build " + state.latestBuild.number + ".");
  } catch (e) {
    say(e.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const params = new URLSearchParams(window.location.search);
  const catalogue = params.get("catalogue") || sessionStorage.getItem("folio.catalogue") || "";
  const token = sessionStorage.getItem("folio.token") || "";
  $("catalogue").value = catalogue;
  $("token").value = token;
  $("f-received").value = new Date().toISOString().slice(0, 10);
  $("session").addEventListener("submit", (e) => { e.preventDefault(); open($("catalogue").value.trim(), $("token").value.trim()); });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => show(tab.dataset.view));
  $("upload-form").addEventListener("submit", upload);
  $("assemble").addEventListener("click", assemble);
  $("download").addEventListener("click", download);
  const drop = $("drop");
  const input = $("f-files");
  drop.addEventListener("click", () => input.click());
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles(e.dataTransfer.files); });
  input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
  if (catalogue) open(catalogue, token);
});
