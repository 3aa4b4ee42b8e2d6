// caseport's console: the JSON API (docs/openapi.yaml) in a page. No build step, no
// framework; text is always set with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let me = null;
let view = 0;        // bumped by every navigation: a slow answer for a page left is dropped
let current = null;  // the case shown: {c, opinion} (opinion null when none is readable)
let conditions = null; // GET /conditions, once per sign-in
let notice = "";     // said once the next page is shown (route() clears the status)

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
  if (r.status === 401 && path !== "/sessions") signedOut(SESSION_ENDED);
  return r;
}

// What went wrong, said as a sentence: the server's own message, else what happened and
// what to do (never "Failed to fetch" or "Internal Server Error").
const SESSION_ENDED = "Your session has ended. Sign in again to go on where you were; nothing you typed is lost.";
const UNREACHABLE = "The server could not be reached. Check the network connection and try again; " +
  "nothing you typed is lost.";
function failure(r, e) {
  if (r.status === 401 && !sessionStorage.getItem("token")) return SESSION_ENDED; // said where it is asked
  if (e && e.message) return e.message;
  if (r.status >= 500) return `The server could not do this just now (error ${r.status}). Try again in a ` +
    "moment; if it goes on, tell the administrator.";
  return `The server refused this (error ${r.status}).`;
}

async function api(method, path, body) {
  let r;
  try {
    r = await call(method, path, body === undefined ? undefined : JSON.stringify(body),
      body === undefined ? undefined : "application/json");
  } catch (e) {
    throw new ApiError(0, "unreachable", UNREACHABLE);
  }
  const json = (r.headers.get("Content-Type") || "").startsWith("application/json");
  const data = r.status !== 204 && json ? await r.json().catch(() => null) : null;
  if (!r.ok) {
    const e = data && data.error;
    throw new ApiError(r.status, e ? e.code : "", failure(r, e));
  }
  return data;
}

const casePath = (token, rest) => "/cases/" + encodeURIComponent(token) + (rest || "");

// Signed out: nothing of the last person's pages stays in the document.
function signedOut(message) {
  sessionStorage.removeItem("token");
  me = null;
  current = null;
  conditions = null;
  notice = "";
  qform = newForm = null;
  view++;
  clearCase();
  $("trail-table").hidden = true;
  for (const id of ["cases-body", "triage-list", "accounts-body", "grants-body", "trail-body", "reset-user", "assign-who", "new-code", "new-sub",
    "new-answers-fields"]) $(id).replaceChildren();
  $("who").textContent = "";
  for (const id of ["new-case-form", "account-form", "reset-form", "glass-form", "trail-form"]) $(id).reset();
  $("reset-link-out").hidden = true;
  $("reset-link-url").value = "";
  nameReset("new");
  $("new-answers").hidden = true;
  $("account-subs-field").hidden = true;
  show("login");
  say(message);
}

// The case page emptied: nothing of one case shows while another loads, or once signed out.
function clearCase() {
  current = null;
  for (const id of ["case-facts", "requests-body", "records-body", "timeline", "questionnaire-fields",
    "questionnaire-view", "records-summary", "records-waiting", "records-next"]) $(id).replaceChildren();
  $("request-form").reset();
  delete $("request-form").dataset.token;
  nameReset("req");
  for (const id of ["case-h", "opinion-meta", "opinion-read", "questionnaire-note"]) $(id).textContent = "";
  $("opinion-text").value = "";
  delete $("opinion-text").dataset.token;
  delete $("questionnaire-form").dataset.token;
  $("outbound-form").reset();
  for (const id of ["questionnaire", "opinion", "outbound", "case-glass"]) $(id).hidden = true;
}

// One section at a time; focus goes to its heading when the reader navigated there (not
// when a page is only refreshed after an action, which would take focus from the button).
function show(id, focus) {
  for (const s of ["login", "choose", "cases", "case", "triage", "accounts"]) $(s).hidden = s !== id;
  $("nav").hidden = id === "login" || id === "choose";
  titled();
  if (focus) $(id + "-h").focus();
}
// The window's title names the page (its heading), so that tabs and history say where.
function titled() {
  const page = ["login", "choose", "cases", "case", "triage", "accounts"].find((s) => !$(s).hidden);
  const h = page && $(page + "-h").textContent.trim();
  document.title = h ? `${h} - caseport` : "caseport";
}

