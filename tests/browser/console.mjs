// tests/browser/console.mjs -- the web console in headless Chromium (Debian's
// /usr/bin/chromium), driven by playwright-core, as a navigator, a specialist, a patient and
// an administrator would use it. Run by tests/e2e/test_browser.sh, which starts caseport
// and makes the data:
//
//   node console.mjs --port HTTP_PORT --artifacts DIR --overdue TOKEN --attach TOKEN
//                    --publish TOKEN --questionnaire TOKEN --study UID --pdf FILE
//                    --conflict UID --candidate TOKEN --bravo UID
//   env NAVIGATOR, SPECIALIST, PATIENT, ADMINISTRATOR, NEW_ACCOUNT: "username:password"
//   each (NEW_ACCOUNT: the account the administrator adds)
//
// The navigator sees the overdue case first and every name and date written for people
// (Bob Bravo, born 5 Nov 1955: never Bravo^Bob or 19551105, every time with its zone). In
// triage, the --conflict study (Jane Doe under Bob Jones's MRN-7) is shown beside Bob's
// record, the differing fields marked, its UID only on demand, with the --candidate case
// (Jane Doe's) and why; attaching it asks for a reason first and then takes one click. The
// --study, which nothing matched, is attached to the --attach case by its token. That
// case's records show each study's facts (date, modality, description, patient, sender,
// instances; the UID of --bravo on demand) and its records status (three studies received
// from St Mary and ANYPACS, the clock not started), which the navigator marks complete
// with one click. Then they open a glioma case through the "Open a case" form, the
// patient's name in parts (a part holding ^ refused first; a middle name and a prefix
// given) and the questionnaire's answers, where the server refuses a Karnofsky score of
// 150 (focus on that answer) and takes a fixed one; on its page they ask a provider for
// records with the name and birth date prefilled in parts and sent back whole, and
// answers are refused and taken once more. The specialist's worklist is their one case,
// where they write the opinion, upload its PDF and publish it; the patient reads it and
// sends it to their doctor, then answers the --questionnaire case's questions (a date in
// the wrong form refused first). The administrator lands on the accounts, adds one,
// disables it (its sign-in and its session refused by the API), enables it, resets its
// password, and breaks the glass to read the navigator's new case. Screenshots of every
// step go to --artifacts (browser-NN-what.png; the triage and case pages also as a phone
// shows them, 390 px wide, browser-NN-what-phone.png); a failure leaves
// browser-failure.png. Exit 0: every check held; 1: the first that did not is named. The
// script then checks the case opened (by its patient, Quebec^Quinn^R^Ms), its records
// request, the triage decisions, the records marked complete, the answers and the account
// added (NEW_ACCOUNT, "username:password") against the server.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { createRequire } from "node:module";

const { values: arg } = parseArgs({
  options: {
    port: { type: "string" }, artifacts: { type: "string" }, overdue: { type: "string" },
    attach: { type: "string" }, publish: { type: "string" }, questionnaire: { type: "string" },
    study: { type: "string" }, pdf: { type: "string" }, conflict: { type: "string" },
    candidate: { type: "string" }, bravo: { type: "string" },
  },
});
for (const k of ["port", "artifacts", "overdue", "attach", "publish", "questionnaire", "study", "pdf", "conflict",
  "candidate", "bravo"])
  if (!arg[k]) { console.error(`console.mjs: --${k} is required`); process.exit(2); }
const person = (name) => {
  const v = process.env[name] || "";
  const i = v.indexOf(":");
  if (i < 1) { console.error(`console.mjs: ${name} must be username:password`); process.exit(2); }
  return { username: v.slice(0, i), password: v.slice(i + 1) };
};
const navigator = person("NAVIGATOR"), specialist = person("SPECIALIST"), patient = person("PATIENT");
const administrator = person("ADMINISTRATOR"), added = person("NEW_ACCOUNT");
const base = `http://127.0.0.1:${arg.port}/`;
const opinionText = "Agree with the diagnosis of glioblastoma.\nPropose the trial at the second centre; MRI in 8 weeks.";
const addendumText = "The trial's second centre confirmed a place from January.";
mkdirSync(arg.artifacts, { recursive: true });

