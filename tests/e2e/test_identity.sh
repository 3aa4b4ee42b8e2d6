# Patient identity (rule 7, docs/cases.md): two senders' MRN100 are two patients; the same
# sender's MRN100 with another name is an identity conflict that waits in triage, and
# nobody's images take another's name; studies without a Patient ID are each their own
# patient. Files are pydicom's, changed with DCMTK's dcmodify as a PACS administrator would.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
cat >>"$work/caseport.conf" <<'CONF'
[peer st mary]
ae_title = HOSPA
issuer = ST-MARY-MRN
CONF
printf '[http]\nbind = 127.0.0.1\nport = 0\n' >>"$work/caseport.conf"
e2e_start
http_port=$(sed -n 's/.*event=http_listening .* port=\([0-9]*\).*/\1/p' "$work/serve.log" | tail -n 1)
d=/usr/lib/python3/dist-packages/pydicom/data/test_files
uid() { /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$1"; }
tag() { cp_cli tag --sop "$1" --path "$2" --normalized 2>/dev/null; }
# absent SOP PATH: the normalized copy has no such attribute (tag exits 1 for that; an
# empty output alone would also be a missing copy or a failed read)
absent() {
  local rc=0 out
  out=$(cp_cli tag --sop "$1" --path "$2" --normalized 2>&1) || rc=$?
  [ "$rc" = 1 ] && grep -q "is not there" <<<"$out"
}
new_study() {  # OUT SOURCE NAME SEX: a new study of MRN100
  cp "$d/$2" "$work/$1"
  dcmodify -nb -gst -gse -gin -i PatientID=MRN100 -i "PatientName=$3" -i "PatientSex=$4" \
    -i PatientBirthDate= "$work/$1" >/dev/null || die "dcmodify $1"
}
new_study a.dcm CT_small.dcm Smith^Alice F
new_study b.dcm MR_small.dcm Jones^Bob M
new_study c.dcm MR_small.dcm "JONES^BOB^^" M
storescu -aet HOSPA -aec CASEPORT 127.0.0.1 "$port" "$work/a.dcm" >/dev/null 2>&1 || die "sending a"
storescu -aet HOSPB -aec CASEPORT 127.0.0.1 "$port" "$work/b.dcm" >/dev/null 2>&1 || die "sending b"
storescu -aet HOSPA -aec CASEPORT 127.0.0.1 "$port" "$work/c.dcm" >/dev/null 2>&1 || die "sending c"
for f in reportsi.dcm test-SR.dcm ExplVR_BigEnd.dcm; do
  storescu -aet HOSPB -aec CASEPORT 127.0.0.1 "$port" "$d/$f" >/dev/null 2>&1 || die "sending $f"
done
sql_eventually "SELECT count(*) FROM jobs WHERE state <> 'done'" 0 ||
  die "jobs not done: $(sql "SELECT kind, state, last_error FROM jobs WHERE state <> 'done'")"

[ "$(sql "SELECT string_agg(patient_id || '/' || issuer || '/' || issuer_from, ' ' ORDER BY id)
          FROM patients WHERE patient_id = 'MRN100' AND conflict_with IS NULL")" = \
  "MRN100/ST-MARY-MRN/sender MRN100/HOSPB/sender" ] ||
  die "MRN100 is not qualified by each sender: $(sql "SELECT patient_id, issuer FROM patients")"
[ "$(tag "$(uid "$work/b.dcm")" 0010,0010)" = "Jones^Bob" ] ||
  die "Bob's image (MRN100 from HOSPB) took another name: $(tag "$(uid "$work/b.dcm")" 0010,0010)"
[ "$(tag "$(uid "$work/a.dcm")" 0010,0010)" = "Smith^Alice" ] || die "Alice's name changed"
absent "$(uid "$work/a.dcm")" 0010,0021 ||
  die "the qualifying issuer was written into the data set"
log "MRN100 from two senders: two patients, each image keeps its own name"

[ "$(tag "$(uid "$work/c.dcm")" 0010,0010)" = "JONES^BOB^^" ] ||
  die "the conflicting study was coerced: $(tag "$(uid "$work/c.dcm")" 0010,0010)"
absent "$(uid "$work/c.dcm")" 0400,0561 ||
  die "the conflicting study has coerced values"
[ "$(sql "SELECT count(*) FROM patients WHERE conflict_with IS NOT NULL")" = 1 ] ||
  die "HOSPA's MRN100 with Bob's name is not a record in conflict"
cp_cli triage list >"$work/triage" || die "triage list failed"
grep -q "identity conflict: its patient ID and issuer already name a patient" "$work/triage" ||
  die "the identity conflict is not in triage: $(cat "$work/triage")"
! grep -qi "alice\|bob\|MRN100" "$work/triage" || die "the triage list shows patient identity"
# the navigator sees both patients side by side
printf 'correct horse battery staple\n' | cp_cli user add --username nina --role navigator >/dev/null ||
  die "adding a navigator failed"
# Bob's own case: the conflicting study's candidate, his name written as people write it
bob=$(cp_cli case new --patient-name "Jones^Bob" --condition c --subspecialty neuro-oncology --first-opinion f \
  --navigator nina) || die "opening Bob's case failed"
/usr/bin/python3 - "$http_port" "$bob" <<'PY' || die "the triage item does not show both patients"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("POST", "/api/v1/sessions", json.dumps({"username": "nina", "password": "correct horse battery staple"}))
tok = json.loads(c.getresponse().read())["token"]
c.request("GET", "/api/v1/triage", headers={"Authorization": "Bearer " + tok})
items = [i for i in json.loads(c.getresponse().read())["items"] if i["reason"].startswith("identity conflict")]
got = [(i["patient"]["name"], i["patient"]["patient_id"], i["patient"]["issuer"], i["conflicts_with"]["name"])
       for i in items]
want = [("JONES^BOB^^", "MRN100", "ST-MARY-MRN", "Smith^Alice")]
if got != want:
    sys.exit("got %r, want %r" % (got, want))
i = items[0]
# the sender by its [peer] name; the study's facts; a patient record, not a case; the case
# whose patient has the name (no birth date on either side to compare) as its candidate
got = (i["sender"], i["calling_ae"], i["modalities"], i["series_count"], "case" in i["conflicts_with"],
       [(k["token"], k["kind"], k["why"]) for k in i["candidate_cases"]])
want = ("st mary", "HOSPA", "MR", 1, False,
        [(sys.argv[2], "patient", "the case's patient has its name (no birth date to compare)")])
if got != want:
    sys.exit("got %r, want %r" % (got, want))
PY
log "HOSPA's MRN100 under Bob's name: an identity conflict in triage beside Alice, nothing coerced"

# an instance of Alice's study that names someone else: marked, never coerced (ls --all:
# its pixels are Alice's image's, so plain ls names it on that line)
cp "$work/a.dcm" "$work/a2.dcm"
dcmodify -nb -gin -i "PatientName=Other^Olga" "$work/a2.dcm" >/dev/null || die "dcmodify a2"
storescu -aet HOSPA -aec CASEPORT 127.0.0.1 "$port" "$work/a2.dcm" >/dev/null 2>&1 || die "sending a2"
sql_eventually "SELECT count(*) FROM jobs WHERE state <> 'done'" 0 || die "jobs not done"
[ "$(tag "$(uid "$work/a2.dcm")" 0010,0010)" = "Other^Olga" ] ||
  die "an instance naming another patient was coerced to $(tag "$(uid "$work/a2.dcm")" 0010,0010)"
cp_cli ls --all | grep "instance $(uid "$work/a2.dcm") " | grep -q 'IDENTITY-DIFFERS="its patient name or birth date differs' ||
  die "caseport ls does not mark the instance: $(cp_cli ls --all | grep "instance $(uid "$work/a2.dcm") ")"
log "an instance of Alice's study naming someone else: marked in ls, its own name kept"

n=$(sql "SELECT count(DISTINCT s.patient_id) FROM studies s JOIN patients p ON p.id = s.patient_id
         WHERE p.patient_id = ''")
[ "$n" = 3 ] || die "studies without a Patient ID share records: $n records for 3 studies"
[ "$(tag "$(uid "$d/reportsi.dcm")" 0010,0010)" = "Last Name^First Name" ] ||
  die "reportsi.dcm normalized to $(tag "$(uid "$d/reportsi.dcm")" 0010,0010)"
[ "$(tag "$(uid "$d/test-SR.dcm")" 0010,0010)" = "Test^S R" ] ||
  die "test-SR.dcm normalized to $(tag "$(uid "$d/test-SR.dcm")" 0010,0010)"
[ "$(tag "$(uid "$d/ExplVR_BigEnd.dcm")" 0010,0010)" = "Anonymized" ] ||
  die "ExplVR_BigEnd.dcm normalized to $(tag "$(uid "$d/ExplVR_BigEnd.dcm")" 0010,0010)"
log "each study without a Patient ID is its own patient, with its own name"
e2e_stop