// Each cell named by its column's heading (data-label), which a narrow screen shows
// beside it when a table's rows are stacked (style.css).
function labelCells(body) {
  const heads = [...body.parentElement.tHead.rows[0].cells].map((th) => th.textContent);
  for (const tr of body.rows)
    if (tr.cells.length === heads.length) [...tr.cells].forEach((td, i) => { td.dataset.label = heads[i]; });
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

// ---- data for people ----
// The API keeps DICOM's forms: names as Family^Given^Middle^Prefix^Suffix (with "=" before
// an ideographic and a phonetic group), dates as YYYYMMDD, times in UTC. What a person
// reads says Jane Doe, 12 Mar 1970, and 7 Dec 2026, 21:30 CET (the browser's time zone,
// named); what a person types goes into one field a name part.
const NAME_PARTS = ["family", "given", "middle", "prefix", "suffix"];
// A DICOM person name as its parts; the groups after the first (ideographic, phonetic)
// and components past the fifth are kept as they came, so that pnCompose gives it back.
function pnParse(pn) {
  const groups = String(pn || "").split("=");
  const comps = groups[0].split("^");
  const p = { rest: groups.slice(1).join("="), extra: comps.slice(5).join("^") };
  NAME_PARTS.forEach((k, i) => { p[k] = (comps[i] || "").trim(); });
  return p;
}
// The parts as DICOM writes them; empty trailing components and groups left out.
function pnCompose(p) {
  const comps = [...NAME_PARTS.map((k) => (p[k] || "").trim()), ...(p.extra ? [p.extra] : [])];
  while (comps.length && !comps[comps.length - 1]) comps.pop();
  const groups = [comps.join("^"), ...(p.rest ? p.rest.split("=") : [])];
  while (groups.length > 1 && !groups[groups.length - 1].replace(/\^/g, "").trim()) groups.pop();
  return groups.join("=");
}
// Jane Doe (Dr Jane Q Doe Jr); the ideographic group, family first, beside it or alone.
function pnDisplay(pn) {
  const p = pnParse(pn);
  const words = [p.prefix, p.given, p.middle, p.family, p.suffix].filter(Boolean).join(" ");
  const ideo = p.rest ? p.rest.split("=")[0].split("^").map((x) => x.trim()).filter(Boolean).join(" ") : "";
  if (words && ideo) return `${words} (${ideo})`;
  return words || ideo || "(no name)";
}
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
// A DICOM date (YYYYMMDD; also YYYY.MM.DD, YYYYMM, YYYY) as 12 Mar 1970; "" for none; one
// that is no date is shown as it came, said so.
function daDisplay(da) {
  const v = String(da || "").trim();
  if (!v) return "";
  const m = /^(\d{4})\.?(\d{2})?\.?(\d{2})?$/.exec(v);
  const mon = m && m[2] ? Number(m[2]) : 0, day = m && m[3] ? Number(m[3]) : 0;
  if (!m || (m[2] && (mon < 1 || mon > 12)) || (m[3] && (day < 1 || day > 31))) return `${v} (as sent)`;
  return [day || "", mon ? MONTHS[mon - 1] : "", m[1]].filter(Boolean).join(" ");
}
// A time (ISO 8601 text, or unix seconds) in the browser's time zone, with the zone named.
function fmtTime(at) {
  if (at === undefined || at === null || at === "" || at === 0) return "";
  const d = typeof at === "number" ? new Date(at * 1000) : new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  const zone = (new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(d)
    .find((x) => x.type === "timeZoneName") || {}).value || "";
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}, ${two(d.getHours())}:${two(d.getMinutes())} ${zone}`.trim();
}
// A time's date alone, in the browser's time zone.
const fmtDay = (at) => fmtTime(at).replace(/,.*$/, "");
const plural = (n, one, many) => `${n} ${n === 1 ? one : many || one + "s"}`;
const SEX = { F: "female", M: "male", O: "other" };
// A patient in a line: Jane Doe, born 12 Mar 1970
function personLine(name, birth) {
  const b = daDisplay(birth);
  return pnDisplay(name) + (b ? `, born ${b}` : "");
}
// An identifier with its assigning authority: MRN-7 (issued by CITY)
const idLine = (id, issuer) => (id ? id + (issuer ? ` (${issuer})` : "") : "no patient ID");

// The clocks in words (the API's names: not-started, on-track, at-risk, overdue, met,
// missed, stopped).
const CLOCK = { "not-started": "Not started", "on-track": "On track", "at-risk": "At risk", overdue: "Overdue",
  met: "Met", missed: "Missed", stopped: "Stopped" };
// A running clock with its due time; one that is not running (not started, met, missed,
// stopped) without it.
function due(clock, at) {
  const running = ["on-track", "at-risk", "overdue"].includes(clock);
  return (CLOCK[clock] || clock) + (running && at ? " (due " + fmtTime(at) + ")" : "");
}

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
    a.className = "token";
    cell(tr, "").appendChild(a);
    const who = el("span", pnDisplay(c.patient_name)); // one child: a stacked cell is a grid
    if (daDisplay(c.birth_date)) {
      const born = el("span", `born ${daDisplay(c.birth_date)}`);
      born.className = "nowrap";
      who.append(", ", born);
    }
    cell(tr, "").append(who);
    cell(tr, stateWords(c.state) + (c.clocks.waiting_on_patient ? " (waiting on the patient)" : ""));
    cell(tr, due(c.clocks.records, c.clocks.records_due) +
      (c.records_received ? `; ${plural(c.records_received, "study", "studies")} received` : ""), c.clocks.records);
    cell(tr, due(c.clocks.opinion, c.clocks.opinion_due), c.clocks.opinion);
    cell(tr, c.specialist || "-");
    body.appendChild(tr);
  }
  labelCells(body);
  if (!cases.length) say(me.role === "specialist" ? "No reviews are assigned to you." : "No cases are yours yet.");
  await prepareNewCase();
}

// ---- the navigator's "Open a case" form, on the case list ----
async function loadConditions() {
  if (!conditions) conditions = (await api("GET", "/conditions")).conditions;
  return conditions;
}

// The condition codes and subspecialties offered (once per sign-in).
async function prepareNewCase() {
  $("new-case").hidden = me.role !== "navigator";
  if (me.role !== "navigator" || $("new-code").options.length) return;
  const list = await loadConditions();
  const { subspecialties } = await api("GET", "/subspecialties");
  $("new-code").replaceChildren(option("", "None"), ...list.map((d) => option(d.code, `${d.name} (${d.code})`)));
  $("new-sub").replaceChildren(option("", "None chosen"),
    ...subspecialties.map((x) => option(x.code, `${x.name} (${x.code})`)));
}

// A condition code chosen: its subspecialty, and its questionnaire (keeping the answers
// to the questions the new one shares with the one before).
function onConditionCode() {
  const d = (conditions || []).find((x) => x.code === $("new-code").value);
  if (d) $("new-sub").value = d.subspecialty;
  let kept = {};
  try { kept = newForm ? newForm.collect() : {}; } catch (e) { /* a number that is none: dropped */ }
  const schema = d && isObject(d.questionnaire) ? d.questionnaire : null;
  $("new-answers").hidden = !schema;
  newForm = schema ? questionnaireForm($("new-answers-fields"), schema, kept, "nq") : null;
  if (!schema) $("new-answers-fields").replaceChildren();
}

// ---- a name typed in parts ----
// The name fields with id prefix (prefix-family, -given, -middle, -prefix, -suffix) filled
// from a DICOM name; what they cannot show (an ideographic or phonetic group) is kept on
// the family field and given back by nameFrom, so that a name survives the round trip.
function nameInto(prefix, pn) {
  const p = pnParse(pn);
  for (const k of NAME_PARTS) $(`${prefix}-${k}`).value = p[k];
  $(`${prefix}-family`).dataset.rest = p.rest;
  $(`${prefix}-family`).dataset.extra = p.extra;
  $(`${prefix}-more`).open = Boolean(p.middle || p.prefix || p.suffix);
}
// The DICOM name the fields hold, or null (said why, focus there) when a part holds one of
// DICOM's separators or the name has neither a family nor a given name.
function nameFrom(prefix) {
  const p = { rest: $(`${prefix}-family`).dataset.rest || "", extra: $(`${prefix}-family`).dataset.extra || "" };
  for (const k of NAME_PARTS) {
    const f = $(`${prefix}-${k}`);
    p[k] = f.value.trim().replace(/\s+/g, " ");
    if (/[\^=\\]/.test(p[k])) {
      if (k !== "family" && k !== "given") $(`${prefix}-more`).open = true;
      say(`A name part cannot hold ^, = or \\; write each part in its own field.`);
      f.focus();
      return null;
    }
  }
  if (!p.family && !p.given) {
    say("Give the patient's family name or given name.");
    $(`${prefix}-family`).focus();
    return null;
  }
  return pnCompose(p);
}
function nameReset(prefix) {
  delete $(`${prefix}-family`).dataset.rest;
  delete $(`${prefix}-family`).dataset.extra;
  $(`${prefix}-more`).open = false;
}

async function onOpenCase(ev) {
  ev.preventDefault();
  const patientName = nameFrom("new");
  if (patientName === null) return;
  for (const [id, what] of [["new-condition", "the condition"], ["new-first", "the first opinion's summary"]]) {
    if (!$(id).value.trim()) { say(`Give ${what}.`); $(id).focus(); return; }
  }
  if ($("new-birth").validity.badInput) { say("The birth date is not a date."); $("new-birth").focus(); return; }
  const code = $("new-code").value, sub = $("new-sub").value;
  if (!code && !sub) { say("Choose a condition code or a subspecialty."); $("new-code").focus(); return; }
  const body = { patient_name: patientName, condition: $("new-condition").value.trim(),
    first_opinion: $("new-first").value.trim() };
  if ($("new-birth").value) body.birth_date = $("new-birth").value.replace(/-/g, ""); // YYYYMMDD
  if ($("new-sex").value) body.sex = $("new-sex").value;
  if (code) body.condition_code = code;
  if (sub) body.subspecialty = sub;
  if ($("new-account").value.trim()) body.patient_username = $("new-account").value.trim();
  if (newForm) clearInvalid(newForm);
  try {
    const answers = newForm ? newForm.collect() : {};
    if (Object.keys(answers).length) body.questionnaire = answers;
    const r = await api("POST", "/cases", body);
    ev.target.reset();
    nameReset("new");
    onConditionCode();
    notice = `Case ${r.token} opened.`;
    location.hash = "#case/" + encodeURIComponent(r.token);
  } catch (e) {
    if (newForm && (e instanceof FormProblem || (e instanceof ApiError && e.code === "invalid_answers"))) answersRefused(newForm, e);
    else say(e.message);
  }
}

// The state machine's moves and who makes them (docs/cases.md), to offer each role only
// its own; the server decides. A patient does not move a state machine: they may cancel
// their request while it is open (the "Cancel my request" section), which is withdrawn.
const N = "navigator", S = "specialist";
const MOVES = {
  registered: { collecting_records: [N], withdrawn: [N] },
  collecting_records: { records_complete: [N], withdrawn: [N] },
  records_complete: { under_review: [N, S], collecting_records: [N, S], withdrawn: [N] },
  under_review: { consultation_scheduled: [N, S], opinion_drafted: [S], collecting_records: [N, S], withdrawn: [N] },
  consultation_scheduled: { opinion_drafted: [S], withdrawn: [N] },
  opinion_drafted: { opinion_published: [S], under_review: [S], withdrawn: [N] },
  opinion_published: { closed: [N] },
};
// Where a case stands, in words (the state machine's names stay inside).
const STATE_WORDS = {
  registered: "registered", collecting_records: "collecting records", records_complete: "records complete",
  under_review: "under review", consultation_scheduled: "consultation scheduled", opinion_drafted: "opinion drafted",
  opinion_published: "opinion published", closed: "closed", withdrawn: "withdrawn",
};
const stateWords = (st) => STATE_WORDS[st] || st;
// Each move as the next step it is, in words.
const STEPS = {
  collecting_records: "Start collecting records",
  records_complete: "The records are complete",
  under_review: "Start the review",
  consultation_scheduled: "A consultation is scheduled",
  opinion_drafted: "The opinion is drafted",
  opinion_published: "Publish the opinion",
  closed: "Close the case",
  withdrawn: "Withdraw the case",
};
// Back steps read differently from the same state forwards.
const BACK = { collecting_records: "Ask for more records", under_review: "Back to the review" };
// Moves that cannot be undone: asked about first, in words.
const FINAL = {
  withdrawn: "Withdraw the case? Its clocks stop and it cannot be reopened.",
  closed: "Close the case? It cannot be reopened.",
  opinion_published: "Publish the opinion? The patient will see it.",
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
    for (const x of values) {
      if (x instanceof Node) cell(tr, "").append(x);
      else cell(tr, x);
    }
    body.appendChild(tr);
  }
  labelCells(body);
}

// A part of the case the role may not read (403): null, and the page goes without it.
async function readable(load) {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return null;
    throw e;
  }
}

// Everything the page shows is loaded first and then drawn at once, so the page never
// shows one part of the case newer than another (the state beside an old opinion).
async function showCase(token, focus) {
  const v = view;
  show("case", false);
  if (current && current.c.token !== token.toUpperCase()) clearCase();
  const c = await api("GET", casePath(token));
  if (v !== view) return;
  const [opinion, requests, { records }, q] = await Promise.all([loadOpinion(c),
    readable(() => api("GET", casePath(c.token, "/requests"))),
    api("GET", casePath(c.token, "/records")),
    readable(() => api("GET", casePath(c.token, "/questionnaire")))]);
  if (v !== view) return;

  $("case-h").textContent = "Case " + c.token;
  titled();
  $("case-glass").hidden = me.role !== "administrator";
  const facts = $("case-facts");
  facts.replaceChildren();
  for (const [k, val] of [["Patient", pnDisplay(c.patient_name)], ["Born", daDisplay(c.birth_date) || "-"],
    ["Sex", SEX[c.sex] || "-"], ["Condition", c.condition], ["Subspecialty", c.subspecialty], ["State", stateWords(c.state)],
    ["Records", due(c.clocks.records, c.clocks.records_due) +
      (c.records_received ? `; ${plural(c.records_received, "study", "studies")} received` : "")],
    ["Opinion", due(c.clocks.opinion, c.clocks.opinion_due)],
    ["Navigator", c.navigator || "-"], ["Specialist", c.specialist || "-"]]) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = val;
    facts.append(dt, dd);
  }
  const order = ["registered", "collecting_records", "records_complete", "under_review", "consultation_scheduled",
    "opinion_drafted", "opinion_published", "closed", "withdrawn"];
  // the records' own steps are offered in the Records section above (renderRecordsStatus)
  const recordsOwn = me.role === "navigator" && c.navigator === me.username &&
    ["registered", "collecting_records"].includes(c.state);
  const buttons = Object.entries(MOVES[c.state] || {}).filter(([to, who]) => who.includes(me.role) &&
    !(recordsOwn && ["collecting_records", "records_complete"].includes(to))).map(([to]) => {
    const back = order.indexOf(to) < order.indexOf(c.state) && BACK[to];
    const b = el("button", back || STEPS[to] || to);
    b.type = "button"; // Enter in the note moves nothing: only a chosen step does
    b.addEventListener("click", () => moveCase(c.token, to, b.textContent));
    return b;
  });
  $("move-actions").replaceChildren(...buttons);
  $("move").hidden = buttons.length === 0;
  $("first-text").textContent = c.first_opinion || "";
  $("first-h").textContent = me.role === "patient" ? "The first opinion you asked us to look at again"
    : "The first opinion, to be reviewed";
  $("first").hidden = !c.first_opinion;
  $("move-form").dataset.token = c.token;
  $("cancel").hidden = !(me.role === "patient" && MOVES[c.state] && MOVES[c.state].withdrawn);
  renderStanding(c);
  await renderTeam(c);
  $("cancel-form").dataset.token = c.token;
  const tl = $("timeline");
  tl.replaceChildren();
  for (const e of c.timeline) {
    const li = document.createElement("li");
    li.textContent = `${fmtTime(e.at)}: ${e.from ? stateWords(e.from) : "(new)"} → ${stateWords(e.to)} by ${e.by} ` +
      `(${e.role})${e.reason ? ": " + e.reason : ""}`;
    tl.appendChild(li);
  }
  current = { c, opinion };
  renderOpinion();
  renderQuestionnaire(c, q);
  renderRecordsStatus(c, requests ? requests.requests : null, records);
  $("requests").hidden = requests === null;
  if (requests) {
    // a DICOM AE title means nothing to a patient
    const staff = me.role !== "patient";
    $("requests-ae").hidden = !staff;
    fill($("requests-body"), requests.requests.map((r) => [r.provider, ...(staff ? [r.ae_title || "any sender"] : []),
      [r.fax, r.email].filter(Boolean).join(", ") || "-", requestPatient(r),
      r.state === "open" ? (r.records ? "open, answered" : "open, nothing yet") : r.state,
      r.records === undefined ? "-" : String(r.records), fmtTime(r.created_at)]), "No provider has been asked yet.");
  }
  renderRequestForm(c);
  fill($("records-body"), records.map((r) => recordRow(r, c)), "No studies have arrived yet.");
  if (focus) $("case-h").focus();
}

// Whom a records request asked about: the name and birth date, the MRN with its issuer.
function requestPatient(r) {
  const who = r.patient_name ? personLine(r.patient_name, r.birth_date) : "";
  const id = r.patient_id ? idLine(r.patient_id, r.issuer) : "";
  return [who, id].filter(Boolean).join("; ") || "-";
}

// Who sent a study, in the words a navigator knows: the records request's provider, the
// sender's [peer] name in the configuration, or its AE title.
function sourceOf(x) {
  const name = x.provider || x.sender;
  return name ? `${name}${x.calling_ae && x.calling_ae !== name ? ` (${x.calling_ae})` : ""}` : x.calling_ae || "an unknown sender";
}
const sourceName = (x) => x.provider || x.sender || x.calling_ae || "an unknown sender";

// The study as a person recognises it: date, modalities and description; its UID on demand.
function studyCell(x, what) {
  const div = el("div");
  const date = daDisplay(x.study_date);
  const head = el("strong", [date || "No study date", x.modalities].filter(Boolean).join(" · "));
  head.className = "nowrap";
  div.append(head);
  div.append(el("div", x.description || "No description"));
  if (x.accession) div.append(el("div", `Accession ${x.accession}`));
  div.append(uidDetails(x.study_uid, what));
  return div;
}
function uidDetails(uid, what) {
  const d = el("details");
  d.className = "uid";
  const sum = el("summary", "Study UID");
  sum.setAttribute("aria-label", `Study UID of ${what}`);
  const code = el("code", uid);
  d.append(sum, code);
  return d;
}
// Whether a study's patient is not the case's (names and birth dates compared as the
// server compares them, a missing value saying nothing): shown, so that a study attached
// by hand to the wrong case is seen before the records are called complete.
const notCasePatient = (pt, c) => differs("name", pt.name, c.patient_name) || differs("birth_date", pt.birth_date, c.birth_date);
function patientCell(pt, c) {
  const div = el("div");
  div.append(el("strong", pnDisplay(pt.name)));
  const b = daDisplay(pt.birth_date);
  const born = el("div", b ? `born ${b}` : "no birth date");
  born.className = "nowrap";
  div.append(born, el("div", idLine(pt.patient_id, pt.issuer)));
  if (c && notCasePatient(pt, c)) {
    const w = el("div", "Not the case's patient");
    w.className = "warn";
    div.append(w);
  }
  return div;
}
const MATCHED = { token: "sent to the case's AE title", request: "a records request", navigator: "a navigator" };
function recordRow(r, c) {
  const what = [daDisplay(r.study_date), r.modalities, r.description].filter(Boolean).join(" ") || "the study";
  const from = el("div");
  from.append(el("strong", sourceOf(r)));
  if (r.received_at) from.append(el("div", `received ${fmtTime(r.received_at)}`));
  const images = `${plural(r.instances, "instance")} in ${plural(r.series_count, "series", "series")}`;
  const matched = el("div");
  matched.append(el("strong", `By ${MATCHED[r.matched_by] || r.matched_by}`));
  // routing's "request 3: MRN and issuer match" names the provider asked instead
  matched.append(el("div", r.provider ? r.detail.replace(/^request \d+:/, `asked ${r.provider}:`) : r.detail));
  matched.append(el("div", `confidence ${r.confidence.toFixed(2)}` +
    (r.matched_by === "navigator" ? `, attached ${fmtTime(r.at)}` : "")));
  return [studyCell(r, what), patientCell(r.patient, c), from, images, matched];
}

// ---- the records: what arrived, from whom, what is still awaited, and what next ----
// The records clock runs from when the navigator starts collecting (the case moves to
// collecting_records) until they mark the records complete; studies arriving do not move
// the case by themselves: the navigator decides when the records are enough. So the page
// says what has come in, per provider, what has not, and offers that decision.
function renderRecordsStatus(c, requests, records) {
  const summary = $("records-summary"), next = $("records-next"), waiting = $("records-waiting");
  next.replaceChildren();
  waiting.replaceChildren();
  const bySource = new Map();
  for (const r of records) bySource.set(sourceName(r), (bySource.get(sourceName(r)) || 0) + 1);
  const n = records.length;
  let text;
  if (n === 0) text = "No studies received yet.";
  else if (bySource.size === 1) text = `${plural(n, "study", "studies")} received from ${[...bySource.keys()][0]}.`;
  else text = `${plural(n, "study", "studies")} received: ` +
    [...bySource].map(([k, m]) => `${m} from ${k}`).join(", ") + ".";
  const clock = c.clocks.records;
  const clockText = {
    "not-started": "The records clock has not started: the case is still registered.",
    "on-track": `Records are due ${fmtTime(c.clocks.records_due)}.`,
    "at-risk": `Records are due soon: ${fmtTime(c.clocks.records_due)}.`,
    overdue: `Records are overdue: they were due ${fmtTime(c.clocks.records_due)}.`,
    met: "The records are complete, in time.",
    missed: "The records are complete, but were late.",
    stopped: "The case is withdrawn.",
  }[clock] || "";
  summary.replaceChildren(el("strong", text), document.createTextNode(" " + clockText +
    (c.clocks.waiting_on_patient ? " The clocks stand still while the case waits on the patient." : "")));
  summary.className = clock === "overdue" || clock === "at-risk" ? clock : "";
  const others = records.filter((r) => notCasePatient(r.patient, c));
  if (others.length) {
    const w = el("li", `${plural(others.length, "study", "studies")} of another patient than the case's (` +
      [...new Set(others.map((r) => pnDisplay(r.patient.name)))].join(", ") + "): check that it belongs here.");
    w.className = "warn";
    waiting.append(w);
  }
  let asked = 0;
  for (const q of requests || []) {
    if (q.state !== "open") continue;
    asked++;
    if (q.records === 0) waiting.append(el("li", `Nothing yet from ${q.provider} (asked ${fmtDay(q.created_at)}).`));
  }
  waiting.hidden = !waiting.childElementCount;
  const mine = me.role === "navigator" && c.navigator === me.username;
  if (!mine || !["registered", "collecting_records"].includes(c.state)) { next.hidden = true; return; }
  next.hidden = false;
  const button = (label, steps) => {
    const b = el("button", label);
    b.type = "button";
    b.addEventListener("click", () => recordsMove(c.token, c.state, steps, text));
    return b;
  };
  if (n > 0) {
    const silent = (requests || []).some((q) => q.state === "open" && q.records === 0);
    next.append(el("p", silent
      ? "Records complete? Some providers have sent nothing yet; you may still mark the records complete."
      : "Records complete?"));
    next.append(button("Mark records complete", ["collecting_records", "records_complete"]));
    if (c.state === "registered") next.append(button("Not yet: start the records clock", ["collecting_records"]));
  } else if (c.state === "registered") {
    next.append(el("p", asked ? "The providers are asked: start the records clock."
      : "Ask the providers for the records (below), then start the records clock."));
    next.append(button("Start collecting records", ["collecting_records"]));
  } else {
    next.append(el("p", "Waiting for the first study."));
  }
}

