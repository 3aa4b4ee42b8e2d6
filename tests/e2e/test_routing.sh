# Intake routing: studies sent by DICOM land in their case by the case token (sent to the
# case's own AE title), by an open records request whose provider and patient match (MRN
# and issuer, or name and birth date), and otherwise in the triage queue with the reason
# and the candidates, where a navigator attaches or rejects them. The API's triage queue
# gives each item its candidate cases with why each is one.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
printf '[http]\nbind = 127.0.0.1\nport = 0\n' >>"$work/caseport.conf"
e2e_start
http_port=$(sed -n 's/.*event=http_listening .* port=\([0-9]*\).*/\1/p' "$work/serve.log" | tail -n 1)
printf 'correct horse battery staple\n' | cp_cli user add --username nina --role navigator >/dev/null ||
  die "adding a navigator failed"
newcase() { cp_cli case new --patient-name "$1" --condition "c" --subspecialty neuro-oncology \
  --first-opinion "first" --navigator nina; }
A=$(newcase "Alpha^Ann") && B=$(newcase "Bravo^Bob") && C=$(newcase "Roe^Rick") || die "opening cases failed"
req() { cp_cli request add --as nina --provider "${P:-St Mary}" "$@" >/dev/null || die "request add $*"; }
req --token "$B" --ae-title STMARY --patient-id MRN-B --issuer HOSP
req --token "$C" --patient-name "Roe^Rick" --birth-date 19700101
req --token "$A" --patient-name "Amb^Pat" --birth-date 19800202
req --token "$B" --patient-name "amb^pat" --birth-date 19800202
cp_cli request add --as otto --token "$A" --provider x --patient-id 1 >/dev/null 2>&1 &&
  die "a request by no navigator was accepted"

send() {  # DIR CALLING CALLED
  storescu -aet "$2" -aec "$3" +sd 127.0.0.1 "$port" "$1" >/dev/null 2>&1 || die "sending $1 to $3 failed"
}
gen_series "$work/a" 2 --rows 16 --cols 16 --seed ra --patient X1 --patient-name "ALPHA^ANN^^" &&
  send "$work/a" ANYPACS "$A"
# sent to a case's AE title, but another patient's: the token alone does not attach it
gen_series "$work/a2" 1 --rows 16 --cols 16 --seed ra2 --patient X2 --patient-name "Other^Olga" &&
  send "$work/a2" ANYPACS "$A"
gen_series "$work/b" 1 --rows 16 --cols 16 --seed rb --patient MRN-B --issuer HOSP && send "$work/b" STMARY CASEPORT
gen_series "$work/b2" 1 --rows 16 --cols 16 --seed rb2 --patient MRN-B --issuer HOSP && send "$work/b2" OTHERPACS CASEPORT
gen_series "$work/c" 1 --rows 16 --cols 16 --seed rc --patient ZZ --patient-name "ROE^RICK^^" --birth-date 19700101 &&
  send "$work/c" ANYPACS CASEPORT
gen_series "$work/d" 1 --rows 16 --cols 16 --seed rd --patient NOBODY && send "$work/d" ANYPACS CASEPORT
gen_series "$work/e" 1 --rows 16 --cols 16 --seed re --patient P9 --patient-name "Amb^Pat" --birth-date 19800202 &&
  send "$work/e" ANYPACS CASEPORT
gen_series "$work/f" 1 --rows 16 --cols 16 --seed rf --patient P10 && send "$work/f" ANYPACS CP-0000-00
storescu -aet ANYPACS -aec CP-0000-01 127.0.0.1 "$port" "$work/f" >/dev/null 2>&1 &&
  die "a called AE title with a wrong check symbol was accepted"
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'route' AND state = 'done'" 8 ||
  die "route jobs not done: $(sql "SELECT state, last_error FROM jobs WHERE kind = 'route'")"

by() {  # SEED -> case token|matched_by|confidence
  sql "SELECT c.token || '|' || r.matched_by || '|' || r.confidence FROM case_records r
       JOIN cases c ON c.id = r.case_id JOIN studies s ON s.id = r.study_id
       JOIN series e ON e.study_id = s.id JOIN instances i ON i.series_id = e.id
       WHERE s.accession = 'ACC$1' LIMIT 1"
}
[ "$(by ra)" = "$A|token|1" ] || die "sent to the case's AE title: $(by ra)"
[ "$(by rb)" = "$B|request|0.95" ] || die "MRN, issuer and provider AE: $(by rb)"
[ -z "$(by rb2)" ] || die "the MRN from another provider's AE title was attached: $(by rb2)"
[ "$(sql "SELECT p.name FROM patients p JOIN studies s ON s.patient_id = p.id JOIN case_records r ON r.study_id = s.id JOIN cases c ON c.id = r.case_id WHERE c.token = '$C'")" = "ROE^RICK^^" ] ||
  die "name and birth date (written differently) did not attach the study to $C"
[ "$(sql "SELECT confidence FROM case_records r JOIN cases c ON c.id = r.case_id WHERE c.token = '$C'")" = 0.8 ] ||
  die "a name match is not recorded with less confidence"
[ -z "$(by ra2)" ] || die "another patient's study sent to $A was attached: $(by ra2)"
[ "$(sql "SELECT count(*) FROM triage WHERE state = 'open'")" = 5 ] ||
  die "triage: $(sql "SELECT reason FROM triage")"
cp_cli triage list >"$work/triage"
grep -qF "2 cases have open requests that match; candidates $A,$B" "$work/triage" ||
  die "the ambiguous study does not name its candidates: $(cat "$work/triage")"
