# The web console in a real browser: headless Chromium (Debian's /usr/bin/chromium)
# driven by playwright-core (tests/browser, installed by tools/setup). A navigator sees
# the overdue case first, names and dates written for people; in triage, an identity
# conflict (City Clinic's MRN-7 under two names) side by side, attached with one click to
# the case its patient is, and a study without candidates attached by its case token; a
# case's records with their study facts and its records status, which they mark complete;
# opens a glioma case with the patient's name in parts and its questionnaire's answers (an
# out-of-range one refused first), and asks a provider for its records with the name
# prefilled in parts (a middle name and prefix kept); a specialist writes,
# uploads the PDF of and publishes an opinion; the patient reads it and sends it to their
# doctor, and answers their own case's questionnaire; the navigator assigns a specialist
# (sid, who has no case yet) and puts a case on hold; an administrator adds, disables,
# enables an account and resets its password or makes a one-time link with which its owner
# chooses one, and breaks the glass to read one case.
# Every page shown at both widths passes axe-core's WCAG 2.1 A and AA rules. What the
# pages showed is then checked against the API and the database.
# Screenshots of every step stay in $ARTIFACTS (default build-artifacts/screenshots in the
# source tree), also when the test passes.
. "$SRC/tests/e2e/lib.sh"
browser_dir="$SRC/tests/browser"
shots=${ARTIFACTS:-$SRC/build-artifacts/screenshots}
# missing tools fail the test (tools/setup installs them), they do not skip it
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing: run tools/setup (Debian package chromium)"
command -v node >/dev/null || die "node is missing: Node.js 20 or later is needed"
[ -f "$browser_dir/node_modules/playwright-core/package.json" ] ||
  die "tests/browser/node_modules is missing: run tools/setup (npm ci --prefix tests/browser)"
mkdir -p "$shots"
rm -f "$shots"/browser-*.png

e2e_setup
printf '[http]\nbind = 127.0.0.1\nport = 0\nconsole_dir = %s/web\n' "$SRC" >>"$work/caseport.conf"
# the senders by the names the configuration gives them
printf '[peer st mary]\nae_title = STMARY\n[peer city clinic]\nae_title = CITYPACS\n' >>"$work/caseport.conf"
e2e_start
http_port=$(sed -n 's/.*event=http_listening .* port=\([0-9]*\).*/\1/p' "$work/serve.log" | tail -n 1)
[ -n "$http_port" ] || die "no HTTP port in the log"
pw() { printf 'correct horse battery %s' "$1"; }
for u in pat:patient nina:navigator sam:specialist sid:specialist ada:administrator; do
  extra=()
  [ "${u#*:}" = specialist ] && extra=(--subspecialties neuro-oncology --name "Sid Second")
  [ "${u%%:*}" = sam ] && extra=(--subspecialties neuro-oncology)
  { pw "${u%%:*}"; echo; } | cp_cli user add --username "${u%%:*}" --role "${u#*:}" "${extra[@]}" >/dev/null ||
    die "adding $u failed"
done
newcase() { cp_cli case new --patient-name "$1" --condition glioblastoma --subspecialty neuro-oncology \
  --first-opinion "GBM, resection advised" --navigator nina "${@:2}"; }
# A: pat's case, records complete, sam reviews it; B: the triaged study goes there, and it
# has asked St Mary for records, which sends two studies; O: opened last, its records
# overdue (collecting since 6 days, 5 allowed), so only its urgency can put it first. J:
# asked City Clinic for MRN-7, whose first study (Bob Jones) arrives; D: Jane Doe, born
# 12 Mar 1970, whose study City Clinic sends under Bob's MRN-7 (an identity conflict)
A=$(newcase "Alpha^Ann" --patient pat) && B=$(newcase "Bravo^Bob" --birth-date 19551105 --sex M) &&
  J=$(newcase "Jones^Bob" --birth-date 19640220 --sex M) && D=$(newcase "Doe^Jane" --birth-date 19700312 --sex F) &&
  O=$(newcase "Oscar^Olga") || die "opening cases failed"