// The moves to the records' next state from where the case is (the state machine moves
// registered -> collecting_records -> records_complete), each kept with its reason.
async function recordsMove(token, from, steps, received) {
  try {
    let state = from;
    for (const to of steps) {
      if (to === state || !(MOVES[state] && MOVES[state][to])) continue;
      const reason = to === "records_complete" ? `records complete: ${received}`
        : received.startsWith("No studies") ? "collecting records" : `collecting records: ${received}`;
      state = (await api("POST", casePath(token, "/transitions"), { to, reason })).state;
    }
    say(state === "records_complete" ? "The records are marked complete." : "The records clock has started.");
  } catch (e) { say(e.message); }
  await refresh(token);
  if (location.hash === "#case/" + encodeURIComponent(token)) $("records-status-h").focus(); // its button is gone
}

// ---- asking a provider for records (the case's navigator) ----
// The patient's name and birth date start as the case's, in parts; they go back as DICOM
// writes them, every part kept.
function renderRequestForm(c) {
  const form = $("request-form");
  const mine = me.role === "navigator" && c.navigator === me.username && !["closed", "withdrawn"].includes(c.state);
  $("request-add").hidden = !mine;
  if (!mine || form.dataset.token === c.token) return;
  form.reset();
  form.dataset.token = c.token;
  nameInto("req", c.patient_name);
  const b = /^(\d{4})(\d{2})(\d{2})$/.exec(c.birth_date || "");
  $("req-birth").value = b ? `${b[1]}-${b[2]}-${b[3]}` : "";
}

