# The case workflow from the command line against a real PostgreSQL: accounts, a case
# opened with its token, moves made in the name of the case's own people and refused for
# anyone else (with an audit row), waiting on the patient, the worklist by urgency, and
# `caseport audit verify` finding an audit row edited behind the database's back.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
cp_cli migrate >/dev/null 2>&1 || die "migrate failed"
pw() { printf '%s\n' "correct horse battery $1"; }
pw nina | cp_cli user add --username nina --role navigator --name "Nina N." >/dev/null ||
  die "adding a navigator failed"
pw otto | cp_cli user add --username otto --role navigator >/dev/null || die "adding otto failed"
pw sam | cp_cli user add --username sam --role specialist --subspecialties neuro-oncology \
  >/dev/null || die "adding a specialist failed"
pw x | cp_cli user add --username nina --role navigator >/dev/null 2>&1 && die "a taken username was accepted"
printf 'short\n' | cp_cli user add --username shorty --role patient >/dev/null 2>&1 &&
  die "a 5-character password was accepted"
pw y | cp_cli user add --username sam2 --role specialist --subspecialties astrology \
  >/dev/null 2>&1 && die "an unknown subspecialty was accepted"
[ "$(sql "SELECT password_hash LIKE '\$argon2id\$%' FROM accounts WHERE username = 'nina'")" = t ] ||
  die "the password is not kept as an argon2id hash"

cp_cli case new --patient-name "Doe^Jane" --condition "glioblastoma" --subspecialty nope \
  --first-opinion "x" >/dev/null 2>&1 && die "a case with an unknown subspecialty was opened"
cp_cli case new --patient-name "Doe^Jane" --condition "glioblastoma" \
  --subspecialty neuro-oncology >/dev/null 2>&1 && die "a case without a first opinion was opened"
pw pat | cp_cli user add --username pat --role patient >/dev/null || die "adding a patient failed"
tok=$(cp_cli case new --patient pat --patient-name "Doe^Jane" --birth-date 19600101 --sex F \
  --condition "glioblastoma, second opinion on treatment" --subspecialty neuro-oncology \
  --first-opinion "GBM, IDH wild-type; resected; radiotherapy proposed" --navigator nina) ||
  die "opening a case failed"
[[ $tok =~ ^CP-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z][0-9A-HJKMNP-TV-Z*~\$=U]$ ]] ||
  die "not a case token: $tok"
tok2=$(cp_cli case new --patient-name "Roe^Rick" --condition "relapsing MS" \
  --subspecialty multiple-sclerosis --first-opinion "RRMS" --navigator nina) || die "second case"
# by condition code, as the API takes it: the condition's subspecialty
tok3=$(cp_cli case new --patient-name "Poe^Ed" --condition "dementia, second opinion" \
  --condition-code dementia --first-opinion "probable AD" --navigator nina) || die "a case by condition code"
[ "$(sql "SELECT condition_code || '|' || subspecialty FROM cases WHERE token = '$tok3'")" = \
  "dementia|$(sql "SELECT subspecialty FROM conditions WHERE code = 'dementia'")" ] ||
  die "the condition code did not give the case its condition and subspecialty"
out=$(cp_cli case new --patient-name "Poe^Ed" --condition x --condition-code nonsense --first-opinion y 2>&1) &&
  die "an unknown condition code was accepted"
grep -q "no condition nonsense" <<<"$out" || die "an unknown condition code: $out"
log "accounts and cases opened: $tok, $tok2, $tok3 (by condition code)"

# typed in lower case without hyphens, the token still finds the case
lower=$(printf '%s' "${tok#CP-}" | tr -d '-' | tr 'A-Z' 'a-z')
cp_cli case show --token "$lower" | grep -qxF "case $tok" || die "the token as typed did not find the case"
cp_cli case show --token CP-0000-01 >/dev/null 2>&1 && die "a mistyped token was accepted"

move() { cp_cli case move --token "$tok" "$@"; }
move --to collecting_records --as otto --reason "not his" >/dev/null 2>&1 &&
  die "a navigator not assigned to the case moved it"
move --to records_complete --as nina >/dev/null 2>&1 && die "a move the state machine has not was made"
move --to collecting_records --as nina --reason "requests sent" >/dev/null || die "the navigator's move failed"
cp_cli case pause --token "$tok" --as nina --reason "patient abroad" >/dev/null || die "pause failed"
cp_cli case list | awk -F"\t" -v t="$tok" '$1 == t' | grep -q "waiting on the patient" || die "the list does not show the pause"
cp_cli case resume --token "$tok" --as nina --reason back >/dev/null || die "resume failed"
move --to records_complete --as nina >/dev/null || die "records_complete failed"
move --to under_review --as sam >/dev/null 2>&1 && die "an unassigned specialist moved the case"
cp_cli case assign --token "$tok" --specialist sam >/dev/null || die "assigning the specialist failed"
pw sue | cp_cli user add --username sue --role specialist --subspecialties neuro-oncology,dementia \
  >/dev/null || die "adding a second specialist failed"
