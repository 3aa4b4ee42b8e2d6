// tests/browser/console.mjs -- the web console in headless Chromium (Debian's
// /usr/bin/chromium), driven by playwright-core, as a navigator, a specialist and a patient
// would use it. Run by tests/e2e/test_browser.sh, which starts caseport and makes the data:
//
//   node console.mjs --port HTTP_PORT --artifacts DIR --overdue TOKEN --attach TOKEN
//                    --publish TOKEN --study UID --pdf FILE
//   env NAVIGATOR, SPECIALIST, PATIENT: "username:password" each
//
// The navigator sees the overdue case first, attaches the triaged study to the --attach
// case and sees it among its records (matched by the navigator, with the reason) beside
// its records requests; the specialist's worklist is their one case, where they write the
// opinion, upload its PDF and publish it; the patient reads it and sends it to their
// doctor. Screenshots of every step go to --artifacts (browser-NN-what.png); a failure
// leaves browser-failure.png. Exit 0: every check held; 1: the first that did not is named.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: arg } = parseArgs({
  options: {
    port: { type: "string" }, artifacts: { type: "string" }, overdue: { type: "string" },
    attach: { type: "string" }, publish: { type: "string" }, study: { type: "string" },
    pdf: { type: "string" },
  },
});
for (const k of ["port", "artifacts", "overdue", "attach", "publish", "study", "pdf"])
  if (!arg[k]) { console.error(`console.mjs: --${k} is required`); process.exit(2); }
const person = (name) => {
  const v = process.env[name] || "";
  const i = v.indexOf(":");
  if (i < 1) { console.error(`console.mjs: ${name} must be username:password`); process.exit(2); }
  return { username: v.slice(0, i), password: v.slice(i + 1) };
};
const navigator = person("NAVIGATOR"), specialist = person("SPECIALIST"), patient = person("PATIENT");
const base = `http://127.0.0.1:${arg.port}/`;
const opinionText = "Agree with the diagnosis of glioblastoma.\nPropose the trial at the second centre; MRI in 8 weeks.";
mkdirSync(arg.artifacts, { recursive: true });

let shot = 0;
let page;
const log = (msg) => console.log("# " + msg);
async function screenshot(what) {
  shot++;
  const file = join(arg.artifacts, `browser-${String(shot).padStart(2, "0")}-${what}.png`);
  await page.screenshot({ path: file, fullPage: true });
}
function check(ok, what) { if (!ok) throw new Error(what); }
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

async function signIn(who, role) {
  await page.goto(base);
  await page.getByLabel("Username").waitFor();
  await labelled("sign-in");
  await page.getByLabel("Username").fill(who.username);
  await page.getByLabel("Password").fill(who.password);
  await page.getByLabel("Password").press("Enter"); // the keyboard alone signs in
  await until(`${who.username} signed in`, async () => (await text("#who")) === `${who.username} (${role})`, () => text("#who"));
}
async function signOut() {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Username").waitFor();
}
async function openCase(token) {
  await page.getByRole("link", { name: token, exact: true }).click();
  await until(`case ${token} shown`, async () => (await text("#case-h")) === `Case ${token}`, () => text("#case-h"));
}

