// caseport's console: the JSON API (docs/openapi.yaml) in a page. No build step, no
// framework; text is always set with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let me = null;
let view = 0;        // bumped by every navigation: a slow answer for a page left is dropped
let current = null;  // the case shown: {c, opinion} (opinion null when none is readable)

function say(text) { $("status").textContent = text || ""; }

// An API failure: the server's message, with its status and error code for the callers
// that treat one specially (404 no_opinion, 403 on a section the role may not read).
class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function call(method, path, body, type) {
  const headers = {};
  if (type) headers["Content-Type"] = type;
  const token = sessionStorage.getItem("token");
  if (token) headers.Authorization = "Bearer " + token;
  const r = await fetch("/api/v1" + path, { method, headers, body });
  if (r.status === 401 && path !== "/sessions") signedOut("Your session has ended; sign in again.");
  return r;
}

async function api(method, path, body) {
  const r = await call(method, path, body === undefined ? undefined : JSON.stringify(body),
    body === undefined ? undefined : "application/json");
  const json = (r.headers.get("Content-Type") || "").startsWith("application/json");
  const data = r.status !== 204 && json ? await r.json() : null;
  if (!r.ok) {
    const e = data && data.error;
    throw new ApiError(r.status, e ? e.code : "", (e && e.message) || r.statusText || "request failed");
  }
  return data;
}

const casePath = (token, rest) => "/cases/" + encodeURIComponent(token) + (rest || "");

// Signed out: nothing of the last person's pages stays in the document.
function signedOut(message) {
  sessionStorage.removeItem("token");
  me = null;
  current = null;
  view++;
  for (const id of ["cases-body", "case-facts", "requests-body", "records-body", "timeline", "triage-list"])
    $(id).replaceChildren();
  for (const id of ["case-h", "opinion-meta", "opinion-read", "who"]) $(id).textContent = "";
  $("opinion-text").value = "";
  delete $("opinion-text").dataset.token;
  $("outbound-form").reset();
  show("login");
  say(message);
}

// One section at a time; focus goes to its heading when the reader navigated there (not
// when a page is only refreshed after an action, which would take focus from the button).
function show(id, focus) {
  for (const s of ["login", "cases", "case", "triage"]) $(s).hidden = s !== id;
  $("nav").hidden = id === "login";
  if (focus) $(id + "-h").focus();
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

const when = (at) => new Date(at * 1000).toISOString().slice(0, 16).replace("T", " ");
function due(clock, at) { return clock + (at ? " (due " + when(at) + ")" : ""); }

async function showCases(focus) {
  const v = view;
  const heading = { specialist: "Your reviews", patient: "Your cases" }[me.role] || "Cases, most urgent first";
  $("cases-h").textContent = heading;
  $("cases-caption").textContent = me.role === "specialist"
    ? "The cases assigned to you for review, most urgent first" : "Your cases with their clocks, most urgent first";
  show("cases", focus);
  const { cases } = await api("GET", "/cases?limit=200");
  if (v !== view) return;
  const body = $("cases-body");
  body.replaceChildren();
  for (const c of cases) {
    const tr = document.createElement("tr");
    const a = document.createElement("a");
    a.href = "#case/" + encodeURIComponent(c.token);
    a.textContent = c.token;
    cell(tr, "").appendChild(a);
    cell(tr, c.patient_name);
    cell(tr, c.state + (c.clocks.waiting_on_patient ? " (waiting on the patient)" : ""));
    cell(tr, due(c.clocks.records, c.clocks.records_due), c.clocks.records);
    cell(tr, due(c.clocks.opinion, c.clocks.opinion_due), c.clocks.opinion);
    cell(tr, c.specialist || "-");
    body.appendChild(tr);
  }
  say(cases.length ? "" : me.role === "specialist" ? "No reviews are assigned to you." : "No cases are yours yet.");
}

// The state machine's moves and who makes them (docs/cases.md), to offer each role only
// its own; the server decides.
const N = "navigator", S = "specialist", P = "patient";
const MOVES = {
  registered: { collecting_records: [N], withdrawn: [P, N] },
  collecting_records: { records_complete: [N], withdrawn: [P, N] },
  records_complete: { under_review: [N, S], collecting_records: [N, S], withdrawn: [P, N] },
  under_review: { consultation_scheduled: [N, S], opinion_drafted: [S], collecting_records: [N, S], withdrawn: [P, N] },
  consultation_scheduled: { opinion_drafted: [S], withdrawn: [P, N] },
  opinion_drafted: { opinion_published: [S], under_review: [S], withdrawn: [P, N] },
  opinion_published: { closed: [N] },
};
// Publishing from where the case is: the next move on the way, until published.
const TO_PUBLISH = {
  records_complete: ["under_review", "review started"],
  under_review: ["opinion_drafted", "opinion drafted"],
  consultation_scheduled: ["opinion_drafted", "opinion drafted"],
  opinion_drafted: ["opinion_published", "opinion published"],
};
const PUBLISHED = ["opinion_published", "closed"];

// A table's rows, or one row saying there are none.
function fill(body, rows, none) {
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    cell(tr, none).colSpan = body.parentElement.tHead.rows[0].cells.length;
    body.appendChild(tr);
  }
  for (const values of rows) {
    const tr = document.createElement("tr");
    for (const x of values) cell(tr, x);
    body.appendChild(tr);
  }
}