[ "$(cp_cli case suggest --token "$tok" | cut -f1,3,4 | tr '\t\n' ' ')" = "sue 0 open case(s) suggested sam 1 open case(s) " ] ||
  die "the least-loaded specialist is not suggested first: $(cp_cli case suggest --token "$tok")"
cp_cli case suggest --token "$tok2" >/dev/null 2>&1 && die "a specialist was suggested for a subspecialty nobody has"
move --to under_review --as sam >/dev/null || die "the specialist's move failed"
move --to opinion_published --as sam >/dev/null 2>&1 && die "the opinion was published without a draft"
move --to opinion_drafted --as sam >/dev/null 2>&1 && die "drafted without an opinion written"
printf 'Second opinion: agree with resection; propose a clinical trial.\n' >"$work/op.txt"
printf '%%PDF-1.4\n%%fake but starts like one\n' >"$work/op.pdf"
cp_cli opinion write --token "$tok" --as nina --text-file "$work/op.txt" >/dev/null 2>&1 &&
  die "a navigator wrote the opinion"
cp_cli opinion write --token "$tok" --as sam --text-file "$work/op.txt" --pdf "$work/op.txt" \
  >/dev/null 2>&1 && die "a text file was taken as the PDF"
cp_cli opinion write --token "$tok" --as sam --text-file "$work/op.txt" --pdf "$work/op.pdf" \
  >/dev/null 2>"$work/err" || die "writing the opinion failed: $(cat "$work/err")"
[ "$(sql "SELECT b.refcount FROM blobs b JOIN opinions o ON o.pdf_blob = b.address")" = 1 ] ||
  die "the opinion's PDF is not a referenced blob"
move --to opinion_drafted --as sam >/dev/null || die "drafting failed"
move --to opinion_published --as nina >/dev/null 2>&1 && die "a navigator published the opinion"
move --to opinion_published --as sam >/dev/null || die "publishing failed"
[ "$(sql "SELECT state FROM cases WHERE token = '$tok'")" = opinion_published ] || die "not published"
[ "$(sql "SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.token = '$tok'")" = 8 ] ||
  die "the timeline does not hold every move: $(sql "SELECT from_state, to_state FROM case_events")"
cp_cli opinion send --token "$tok" --as nina --to "Dr Primary" --fax +15550100 >/dev/null 2>&1 &&
  die "a navigator asked for the patient's opinion to be sent"
cp_cli opinion send --token "$tok" --as pat --to "Dr Primary" --fax +15550100 >/dev/null ||
  die "the patient's request to send the opinion failed"
[ "$(sql "SELECT recipient || ' ' || state FROM outbound_requests")" = "Dr Primary queued" ] ||
  die "the request to send the opinion is not recorded"
cp_cli verify >/dev/null 2>&1 || die "caseport verify fails with the opinion's PDF stored"
[ "$(sql "SELECT count(*) FROM audit WHERE outcome = 'denied'")" = 7 ] ||
  die "refusals are not all audited: $(sql "SELECT action, outcome FROM audit")"
cp_cli case show --token "$tok" | grep -q "records: met" || die "the records clock is not met: $(cp_cli case show --token "$tok")"
log "moves by the case's own people only, in the state machine's order; refusals audited"

# the worklist: the case collecting records is listed, the published one after it
cp_cli case move --token "$tok2" --to collecting_records --as nina >/dev/null || die "second case move"
[ "$(cp_cli case list | cut -f1 | head -n 1)" = "$tok2" ] || die "the list is not by urgency: $(cp_cli case list)"
sql "UPDATE cases SET collecting_at = now() - interval '6 days' WHERE token = '$tok2'" >/dev/null
cp_cli case list | awk -F"\t" -v t="$tok2" '$1 == t' | grep -q "records=overdue" || die "an overdue case is not shown so"

out=$(cp_cli audit verify) || die "a clean audit trail did not verify: $out"
log "$out"
"$pg_bin/psql" -X -Atq -c "SET session_replication_role = replica" \
  -c "UPDATE audit SET outcome = 'allowed' WHERE seq = (SELECT min(seq) FROM audit WHERE outcome = 'denied')" ||
  die "cannot tamper"
if out=$(cp_cli audit verify 2>&1); then die "an edited audit row was not found"; fi
grep -q "edited" <<<"$out" || die "the edit is not named: $out"
log "audit verify: $out"