async function onAddRequest(ev) {
  ev.preventDefault();
  const token = ev.target.dataset.token;
  const provider = $("req-provider").value.trim();
  if (!provider) { say("Name the provider."); $("req-provider").focus(); return; }
  const body = { provider };
  for (const [id, key] of [["req-ae", "ae_title"], ["req-fax", "fax"], ["req-email", "email"], ["req-mrn", "patient_id"],
    ["req-issuer", "issuer"]]) if ($(id).value.trim()) body[key] = $(id).value.trim();
  const named = [...NAME_PARTS].some((k) => $(`req-${k}`).value.trim());
  if (named) {
    const pn = nameFrom("req");
    if (pn === null) return;
    body.patient_name = pn;
  }
  if ($("req-birth").validity.badInput) { say("The birth date is not a date."); $("req-birth").focus(); return; }
  if ($("req-birth").value) body.birth_date = $("req-birth").value.replace(/-/g, "");
  if (!body.patient_id && !(body.patient_name && body.birth_date)) {
    say("Give the patient's MRN there, or their name and birth date.");
    $("req-mrn").focus();
    return;
  }
  try {
    await api("POST", casePath(token, "/requests"), body);
    delete ev.target.dataset.token; // filled again from the case
    $("request-add").open = false;
    say(`${provider} is asked for the records.`);
  } catch (e) { say(e.message); }
  await refresh(token);
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
  // an administrator reaches a case page only under break-glass, to read it
  const reader = (me.role !== "patient" || published) && opinion !== null;
  $("opinion").hidden = !writer && !reader && me.role !== "navigator";
  $("opinion-form").hidden = !writer;
  $("opinion-view").hidden = writer || !reader;
  $("opinion-download").hidden = !(opinion && opinion.pdf);
  const meta = [];
  if (opinion) {
    meta.push(`Written by ${opinion.written_by}, last saved ${fmtTime(opinion.updated_at)}`);
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
    restoreKept(c.token, text);
    $("opinion-preview").textContent = text.value;
    $("opinion-publish").hidden = !TO_PUBLISH[c.state];
    $("opinion-pdf").value = "";
  }
  $("opinion-read").textContent = opinion ? opinion.text : "";
  $("addenda").replaceChildren(...(opinion && opinion.addenda ? opinion.addenda : []).map((a) => {
    const box = el("div");
    box.className = "addendum";
    const h = el("h4", `Addendum of ${fmtTime(a.at)}, by ${a.written_by}`);
    const p = el("p", a.text);
    p.className = "opinion-text";
    box.append(h, p);
    return box;
  }));
  $("addendum-form").hidden = !(me.role === "specialist" && published && opinion && c.specialist === me.username);
  $("addendum-form").dataset.token = c.token;
  $("outbound").hidden = !(me.role === "patient" && published && opinion);
  if (!$("outbound").hidden) renderSent(c.token).catch(() => {});
}

// ---- questionnaires ----
// A condition's questionnaire is a JSON Schema with only the keywords the server's checker
// understands (docs/cases.md): type, properties, required, additionalProperties, enum,
// minimum, maximum, minLength, maxLength, pattern, items, maxItems; title and description
// are the questions' wording. A form is generated from it, one labelled control per
// property. Its forms are novalidate: the server checks the answers (a browser's pattern
// is a JavaScript regular expression, the server's a POSIX one) and names a wrong answer
// by its JSON Pointer, which puts focus on that answer's control.
const SETTLED = ["opinion_published", "closed", "withdrawn"]; // the answers no longer change
let fieldSeq = 0;
let qform = null;   // the case page's questionnaire form
let newForm = null; // the questionnaire in the navigator's "Open a case" form

const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
// A date's form spelled out in a title (YYYY-MM-DD) is for typing; a date picker asks instead.
const DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
const isDate = (s) => s.type === "string" && s.pattern === DATE_PATTERN;
const wording = (name, s) => (s.title || (name.charAt(0).toUpperCase() + name.slice(1)).replace(/[_-]+/g, " "))
  .replace(/\s*\(YYYY-MM-DD\)$/, "");
const pointer = (ptr, name) => ptr + "/" + name.replace(/~/g, "~0").replace(/\//g, "~1");
function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}
function option(value, text) { const o = el("option", text); o.value = value; return o; }

// An answer the form cannot read (a number field holding something else), with its control.
class FormProblem extends Error {
  constructor(message, control) { super(message); this.control = control; }
}

// The form for schema in parent, prefilled from answers: {collect, controls}. collect()
// gives the answered questions only (empty ones are left out) or throws a FormProblem;
// controls maps each question's JSON Pointer to {control, name} (its first control).
function questionnaireForm(parent, schema, answers, prefix) {
  const controls = new Map();
  parent.replaceChildren();
  const collect = objectFields(parent, schema, isObject(answers) ? answers : {}, "", prefix, controls);
  return { collect: () => collect() || {}, controls };
}

// An object's questions as [name, schema]: the required ones first, in the order
// "required" names them, then the others in the schema's order. (The server keeps the
// schemas as jsonb, which does not keep the order the questions were written in.)
function questions(schema) {
  const props = isObject(schema.properties) ? schema.properties : {};
  const required = (Array.isArray(schema.required) ? schema.required : []).filter((n) => Object.hasOwn(props, n));
  return [...new Set([...required, ...Object.keys(props)])].map((n) => [n, isObject(props[n]) ? props[n] : {}]);
}

function objectFields(parent, schema, answers, ptr, prefix, controls) {
  const required = Array.isArray(schema.required) ? schema.required : [];
  const parts = questions(schema).map(([name, s]) =>
    [name, question(parent, name, s, answers[name], pointer(ptr, name), prefix, controls, required.includes(name))]);
  return () => {
    const out = {};
    for (const [name, get] of parts) {
      const v = get();
      if (v !== undefined) out[name] = v;
    }
    return Object.keys(out).length ? out : undefined;
  };
}

// How a number is bounded, in words for the help text.
function range(s) {
  const lo = typeof s.minimum === "number", hi = typeof s.maximum === "number";
  return lo && hi ? `From ${s.minimum} to ${s.maximum}.` : lo ? `At least ${s.minimum}.` : hi ? `At most ${s.maximum}.` : "";
}