cp_cli case assign --token "$A" --specialist sam >/dev/null || die "assigning sam failed"
for s in collecting_records records_complete; do
  cp_cli case move --token "$A" --to "$s" --as nina --reason "set-up" >/dev/null || die "moving $A to $s failed"
done
cp_cli case move --token "$O" --to collecting_records --as nina --reason "requests sent" >/dev/null ||
  die "moving $O failed"
cp_cli request add --token "$B" --as nina --provider "St Mary" --ae-title STMARY --patient-id MRN-B \
  --issuer HOSP >/dev/null || die "asking St Mary for $B's records failed"
cp_cli request add --token "$J" --as nina --provider "City Clinic" --ae-title CITYPACS --patient-id MRN-7 \
  --issuer CITY >/dev/null || die "asking City Clinic for $J's records failed"
sql "UPDATE cases SET registered_at = registered_at - interval '7 days',
            collecting_at = collecting_at - interval '6 days' WHERE token = '$O';
     UPDATE case_events SET at = at - interval '7 days'
      WHERE case_id = (SELECT id FROM cases WHERE token = '$O') AND to_state = 'registered';
     UPDATE case_events SET at = at - interval '6 days'
      WHERE case_id = (SELECT id FROM cases WHERE token = '$O') AND to_state = 'collecting_records'"
# Q: pat's glioma case, opened over the API (the CLI has no condition code) without
# answers; the API has no field for the patient's account, so the database gets it
Q=$(/usr/bin/python3 - "$http_port" "$(pw nina)" <<'PY'
import http.client, json, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
def call(method, path, token=None, body=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    conn.request(method, "/api/v1" + path, body=json.dumps(body), headers=h)
    r = conn.getresponse()
    return r.status, r.read()
s, b = call("POST", "/sessions", body={"username": "nina", "password": sys.argv[2]})
s, b = call("POST", "/cases", json.loads(b)["token"], {"patient_name": "Alpha^Ann", "condition": "glioma, recurrent",
            "condition_code": "glioma", "first_opinion": "recurrence; a second resection considered"})
if s != 201:
    sys.exit(f"POST /cases: {s} {b!r}")
print(json.loads(b)["token"])
PY
) || die "opening the questionnaire case over the API failed"
sql "UPDATE cases SET patient_account_id = (SELECT id FROM accounts WHERE username = 'pat') WHERE token = '$Q'"
[ "$(sql "SELECT subspecialty || '|' || condition_code FROM cases WHERE token = '$Q'")" = "neuro-oncology|glioma" ] ||
  die "the case opened with a condition code has not its subspecialty"
first=$(cp_cli case list | head -n 1)
case "$first" in
  "$O"$'\t'*records=overdue*) ;;
  *) die "the back-dated case is not listed first, overdue: $(cp_cli case list)" ;;
esac

send() {  # DIR CALLING: to caseport's own AE title
  storescu -aet "$2" -aec CASEPORT +sd 127.0.0.1 "$port" "$1" >/dev/null 2>&1 || die "sending $1 from $2 failed"
}
study_uid() { /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).StudyInstanceUID)' \
  "$(ls "$1"/* | head -n 1)"; }
# a study no case token or request matches: the triage queue
gen_series "$work/t" 1 --rows 16 --cols 16 --seed browser --patient NOBODY --patient-name "Kilo^Kim" \
  --birth-date 19800101
send "$work/t" ANYPACS
# St Mary's two studies of Bob Bravo (MRN-B, HOSP): attached to B by its request
gen_series "$work/b1" 2 --rows 16 --cols 16 --seed bravo1 --patient MRN-B --issuer HOSP --patient-name "Bravo^Bob" \
  --birth-date 19551105
gen_series "$work/b2" 1 --rows 16 --cols 16 --seed bravo2 --patient MRN-B --issuer HOSP --patient-name "Bravo^Bob" \
  --birth-date 19551105