// A table the role may not read (403) is left out of the page rather than failing it.
async function optional(section, load) {
  try {
    await load();
    $(section).hidden = false;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) throw e;
    $(section).hidden = true;
  }
}

async function showCase(token, focus) {
  const v = view;
  show("case", focus);
  const c = await api("GET", casePath(token));
  if (v !== view) return;
  $("case-h").textContent = "Case " + c.token;
  const facts = $("case-facts");
  facts.replaceChildren();
  for (const [k, val] of [["Patient", c.patient_name], ["Born", c.birth_date || "-"],
    ["Condition", c.condition], ["Subspecialty", c.subspecialty], ["State", c.state],
    ["Records", due(c.clocks.records, c.clocks.records_due)],
    ["Opinion", due(c.clocks.opinion, c.clocks.opinion_due)],
    ["Navigator", c.navigator || "-"], ["Specialist", c.specialist || "-"]]) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = val;
    facts.append(dt, dd);
  }
  const sel = $("move-to");
  sel.replaceChildren();
  for (const [s, who] of Object.entries(MOVES[c.state] || {})) {
    if (!who.includes(me.role)) continue;
    const o = document.createElement("option"); o.value = o.textContent = s; sel.appendChild(o);
  }
  $("move").hidden = sel.options.length === 0;
  $("move-form").dataset.token = c.token;
  const tl = $("timeline");
  tl.replaceChildren();
  for (const e of c.timeline) {
    const li = document.createElement("li");
    li.textContent = `${e.at}: ${e.from || "(new)"} → ${e.to} by ${e.by} (${e.role})${e.reason ? ": " + e.reason : ""}`;
    tl.appendChild(li);
  }

  const opinion = await loadOpinion(c);
  if (v !== view) return;
  current = { c, opinion };
  renderOpinion();

  await optional("requests", async () => {
    const { requests } = await api("GET", casePath(token, "/requests"));
    if (v !== view) return;
    fill($("requests-body"), requests.map((q) => [q.provider, q.ae_title || "any sender",
      [q.fax, q.email].filter(Boolean).join(", ") || "-",
      q.patient_id ? q.patient_id + (q.issuer ? " (" + q.issuer + ")" : "") : "-",
      q.state, q.records === undefined ? "-" : String(q.records), q.created_at]), "No provider has been asked yet.");
  });
  const { records } = await api("GET", casePath(token, "/records"));
  if (v !== view) return;
  fill($("records-body"), records.map((r) => [r.study_uid, r.series || "-", r.matched_by,
    r.confidence.toFixed(2), r.detail]), "No studies have arrived yet.");
}

// The opinion if the caller may read it now: its specialist and navigator always, its
// patient once published. null: none written yet (or not readable).
async function loadOpinion(c) {
  if (me.role === "patient" && !PUBLISHED.includes(c.state)) return null;
  try {
    return await api("GET", casePath(c.token, "/opinion"));
  } catch (e) {
    if (e instanceof ApiError && (e.code === "no_opinion" || e.status === 403 || e.status === 404)) return null;
    throw e;
  }
}