// One question: its control(s) appended to parent; returns its value getter.
function question(parent, name, s, value, ptr, prefix, controls, required) {
  const id = `${prefix}-${++fieldSeq}`;
  const label = wording(name, s) + (required ? " (required)" : "");
  const register = (control) => controls.set(ptr, { control, name: wording(name, s) });
  // the description and the limits, read with the control
  const help = (control, ...extra) => {
    const words = [s.description, ...extra].filter(Boolean).join(" ");
    if (!words) return [];
    const p = el("p", words);
    p.className = "help";
    p.id = id + "-help";
    control.setAttribute("aria-describedby", p.id);
    return [p];
  };
  const items = isObject(s.items) ? s.items : {};

  if (s.type === "object") {
    const fs = el("fieldset");
    fs.append(el("legend", label), ...help(fs));
    parent.append(fs);
    const get = objectFields(fs, s, isObject(value) ? value : {}, ptr, prefix, controls);
    const first = fs.querySelector("input, select, textarea");
    if (first) register(first);
    return get;
  }
  if (s.type === "array" && Array.isArray(items.enum)) { // choices: a group of checkboxes
    const fs = el("fieldset");
    fs.append(el("legend", label), ...help(fs, typeof s.maxItems === "number" ? `Choose up to ${s.maxItems}.` : ""));
    const chosen = Array.isArray(value) ? value : [];
    const boxes = items.enum.map((choice, i) => {
      const box = el("input");
      box.type = "checkbox";
      box.id = `${id}-${i}`;
      box.checked = chosen.includes(choice);
      const l = el("label", String(choice));
      l.htmlFor = box.id;
      const row = el("div");
      row.className = "check choice";
      row.append(box, l);
      fs.append(row);
      return box;
    });
    parent.append(fs);
    if (boxes.length) register(boxes[0]);
    return () => {
      const v = items.enum.filter((_, i) => boxes[i].checked);
      return v.length ? v : undefined;
    };
  }
  if (s.type === "boolean") {
    const box = el("input");
    box.type = "checkbox";
    box.id = id;
    box.checked = value === true;
    const l = el("label", label);
    l.htmlFor = id;
    const row = el("div");
    row.className = "check";
    row.append(box, l);
    parent.append(row, ...help(box));
    register(box);
    // an unticked box says "no" once the question was answered or the box touched;
    // before that it is no answer, and left out
    let answered = typeof value === "boolean";
    box.addEventListener("change", () => { answered = true; });
    return () => (box.checked ? true : answered ? false : undefined);
  }

  let control, get, extra = "";
  if (Array.isArray(s.enum)) {
    control = el("select");
    control.append(option("", me && me.role === "patient" ? "I don't know" : "Not known"),
      ...s.enum.map((x, i) => option(String(i), String(x))));
    const at = s.enum.indexOf(value);
    if (at >= 0) control.value = String(at);
    get = () => (control.value === "" ? undefined : s.enum[Number(control.value)]);
  } else if (s.type === "integer" || s.type === "number") {
    control = el("input");
    control.type = "number";
    control.step = s.type === "integer" ? "1" : "any";
    if (typeof s.minimum === "number") control.min = String(s.minimum);
    if (typeof s.maximum === "number") control.max = String(s.maximum);
    if (typeof value === "number") control.value = String(value);
    extra = range(s);
    get = () => {
      if (control.validity.badInput) throw new FormProblem(`${ptr}: not a number`, control);
      return control.value.trim() === "" ? undefined : Number(control.value);
    };
  } else if (s.type === "array") { // free items: one per line
    control = el("textarea");
    control.rows = 4;
    control.value = Array.isArray(value) ? value.join("\n") : "";
    extra = "One per line." + (typeof s.maxItems === "number" ? ` At most ${s.maxItems}.` : "");
    const numbers = items.type === "integer" || items.type === "number";
    get = () => {
      const lines = control.value.split("\n").map((x) => x.trim()).filter(Boolean);
      return lines.length ? (numbers ? lines.map(Number) : lines) : undefined;
    };
  } else if (isDate(s)) { // the browser's date picker writes YYYY-MM-DD
    control = el("input");
    control.type = "date";
    control.value = typeof value === "string" ? value : "";
    get = () => {
      if (control.validity.badInput) throw new FormProblem(`${ptr}: not a whole date`, control);
      return control.value === "" ? undefined : control.value;
    };
  } else { // a string: a textarea when the answer may be long
    const long = typeof s.maxLength === "number" && s.maxLength > 200;
    control = el(long ? "textarea" : "input");
    if (long) control.rows = 4;
    if (typeof s.maxLength === "number") control.maxLength = s.maxLength;
    control.value = typeof value === "string" ? value : "";
    get = () => (control.value.trim() === "" ? undefined : control.value.trim());
  }
  control.id = id;
  if (control.tagName !== "SELECT") control.autocomplete = "off";
  if (required) control.setAttribute("aria-required", "true");
  const l = el("label", label);
  l.htmlFor = id;
  parent.append(l, control, ...help(control, extra));
  register(control);
  return get;
}

function clearInvalid(form) {
  for (const { control } of form.controls.values()) {
    control.removeAttribute("aria-invalid");
    const said = document.getElementById(control.id + "-error");
    if (said) said.remove();
  }
}

// What is wrong with one answer, said beside it (and read with it) as well as above.
function refusedBeside(control, words) {
  const p = el("p", words);
  p.className = "warn";
  p.id = control.id + "-error";
  const after = control.closest(".check, fieldset") || control;
  after.after(p);
  control.setAttribute("aria-describedby",
    [p.id, ...(control.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== p.id)].join(" "));
}

// The answers were refused: the server's message (or the form's), and focus on the
// control of the answer it names by JSON Pointer (the deepest one that matches).
function answersRefused(form, e) {
  let at = null;
  if (e instanceof FormProblem) {
    at = [...form.controls.values()].find((x) => x.control === e.control) || { control: e.control, name: "" };
  } else {
    let best = "";
    for (const [ptr, x] of form.controls)
      if ((e.message.startsWith(ptr + ":") || e.message.startsWith(ptr + "/")) && ptr.length > best.length) {
        best = ptr;
        at = x;
      }
  }
  if (!at) { say(e.message); return; }
  // "/karnofsky: above the maximum" -> "Karnofsky performance status: above the maximum"
  const why = e.message.replace(/^\/[^:]*:\s*/, "");
  const words = at.name ? `${at.name}: ${why}` : why;
  say(`An answer needs another look. ${words}.`);
  refusedBeside(at.control, words.charAt(0).toUpperCase() + words.slice(1) + ".");
  at.control.setAttribute("aria-invalid", "true");
  at.control.focus();
}

// The answers as text, for those who read them only.
function answersView(dl, schema, answers) {
  dl.replaceChildren();
  const a = isObject(answers) ? answers : {};
  for (const [name, s] of questions(schema)) {
    const v = a[name];
    const dd = el("dd");
    if (v === undefined) {
      dd.textContent = "not answered";
      dd.className = "unanswered";
    } else if (isObject(v)) {
      const sub = el("dl");
      sub.className = "answers";
      answersView(sub, s, v);
      dd.append(sub);
    } else {
      dd.textContent = Array.isArray(v) ? v.join(", ") : typeof v === "boolean" ? (v ? "yes" : "no") : String(v);
    }
    dl.append(el("dt", wording(name, s)), dd);
  }
}

// The case page's questionnaire: q is GET .../questionnaire, or null when not readable.
function renderQuestionnaire(c, q) {
  const form = $("questionnaire-form"), list = $("questionnaire-view"), note = $("questionnaire-note");
  $("questionnaire").hidden = q === null;
  if (q === null) return;
  if (!q.schema) {
    note.textContent = "No questionnaire for this case's condition.";
    form.hidden = list.hidden = true;
    return;
  }
  const answerer = me.role === "patient" || me.role === "navigator";
  const editable = answerer && !SETTLED.includes(c.state);
  form.hidden = !editable;
  list.hidden = editable;
  if (!editable) {
    note.textContent = answerer ? "The case is settled: its answers no longer change." : "The answers given so far.";
    answersView(list, q.schema, q.answers);
    return;
  }
  note.textContent = me.role === "patient"
    ? "Answer what you know; the specialist reads your answers with your records."
    : "The patient's answers; you may answer for them.";
  // a refresh after another action keeps what was typed but not saved
  if (form.dataset.token === c.token && form.dataset.dirty) return;
  qform = questionnaireForm($("questionnaire-fields"), q.schema, q.answers, "q");
  form.dataset.token = c.token;
  delete form.dataset.dirty;
}

async function onSaveAnswers(ev) {
  ev.preventDefault();
  const form = ev.target, token = current.c.token;
  clearInvalid(qform);
  try {
    await api("PUT", casePath(token, "/questionnaire"), qform.collect());
    delete form.dataset.dirty;
    say("Answers saved.");
  } catch (e) {
    if (e instanceof FormProblem || (e instanceof ApiError && e.code === "invalid_answers")) answersRefused(qform, e);
    else say(e.message);
  }
}

// Saves the textarea's text if it changed; false (and said why) when there is none.
// ---- the opinion's text kept until the server has it ----
// Every change is kept in this browser (per person and case) until a save succeeds, so a
// session that ends, a network that drops or a server error loses no word; after signing
// in again the text is back on the same page. A few seconds after typing stops it is
// saved as the draft by itself.
const keptKey = (token) => `caseport.opinion.${me.username}.${token}`;
function kept(token) {
  try { return JSON.parse(localStorage.getItem(keptKey(token)) || "null"); } catch (e) { return null; }
}
function restoreKept(token, text) {
  const k = kept(token);
  $("opinion-kept").textContent = "";
  if (!k || k.text === text.dataset.saved) { localStorage.removeItem(keptKey(token)); return; }
  text.value = k.text;
  $("opinion-kept").textContent = `What you typed (${fmtTime(Math.floor(k.at / 1000))}) is back; it is not saved ` +
    "yet.";
  scheduleAutosave();
}
let autosaveTimer = null;
function onOpinionInput() {
  const text = $("opinion-text");
  $("opinion-preview").textContent = text.value;
  localStorage.setItem(keptKey(text.dataset.token), JSON.stringify({ text: text.value, at: Date.now() }));
  scheduleAutosave();
}
function scheduleAutosave() {
  clearTimeout(autosaveTimer);
  autosaveTimer = setTimeout(() => autosave().catch(() => {}), 4000);
}
async function autosave() {
  const text = $("opinion-text"), token = text.dataset.token;
  if (!current || current.c.token !== token || $("opinion-form").hidden) return;
  if (!text.value.trim() || text.value === text.dataset.saved) return;
  try {
    await putDraft(current.c, text.value);
    $("opinion-kept").textContent = `Saved by itself at ${fmtTime(Math.floor(Date.now() / 1000))}.`;
  } catch (e) {
    $("opinion-kept").textContent = `Not saved yet: ${e.message}`;
  }
}
async function putDraft(c, value) {
  await api("PUT", casePath(c.token, "/opinion"), { text: value });
  const text = $("opinion-text");
  text.dataset.saved = value;
  if (text.value === value) localStorage.removeItem(keptKey(c.token));
  current.opinion = await loadOpinion(c);
}

