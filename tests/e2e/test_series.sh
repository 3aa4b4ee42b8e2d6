# A generated CT series of 100 instances on one association; the same study again (one
# copy, receipt count 2); the same UIDs with other content (new versions, flagged);
# ls, export and verify through the CLI.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start

gen_series "$work/ct" 100 --rows 256 --cols 256 --seed series1
storescu_to "$work/ct" >"$work/s1.log" 2>&1 || die "storescu failed: $(tail -3 "$work/s1.log")"
[ "$(sql 'SELECT count(*) FROM instances')" = 100 ] || die "expected 100 instances"
[ "$(sql 'SELECT count(*) FROM blobs')" = 100 ] || die "expected 100 blobs"
[ "$(sql 'SELECT count(DISTINCT series_id) FROM instances')" = 1 ] || die "expected one series"
[ "$(sql 'SELECT count(*) FROM blobs WHERE pack IS NOT NULL')" = 100 ] || die "expected 100 packed blobs"
packs_tight
bytes=$(find "$work/blobs/packs" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

cp_cli ls >"$work/ls.txt"
grep -q '^patient CP-TEST-1 issuer=CASEPORT-TEST ' "$work/ls.txt" || die "ls lacks the patient"
[ "$(grep -c '^      instance ' "$work/ls.txt")" = 100 ] || die "ls does not list 100 instances"
grep -q '^100 instance(s)$' "$work/ls.txt" || die "ls summary wrong"

# Export: the data set equals the file's (storescu sends this synthetic Explicit LE file
# unchanged; test_corpus checks the general case against storescp).
for n in 00001 00050 00100; do
  uid=$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" uid "$work/ct/CT$n.dcm")
  cp_cli export --sop "$uid" --out "$work/x.dcm" 2>/dev/null || die "export CT$n failed"
  same_data "$work/x.dcm" "$work/ct/CT$n.dcm" || die "CT$n differs"
done

# The same study again: no new rows or blobs, every receipt count 2.
storescu_to "$work/ct" >"$work/s2.log" 2>&1 || die "second send failed"
[ "$(sql 'SELECT count(*) FROM instances')" = 100 ] || die "repeat created rows"
[ "$(sql 'SELECT count(*) FROM blobs')" = 100 ] || die "repeat created blobs"
[ "$(sql 'SELECT min(receipt_count)::text || max(receipt_count)::text FROM instances')" = 22 ] || die "receipt counts not 2"
packs_tight
[ "$(find "$work/blobs/packs" -type f -printf '%s\n' | awk '{s += $1} END {print s}')" = "$bytes" ] ||
  die "the repeat left blob bytes in the packs"

# Same UIDs, one pixel changed in 10 of them: new versions, flagged, originals kept.
gen_series "$work/ct2" 10 --rows 256 --cols 256 --seed series1 --modify-pixel
storescu_to "$work/ct2" >"$work/s3.log" 2>&1 || die "third send failed"
[ "$(sql 'SELECT count(*) FROM instances')" = 110 ] || die "expected 110 rows"
[ "$(sql 'SELECT count(*) FROM instances WHERE version = 2 AND flagged')" = 10 ] || die "expected 10 flagged v2"
uid=$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" uid "$work/ct2/CT00001.dcm")
cp_cli export --sop "$uid" --out "$work/v2.dcm" 2>/dev/null
cp_cli export --sop "$uid" --version 1 --out "$work/v1.dcm" 2>/dev/null
same_data "$work/v2.dcm" "$work/ct2/CT00001.dcm" || die "v2 differs"
same_data "$work/v1.dcm" "$work/ct/CT00001.dcm" || die "v1 differs"
grep -q FLAGGED <(cp_cli ls) || die "ls does not show the flag"

out=$(cp_cli verify) || die "verify failed: $out"
grep -q 'verified 110 blob(s): 110 ok, 0 failed' <<<"$out" || die "verify said: $out"
e2e_stop