dcmodify -nb -m "StudyDescription=CT CHEST W CONTRAST" -m StudyDate=20251103 "$work"/b2/* >/dev/null ||
  die "dcmodify b2"
send "$work/b1" STMARY
send "$work/b2" STMARY
# City Clinic's MRN-7: Bob Jones first (attached to J), then Jane Doe under the same MRN
gen_series "$work/j1" 1 --rows 16 --cols 16 --seed jones --patient MRN-7 --issuer CITY --patient-name "Jones^Bob" \
  --birth-date 19640220
gen_series "$work/j2" 1 --rows 16 --cols 16 --seed doe --patient MRN-7 --issuer CITY --patient-name "Doe^Jane" \
  --birth-date 19700312
dcmodify -nb -m PatientSex=M "$work"/j1/* >/dev/null && dcmodify -nb -m PatientSex=F "$work"/j2/* >/dev/null ||
  die "dcmodify j1, j2"
send "$work/j1" CITYPACS
send "$work/j2" CITYPACS
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'route' AND state = 'done'" 5 ||
  die "route jobs not done: $(sql "SELECT kind, state, last_error FROM jobs WHERE kind = 'route'")"
[ "$(sql "SELECT string_agg(c.token || ':' || r.matched_by, ' ' ORDER BY r.id) FROM case_records r
          JOIN cases c ON c.id = r.case_id")" = "$B:request $B:request $J:request" ] ||
  die "St Mary's and City Clinic's first studies are not attached by their requests: $(sql "SELECT * FROM case_records")"
[ "$(sql "SELECT string_agg(p.name || '|' || o.name, ' ') FROM triage t JOIN studies s ON s.id = t.study_id
          JOIN patients p ON p.id = s.patient_id JOIN patients o ON o.id = t.other_patient
          WHERE t.state = 'open'")" = "Doe^Jane|Jones^Bob" ] ||
  die "Jane Doe's study under MRN-7 is not an identity conflict beside Bob Jones: $(sql "SELECT reason FROM triage")"
study=$(study_uid "$work/t")
conflict=$(study_uid "$work/j2")
bravo=$(study_uid "$work/b1")

# the opinion's PDF, as small as a PDF gets
printf '%%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%%%EOF\n' \
  >"$work/opinion.pdf"

log "browser: navigator, specialist, patient and administrator in headless Chromium; screenshots in $shots"
start=$(date +%s)
NAVIGATOR="nina:$(pw nina)" SPECIALIST="sam:$(pw sam)" PATIENT="pat:$(pw pat)" ADMINISTRATOR="ada:$(pw ada)" \
  NEW_ACCOUNT="nora:$(pw nora)" node "$browser_dir/console.mjs" --port "$http_port" --artifacts "$shots" \
  --overdue "$O" --attach "$B" --publish "$A" --questionnaire "$Q" --study "$study" --pdf "$work/opinion.pdf" \
  --conflict "$conflict" --candidate "$D" --bravo "$bravo" ||
  die "the console in the browser failed (above; screenshots in $shots)"
log "browser: $(($(date +%s) - start)) s"

# what the pages showed is what the server holds
[ "$(sql "SELECT s.username FROM cases c JOIN accounts s ON s.id = c.specialist_id WHERE c.token = '$O'")" = sid ] ||
  die "the specialist assigned in the browser: $(sql "SELECT specialist_id FROM cases WHERE token = '$O'")"
[ "$(sql "SELECT paused_at IS NULL AND paused_seconds >= 0 FROM cases WHERE token = '$O'")" = t ] ||
  die "the hold was not lifted: $(sql "SELECT paused_at, paused_seconds FROM cases WHERE token = '$O'")"
[ "$(sql "SELECT count(*) FROM triage WHERE state = 'open'")" = 0 ] || die "the triage item is still open"
[ "$(sql "SELECT c.token || '|' || r.matched_by || '|' || r.detail FROM case_records r
          JOIN cases c ON c.id = r.case_id JOIN studies s ON s.id = r.study_id
          WHERE s.study_uid = '$study'")" = "$B|navigator|referral letter names the patient" ] ||
  die "the study is not attached to $B by the navigator: $(sql "SELECT case_id, matched_by, detail FROM case_records")"
[ "$(sql "SELECT state FROM cases WHERE token = '$A'")" = opinion_published ] || die "$A is not published"
[ "$(sql "SELECT recipient || '|' || fax FROM outbound_requests r JOIN cases c ON c.id = r.case_id
          WHERE c.token = '$A'")" = "Dr. Hausarzt|+49 30 1234567" ] ||
  die "the patient's request to send the opinion is not kept: $(sql "SELECT * FROM outbound_requests")"
# the identity conflict attached to Jane Doe's case with the navigator's reason, her case
# read as a candidate (audited); the records of B marked complete by two moves
[ "$(sql "SELECT c.token || '|' || r.matched_by || '|' || r.detail FROM case_records r
          JOIN cases c ON c.id = r.case_id JOIN studies s ON s.id = r.study_id
          WHERE s.study_uid = '$conflict'")" = "$D|navigator|same name and birth date as the case; City Clinic reused MRN-7" ] ||
  die "the conflicting study is not attached to $D by the navigator: $(sql "SELECT case_id, matched_by, detail FROM case_records")"
[ "$(sql "SELECT count(*) > 0 FROM audit a JOIN cases c ON c.id = a.case_id JOIN accounts u ON u.id = a.actor_id
          WHERE a.action = 'triage.candidate' AND c.token = '$D' AND u.username = 'nina'")" = t ] ||
  die "showing $D as a candidate is not audited as a read of it: $(sql "SELECT action, case_id FROM audit WHERE action LIKE 'triage%'")"
[ "$(sql "SELECT c.state || '|' || string_agg(e.to_state, ',' ORDER BY e.id) FROM cases c
          JOIN case_events e ON e.case_id = c.id WHERE c.token = '$B' GROUP BY c.state")" = \
  "records_complete|registered,collecting_records,records_complete" ] ||
  die "$B's records are not marked complete: $(sql "SELECT to_state, reason FROM case_events e JOIN cases c ON c.id = e.case_id
                                                  WHERE c.token = '$B'")"
# the case the navigator opened in the browser, with the answers saved on its page; the
# name typed in parts, kept whole (its middle name and prefix) there and in the request
opened=$(sql "SELECT token FROM cases WHERE patient_name = 'Quebec^Quinn^R^Ms'")
[ "$(printf '%s\n' "$opened" | wc -w)" = 1 ] ||
  die "not one case for Quebec^Quinn^R^Ms (a refused answer or name opened one?): $(sql "SELECT token, patient_name FROM cases")"
[ "$(sql "SELECT q.provider || '|' || q.patient_name || '|' || q.birth_date || '|' || q.patient_id || '|' || q.ae_title
          FROM records_requests q JOIN cases c ON c.id = q.case_id WHERE c.token = '$opened'")" = \
  "Hope Clinic|Quebec^Quinn^R^Ms|19610402||" ] ||
  die "the records request made in the browser: $(sql "SELECT * FROM records_requests")"
[ "$(sql "SELECT birth_date || '|' || sex || '|' || condition || '|' || condition_code || '|' || subspecialty || '|' ||
          (questionnaire = '{\"question\": \"Is radiotherapy alone enough?\", \"who_grade\": 3, \"idh\": \"mutant\",
            \"treatments\": [\"surgery\"], \"karnofsky\": 80, \"seizures\": true}'::jsonb)
          FROM cases WHERE token = '$opened'")" = "19610402|F|glioma, left frontal|glioma|neuro-oncology|true" ] ||
  die "the case opened in the browser: $(sql "SELECT birth_date, sex, condition, condition_code, subspecialty, questionnaire
                                          FROM cases WHERE token = '$opened'")"
[ "$(sql "SELECT role || '|' || display_name || '|' || disabled FROM accounts WHERE username = 'nora'")" = \
  "navigator|Nora Navigator|false" ] || die "the account added: $(sql "SELECT * FROM accounts WHERE username = 'nora'")"
# nora chose her password through the link (once: the second try was refused)
[ "$(sql "SELECT string_agg(a.outcome, ',' ORDER BY seq) FROM audit a WHERE a.action = 'account.password_link'")" = \
  "allowed,denied" ] || die "the link's use is not audited: $(sql "SELECT seq, actor_id, action, outcome FROM audit WHERE action LIKE 'account.password_link%'")"
[ "$(sql "SELECT string_agg(action, ',' ORDER BY seq) FROM audit a JOIN accounts u ON u.id = a.actor_id
          WHERE u.username = 'ada' AND a.object LIKE 'account %' AND a.outcome = 'allowed'")" = \
  "account.create,account.disable,account.enable,account.password,account.password_link_made" ] ||
  die "the administrator's account changes are not audited: $(sql "SELECT seq, object, action FROM audit WHERE role = 'administrator'")"
[ "$(sql "SELECT b.reason FROM break_glass b JOIN cases c ON c.id = b.case_id JOIN accounts u ON u.id = b.account_id
          WHERE c.token = '$opened' AND u.username = 'ada'")" = "complaint 2026-114 about the intake" ] ||
  die "no break-glass grant for ada on $opened: $(sql "SELECT * FROM break_glass")"
/usr/bin/python3 - "$http_port" "$A" "$work/opinion.pdf" "$(pw sam)" "$(pw pat)" "$Q" "$opened" "$(pw ada)" <<'PY' || die "the API disagrees with the console (above)"
import http.client, json, sys
port, tok, pdf, pw_sam, pw_pat = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
q_tok, opened, pw_ada = sys.argv[6], sys.argv[7], sys.argv[8]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
def call(method, path, token=None, body=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    conn.request(method, "/api/v1" + path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse()
    return r.status, r.getheader("Content-Type", ""), r.read()
want = "Agree with the diagnosis of glioblastoma.\nPropose the trial at the second centre; MRI in 8 weeks."
fails = []
for user, password in [("sam", pw_sam), ("pat", pw_pat)]:
    s, _, b = call("POST", "/sessions", body={"username": user, "password": password})
    session = json.loads(b)["token"]
    s, _, b = call("GET", f"/cases/{tok}/opinion", session)
    o = json.loads(b) if s == 200 else {}
    if (s, o.get("text"), o.get("pdf"), o.get("written_by")) != (200, want, True, "sam"):
        fails.append(f"GET opinion as {user}: {s} {b[:300]!r}")
    s, t, b = call("GET", f"/cases/{tok}/opinion/pdf", session)
    if (s, t.split(";")[0], b) != (200, "application/pdf", open(pdf, "rb").read()):
        fails.append(f"GET opinion/pdf as {user}: {s} {t} {len(b)} bytes")
    if user == "pat":  # the answers the patient gave in the browser
        s, _, b = call("GET", f"/cases/{q_tok}/questionnaire", session)
        q = json.loads(b) if s == 200 else {}
        want_q = {"question": "Should I have the second operation?", "diagnosis_date": "2025-11-03", "idh": "unknown",
                  "treatments": ["surgery", "chemotherapy"], "karnofsky": 90}
        if s != 200 or q.get("answers") != want_q or not isinstance(q.get("schema"), dict):
            fails.append(f"GET questionnaire as pat: {s} {b[:400]!r}")
# the administrator reads the case of the grant, and no other; writes stay refused
s, _, b = call("POST", "/sessions", body={"username": "ada", "password": pw_ada})
ada = json.loads(b)["token"]
for method, path, body, want_status in [("GET", f"/cases/{opened}", None, 200), ("GET", f"/cases/{q_tok}", None, 403),
                                         ("PUT", f"/cases/{opened}/questionnaire", {"question": "x"}, 403)]:
    s, _, b = call(method, path, ada, body)
    if s != want_status:
        fails.append(f"{method} {path} as ada: {s}, not {want_status}: {b[:200]!r}")
if fails:
    print("\n".join(fails))
    sys.exit(1)
PY
ls "$shots"/browser-*.png >/dev/null 2>&1 || die "no screenshots in $shots"
log "the API and the database agree: attached by the navigator (the conflict to its candidate), B's records complete,"
log "published, the text and PDF, the request to send it, the case opened with its name in parts and its answers, its"
log "records request, the patient's answers, the account added and changed, the break-glass grant"
cp_cli audit verify >/dev/null || die "the audit chain does not verify"
e2e_stop