function renderOpinion() {
  const { c, opinion } = current;
  const published = PUBLISHED.includes(c.state);
  const writer = me.role === "specialist" && !published && c.state !== "withdrawn";
  const reader = (me.role === "navigator" || me.role === "specialist" || (me.role === "patient" && published)) &&
    opinion !== null;
  $("opinion").hidden = !writer && !reader && me.role !== "navigator";
  $("opinion-form").hidden = !writer;
  $("opinion-view").hidden = writer || !reader;
  $("opinion-download").hidden = !(opinion && opinion.pdf);
  const meta = [];
  if (opinion) {
    meta.push(`Written by ${opinion.written_by}, last saved ${opinion.updated_at}`);
    meta.push(opinion.pdf ? `PDF attached (${Math.ceil(opinion.pdf_size / 1024)} KiB)` : "no PDF");
    meta.push(published ? "published" : "not published yet");
  } else {
    meta.push("No opinion has been written yet.");
  }
  $("opinion-meta").textContent = meta.join("; ") + (opinion ? "." : "");
  if (writer) {
    const text = $("opinion-text");
    // keep what the specialist typed but has not saved when the page is only refreshed
    if (text.dataset.token !== c.token || text.value === (text.dataset.saved || ""))
      text.value = opinion ? opinion.text : "";
    text.dataset.token = c.token;
    text.dataset.saved = opinion ? opinion.text : "";
    $("opinion-publish").hidden = !TO_PUBLISH[c.state];
    $("opinion-pdf").value = "";
  }
  $("opinion-read").textContent = opinion ? opinion.text : "";
  $("outbound").hidden = !(me.role === "patient" && published && opinion);
}

// Saves the textarea's text if it changed; false (and said why) when there is none.
async function saveDraft() {
  const { c } = current;
  const text = $("opinion-text");
  if (!text.value.trim()) {
    say("Write the opinion's text first.");
    text.focus();
    return false;
  }
  if (current.opinion && text.value === current.opinion.text) return true;
  await api("PUT", casePath(c.token, "/opinion"), { text: text.value });
  text.dataset.saved = text.value;
  current.opinion = await loadOpinion(c);
  return true;
}

async function onSaveDraft(ev) {
  ev.preventDefault();
  try {
    if (await saveDraft()) {
      say("Draft saved.");
      renderOpinion();
    }
  } catch (e) { say(e.message); }
}

async function onPublish() {
  const token = current.c.token;
  try {
    if (!(await saveDraft())) return;
    if (!window.confirm("Publish the opinion? The patient will see it, and it can no longer be changed.")) {
      say("Not published; the draft is saved.");
      return;
    }
    let state = current.c.state;
    while (TO_PUBLISH[state]) {
      const [to, reason] = TO_PUBLISH[state];
      state = (await api("POST", casePath(token, "/transitions"), { to, reason })).state;
    }
    say("The opinion is published.");
  } catch (e) { say(e.message); }
  await refresh(token);
}

async function onUpload() {
  const token = current.c.token;
  const file = $("opinion-pdf").files[0];
  if (!file) {
    say("Choose a PDF file first.");
    $("opinion-pdf").focus();
    return;
  }
  try {
    if (!(await saveDraft())) return; // the PDF goes with a written opinion
    say("Uploading the PDF...");
    const r = await call("PUT", casePath(token, "/opinion/pdf"), file, "application/pdf");
    if (!r.ok) {
      const data = await r.json().catch(() => null);
      throw new Error((data && data.error && data.error.message) || r.statusText);
    }
    say("PDF uploaded.");
  } catch (e) { say(e.message); }
  await refresh(token);
}

async function onDownload() {
  const token = current.c.token;
  try {
    const r = await call("GET", casePath(token, "/opinion/pdf"));
    if (!r.ok) throw new Error("the PDF could not be fetched (" + r.status + ")");
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = "opinion-" + token + ".pdf";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) { say(e.message); }
}

async function onOutbound(ev) {
  ev.preventDefault();
  const token = current.c.token;
  const recipient = $("outbound-recipient").value.trim();
  const fax = $("outbound-fax").value.trim(), email = $("outbound-email").value.trim();
  if (!fax && !email) {
    say("Give your doctor's fax number or e-mail address.");
    $("outbound-fax").focus();
    return;
  }
  const body = { recipient };
  if (fax) body.fax = fax;
  if (email) body.email = email;
  try {
    const r = await api("POST", casePath(token, "/outbound"), body);
    ev.target.reset();
    say(`The opinion will be sent to ${recipient} (request ${r.request}).`);
  } catch (e) { say(e.message); }
}