grep -q "which names no open case" "$work/triage" || die "the unknown case token is not the reason"
grep -qF "sent to $A but the patient differs; candidates $A" "$work/triage" ||
  die "the study of another patient sent to $A is not in triage with the reason: $(cat "$work/triage")"
grep -q "no case token, and no open records request matches" "$work/triage" || die "no reason for the unmatched"
! grep -qi "NOBODY\|SYNTHETIC\|Olga" "$work/triage" || die "the triage list shows patient identity"
log "token, MRN+issuer from the named provider, name+birth date; the rest in triage with reasons"

# the same queue over the API: each item's candidate cases, and why each is one
/usr/bin/python3 - "$http_port" "$A" "$B" <<'PY' || die "the triage queue's candidates (above)"
import http.client, json, sys
port, A, B = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/api/v1/sessions", json.dumps({"username": "nina", "password": "correct horse battery staple"}))
tok = json.loads(c.getresponse().read())["token"]
c.request("GET", "/api/v1/triage", headers={"Authorization": "Bearer " + tok})
items = {i["accession"]: i for i in json.loads(c.getresponse().read())["items"]}
def cands(acc):
    return [(k["token"], k["kind"], k["why"]) for k in items[acc]["candidate_cases"]]
want = {
    # two cases asked for Amb^Pat by name and birth date
    "ACCre": [(A, "request", "asked St Mary for its patient: the name and birth date match"),
              (B, "request", "asked St Mary for its patient: the name and birth date match")],
    # Olga's study sent to A's AE title
    "ACCra2": [(A, "sent_to", "it was sent to this case's AE title, but its patient differs from the case's")],
    # St Mary's MRN-B with its issuer, from another sender than the one B asked
    "ACCrb2": [(B, "request", "asked St Mary (AE title STMARY) for its MRN and issuer; it came from OTHERPACS")],
    "ACCrd": [],
}
fails = [f"{acc}: {cands(acc)}, want {w}" for acc, w in want.items() if cands(acc) != w]
o = items["ACCra2"].get("conflicts_with", {})
if (o.get("case"), o.get("name"), items["ACCra2"]["patient"]["name"]) != (A, "Alpha^Ann", "Other^Olga"):
    fails.append(f"the study sent to {A} beside the case's patient: {items['ACCra2']}")
if any("case_id" in k for i in items.values() for k in i["candidate_cases"]):
    fails.append("a candidate's row id is in the answer")
if fails:
    sys.exit("\n".join(fails))
PY
[ "$(sql "SELECT string_agg(c.token, ' ' ORDER BY c.token) FROM audit a JOIN cases c ON c.id = a.case_id
          WHERE a.action = 'triage.candidate'")" = "$(printf '%s\n' "$A" "$B" | sort | tr '\n' ' ' | sed 's/ $//')" ] ||
  die "the candidate cases shown are not audited as read: $(sql "SELECT case_id, action FROM audit WHERE action LIKE 'triage%'")"
log "the API's triage queue names each item's candidate cases and why; showing them is audited"

item=$(grep -F "candidates $A,$B" "$work/triage" | cut -f1)
cp_cli triage attach --item "$item" --token "$B" --as nina --reason "referral letter names Bravo" >/dev/null ||
  die "attaching a triage item failed"
cp_cli triage attach --item "$item" --token "$A" --as nina --reason again >/dev/null 2>&1 &&
  die "a decided item was decided again"
item=$(grep "names no open case" "$work/triage" | cut -f1)
cp_cli triage reject --item "$item" --as nina --reason "test pattern" >/dev/null || die "rejecting failed"
[ "$(sql "SELECT count(*) FROM triage WHERE state = 'open'")" = 3 ] || die "decisions not kept"
[ "$(sql "SELECT count(*) FROM audit WHERE action IN ('triage.attach', 'triage.reject')")" = 2 ] || die "decisions not audited"
cp_cli case show --token "$B" | grep -c "matched by" | grep -qx 2 || die "case show: $(cp_cli case show --token "$B")"
cp_cli case show --token "$B" | grep -q "matched by navigator (confidence 1.00): referral letter names Bravo" ||
  die "the navigator's attachment is not shown with its reason"
log "triage decisions kept, audited and shown on the case"

# normalization coerces attached studies to the case's patient (the case token as Patient
# ID, issued by CASEPORT); a study attached by triage is normalized again
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND state <> 'done'" 0 ||
  die "normalize jobs not done: $(sql "SELECT state, last_error FROM jobs WHERE kind = 'normalize' AND state <> 'done'")"
uid() { /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$(ls "$1"/* | head -n 1)"; }
tag() { cp_cli tag --sop "$1" --path "$2" --normalized 2>/dev/null; }
u=$(uid "$work/a")
[ "$(tag "$u" 0010,0020)|$(tag "$u" 0010,0021)|$(tag "$u" 0010,0010)" = "$A|CASEPORT|Alpha^Ann" ] ||
  die "the study sent to $A is not coerced to the case's patient: $(tag "$u" 0010,0020) $(tag "$u" 0010,0010)"
[ "$(tag "$u" '0400,0561[0].0400,0550[0].0010,0020')" = X1 ] || die "the sender's Patient ID is not kept"
u=$(uid "$work/e")
[ "$(tag "$u" 0010,0020)|$(tag "$u" 0010,0010)" = "$B|Bravo^Bob" ] ||
  die "the study attached by triage is not coerced to $B's patient: $(tag "$u" 0010,0020)"
u=$(uid "$work/d")
[ "$(tag "$u" 0010,0020)" = NOBODY ] || die "a study in triage took a case's identity"
log "normalized copies carry the case's patient; the sender's values in Original Attributes Sequence"
e2e_stop