async function saveDraft() {
  const { c } = current;
  const text = $("opinion-text");
  if (!text.value.trim()) {
    say("Write the opinion's text first.");
    text.focus();
    return false;
  }
  if (current.opinion && text.value === current.opinion.text) return true;
  clearTimeout(autosaveTimer);
  await putDraft(c, text.value);
  $("opinion-kept").textContent = "";
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
    const r = await call("PUT", casePath(token, "/opinion/pdf"), file, "application/pdf")
      .catch(() => { throw new Error(UNREACHABLE); });
    if (!r.ok) {
      const data = await r.json().catch(() => null);
      throw new Error(failure(r, data && data.error));
    }
    say("PDF uploaded.");
  } catch (e) { say(e.message); }
  await refresh(token);
}

async function onDownload() {
  const token = current.c.token;
  try {
    const r = await call("GET", casePath(token, "/opinion/pdf")).catch(() => { throw new Error(UNREACHABLE); });
    if (!r.ok) throw new Error(failure(r, null));
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

// Each request to send the opinion, in words: to whom, when asked, and where it stands.
const SENT = { queued: "waiting to be sent", sent: "sent", failed: "could not be delivered" };
async function renderSent(token) {
  const list = $("outbound-sent");
  let requests = [];
  try {
    ({ requests } = await api("GET", casePath(token, "/outbound")));
  } catch (e) { list.replaceChildren(el("li", e.message)); return; }
  list.replaceChildren(...(requests.length ? requests.map((o) =>
    el("li", `To ${o.recipient} at ${[o.fax, o.email].filter(Boolean).join(" and ")}, asked ${fmtTime(o.created_at)}: ` +
      (SENT[o.state] || o.state) + ".")) : [el("li", "Nothing yet.")]));
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
  // read back before it goes: a wrong digit sends the opinion to a stranger
  const to = [fax && `fax number ${fax}`, email && `e-mail address ${email}`]
    .filter(Boolean).join(" and ");
  if (!window.confirm(`Send your opinion to ${recipient} at ${to}? Check every digit: a wrong number sends it to ` +
    "someone else.")) {
    say("Nothing was sent.");
    return;
  }
  try {
    const r = await api("POST", casePath(token, "/outbound"), body);
    ev.target.reset();
    say(`The opinion will be sent to ${recipient} at ${fax || email} (request ${r.request}).`);
  } catch (e) { say(e.message); }
  await renderSent(token);
}

// After an action: the case page again, if the reader is still on it.
async function refresh(token) {
  if (location.hash !== "#case/" + encodeURIComponent(token)) return;
  try { await showCase(token, false); } catch (e) { say(e.message); }
}

// ---- the triage queue ----
// Each item says whose study it is and what it is, why it waits (in plain words), the
// cases it could belong to with why, each attached with one click and a reason; an
// identity conflict shows both patients side by side, what differs marked.
async function showTriage(focus) {
  const v = view;
  show("triage", focus);
  const { items } = await api("GET", "/triage");
  if (v !== view) return;
  const list = $("triage-list");
  list.replaceChildren(...items.map(triageItem));
  say(items.length ? "" : "The triage queue is empty.");
}

// The reason an item waits, in plain words.
function triageWhy(t) {
  const r = t.reason || "";
  const w = t.conflicts_with;
  if (w && w.case) {
    return `It was sent to case ${w.case}, but its patient, ${personLine(t.patient.name, t.patient.birth_date)}, ` +
      `is not the case's patient, ${personLine(w.name, w.birth_date)}. It was not attached.`;
  }
  if (w) {
    return `Patient ID ${idLine(t.patient.patient_id, t.patient.issuer)} is already on file for ` +
      `${personLine(w.name, w.birth_date)}, but this study names ${personLine(t.patient.name, t.patient.birth_date)}. ` +
      "They are kept apart as two people; nothing was merged. Attach the study to the right case, or reject it.";
  }
  if (r.startsWith("identity conflict: the study's instances"))
    return "Its images name more than one patient. Nothing was attached or changed.";
  if (r.startsWith("no case token")) return "No case token and no open records request matched it.";
  let m = /^(\d+) cases have open requests that match/.exec(r);
  if (m) return `${m[1]} cases have open records requests that match it: choose the right one.`;
  m = /^sent to AE title (\S+), which names no open case/.exec(r);
  if (m) return `It was sent to the AE title ${m[1]}, which is no open case's token.`;
  return r.charAt(0).toUpperCase() + r.slice(1) + ".";
}

// Two patients differ in a field, compared as people mean it (names without case, spacing
// or empty parts, as the server's cp_name_key; a value missing on one side says nothing).
function differs(field, a, b) {
  const norm = (x) => field === "name" ? pnCompose(pnParse(String(x || "").toUpperCase().replace(/\s+/g, " "))) : String(x || "").trim();
  const x = norm(a), y = norm(b);
  if (field === "name" || field === "birth_date" || field === "sex") return Boolean(x && y && x !== y);
  return x !== y;
}

// This study's patient beside the record (or case) it conflicts with.
function compareTable(t) {
  const w = t.conflicts_with;
  const table = el("table");
  table.className = "compare";
  const cap = el("caption", w.case ? `This study's patient beside case ${w.case}'s patient`
    : `This study's patient beside the patient already on file for ${idLine(w.patient_id, w.issuer)}`);
  const head = el("thead");
  const hr = el("tr");
  for (const h of ["", "This study", w.case ? `Case ${w.case}` : "On file"]) {
    const th = el("th", h);
    th.scope = "col";
    hr.append(th);
  }
  head.append(hr);
  const body = el("tbody");
  const rows = [["Name", "name", pnDisplay], ["Birth date", "birth_date", (x) => daDisplay(x) || "not given"],
    ["Sex", "sex", (x) => SEX[x] || x || "not given"], ["Patient ID", "patient_id", (x) => x || "none"],
    ["Issuer", "issuer", (x) => x || "none"]];
  for (const [label, key, show] of rows) {
    if (w.case && (key === "patient_id" || key === "issuer")) continue; // a case has its token, no MRN
    const tr = el("tr");
    const th = el("th", label);
    th.scope = "row";
    tr.append(th, el("td", show(t.patient[key])), el("td", show(w[key])));
    if (differs(key, t.patient[key], w[key])) {
      tr.className = "differs";
      th.append(el("span", " (differs)"));
    }
    body.append(tr);
  }
  table.append(cap, head, body);
  return table;
}

let triageSeq = 0;
// A small form: a reason and the one button that decides (attach to token, or reject).
function decideForm(t, label, decision, token, withToken) {
  const id = `triage-${t.item}-${++triageSeq}`;
  const form = el("form");
  form.className = "decide";
  form.noValidate = true; // a missing reason is said in the status, with the focus on it
  form.setAttribute("aria-label", label);
  let tok = null;
  if (withToken) {
    const l = el("label", "Case token");
    l.htmlFor = id + "-token";
    tok = el("input");
    tok.id = id + "-token";
    tok.placeholder = "e.g. CP-7K3M-9Q";
    tok.autocomplete = "off";
    form.append(l, tok);
  }
  const l = el("label", "Reason");
  l.htmlFor = id + "-reason";
  const why = el("input");
  why.id = id + "-reason";
  why.required = true;
  why.autocomplete = "off";
  why.setAttribute("aria-describedby", id + "-what");
  const what = el("span", label);
  what.id = id + "-what";
  what.className = "visually-hidden";
  const b = el("button", decision === "reject" ? "Reject" : token ? `Attach to ${token}` : "Attach");
  b.type = "submit";
  const row = el("div");
  row.className = "inline";
  row.append(why, b);
  form.append(l, row, what);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const target = withToken ? tok.value.trim() : token;
    if (withToken && !target) { say("Name the case to attach it to."); tok.focus(); return; }
    if (!why.value.trim()) { say("Say why: the decision is kept with its reason."); why.focus(); return; }
    try {
      const body = { decision, reason: why.value.trim() };
      if (decision === "attach") body.token = target;
      await api("POST", "/triage/" + t.item, body);
      await showTriage(false);
      say(`Item ${t.item}: ${decision === "attach" ? "attached to " + target : "rejected"}.`);
      $("triage-h").focus(); // the item and its form are gone: the queue's heading, not the page's top
    } catch (e) { say(e.message); }
  });
  return form;
}

