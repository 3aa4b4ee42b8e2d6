// caseport's console: the JSON API (docs/openapi.yaml) in a page. No build step, no
// framework; text is always set with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let me = null;

function say(text) { $("status").textContent = text || ""; }

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const token = sessionStorage.getItem("token");
  if (token) headers.Authorization = "Bearer " + token;
  const r = await fetch("/api/v1" + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = r.status === 204 ? null : await r.json();
  if (r.status === 401 && path !== "/sessions") {
    sessionStorage.removeItem("token");
    show("login");
  }
  if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
  return data;
}

function show(id) {
  for (const s of ["login", "cases", "case", "triage"]) $(s).hidden = s !== id;
  $("nav").hidden = id === "login";
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function due(clock, at) {
  return clock + (at ? " (due " + new Date(at * 1000).toISOString().slice(0, 16).replace("T", " ") + ")" : "");
}

async function showCases() {
  show("cases");
  const { cases } = await api("GET", "/cases?limit=200");
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
  say(cases.length ? "" : "No cases are yours yet.");
}

// The moves the state machine has (docs/cases.md); the server decides who may.
const MOVES = {
  registered: ["collecting_records", "withdrawn"],
  collecting_records: ["records_complete", "withdrawn"],
  records_complete: ["under_review", "collecting_records", "withdrawn"],
  under_review: ["consultation_scheduled", "opinion_drafted", "collecting_records", "withdrawn"],
  consultation_scheduled: ["opinion_drafted", "withdrawn"],
  opinion_drafted: ["opinion_published", "under_review", "withdrawn"],
  opinion_published: ["closed"],
};

async function showCase(token) {
  show("case");
  const c = await api("GET", "/cases/" + encodeURIComponent(token));
  $("case-h").textContent = "Case " + c.token;
  const facts = $("case-facts");
  facts.replaceChildren();
  for (const [k, v] of [["Patient", c.patient_name], ["Born", c.birth_date || "-"],
    ["Condition", c.condition], ["Subspecialty", c.subspecialty], ["State", c.state],
    ["Records", due(c.clocks.records, c.clocks.records_due)],
    ["Opinion", due(c.clocks.opinion, c.clocks.opinion_due)],
    ["Navigator", c.navigator || "-"], ["Specialist", c.specialist || "-"]]) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    facts.append(dt, dd);
  }
  const sel = $("move-to");
  sel.replaceChildren();
  for (const s of MOVES[c.state] || []) {
    const o = document.createElement("option"); o.value = o.textContent = s; sel.appendChild(o);
  }
  $("move-form").dataset.token = c.token;
  const tl = $("timeline");
  tl.replaceChildren();
  for (const e of c.timeline) {
    const li = document.createElement("li");
    li.textContent = `${e.at}: ${e.from || "(new)"} → ${e.to} by ${e.by} (${e.role})${e.reason ? ": " + e.reason : ""}`;
    tl.appendChild(li);
  }
  const { records } = await api("GET", "/cases/" + encodeURIComponent(token) + "/records");
  const rb = $("records-body");
  rb.replaceChildren();
  for (const r of records) {
    const tr = document.createElement("tr");
    cell(tr, r.study_uid); cell(tr, r.series || "-"); cell(tr, r.matched_by);
    cell(tr, r.confidence.toFixed(2)); cell(tr, r.detail);
    rb.appendChild(tr);
  }
}

async function showTriage() {
  show("triage");
  const { items } = await api("GET", "/triage");
  const list = $("triage-list");
  list.replaceChildren();
  for (const t of items) {
    const li = document.createElement("li");
    const p = document.createElement("p");
    p.textContent = `#${t.item}: study ${t.study_uid}, ${t.instances} instance(s) from ${t.calling_ae} to ${t.called_ae}, ${t.received_at}. ${t.reason}` +
      (t.candidates ? `; candidates ${t.candidates}` : "");
    const form = document.createElement("form");
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
        say(`Item ${t.item}: ${decision === "attach" ? "attached" : "rejected"}.`);
        showTriage();
      } catch (e) { say(e.message); }
    };
    form.addEventListener("submit", (ev) => { ev.preventDefault(); decide("attach"); });
    reject.addEventListener("click", () => { if (why.reportValidity()) decide("reject"); });
    li.append(p, form);
    list.appendChild(li);
  }
  say(items.length ? "" : "The triage queue is empty.");
}

async function route() {
  say("");
  if (!sessionStorage.getItem("token")) { show("login"); return; }
  try {
    if (!me) {
      me = await api("GET", "/me");
      $("who").textContent = `${me.username} (${me.role})`;
      $("nav-triage").hidden = me.role !== "navigator";
    }
    const h = location.hash.slice(1);
    if (h.startsWith("case/")) await showCase(decodeURIComponent(h.slice(5)));
    else if (h === "triage") await showTriage();
    else await showCases();
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
      route();
    } catch (e) { say(e.message); }
  });
  $("signout").addEventListener("click", async () => {
    try { await api("DELETE", "/sessions/current"); } catch (e) { /* gone already */ }
    sessionStorage.removeItem("token");
    me = null;
    show("login");
  });
  $("move-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = ev.target.dataset.token;
    try {
      await api("POST", "/cases/" + encodeURIComponent(token) + "/transitions", { to: $("move-to").value, reason: $("move-reason").value });
      say("Moved.");
      showCase(token);
    } catch (e) { say(e.message); }
  });
  window.addEventListener("hashchange", route);
  route();
});