async function asNavigator() {
  await signIn(navigator, "navigator");
  await screenshot("signed-in");
  // the worklist: overdue first (the overdue case was opened last)
  await until("the case list", async () => (await rows("#cases-body")).length >= 3, async () => JSON.stringify(await rows("#cases-body")));
  check((await text("#cases-h")) === "Cases, most urgent first", `navigator's heading: ${await text("#cases-h")}`);
  const list = await rows("#cases-body");
  check(list[0][0] === arg.overdue, `first row is ${list[0][0]}, not the overdue ${arg.overdue}: ${JSON.stringify(list)}`);
  check(list[0][3].startsWith("overdue"), `the first row's records clock: ${list[0][3]}`);
  check((await page.locator("#cases-body tr").first().locator("td").nth(3).getAttribute("class")) === "overdue",
    "the overdue clock is not marked as such");
  check(list.slice(1).every((r) => !r[3].startsWith("overdue") && !r[4].startsWith("overdue")), `another overdue row: ${JSON.stringify(list)}`);
  await screenshot("worklist-overdue-first");
  log(`navigator: ${list.length} cases, ${arg.overdue} (overdue) first`);

  // the triage queue: attach the study to the case
  await page.getByRole("link", { name: "Triage" }).click();
  const item = page.locator("#triage-list li", { hasText: arg.study });
  await item.waitFor();
  await labelled("triage");
  await screenshot("triage");
  await item.getByLabel("Attach to case").fill(arg.attach.toLowerCase()); // as people may type it
  await item.getByLabel("Reason").fill("referral letter names the patient");
  await item.getByLabel("Reason").press("Enter"); // the form's default button: Attach
  await statusSays("attached");
  await until("the triage item gone", async () => (await item.count()) === 0);
  await screenshot("triage-attached");
  log("navigator: the triaged study attached; the item left the queue");

  // the case: the study among its records, its records requests
  await page.getByRole("link", { name: "Cases", exact: true }).click();
  await openCase(arg.attach);
  await until("the study among the records", async () => (await rows("#records-body")).some((r) => r[0] === arg.study),
    async () => JSON.stringify(await rows("#records-body")));
  const rec = (await rows("#records-body")).find((r) => r[0] === arg.study);
  check(rec[2] === "navigator" && rec[3] === "1.00" && rec[4] === "referral letter names the patient",
    `the attached study's row: ${JSON.stringify(rec)}`);
  const reqs = await rows("#requests-body");
  check(reqs.length === 1 && reqs[0][0] === "St Mary" && reqs[0][1] === "STMARY" && reqs[0][3] === "MRN-B (HOSP)" && reqs[0][4] === "open" && reqs[0][5] === "0",
    `the records requests: ${JSON.stringify(reqs)}`);
  check(!(await page.locator("#opinion-form").isVisible()), "a navigator is offered the opinion editor");
  await labelled("case page (navigator)");
  await screenshot("case-records");
  log("navigator: the case shows the study (matched by navigator) and its records request");
  await signOut();
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
  await labelled("opinion editor");
  check((await text("#opinion-meta")).startsWith("No opinion has been written yet"), `before: ${await text("#opinion-meta")}`);
  await editor.fill(opinionText);
  await page.getByRole("button", { name: "Save draft" }).click();
  await statusSays("Draft saved.");
  await until("the draft saved", async () => (await text("#opinion-meta")).includes("not published yet"), () => text("#opinion-meta"));
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
  await until("the case published", async () => (await facts()).State === "opinion_published", async () => JSON.stringify(await facts()));
  check(!(await page.locator("#opinion-form").isVisible()), "the editor is still offered after publication");
  check((await page.locator("#opinion-read").textContent()) === opinionText, "the published text shown is not the one written");
  const moves = await page.locator("#timeline li").allTextContents();
  check(moves.some((m) => m.includes("opinion_drafted → opinion_published by " + specialist.username)), `timeline: ${moves.join(" | ")}`);
  await screenshot("opinion-published");
  log("specialist: worklist of one, opinion written, PDF uploaded, published");
  await signOut();
}

async function asPatient() {
  await signIn(patient, "patient");
  await until("the patient's cases", async () => (await rows("#cases-body")).length >= 1);
  check((await text("#cases-h")) === "Your cases", `patient's heading: ${await text("#cases-h")}`);
  await openCase(arg.publish);
  await until("the opinion shown", async () => (await page.locator("#opinion-read").textContent()) === opinionText,
    async () => page.locator("#opinion-read").textContent());
  const [download] = await Promise.all([page.waitForEvent("download"),
    page.getByRole("button", { name: "Download the PDF" }).click()]);
  check(readFileSync(await download.path()).equals(readFileSync(arg.pdf)), "the PDF downloaded is not the one uploaded");
  await labelled("case page (patient)");
  const form = page.locator("#outbound-form");
  await form.getByLabel("Doctor's name").fill("Dr. Hausarzt");
  await form.getByLabel("Fax number").fill("+49 30 1234567");
  await form.getByRole("button", { name: "Send the opinion" }).click();
  await statusSays("The opinion will be sent to Dr. Hausarzt");
  await screenshot("patient-sent");
  log("patient: reads the published opinion, sends it to their doctor");
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
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(10000);
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  await asNavigator();
  await asSpecialist();
  await asPatient();
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