function triageItem(t) {
  const li = el("li");
  li.className = "triage-item";
  const who = personLine(t.patient.name, t.patient.birth_date);
  const h = el("h3", `Item ${t.item}: ${who}`);
  li.append(h, el("p", triageWhy(t)));
  const facts = el("dl");
  facts.className = "facts";
  const what = [daDisplay(t.study_date), t.modalities, t.description].filter(Boolean).join(" ") || "the study";
  for (const [k, val] of [["Patient ID", idLine(t.patient.patient_id, t.patient.issuer)],
    ["Sex", SEX[t.patient.sex] || "not given"],
    ["Study", [daDisplay(t.study_date) || "no study date", t.modalities, t.description].filter(Boolean).join(" · ")],
    ["Images", `${plural(t.instances, "instance")} in ${plural(t.series_count, "series", "series")}`],
    ["From", t.sender ? `${t.sender} (${t.calling_ae})` : t.calling_ae],
    ["Received", fmtTime(t.received_at)]]) facts.append(el("dt", k), el("dd", val));
  const dd = el("dd");
  dd.append(uidDetails(t.study_uid, what));
  facts.append(el("dt", "UID"), dd);
  li.append(facts);
  if (t.conflicts_with) li.append(compareTable(t));

  const cands = t.candidate_cases || [];
  const sec = el("div");
  sec.className = "candidates";
  sec.append(el("h4", cands.length ? "Attach to a candidate case" : "No case is a likely match"));
  if (cands.length) {
    const ul = el("ul");
    for (const k of cands) {
      const cli = el("li");
      cli.className = "candidate";
      const p = el("p");
      const link = el("a", k.token);
      link.href = "#case/" + encodeURIComponent(k.token);
      p.append(link, document.createTextNode(`: ${personLine(k.patient_name, k.birth_date)}` +
        `${k.sex && SEX[k.sex] ? ", " + SEX[k.sex] : ""}; ${k.state}${k.navigator ? ", navigator " + k.navigator : ""}.`));
      const why = el("p", `Why: ${k.why}.`);
      why.className = "help";
      cli.append(p, why, decideForm(t, `Attach item ${t.item} to ${k.token}`, "attach", k.token, false));
      ul.append(cli);
    }
    sec.append(ul);
  }
  const other = el("details");
  other.className = "other";
  other.open = !cands.length;
  const sub = (text) => { const p = el("p", text); p.className = "sub"; return p; };
  other.append(el("summary", cands.length ? "Another case, or reject" : "Attach to a case, or reject"),
    sub(cands.length ? "Attach it to another case" : "Attach it to a case"),
    decideForm(t, `Attach item ${t.item} to another case`, "attach", null, true),
    sub("Or reject it: it stays stored, attached to no case"),
    decideForm(t, `Reject item ${t.item}`, "reject", null, false));
  sec.append(other);
  li.append(sec);
  return li;
}

// ---- the administrator's accounts ----
async function showAccounts(focus) {
  const v = view;
  show("accounts", focus);
  const [{ accounts }, { grants }] = await Promise.all([api("GET", "/accounts"), api("GET", "/break-glass")]);
  if (v !== view) return;
  renderAccounts(accounts);
  fill($("grants-body"), grants.map((g) => [g.token, g.username, g.reason, fmtTime(g.granted_at), fmtTime(g.expires_at)]),
    "No grant is in force.");
}

// The audit trail of a case (its token) or an account (a username): newest first.
async function onTrail(ev) {
  ev.preventDefault();
  const of = $("trail-of").value.trim();
  const byCase = $("trail-kind").value === "case";
  try {
    const { rows, limit } = await api("GET", "/audit?" + (byCase ? "case=" : "account=") + encodeURIComponent(of));
    fill($("trail-body"), rows.map((r) => [fmtTime(r.at), r.actor ? `${r.actor} (${r.role})` : r.role,
      r.object ? `${r.action} (${r.object})` : r.action, r.outcome, r.case || "-", r.source || "-"]),
    "Nothing is recorded for it.");
    $("trail-caption").textContent = `The audit trail of ${byCase ? "case" : "account"} ${of}` +
      (rows.length === limit ? `, the last ${limit} entries` : "");
    $("trail-table").hidden = false;
    $("trail-caption").focus();
  } catch (e) {
    say(e.message);
    $("trail-of").focus();
  }
}

// After a change: the table again, unless the administrator went elsewhere meanwhile.
async function reloadAccounts() {
  const v = view;
  try {
    const { accounts } = await api("GET", "/accounts");
    if (v === view) renderAccounts(accounts);
  } catch (e) { say(e.message); }
}

function renderAccounts(accounts) {
  const body = $("accounts-body");
  body.replaceChildren();
  for (const a of accounts) {
    const tr = document.createElement("tr");
    for (const x of [a.username, a.name || "-", a.role, a.subspecialties || "-", fmtDay(a.created_at),
      a.last_sign_in ? fmtTime(a.last_sign_in) : "never"]) cell(tr, x);
    cell(tr, a.disabled ? "disabled" : "active", a.disabled ? "disabled" : "");
    const td = cell(tr, "");
    if (a.username === me.username) {
      td.textContent = "(you)"; // disabling oneself would lock the door from outside
    } else {
      const verb = a.disabled ? "Enable" : "Disable";
      const b = el("button", verb);
      b.type = "button";
      b.setAttribute("aria-label", `${verb} ${a.username}`);
      b.dataset.username = a.username;
      b.addEventListener("click", () => setDisabled(a.username, !a.disabled));
      td.appendChild(b);
    }
    body.appendChild(tr);
  }
  labelCells(body);
  const sel = $("reset-user"), keep = sel.value;
  sel.replaceChildren(option("", "Choose an account"), ...accounts.map((a) => option(a.username, `${a.username} (${a.role})`)));
  if (accounts.some((a) => a.username === keep)) sel.value = keep;
}

async function setDisabled(username, disabled) {
  if (disabled && !window.confirm(`Disable ${username}? They are signed out at once and cannot sign in ` +
    "until the account is enabled again.")) return;
  try {
    await api("PUT", "/accounts/" + encodeURIComponent(username), { disabled });
    say(disabled ? `${username} is disabled; their sessions have ended.` : `${username} is enabled again.`);
  } catch (e) { say(e.message); }
  await reloadAccounts();
  // the row's button was drawn again: focus goes to the new one (now the opposite verb)
  const b = [...$("accounts-body").querySelectorAll("button")].find((x) => x.dataset.username === username);
  if (b) b.focus();
}

async function onAddAccount(ev) {
  ev.preventDefault();
  const username = $("account-username").value.trim(), role = $("account-role").value;
  const body = { username, role, password: $("account-password").value };
  if ($("account-name").value.trim()) body.name = $("account-name").value.trim();
  if (role === "specialist") {
    body.subspecialties = $("account-subs").value.split(",").map((x) => x.trim()).filter(Boolean).join(",");
    if (!body.subspecialties) { say("Give the specialist's subspecialties."); $("account-subs").focus(); return; }
  }
  try {
    await api("POST", "/accounts", body);
  } catch (e) {
    say(e.message);
    const m = e.message.toLowerCase();
    $(e.status === 409 || m.includes("username") ? "account-username" : m.includes("password") ? "account-password"
      : m.includes("subspecialt") ? "account-subs" : "account-role").focus();
    return;
  }
  ev.target.reset();
  $("account-subs-field").hidden = true;
  say(`Account ${username} (${role}) added.`);
  await reloadAccounts();
}

async function onResetPassword(ev) {
  ev.preventDefault();
  const username = $("reset-user").value;
  try {
    await api("PUT", "/accounts/" + encodeURIComponent(username), { password: $("reset-password").value });
  } catch (e) {
    say(e.message);
    $("reset-password").focus();
    return;
  }
  $("reset-password").value = "";
  if (username === me.username) { // this session ended with the others
    signedOut("Your password is changed: sign in with the new one.");
    return;
  }
  say(`The password of ${username} is reset; their sessions have ended.`);
}

// A link the person opens to choose their own password: shown once, to hand over.
async function onResetLink() {
  const username = $("reset-user").value;
  if (!username) { say("Choose the account first."); $("reset-user").focus(); return; }
  try {
    const r = await api("POST", "/accounts/" + encodeURIComponent(username) + "/password-link", {});
    $("reset-link-user").textContent = username;
    $("reset-link-url").value = location.origin + r.path;
    const until = fmtTime(Math.floor(Date.now() / 1000) + r.expires_in);
    $("reset-link-until").textContent = `It works once, until ${until}. Give it to ${username} ` +
      "in person or by telephone, not by e-mail; a newer link replaces it.";
    $("reset-link-out").hidden = false;
    $("reset-link-url").focus();
    $("reset-link-url").select();
  } catch (e) { say(e.message); }
}

// The page a one-time link opens (#password/TOKEN): no session needed.
async function onSetPassword(ev) {
  ev.preventDefault();
  const pw = $("new-password").value, msg = $("password-msg");
  msg.textContent = "";
  if (pw !== $("new-password-again").value) {
    msg.textContent = "The two passwords differ: type the same one twice.";
    $("new-password-again").focus();
    return;
  }
  const token = location.hash.slice("#password/".length);
  try {
    const r = await api("POST", "/password-links/use", { token, password: pw });
    ev.target.reset();
    sessionStorage.removeItem("token"); // if it was this person's, it has ended
    me = null;
    history.replaceState(null, "", location.pathname); // the spent link leaves the address bar
    show("login", true);
    $("username").value = r.username;
    say(`Your password is set, ${r.username}: sign in with it.`);
    $("password").focus();
  } catch (e) {
    msg.textContent = e.message;
    $("new-password").focus();
  }
}

// ---- the patient's own words for where their request stands ----
function standing(c) {
  const due = (at) => fmtDay(at);
  switch (c.state) {
    case "registered":
      return "We have your request. Your navigator is preparing it and will ask your hospitals and clinics " +
        "for your records.";
    case "collecting_records":
      return "Your records are being collected from your hospitals and clinics" +
        (c.clocks.records_due ? `; we aim to have them all by ${due(c.clocks.records_due)}.` : ".");
    case "records_complete": case "under_review": case "consultation_scheduled": case "opinion_drafted":
      return "A specialist is reviewing your records" +
        (c.clocks.opinion_due ? `; your second opinion is due by ${due(c.clocks.opinion_due)}.` : ".");
    case "opinion_published": return "Your second opinion is ready: you can read it below and send it to your doctor.";
    case "closed": return "Your case is closed. You can still read the opinion below.";
    case "withdrawn": return "You cancelled this request.";
    default: return "";
  }
}