let shot = 0;
let page;
const log = (msg) => console.log("# " + msg);
async function screenshot(what) {
  shot++;
  const file = join(arg.artifacts, `browser-${String(shot).padStart(2, "0")}-${what}.png`);
  await page.screenshot({ path: file, fullPage: true });
}
// axe-core's WCAG 2.1 A and AA rules over the page as it is: no violation. Its source is
// evaluated in the page (not added as a script, which the console's CSP refuses).
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
async function accessible(what) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] });
    return r.violations.map((v) => `${v.id} (${v.nodes.length}): ${v.nodes[0].target.join(" ")}`);
  });
  check(found.length === 0, `${what}: axe-core finds ${found.join("; ")}`);
}
// The page as a desktop (1280 px) and as a phone (390 px) shows it; on the phone nothing
// may need scrolling sideways; axe-core finds nothing at either width.
const DESKTOP = { width: 1280, height: 900 }, PHONE = { width: 390, height: 844 };
async function screenshotBoth(what) {
  await screenshot(what);
  await accessible(what);
  await page.setViewportSize(PHONE);
  try {
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= PHONE.width, `${what}: ${wide} px wide on a ${PHONE.width} px phone`);
    await accessible(what + " (phone)");
    await screenshot(what + "-phone");
  } finally {
    await page.setViewportSize(DESKTOP);
  }
}
function check(ok, what) { if (!ok) throw new Error(what); }
// What the page shows is written for people: no DICOM name (Doe^Jane), no DICOM date
// (19700312) nor ISO 8601 time, and every time of day with its time zone (7 Dec 2026,
// 22:40 CET).
async function forPeople(where) {
  const t = await page.locator("main").innerText();
  check(!t.includes("^"), `${where}: a name as DICOM writes it: ${t.match(/.{0,30}\^.{0,30}/)}`);
  const raw = t.match(/\b(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\b/);
  check(!raw, `${where}: a date as DICOM writes it: ${raw && raw[0]}`);
  check(!/\d{4}-\d{2}-\d{2}T\d{2}:/.test(t), `${where}: an ISO 8601 time`);
  const times = t.match(/\d{2}:\d{2}(?::\d{2})?\b.{0,8}/g) || [];
  const bare = times.filter((x) => !/^\d{2}:\d{2} (UTC|GMT[+-]\d{1,2}(:\d{2})?|[A-Z]{3,5})\b/.test(x));
  check(bare.length === 0, `${where}: times without their zone: ${bare.join(" | ")}`);
  const code = t.match(/\b(collecting_records|records_complete|under_review|consultation_scheduled|opinion_drafted|opinion_published)\b/);
  check(!code, `${where}: a state as the state machine names it: ${code && code[0]}`);
}
// The visible text of each cell of a table body's rows (a closed <details> not included).
async function visibleRows(tbody) {
  return page.locator(`${tbody} tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText.trim())));
}
// Polls fn until it returns true (10 s); fails naming what it waited for and what it saw.
async function until(what, fn, seen) {
  const end = Date.now() + 10000;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`${what}; seen: ${seen ? await seen() : "-"}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const text = async (sel) => ((await page.locator(sel).first().textContent()) || "").trim();
const status = () => text("#status");
async function statusSays(what) { await until(`the status says "${what}"`, async () => (await status()).includes(what), status); }
async function rows(tbody) {
  return page.locator(`${tbody} tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
}
// The case page's facts as {name: value}.
async function facts() {
  return page.locator("#case-facts").evaluate((dl) => {
    const o = {};
    for (const dt of dl.querySelectorAll("dt")) o[dt.textContent] = dt.nextElementSibling.textContent;
    return o;
  });
}
// Every visible form control has a label a screen reader reads (the issue: labels for
// every input).
async function labelled(where) {
  const bare = await page.locator("input, select, textarea").evaluateAll((els) => els
    .filter((e) => e.offsetParent !== null && e.type !== "hidden")
    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
    .map((e) => e.id || e.name || e.outerHTML.slice(0, 60)));
  check(bare.length === 0, `${where}: inputs without a label: ${bare.join(", ")}`);
}

const login = () => page.locator("#login-form");
async function signIn(who, role) {
  await page.goto(base);
  await login().getByLabel("Username").waitFor();
  await labelled("sign-in");
  await login().getByLabel("Username").fill(who.username);
  await login().getByLabel("Password").fill(who.password);
  await login().getByLabel("Password").press("Enter"); // the keyboard alone signs in
  await until(`${who.username} signed in`, async () => (await text("#who")) === `${who.username} (${role})`, () => text("#who"));
}
async function signOut() {
  await page.getByRole("button", { name: "Sign out" }).click();
  await login().getByLabel("Username").waitFor();
}
async function openCase(token) {
  await page.getByRole("link", { name: token, exact: true }).click();
  await until(`case ${token} shown`, async () => (await text("#case-h")) === `Case ${token}`, () => text("#case-h"));
  check((await page.title()) === `Case ${token} - caseport`, `the window's title: ${await page.title()}`);
}

// The element the locator finds has the keyboard focus.
const focused = (loc) => loc.evaluate((e) => e === document.activeElement);
// The API itself, as another client would call it: {status, body}.
async function apiCall(method, path, token, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const r = await fetch(`${base}api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const t = await r.text();
  return { status: r.status, body: t ? JSON.parse(t) : null };
}
// The accounts table as {username: [cells...]}.
async function accountRows() {
  return Object.fromEntries((await rows("#accounts-body")).map((r) => [r[0], r]));
}

// The "Open a case" form on the navigator's case list: a glioma case with answers to its
// questionnaire; 150 is no Karnofsky score (the server says so, naming /karnofsky, and the
// focus goes there), 70 is. On the case's page the navigator answers again: 150 refused,
// 80 saved. Returns the new case's token.
let opened = "";
async function openNewCase() {
  await page.getByRole("link", { name: "Cases", exact: true }).click();
  const form = page.locator("#new-case-form");
  await until("the condition codes offered", async () => (await form.getByLabel("Condition code").locator("option").count()) > 1);
  // the name in parts: DICOM's separator in a part is refused, a middle name and a prefix kept
  await form.getByLabel("Family name").fill("Quebec^Quinn");
  await form.getByLabel("Condition, in your words").fill("glioma, left frontal");
  await form.getByRole("button", { name: "Open the case" }).click();
  await statusSays("A name part cannot hold ^");
  check(await focused(form.getByLabel("Family name")), "the refused name part does not have the focus");
  await form.getByLabel("Family name").fill("Quebec");
  await form.getByLabel("Given name").fill("Quinn");
  await form.getByText("Middle name, prefix, suffix (optional)").click();
  await form.getByLabel("Middle name").fill("R");
  await form.getByLabel("Prefix").fill("Ms");
  await form.getByLabel("Birth date").fill("1961-04-02");
  await form.getByLabel("Sex").selectOption("F");
  await form.getByLabel("Condition, in your words").fill("glioma, left frontal");
  check(!(await page.locator("#new-answers").isVisible()), "a questionnaire before a condition code is chosen");
  await form.getByLabel("Condition code").selectOption("glioma");
  check((await form.getByLabel("Subspecialty").inputValue()) === "neuro-oncology",
    `choosing glioma set the subspecialty to ${await form.getByLabel("Subspecialty").inputValue()}`);
  await form.getByLabel("First opinion's summary").fill("Astrocytoma, WHO grade 3; radiotherapy advised");
  const q = page.locator("#new-answers");
  const first = await q.locator("label").first().textContent();
  check(first === "What would you like the specialist to answer? (required)", `the first question asked: ${first}`);
  await q.getByLabel("What would you like the specialist to answer?").fill("Is radiotherapy alone enough?");
  await q.getByLabel("WHO grade, if known").selectOption({ label: "3" });
  await q.getByLabel("IDH status").selectOption({ label: "mutant" });
  await q.getByLabel("surgery", { exact: true }).check();
  await q.getByLabel("Seizures since the diagnosis?").check();
  const karnofsky = q.getByLabel("Karnofsky performance status");
  check((await karnofsky.getAttribute("type")) === "number" && (await karnofsky.getAttribute("max")) === "100",
    "the Karnofsky answer is not a number input with its maximum");
  check((await q.locator("fieldset legend").allTextContents()).includes("Treatments so far"), "no group for the treatments");
  await karnofsky.fill("150");
  await labelled("open a case");
  await screenshot("new-case-form");
  await form.getByRole("button", { name: "Open the case" }).click();
  await statusSays("An answer needs another look. Karnofsky performance status: out of range.");
  check(await focused(karnofsky), "the refused Karnofsky answer does not have the focus");
  check((await text(`#${await karnofsky.getAttribute("id")}-error`)) === "Karnofsky performance status: out of range.",
    "the refusal is not said beside the answer");
  check((await karnofsky.getAttribute("aria-invalid")) === "true", "the refused answer is not marked invalid");
  check(!page.url().includes("#case/"), `a case was opened with a refused answer: ${page.url()}`);
  await screenshot("new-case-refused");
  await karnofsky.fill("70");
  await karnofsky.press("Enter"); // the form's one button: Open the case
  await until("the new case's page", async () => page.url().includes("#case/CP-"), () => page.url());
  opened = decodeURIComponent(page.url().split("#case/")[1]);
  await until("the new case shown", async () => (await text("#case-h")) === `Case ${opened}`, () => text("#case-h"));
  await statusSays(`Case ${opened} opened.`);
  const f = await facts();
  check(f.Patient === "Ms Quinn R Quebec" && f.Born === "2 Apr 1961" && f.Condition === "glioma, left frontal" &&
    f.Subspecialty === "neuro-oncology" && f.State === "registered" && f.Navigator === navigator.username,
  `the new case's facts: ${JSON.stringify(f)}`);

  // the case page: the answers given, editable
  const qf = page.locator("#questionnaire-form");
  await qf.waitFor();
  const k2 = qf.getByLabel("Karnofsky performance status");
  check((await k2.inputValue()) === "70", `the Karnofsky answer shown: ${await k2.inputValue()}`);
  check((await qf.getByLabel("What would you like the specialist to answer?").inputValue()) === "Is radiotherapy alone enough?",
    "the question asked is not shown");
  check(await qf.getByLabel("surgery", { exact: true }).isChecked(), "surgery is not ticked");
  check(!(await qf.getByLabel("radiotherapy", { exact: true }).isChecked()), "radiotherapy is ticked");
  check(await qf.getByLabel("Seizures since the diagnosis?").isChecked(), "seizures not ticked");
  check((await qf.getByLabel("WHO grade, if known").locator("option:checked").textContent()) === "3", "the WHO grade shown");
  await labelled("case page with its questionnaire (navigator)");
  await k2.fill("150");
  await qf.getByRole("button", { name: "Save the answers" }).click();
  await statusSays("Karnofsky performance status: out of range.");
  check(await focused(k2), "the refused answer on the case page does not have the focus");
  await k2.fill("80");
  await qf.getByRole("button", { name: "Save the answers" }).click();
  await statusSays("Answers saved.");
  check((await k2.getAttribute("aria-invalid")) === null, "the answer saved is still marked invalid");
  check((await page.locator(".warn[id$='-error']").count()) === 0, "the refusal stays beside the answer saved");
  await screenshot("new-case-answers");
  log(`navigator: opened ${opened} through the form (Karnofsky 150 refused, 70 taken; 150 refused, 80 saved on its page)`);
  await askForRecords();
}

// On the new case's page: a provider asked for records, the patient's name and birth date
// prefilled in parts from the case's and sent back whole (its middle name and prefix too).
async function askForRecords() {
  await page.getByText("Ask a provider for records").click();
  const form = page.locator("#request-form");
  const parts = {};
  for (const k of ["Family name", "Given name", "Middle name", "Prefix", "Suffix", "Birth date"])
    parts[k] = await form.getByLabel(k, { exact: true }).inputValue();
  check(JSON.stringify(parts) === JSON.stringify({ "Family name": "Quebec", "Given name": "Quinn", "Middle name": "R", Prefix: "Ms",
    Suffix: "", "Birth date": "1961-04-02" }), `the request's patient, prefilled: ${JSON.stringify(parts)}`);
  check(await form.getByLabel("Middle name").isVisible(), "the middle name prefilled is hidden");
  await form.getByLabel("Provider").fill("Hope Clinic");
  await labelled("ask for records");
  await form.getByRole("button", { name: "Ask for the records" }).click();
  await statusSays("Hope Clinic is asked for the records.");
  await until("the request listed", async () => (await rows("#requests-body")).length === 1 && (await rows("#requests-body"))[0][0] === "Hope Clinic",
    async () => JSON.stringify(await rows("#requests-body")));
  const q = (await rows("#requests-body"))[0];
  check(q[1] === "any sender" && q[3] === "Ms Quinn R Quebec, born 2 Apr 1961" && q[4] === "open, nothing yet" && q[5] === "0",
    `the request: ${JSON.stringify(q)}`);
  const waiting = await page.locator("#records-waiting").innerText();
  check((await text("#records-summary")).startsWith("No studies received yet. The records clock has not started") &&
    /^Nothing yet from Hope Clinic \(asked \d{1,2} [A-Z][a-z]{2} \d{4}\)\.$/.test(waiting) &&
    (await page.getByRole("button", { name: "Start collecting records" }).isVisible()),
  `the records status of a new case: ${await text("#records-summary")} / ${waiting}`);
  await forPeople("new case with its records request");
  await screenshotBoth("new-case-request");
  // the conversion both ways, for the names a form cannot show whole
  const trips = await page.evaluate(() => ["Doe^Jane", "Doe^Jane^Q^Dr^Jr", "^^^Dr", "Yamada^Tarou=山田^太郎=やまだ^たろう",
    "=山田^太郎", "a^b^c^d^e^f", "O'Brien-Smith^Mary Ann"].map((n) => [n, pnCompose(pnParse(n)), pnDisplay(n)]));
  const lost = trips.filter(([n, back]) => n !== back);
  check(lost.length === 0, `names that do not survive a round trip: ${JSON.stringify(lost)}`);
  check(JSON.stringify(trips.map((x) => x[2])) === JSON.stringify(["Jane Doe", "Dr Jane Q Doe Jr", "Dr", "Tarou Yamada (山田 太郎)",
    "山田 太郎", "d b c a e", "Mary Ann O'Brien-Smith"]), `names for people: ${JSON.stringify(trips.map((x) => x[2]))}`);
  log("navigator: asked Hope Clinic for the records, the name prefilled in parts and sent back whole");
}

// The navigator's own session token, to ask the API what the page was drawn from.
const sessionToken = () => page.evaluate(() => sessionStorage.getItem("token"));

// The triage queue: the identity conflict side by side, attached with one click to the
// case its patient is (a reason asked first); the study nothing matched, by its token.
async function triage() {
  await page.getByRole("link", { name: "Triage" }).click();
  const items = page.locator("#triage-list > li");
  await until("two triage items", async () => (await items.count()) === 2, async () => String(await items.count()));
  const item = (who) => items.filter({ has: page.locator("h3", { hasText: who }) });
  const conflict = item("Jane Doe");
  const h = await conflict.locator("h3").innerText();
  check(/^Item \d+: Jane Doe, born 12 Mar 1970$/.test(h), `the conflict's heading: ${h}`);
  const why = await conflict.locator("h3 + p").innerText();
  check(why.includes("MRN-7 (CITY) is already on file for Bob Jones, born 20 Feb 1964") && why.includes("nothing was merged"),
    `the conflict in plain words: ${why}`);
  // both patients side by side, what differs marked (in words too, not by colour alone)
  const compare = await conflict.locator("table.compare tbody tr").evaluateAll((trs) => trs.map((tr) =>
    [tr.cells[0].innerText.trim(), tr.cells[1].innerText.trim(), tr.cells[2].innerText.trim(), tr.className]));
  const want = [["Name (differs)", "Jane Doe", "Bob Jones", "differs"], ["Birth date (differs)", "12 Mar 1970", "20 Feb 1964", "differs"],
    ["Sex (differs)", "female", "male", "differs"], ["Patient ID", "MRN-7", "MRN-7", ""], ["Issuer", "CITY", "CITY", ""]];
  check(JSON.stringify(compare) === JSON.stringify(want), `side by side: ${JSON.stringify(compare)}`);
  const facts = await conflict.locator("dl.facts").innerText();
  check(facts.includes("15 Jan 2026 · CT · CT HEAD W/O CONTRAST") && facts.includes("city clinic (CITYPACS)") &&
    facts.includes("1 instance in 1 series"), `the conflict's study facts: ${facts}`);
  // the UID only on demand
  const uid = conflict.locator("details.uid code");
  check(!(await uid.isVisible()) && !(await conflict.innerText()).includes(arg.conflict), "the study UID is shown unasked");
  await conflict.getByText("Study UID", { exact: true }).click();
  check((await uid.isVisible()) && (await uid.innerText()) === arg.conflict, `the study UID on demand: ${await uid.innerText()}`);
  const cand = conflict.locator("li.candidate");
  check((await cand.count()) === 1, `candidates: ${await cand.count()}`);
  const candText = await cand.innerText();
  check(candText.startsWith(`${arg.candidate}: Jane Doe, born 12 Mar 1970, female; registered`) &&
    candText.includes("Why: the case's patient has its name and birth date"), `the candidate: ${candText}`);
  // what the API answered: DICOM's forms, both patients, the candidate without its row id
  const own = await sessionToken();
  const r = await apiCall("GET", "/triage", own);
  const t = r.body.items.find((x) => x.study_uid === arg.conflict);
  check(t && t.patient.name === "Doe^Jane" && t.patient.birth_date === "19700312" && t.conflicts_with.name === "Jones^Bob" &&
    !("case" in t.conflicts_with) && t.sender === "city clinic" && t.study_date === "20260115" && t.modalities === "CT" &&
    t.candidate_cases.length === 1 && t.candidate_cases[0].token === arg.candidate && t.candidate_cases[0].kind === "patient" &&
    !("case_id" in t.candidate_cases[0]), `GET /triage: ${JSON.stringify(t)}`);
  const blank = await apiCall("POST", `/triage/${t.item}`, own, { decision: "attach", token: arg.candidate, reason: "  " });
  check(blank.status === 400, `a decision without a reason: ${blank.status}`);
  await forPeople("triage");
  await labelled("triage");
  await screenshotBoth("triage-conflict");

  // one click, once the reason is given (asked for first, in the same small form)
  const attach = cand.getByRole("button", { name: `Attach to ${arg.candidate}` });
  await attach.click();
  await statusSays("Say why");
  check(await focused(cand.getByLabel("Reason")), "the missing reason does not have the focus");
  await cand.getByLabel("Reason").fill("same name and birth date as the case; City Clinic reused MRN-7");
  await attach.click();
  await statusSays(`attached to ${arg.candidate}`);
  await until("the conflict gone", async () => (await conflict.count()) === 0);
  check(await focused(page.locator("#triage-h")), "after the decision the focus is not on the queue's heading");

  // the study nothing matched: no candidate, attached by the case's token
  const other = item("Kim Kilo");
  check((await other.locator("h4").innerText()) === "No case is a likely match", "candidates offered for the unmatched study");
  const form = other.getByRole("form", { name: /to another case$/ });
  await form.getByLabel("Case token").fill(arg.attach.toLowerCase()); // as people may type it
  await form.getByLabel("Reason").fill("referral letter names the patient");
  await form.getByLabel("Reason").press("Enter"); // the form's button: Attach
  await statusSays(`attached to ${arg.attach.toLowerCase()}`);
  await until("the triage queue empty", async () => (await items.count()) === 0);
  await screenshot("triage-attached");
  log("navigator: the identity conflict side by side, attached with one click to its candidate; the other by its token");
}

// The case the triaged study went to: each record's facts, and its records status,
// marked complete with one click.
async function caseRecords() {
  await page.getByRole("link", { name: "Cases", exact: true }).click();
  await openCase(arg.attach);
  await until("three records", async () => (await rows("#records-body")).length === 3, async () => JSON.stringify(await rows("#records-body")));
  const f = await facts();
  check(f.Patient === "Bob Bravo" && f.Born === "5 Nov 1955" && f.Sex === "male" && f.Records === "Not started; 3 studies received",
    `the case's facts: ${JSON.stringify(f)}`);
  const rec = await visibleRows("#records-body");
  const bravo = page.locator("#records-body tr").filter({ has: page.locator("code", { hasText: arg.bravo }) });
  const b = (await bravo.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText.trim()))))[0] || [];
  check(b[0] === "15 Jan 2026 · CT\nCT HEAD W/O CONTRAST\nAccession ACCbravo1\nStudy UID" &&
    b[1] === "Bob Bravo\nborn 5 Nov 1955\nMRN-B (HOSP)" && b[2].startsWith("St Mary (STMARY)\nreceived ") &&
    b[3] === "2 instances in 1 series" && b[4] === "By a records request\nasked St Mary: MRN and issuer match\nconfidence 0.95",
  `St Mary's first study: ${JSON.stringify(b)}`);
  check(rec.some((x) => x[0].startsWith("3 Nov 2025 · CT\nCT CHEST W CONTRAST")), `St Mary's second study: ${JSON.stringify(rec)}`);
  const triaged = rec.find((x) => x[1].startsWith("Kim Kilo"));
  check(triaged && triaged[1].endsWith("\nNot the case's patient") && triaged[2].startsWith("ANYPACS\nreceived ") &&
    triaged[4].startsWith("By a navigator\nreferral letter names the patient"), `the study attached from triage: ${JSON.stringify(triaged)}`);
  check(!b[1].includes("Not the case's patient"), "Bob Bravo's own study is said to be another patient's");
  check(!(await bravo.locator("code").isVisible()), "a record's UID is shown unasked");
  await bravo.getByText("Study UID", { exact: true }).click();
  check((await bravo.locator("code").innerText()) === arg.bravo, "the record's UID on demand");
  const reqs = await rows("#requests-body");
  check(reqs.length === 1 && reqs[0][0] === "St Mary" && reqs[0][1] === "STMARY" && reqs[0][3] === "MRN-B (HOSP)" &&
    reqs[0][4] === "open, answered" && reqs[0][5] === "2", `the records requests: ${JSON.stringify(reqs)}`);
  const summary = await text("#records-summary");
  check(summary === "3 studies received: 2 from St Mary, 1 from ANYPACS. The records clock has not started: the case is still registered.",
    `the records status: ${summary}`);
  const warned = await page.locator("#records-waiting").innerText();
  check(warned === "1 study of another patient than the case's (Kim Kilo): check that it belongs here.",
    `the study of another patient, said beside the records status: ${warned}`);
  check(!(await page.locator("#opinion-form").isVisible()), "a navigator is offered the opinion editor");
  await forPeople("case page (navigator)");
  await labelled("case page (navigator)");
  await screenshotBoth("case-records");

  await page.getByRole("button", { name: "Mark records complete" }).click();
  await statusSays("The records are marked complete.");
  await until("the focus on the records status", () => focused(page.locator("#records-status-h")));
  await until("the records complete", async () => (await facts()).State === "records complete", async () => JSON.stringify(await facts()));
  check((await facts()).Records === "Met; 3 studies received", `the records clock: ${(await facts()).Records}`);
  check((await text("#records-summary")).endsWith("The records are complete, in time."), `after: ${await text("#records-summary")}`);
  check(!(await page.locator("#records-next").isVisible()), "records complete, and still offered to complete them");
  const moves = await page.locator("#timeline li").allTextContents();
  check(moves.some((m) => m.includes(`registered → collecting records by ${navigator.username}`)) &&
    moves.some((m) => m.includes(`collecting records → records complete by ${navigator.username} (navigator): records complete: 3 studies`)),
  `timeline: ${moves.join(" | ")}`);
  const c = (await apiCall("GET", `/cases/${encodeURIComponent(arg.attach)}`, await sessionToken())).body;
  check(c.clocks.records === "met" && c.records_received === 3, `GET the case: ${JSON.stringify(c.clocks)} ${c.records_received}`);
  const { records } = (await apiCall("GET", `/cases/${encodeURIComponent(arg.attach)}/records`, await sessionToken())).body;
  const x = records.find((y) => y.study_uid === arg.bravo);
  check(x && x.patient.name === "Bravo^Bob" && x.patient.birth_date === "19551105" && x.patient.patient_id === "MRN-B" &&
    x.patient.issuer === "HOSP" && x.study_date === "20260115" && x.description === "CT HEAD W/O CONTRAST" && x.modalities === "CT" &&
    x.instances === 2 && x.series_count === 1 && x.provider === "St Mary" && x.sender === "st mary" && x.calling_ae === "STMARY" &&
    x.request > 0 && /Z$/.test(x.received_at), `GET records: ${JSON.stringify(x)}`);
  await screenshot("case-records-complete");
  log("navigator: the case's records with their facts; 3 studies received, marked complete with one click (clock met)");
}

async function asNavigator() {
  await signIn(navigator, "navigator");
  await screenshot("signed-in");
  // the worklist: overdue first (the overdue case was opened last)
  await until("the case list", async () => (await rows("#cases-body")).length >= 3, async () => JSON.stringify(await rows("#cases-body")));
  check((await text("#cases-h")) === "Cases, most urgent first", `navigator's heading: ${await text("#cases-h")}`);
  const list = await rows("#cases-body");
  check(list[0][0] === arg.overdue, `first row is ${list[0][0]}, not the overdue ${arg.overdue}: ${JSON.stringify(list)}`);
  check(list[0][3].startsWith("Overdue (due "), `the first row's records clock: ${list[0][3]}`);
  check((await page.locator("#cases-body tr").first().locator("td").nth(3).getAttribute("class")) === "overdue",
    "the overdue clock is not marked as such");
  check(list.slice(1).every((r) => !r[3].startsWith("Overdue") && !r[4].startsWith("Overdue")), `another overdue row: ${JSON.stringify(list)}`);
  const bravo = list.find((r) => r[0] === arg.attach);
  check(bravo && bravo[1] === "Bob Bravo, born 5 Nov 1955" && bravo[3] === "Not started; 2 studies received",
    `the worklist's row of ${arg.attach}: ${JSON.stringify(bravo)}`);
  await forPeople("worklist");
  await screenshotBoth("worklist-overdue-first");
  log(`navigator: ${list.length} cases, ${arg.overdue} (overdue) first; names and dates for people`);
  await triage();
  await caseRecords();
  await careTeam();
  await openNewCase();
  await signOut();
}

// The overdue case gets its specialist (the one with no case yet is offered first), and
// waits on the patient for a while: the clocks stand still, then run again.
async function careTeam() {
  await page.getByRole("link", { name: "Cases", exact: true }).click();
  await openCase(arg.overdue);
  const team = page.locator("#team");
  await team.waitFor();
  const offered = await page.locator("#assign-who option").allTextContents();
  check(offered[1] === "Sid Second (sid), 0 open cases" && offered[2] === "sam, 1 open case",
    `the specialists offered: ${JSON.stringify(offered)}`);
  await team.getByLabel("Specialist").selectOption("sid");
  await team.getByRole("button", { name: "Assign" }).click();
  await statusSays("sid reviews this case now.");
  await until("sid shown", async () => (await facts()).Specialist === "sid", async () => JSON.stringify(await facts()));
  await team.getByLabel("Reason").fill("waiting for the signed consent");
  await team.getByRole("button", { name: "Wait on the patient" }).click();
  await statusSays("The case waits on the patient");
  let r = await apiCall("GET", `/cases/${arg.overdue}`, await sessionToken());
  check(r.body.clocks.waiting_on_patient === true, `the case does not wait: ${JSON.stringify(r.body.clocks)}`);
  await labelled("case page (navigator's care team)");
  await screenshotBoth("care-team");
  await team.getByRole("button", { name: "Stop waiting: the clocks run again" }).click();
  await statusSays("The clocks run again.");
  r = await apiCall("GET", `/cases/${arg.overdue}`, await sessionToken());
  check(!r.body.clocks.waiting_on_patient, `the case still waits: ${JSON.stringify(r.body.clocks)}`);
  // the next steps in words (the records' own are in the Records section); Enter in the
  // note moves nothing, and withdrawing without a reason is refused before it is asked
  const steps = await page.locator("#move-actions button").allTextContents();
  check(JSON.stringify(steps) === JSON.stringify(["Withdraw the case"]), `the next steps offered: ${JSON.stringify(steps)}`);
  await page.getByLabel("Note for the timeline").fill("the patient may move abroad");
  await page.getByLabel("Note for the timeline").press("Enter");
  await page.getByLabel("Note for the timeline").fill("");
  let asked = "";
  const ask = (d) => { asked = d.message(); d.dismiss(); };
  page.once("dialog", ask);
  await page.getByRole("button", { name: "Withdraw the case" }).click();
  await statusSays("Say why the case is withdrawn, in the note.");
  page.off("dialog", ask);
  check(asked === "", `asked without a reason: ${asked}`);
  r = await apiCall("GET", `/cases/${arg.overdue}`, await sessionToken());
  check(r.body.state === "collecting_records", `the case moved: ${r.body.state}`);
  log("navigator: assigned sid (offered first, with no case), put the case on hold and off again; steps in words");

  // the patient of a case who cannot sign in: a one-time link from the navigator
  await page.getByRole("link", { name: "Cases", exact: true }).click();
  await openCase(arg.questionnaire);
  check((await text("#patient-link-who")).startsWith(`The patient signs in as ${patient.username}.`),
    `the patient's account: ${await text("#patient-link-who")}`);
  await page.getByRole("button", { name: "Make a one-time password link" }).click();
  await until("the patient's link", async () => (await page.locator("#patient-link-url").inputValue()).startsWith(base + "#password/"),
    () => page.locator("#patient-link-url").inputValue());
  await screenshotBoth("patient-link");
  log("navigator: made a one-time password link for the case's patient");
}

// What the specialist types survives a session that ends (signing in again brings the same
// page back with the text), is saved by itself when typing stops, and a network that
// drops is said in a sentence.
async function keepsEveryWord(editor) {
  const more = opinionText + "\nTo be discussed at the tumour board first.";
  await editor.fill(more);
  let r = await apiCall("DELETE", "/sessions/current", await sessionToken());
  check(r.status === 204, `the session did not end: ${r.status}`);
  await page.getByRole("button", { name: "Save draft" }).click();
  await login().getByLabel("Username").waitFor();
  await statusSays("Your session has ended. Sign in again to go on where you were");
  await login().getByLabel("Username").fill(specialist.username);
  await login().getByLabel("Password").fill(specialist.password);
  await login().getByLabel("Password").press("Enter");
  await until("the same case again", async () => (await text("#case-h")) === `Case ${arg.publish}`, () => text("#case-h"));
  await until("the text back", async () => (await editor.inputValue()) === more, () => editor.inputValue());
  check((await text("#opinion-kept")).includes("is back; it is not saved yet"), `said: ${await text("#opinion-kept")}`);
  await screenshotBoth("opinion-kept");
  await until("saved by itself", async () => (await text("#opinion-kept")).startsWith("Saved by itself"),
    () => text("#opinion-kept"));
  r = await apiCall("GET", `/cases/${arg.publish}/opinion`, await sessionToken());
  check(r.body.text === more, `the server's draft: ${JSON.stringify(r.body.text)}`);
  await page.route("**/api/v1/cases/*/opinion", (route) => route.abort());
  await editor.fill(opinionText);
  await page.getByRole("button", { name: "Save draft" }).click();
  await statusSays("The server could not be reached. Check the network connection and try again");
  await page.unroute("**/api/v1/cases/*/opinion");
  await page.getByRole("button", { name: "Save draft" }).click();
  await statusSays("Draft saved.");
  log("specialist: the session ended mid-text: signed in again, the same page and text; saved by itself; " +
    "the network away said in a sentence");
}

async function asSpecialist() {
  await signIn(specialist, "specialist");
  await until("the reviews", async () => (await rows("#cases-body")).length >= 1);
  check((await text("#cases-h")) === "Your reviews", `specialist's heading: ${await text("#cases-h")}`);
  const list = await rows("#cases-body");
  check(list.length === 1 && list[0][0] === arg.publish, `the specialist's worklist: ${JSON.stringify(list)}`);
  await screenshot("reviews");
  await openCase(arg.publish);
  const editor = page.getByLabel("Opinion text");
  await editor.waitFor();
  check((await text("#first-text")) === "GBM, resection advised", `the first opinion shown: ${await text("#first-text")}`);
  await forPeople("case page (specialist)");
  await labelled("opinion editor");
  check((await text("#opinion-meta")).startsWith("No opinion has been written yet"), `before: ${await text("#opinion-meta")}`);
  await editor.fill(opinionText);
  await page.locator("#opinion-preview-box summary").click();
  check((await page.locator("#opinion-preview").textContent()) === opinionText, "the preview is not the text written");
  await page.getByRole("button", { name: "Save draft" }).click();
  await statusSays("Draft saved.");
  await until("the draft saved", async () => (await text("#opinion-meta")).includes("not published yet"), () => text("#opinion-meta"));
  await keepsEveryWord(editor);
  await page.getByLabel("Signed PDF (optional)").setInputFiles(arg.pdf);
  await page.getByRole("button", { name: "Upload PDF" }).click();
  await statusSays("PDF uploaded.");
  await until("the PDF attached", async () => (await text("#opinion-meta")).includes("PDF attached"), () => text("#opinion-meta"));
  await screenshot("opinion-draft");
  let asked = "";
  page.once("dialog", (d) => { asked = d.message(); d.accept(); });
  await page.getByRole("button", { name: "Publish", exact: true }).click();
  await statusSays("The opinion is published.");
  check(asked.startsWith("Publish the opinion?"), `the confirmation asked: ${asked}`);
  await until("the case published", async () => (await facts()).State === "opinion published", async () => JSON.stringify(await facts()));
  check(!(await page.locator("#opinion-form").isVisible()), "the editor is still offered after publication");
  check((await page.locator("#opinion-read").textContent()) === opinionText, "the published text shown is not the one written");
  const moves = await page.locator("#timeline li").allTextContents();
  check(moves.some((m) => m.includes("opinion drafted → opinion published by " + specialist.username)), `timeline: ${moves.join(" | ")}`);
  await screenshot("opinion-published");
  log("specialist: worklist of one, opinion written, PDF uploaded, published");

  // after publication: the opinion stays; an addendum is added beside it, asked first
  await page.getByLabel("Add to the published opinion").fill(addendumText);
  let question = "";
  page.once("dialog", (d) => { question = d.message(); d.accept(); });
  await page.getByRole("button", { name: "Add the addendum" }).click();
  await statusSays("The addendum is added beside the opinion.");
  check(question.startsWith("Add this to the published opinion?"), `asked: ${question}`);
  check((await text("#addenda h4")).startsWith("Addendum of ") && (await text("#addenda h4")).endsWith(`CET, by ${specialist.username}`),
    `the addendum's heading: ${await text("#addenda h4")}`);
  check((await page.locator("#opinion-read").textContent()) === opinionText, "the opinion changed with the addendum");
  await screenshotBoth("opinion-addendum");
  log("specialist: an addendum after publication, the opinion unchanged");
  await signOut();
}

// The patient's own questionnaire (a glioma case opened without answers), in their words:
// the date by a date picker, "I don't know" where a choice may not be known; an answer
// out of range refused beside it (focus there), then the answers are saved; the seizures
// box left untouched is no answer.
async function answerQuestionnaire() {
  await page.getByRole("link", { name: "Cases", exact: true }).click();
  await openCase(arg.questionnaire);
  const qf = page.locator("#questionnaire-form");
  await qf.waitFor();
  await labelled("the patient's questionnaire");
  await qf.getByLabel("What would you like the specialist to answer?").fill("Should I have the second operation?");
  const when = qf.getByLabel("When was the tumour diagnosed?", { exact: true });
  check((await when.getAttribute("type")) === "date", "the date is not asked with a date picker");
  await when.fill("2025-11-03");
  const grade = qf.getByLabel("WHO grade, if known");
  check((await grade.locator("option").first().textContent()) === "I don't know", "no \"I don't know\" to choose");
  await qf.getByLabel("IDH status").selectOption({ label: "unknown" });
  await qf.getByLabel("surgery", { exact: true }).check();
  await qf.getByLabel("chemotherapy", { exact: true }).check();
  const karnofsky = qf.getByLabel("Karnofsky performance status");
  await karnofsky.fill("190");
  await qf.getByRole("button", { name: "Save the answers" }).click();
  await statusSays("Karnofsky performance status: out of range.");
  check(await focused(karnofsky), "the refused answer does not have the focus");
  check((await text(`#${await karnofsky.getAttribute("id")}-error`)) === "Karnofsky performance status: out of range.",
    "the refusal is not said beside the answer");
  await screenshotBoth("patient-answer-refused");
  await karnofsky.fill("90");
  await karnofsky.press("Enter");
  await statusSays("Answers saved.");
  await screenshot("patient-answers-saved");
  log(`patient: answered ${arg.questionnaire}'s questionnaire (a date picker, "I don't know", an answer refused beside it first)`);
}

async function asPatient() {
  await signIn(patient, "patient");
  await until("the patient's cases", async () => (await rows("#cases-body")).length >= 1);
  check((await text("#cases-h")) === "Your cases", `patient's heading: ${await text("#cases-h")}`);
  await openCase(arg.publish);
  check((await text("#standing-text")).startsWith("Your second opinion is ready"), `where it stands: ${await text("#standing-text")}`);
  check(!(await page.locator("#requests-ae").isVisible()), "a patient is shown the AE title column");
  check((await text("#standing-team")) === `Your care team: ${navigator.username} (your navigator) and ${specialist.username} (your specialist).`,
    `the care team: ${await text("#standing-team")}`);
  await until("the addendum shown", async () => (await text("#addenda .opinion-text")) === addendumText,
    () => text("#addenda .opinion-text"));
  check(!(await page.locator("#addendum-form").isVisible()), "a patient is offered to add to the opinion");
  await until("the opinion shown", async () => (await page.locator("#opinion-read").textContent()) === opinionText,
    async () => page.locator("#opinion-read").textContent());
  const [download] = await Promise.all([page.waitForEvent("download"),
    page.getByRole("button", { name: "Download the PDF" }).click()]);
  check(readFileSync(await download.path()).equals(readFileSync(arg.pdf)), "the PDF downloaded is not the one uploaded");
  await labelled("case page (patient)");
  const form = page.locator("#outbound-form");
  await form.getByLabel("Doctor's name").fill("Dr. Hausarzt");
  await form.getByLabel("Fax number").fill("+49 30 1234567");
  let asked = "";
  page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
  await form.getByRole("button", { name: "Send the opinion" }).click();
  await statusSays("Nothing was sent.");
  check(asked.includes("at fax number +49 30 1234567? Check every digit"), `the number read back: ${asked}`);
  page.once("dialog", (d) => d.accept());
  await form.getByLabel("Doctor's name").fill("Dr. Hausarzt");
  await form.getByLabel("Fax number").fill("+49 30 1234567");
  await form.getByRole("button", { name: "Send the opinion" }).click();
  await statusSays("The opinion will be sent to Dr. Hausarzt at +49 30 1234567");
  await until("the request listed", async () => /^To Dr\. Hausarzt at \+49 30 1234567, asked .* CET: waiting to be sent\.$/
    .test(await text("#outbound-sent li")), () => text("#outbound-sent li"));
  await screenshot("patient-sent");
  log("patient: reads the published opinion, sends it to their doctor");
  await answerQuestionnaire();
  await cancelRequest();
  await signOut();
}

// The patient's own case: no state machine offered; "Cancel my request" asks why and then
// asks again, and declining the question cancels nothing.
async function cancelRequest() {
  // answerQuestionnaire leaves the page on this case
  check((await text("#case-h")) === `Case ${arg.questionnaire}`, `not on the case: ${await text("#case-h")}`);
  check(!(await page.locator("#move").isVisible()), "a patient is offered to move the case");
  check(await page.locator("#cancel").isVisible(), "no way to cancel the request");
  await page.locator("#cancel-details summary").click();
  await page.getByLabel("Why do you cancel it? Your navigator reads this.").fill("I was treated at home meanwhile");
  let asked = "";
  page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
  await page.getByRole("button", { name: "Cancel my request" }).click();
  await statusSays("Your request goes on; nothing was cancelled.");
  check(asked.startsWith("Cancel your request"), `the question asked: ${asked}`);
  let r = await apiCall("GET", "/cases/" + arg.questionnaire, await sessionToken());
  check(r.body.state === "registered", `declining cancelled anyway: ${r.body.state}`);
  await screenshotBoth("patient-cancel-asked");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Cancel my request" }).click();
  await statusSays("Your request is cancelled.");
  r = await apiCall("GET", "/cases/" + arg.questionnaire, await sessionToken());
  check(r.body.state === "withdrawn", `the request is ${r.body.state}`);
  check(!(await page.locator("#cancel").isVisible()), "cancelling is still offered");
  const moves = await page.locator("#timeline li").allTextContents();
  check(moves.some((m) => m.includes(`→ withdrawn by ${patient.username} (patient): I was treated at home meanwhile`)),
    `timeline: ${moves.join(" | ")}`);
  await screenshot("patient-cancelled");
  log("patient: cancelling asks why and then asks again; declining cancels nothing; accepting withdraws");
}

let linkUrl = "";

// The one-time link opened without a session: two different passwords refused, then the
// new one set; sign-in offered with the username filled in; the link works only once.
async function choosePassword() {
  const chosen = "a passphrase of my own choosing";
  await page.goto(linkUrl);
  await until("the password page", async () => page.locator("#choose").isVisible());
  const form = page.locator("#password-form");
  await form.getByLabel("New password").fill(chosen);
  await form.getByLabel("The same password again").fill(chosen + "!");
  await form.getByRole("button", { name: "Set my password" }).click();
  await until("the mismatch said", async () => (await text("#password-msg")).includes("differ"), () => text("#password-msg"));
  await labelled("password page");
  await screenshotBoth("password-choose");
  await form.getByLabel("The same password again").fill(chosen);
  await form.getByRole("button", { name: "Set my password" }).click();
  await statusSays(`Your password is set, ${added.username}`);
  check(await login().isVisible(), "no sign-in after the password was set");
  check((await page.locator("#username").inputValue()) === added.username, "the username is not filled in");
  check(!page.url().includes("#password/"), `the spent link stays in the address bar: ${page.url()}`);
  let r = await apiCall("POST", "/sessions", null, { username: added.username, password: chosen });
  check(r.status === 201, `the chosen password does not sign in: ${r.status}`);
  await screenshot("password-set");
  await page.goto(linkUrl);
  await until("the password page again", async () => page.locator("#choose").isVisible());
  await page.locator("#new-password").fill("another passphrase here");
  await page.locator("#new-password-again").fill("another passphrase here");
  await page.locator("#new-password-again").press("Enter");
  await until("the spent link refused", async () => (await text("#password-msg")).includes("does not work"),
    () => text("#password-msg"));
  r = await apiCall("POST", "/sessions", null, { username: added.username, password: chosen });
  check(r.status === 201, `a spent link changed the password: ${r.status}`);
  log(`${added.username}: chose a password through the one-time link, which then no longer works`);
}

async function asAdministrator() {
  await signIn(administrator, "administrator");
  // no case list for them (403): the accounts are their page
  await until("the accounts", async () => (await page.locator("#accounts").isVisible()) && (await rows("#accounts-body")).length >= 4,
    async () => JSON.stringify(await rows("#accounts-body")));
  check((await page.getByRole("link", { name: "Cases" }).count()) === 0, "an administrator is offered the cases");
  let acc = await accountRows();
  for (const [u, role] of [[navigator.username, "navigator"], [specialist.username, "specialist"], [patient.username, "patient"],
    [administrator.username, "administrator"]])
    check(acc[u] && acc[u][2] === role && acc[u][6] === "active", `${u} in the accounts: ${JSON.stringify(acc[u])}`);
  check(acc[specialist.username][3] === "neuro-oncology", `the specialist's subspecialties: ${acc[specialist.username][3]}`);
  check(acc[administrator.username][7] === "(you)", "an administrator is offered to disable themselves");
  const own = await page.evaluate(() => sessionStorage.getItem("token"));
  const list = await apiCall("GET", "/cases", own);
  check(list.status === 403, `an administrator's case list: ${list.status}`);
  await labelled("accounts");
  await screenshot("accounts");

  // add an account
  const form = page.locator("#account-form");
  await form.getByLabel("Username").fill(added.username);
  await form.getByLabel("Name (optional)").fill("Nora Navigator");
  await form.getByLabel("Role").selectOption("specialist");
  check(await form.getByLabel("Subspecialties").isVisible(), "no subspecialties for a specialist");
  await form.getByLabel("Role").selectOption("navigator");
  check(!(await form.getByLabel("Subspecialties").isVisible()), "subspecialties offered for a navigator");
  await form.getByLabel("Password").fill(added.password);
  await labelled("add an account");
  await form.getByRole("button", { name: "Add the account" }).click();
  await statusSays(`Account ${added.username} (navigator) added.`);
  await until(`${added.username} listed`, async () => (await accountRows())[added.username] !== undefined);
  acc = await accountRows();
  check(acc[added.username][1] === "Nora Navigator" && acc[added.username][2] === "navigator" && acc[added.username][6] === "active",
    `the account added: ${JSON.stringify(acc[added.username])}`);
  let r = await apiCall("POST", "/sessions", null, added);
  check(r.status === 201, `the new account cannot sign in: ${r.status} ${JSON.stringify(r.body)}`);
  const session = r.body.token;
  log(`administrator: added ${added.username}, who signs in`);

  // disable it: sign-in refused, its session ended
  let question = "";
  page.once("dialog", (d) => { question = d.message(); d.accept(); });
  await page.getByRole("button", { name: `Disable ${added.username}` }).click();
  await statusSays(`${added.username} is disabled`);
  check(question.startsWith(`Disable ${added.username}? They are signed out at once`), `the question asked: ${question}`);
  await until(`${added.username} disabled`, async () => (await accountRows())[added.username][6] === "disabled");
  check(await focused(page.getByRole("button", { name: `Enable ${added.username}` })), "the focus did not stay on the account's button");
  r = await apiCall("POST", "/sessions", null, added);
  check(r.status === 401, `a disabled account signs in: ${r.status} ${JSON.stringify(r.body)}`);
  r = await apiCall("GET", "/me", session);
  check(r.status === 401, `a disabled account's session still works: ${r.status}`);
  await screenshot("account-disabled");
  log(`administrator: disabled ${added.username}: sign-in refused (401), its session ended`);

  // enable it again; reset its password
  await page.getByRole("button", { name: `Enable ${added.username}` }).press("Enter");
  await statusSays(`${added.username} is enabled again.`);
  await until(`${added.username} active`, async () => (await accountRows())[added.username][6] === "active");
  r = await apiCall("POST", "/sessions", null, added);
  check(r.status === 201, `the enabled account cannot sign in: ${r.status}`);
  const reset = page.locator("#reset-form"), fresh = added.password + " renewed";
  await reset.getByLabel("Account").selectOption(added.username);
  await reset.getByLabel("New password").fill(fresh);
  await reset.getByRole("button", { name: "Reset password" }).click();
  await statusSays(`The password of ${added.username} is reset`);
  r = await apiCall("POST", "/sessions", null, { username: added.username, password: fresh });
  check(r.status === 201, `the new password does not sign in: ${r.status}`);
  r = await apiCall("POST", "/sessions", null, added);
  check(r.status === 401, `the old password still signs in: ${r.status}`);
  await screenshot("account-enabled");
  log(`administrator: enabled ${added.username} again (signs in), reset the password (only the new one works)`);

  // or a one-time link, for the person to choose it (used after signing out)
  await page.getByRole("button", { name: "Make a one-time link" }).click();
  await until("the link shown", async () => (await page.locator("#reset-link-url").inputValue()).includes("#password/"));
  linkUrl = await page.locator("#reset-link-url").inputValue();
  check(linkUrl.startsWith(base + "#password/"), `the link is ${linkUrl}`);
  check((await text("#reset-link-until")).includes("It works once, until"), "the link's expiry is not said");
  await screenshotBoth("password-link-made");

  // break the glass: the navigator's new case, read only
  const glass = page.locator("#glass-form");
  await glass.getByLabel("Case").fill(opened.toLowerCase().replace(/-/g, "")); // as people may type it
  await glass.getByLabel("Reason").fill("complaint 2026-114 about the intake");
  await glass.getByLabel("Reason").press("Enter");
  await until(`case ${opened} shown`, async () => (await text("#case-h")) === `Case ${opened}`, () => text("#case-h"));
  await statusSays(`You may read case ${opened} for 60 minutes`);
  check(await page.locator("#case-glass").isVisible(), "no break-glass notice on the case page");
  check((await facts()).Patient === "Ms Quinn R Quebec", "the case's facts are not shown");
  const controls = await page.locator("#case input, #case select, #case textarea, #case button").evaluateAll((els) =>
    els.filter((e) => e.offsetParent !== null).map((e) => e.id || e.outerHTML.slice(0, 60)));
  check(controls.length === 0, `an administrator is offered to change the case: ${controls.join(", ")}`);
  const answers = await page.locator("#questionnaire-view").evaluate((dl) => {
    const o = {};
    for (const dt of dl.querySelectorAll(":scope > dt")) o[dt.textContent] = dt.nextElementSibling.textContent;
    return o;
  });
  check(answers["Karnofsky performance status"] === "80" && answers["Treatments so far"] === "surgery" &&
    answers["Seizures since the diagnosis?"] === "yes" && answers["When was the tumour diagnosed?"] === "not answered",
  `the answers read: ${JSON.stringify(answers)}`);
  await labelled("case page (administrator, break-glass)");
  await screenshot("break-glass-case");
  log(`administrator: broke the glass for ${opened}: read only, its answers shown`);

  // back on the accounts: the grant in force, then the case's audit trail
  await page.getByRole("link", { name: "Accounts" }).click();
  await until("the grant listed", async () => (await rows("#grants-body")).some((g) => g[0] === opened),
    async () => JSON.stringify(await rows("#grants-body")));
  const grant = (await rows("#grants-body")).find((g) => g[0] === opened);
  check(grant[1] === administrator.username && grant[2] === "complaint 2026-114 about the intake" && / CET$/.test(grant[4]),
    `the grant: ${JSON.stringify(grant)}`);
  acc = await accountRows();
  check(/ CET$/.test(acc[navigator.username][5]), `the navigator's last sign-in: ${acc[navigator.username][5]}`);
  const trail = page.locator("#trail-form");
  await trail.getByLabel("Of").selectOption("case");
  await trail.getByLabel("Token or username").fill(opened);
  await trail.getByRole("button", { name: "Show the trail" }).click();
  await until("the trail shown", async () => (await rows("#trail-body")).length > 1, async () => JSON.stringify(await rows("#trail-body")));
  const lines = await rows("#trail-body");
  check(lines.some((l) => l[1] === `${administrator.username} (administrator)` && l[2].startsWith("case.break_glass")) &&
    lines.every((l) => l[4] === opened), `the trail: ${JSON.stringify(lines.slice(0, 4))}`);
  await forPeople("accounts with grants and a trail");
  await screenshotBoth("audit-trail");
  log(`administrator: the grant in force listed, last sign-ins shown, ${opened}'s audit trail read`);
  await signOut();
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  // root in the tests: no sandbox; the machine's network is closed, so nothing reaches out
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
let rc = 0;
try {
  // times are shown in the browser's zone, named: Berlin's, so that UTC is not taken for it
  const context = await browser.newContext({ viewport: DESKTOP, timezoneId: "Europe/Berlin", locale: "en-GB" });
  page = await context.newPage();
  page.setDefaultTimeout(10000);
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  await asNavigator();
  await asSpecialist();
  await asPatient();
  await asAdministrator();
  await choosePassword();
  // a refusal the console handles (e.g. 404 no_opinion) is logged by the browser as a
  // failed resource; script errors and CSP violations are not allowed
  const bad = problems.filter((p) => !/Failed to load resource/.test(p));
  check(bad.length === 0, bad.join("\n"));
  log(`${shot} screenshots in ${arg.artifacts}`);
} catch (e) {
  rc = 1;
  console.error("FAIL: " + e.message);
  if (page) {
    console.error(`at ${page.url()}, status: ${await status().catch(() => "?")}`);
    await page.screenshot({ path: join(arg.artifacts, "browser-failure.png"), fullPage: true }).catch(() => {});
  }
} finally {
  await browser.close();
}
process.exit(rc);