// After an action: the case page again, if the reader is still on it.
async function refresh(token) {
  if (location.hash !== "#case/" + encodeURIComponent(token)) return;
  try { await showCase(token, false); } catch (e) { say(e.message); }
}

async function showTriage(focus) {
  const v = view;
  show("triage", focus);
  const { items } = await api("GET", "/triage");
  if (v !== view) return;
  const list = $("triage-list");
  list.replaceChildren();
  for (const t of items) {
    const li = document.createElement("li");
    const p = document.createElement("p");
    p.textContent = `#${t.item}: study ${t.study_uid}, ${t.instances} instance(s) from ${t.calling_ae} to ${t.called_ae}, ${t.received_at}. ${t.reason}` +
      (t.candidates ? `; candidates ${t.candidates}` : "");
    const form = document.createElement("form");
    form.setAttribute("aria-label", "Triage item " + t.item);
    const id = "triage-" + t.item;
    const l1 = document.createElement("label"); l1.htmlFor = id + "-token"; l1.textContent = "Attach to case";
    const tok = document.createElement("input"); tok.id = id + "-token"; tok.placeholder = "e.g. CP-7K3M-9Q";
    const l2 = document.createElement("label"); l2.htmlFor = id + "-reason"; l2.textContent = "Reason";
    const why = document.createElement("input"); why.id = id + "-reason"; why.required = true;
    const attach = document.createElement("button"); attach.type = "submit"; attach.textContent = "Attach";
    const reject = document.createElement("button"); reject.type = "button"; reject.textContent = "Reject";
    form.append(l1, tok, l2, why, attach, reject);
    const decide = async (decision) => {
      try {
        await api("POST", "/triage/" + t.item, { decision, token: tok.value, reason: why.value });
        await showTriage(false);
        say(`Item ${t.item}: ${decision === "attach" ? "attached to " + tok.value : "rejected"}.`);
      } catch (e) { say(e.message); }
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!tok.value.trim()) { say("Name the case to attach it to."); tok.focus(); return; }
      decide("attach");
    });
    reject.addEventListener("click", () => { if (why.reportValidity()) decide("reject"); });
    li.append(p, form);
    list.appendChild(li);
  }
  say(items.length ? "" : "The triage queue is empty.");
}

async function route(focus) {
  view++;
  say("");
  if (!sessionStorage.getItem("token")) { show("login", focus); return; }
  try {
    if (!me) {
      me = await api("GET", "/me");
      $("who").textContent = `${me.username} (${me.role})`;
      $("nav-triage").hidden = me.role !== "navigator";
      $("nav-cases").textContent = me.role === "specialist" ? "Your reviews" : "Cases";
    }
    const h = location.hash.slice(1);
    if (h.startsWith("case/")) await showCase(decodeURIComponent(h.slice(5)), focus);
    else if (h === "triage") await showTriage(focus);
    else await showCases(focus);
  } catch (e) { say(e.message); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const s = await api("POST", "/sessions", { username: $("username").value, password: $("password").value });
      sessionStorage.setItem("token", s.token);
      $("password").value = "";
      me = null;
      route(true);
    } catch (e) { say(e.message); }
  });
  $("signout").addEventListener("click", async () => {
    try { await api("DELETE", "/sessions/current"); } catch (e) { /* gone already */ }
    signedOut("Signed out.");
    $("login-h").focus();
  });
  $("move-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = ev.target.dataset.token;
    try {
      const to = $("move-to").value;
      if (to === "opinion_published" && !window.confirm("Publish the opinion? The patient will see it.")) return;
      await api("POST", casePath(token, "/transitions"), { to, reason: $("move-reason").value });
      $("move-reason").value = "";
      say("Moved to " + to + ".");
    } catch (e) { say(e.message); }
    await refresh(token);
  });
  $("opinion-form").addEventListener("submit", onSaveDraft);
  $("opinion-publish").addEventListener("click", onPublish);
  $("opinion-upload").addEventListener("click", onUpload);
  $("opinion-download").addEventListener("click", onDownload);
  $("outbound-form").addEventListener("submit", onOutbound);
  window.addEventListener("hashchange", () => route(true));
  route(false);
});