function renderStanding(c) {
  $("standing").hidden = me.role !== "patient";
  if (me.role !== "patient") return;
  $("standing-text").textContent = standing(c) + (c.clocks.waiting_on_patient
    ? " We are waiting for something from you; your navigator will tell you what." : "");
  const who = (name, user, role) => user ? `${name || user} (your ${role})` : "";
  const team = [who(c.navigator_name, c.navigator, "navigator"), who(c.specialist_name, c.specialist, "specialist")]
    .filter(Boolean);
  $("standing-team").textContent = team.length ? "Your care team: " + team.join(" and ") + "." : "";
}

// ---- the navigator's care team and hold, on the case page ----
async function renderTeam(c) {
  const open = !["opinion_published", "closed", "withdrawn"].includes(c.state);
  const mine = me.role === "navigator" && c.navigator === me.username && open;
  $("team").hidden = !mine;
  if (!mine) return;
  const { specialists } = await api("GET", casePath(c.token, "/specialists"));
  const sel = $("assign-who");
  sel.replaceChildren(option("", specialists.length ? "Choose a specialist" : "No specialist of this subspecialty"),
    ...specialists.map((x) => option(x.username, `${x.name ? `${x.name} (${x.username})` : x.username}, ` +
      plural(x.open_cases, "open case"))));
  if (specialists.some((x) => x.username === c.specialist)) sel.value = c.specialist;
  $("assign-form").dataset.token = $("hold-form").dataset.token = c.token;
  const waiting = Boolean(c.clocks.waiting_on_patient);
  $("hold-form").dataset.waiting = waiting ? "1" : "";
  $("hold-state").textContent = waiting ? "The case waits on the patient; its clocks stand still."
    : "The case is not waiting on the patient.";
  $("hold-button").textContent = waiting ? "Stop waiting: the clocks run again" : "Wait on the patient";
  $("patient-link").hidden = !c.patient_account;
  $("patient-link-out").hidden = true;
  $("patient-link-who").textContent = c.patient_account
    ? `The patient signs in as ${c.patient_account}. Locked out or forgotten? A link lets them choose a new password.`
    : "";
  $("patient-link-make").dataset.username = c.patient_account || "";
}

// A one-time link for the case's patient to choose a new password (a navigator may make
// one for a patient; an administrator for anyone): shown once, to hand over.
async function onPatientLink(ev) {
  const username = ev.target.dataset.username;
  try {
    const r = await api("POST", "/accounts/" + encodeURIComponent(username) + "/password-link", {});
    $("patient-link-url").value = location.origin + r.path;
    $("patient-link-until").textContent = `It works once, until ${fmtTime(Math.floor(Date.now() / 1000) + r.expires_in)}. ` +
      `Give it to ${username} in person or by telephone, not by e-mail; a newer link replaces it.`;
    $("patient-link-out").hidden = false;
    $("patient-link-url").focus();
    $("patient-link-url").select();
  } catch (e) { say(e.message); }
}

async function onAssign(ev) {
  ev.preventDefault();
  const token = ev.target.dataset.token, username = $("assign-who").value;
  if (!username) { say("Choose a specialist first."); $("assign-who").focus(); return; }
  try {
    await api("PUT", casePath(token, "/specialist"), { username });
    say(`${username} reviews this case now.`);
  } catch (e) { say(e.message); return; }
  await refresh(token);
  $("assign-who").focus();
}

async function onHold(ev) {
  ev.preventDefault();
  const token = ev.target.dataset.token, waiting = !ev.target.dataset.waiting;
  try {
    await api("PUT", casePath(token, "/waiting"), { waiting, reason: $("hold-reason").value.trim() });
    $("hold-reason").value = "";
    say(waiting ? "The case waits on the patient; its clocks stand still." : "The clocks run again.");
  } catch (e) { say(e.message); return; }
  await refresh(token);
  $("hold-button").focus();
}

// A next step chosen on the case page; one that cannot be undone is asked about first.
async function moveCase(token, to, label) {
  const reason = $("move-reason").value.trim();
  if (to === "withdrawn" && !reason) {
    say("Say why the case is withdrawn, in the note.");
    $("move-reason").focus();
    return;
  }
  if (FINAL[to] && !window.confirm(FINAL[to])) return;
  try {
    await api("POST", casePath(token, "/transitions"), { to, reason });
    $("move-reason").value = "";
    say(`Done: ${label.charAt(0).toLowerCase() + label.slice(1)}.`);
  } catch (e) { say(e.message); }
  await refresh(token);
}

// The specialist adds to a published opinion: asked first, as it cannot be taken back.
async function onAddendum(ev) {
  ev.preventDefault();
  const token = ev.target.dataset.token, text = $("addendum-text").value.trim();
  if (!text) { say("Write the addendum first."); $("addendum-text").focus(); return; }
  if (!window.confirm("Add this to the published opinion? The patient sees it, dated, and it cannot be changed.")) return;
  try {
    await api("POST", casePath(token, "/opinion/addenda"), { text });
    ev.target.reset();
  } catch (e) { say(e.message); return; }
  await refresh(token);
  say("The addendum is added beside the opinion.");
}

// A patient cancels their request: asked first, with their reason, which the navigator reads.
async function onCancelRequest(ev) {
  ev.preventDefault();
  const token = ev.target.dataset.token, reason = $("cancel-reason").value.trim();
  if (!reason) { say("Say why you cancel it: your navigator reads this."); $("cancel-reason").focus(); return; }
  if (!window.confirm("Cancel your request for a second opinion? It cannot be started again.")) {
    say("Your request goes on; nothing was cancelled.");
    return;
  }
  try {
    await api("POST", casePath(token, "/transitions"), { to: "withdrawn", reason });
    ev.target.reset();
    $("cancel-details").open = false;
  } catch (e) { say(e.message); return; }
  await refresh(token);
  say("Your request is cancelled. Your navigator will read why and may call you.");
  $("case-h").focus();
}

// Break-glass: granted at once (and audited); the case page follows, to read only.
async function onBreakGlass(ev) {
  ev.preventDefault();
  try {
    const r = await api("POST", casePath($("glass-token").value.trim(), "/break-glass"),
      { reason: $("glass-reason").value.trim() });
    ev.target.reset();
    notice = `You may read case ${r.token} for ${Math.round(r.expires_in / 60)} minutes; every read is audited.`;
    location.hash = "#case/" + encodeURIComponent(r.token);
  } catch (e) {
    say(e.message);
    $(e.status === 400 ? "glass-reason" : "glass-token").focus();
  }
}

async function route(focus) {
  view++;
  say(notice);
  notice = "";
  if (location.hash.startsWith("#password/")) { show("choose", focus); return; }
  if (!sessionStorage.getItem("token")) { show("login", focus); return; }
  try {
    if (!me) {
      me = await api("GET", "/me");
      $("who").textContent = `${me.username} (${me.role})`;
      $("nav-triage").hidden = me.role !== "navigator";
      $("nav-accounts").hidden = me.role !== "administrator";
      $("nav-cases").hidden = me.role === "administrator"; // their case list is refused
      $("nav-cases").textContent = me.role === "specialist" ? "Your reviews" : "Cases";
    }
    const h = location.hash.slice(1);
    if (h.startsWith("case/")) await showCase(decodeURIComponent(h.slice(5)), focus);
    else if (h === "triage") await showTriage(focus);
    else if (me.role === "administrator") await showAccounts(focus);
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
  $("move-form").addEventListener("submit", (ev) => ev.preventDefault());
  $("opinion-form").addEventListener("submit", onSaveDraft);
  $("opinion-text").addEventListener("input", onOpinionInput);
  $("opinion-publish").addEventListener("click", onPublish);
  $("opinion-upload").addEventListener("click", onUpload);
  $("opinion-download").addEventListener("click", onDownload);
  $("outbound-form").addEventListener("submit", onOutbound);
  $("cancel-form").addEventListener("submit", onCancelRequest);
  $("addendum-form").addEventListener("submit", onAddendum);
  $("assign-form").addEventListener("submit", onAssign);
  $("hold-form").addEventListener("submit", onHold);
  $("patient-link-make").addEventListener("click", onPatientLink);
  $("questionnaire-form").addEventListener("submit", onSaveAnswers);
  for (const type of ["input", "change"])
    $("questionnaire-form").addEventListener(type, () => { $("questionnaire-form").dataset.dirty = "1"; });
  $("new-case-form").addEventListener("submit", onOpenCase);
  $("request-form").addEventListener("submit", onAddRequest);
  $("new-code").addEventListener("change", onConditionCode);
  $("account-form").addEventListener("submit", onAddAccount);
  $("account-role").addEventListener("change", () => {
    $("account-subs-field").hidden = $("account-role").value !== "specialist";
  });
  $("reset-form").addEventListener("submit", onResetPassword);
  $("reset-link").addEventListener("click", onResetLink);
  $("password-form").addEventListener("submit", onSetPassword);
  $("glass-form").addEventListener("submit", onBreakGlass);
  $("trail-form").addEventListener("submit", onTrail);
  window.addEventListener("hashchange", () => route(true));
  route(false);
});
