# The CLI's contract: --help, exit code 2 with a one-line reason for a wrong call or a bad
# configuration (file:line), tampered blobs found by verify and refused by export.
. "$SRC/tests/e2e/lib.sh"
e2e_setup

grep -q 'usage: caseport' <<<"$("$CASEPORT" --help)" || die "--help"
for c in serve migrate keygen ls export verify passwd grant jobs config-sample; do
  grep -q "usage: caseport $c" <<<"$("$CASEPORT" "$c" --help)" || die "$c --help"
done
expect2() {
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ $rc -eq 2 ] || die "expected exit 2 from '$*', got $rc ($out)"
  [ "$(wc -l <<<"$out")" -eq 1 ] || die "expected one line from '$*', got: $out"
  echo "$out"
}
expect2 "$CASEPORT" frobnicate >/dev/null
expect2 "$CASEPORT" ls --bogus >/dev/null
grep -q -- '--sop is required' <<<"$(expect2 "$CASEPORT" export --config "$work/caseport.conf" --out x.dcm)" || die "export without --sop"
grep -q -- '--state is queued' <<<"$(expect2 "$CASEPORT" jobs --config "$work/caseport.conf" --state lost)" || die "jobs with a bad state"

# --config's default is $CASEPORT_CONFIG, as tools/run reads it: the bad file named there
# is the one read, and --config still wins over it
printf '[nonsense]\n' >"$work/env.conf"
CASEPORT_CONFIG="$work/env.conf" expect2 "$CASEPORT" migrate | grep -q "$work/env.conf:1: unknown section" ||
  die "CASEPORT_CONFIG is not read"
CASEPORT_CONFIG="$work/env.conf" "$CASEPORT" migrate --config "$work/caseport.conf" >/dev/null ||
  die "--config does not win over CASEPORT_CONFIG"

bad="$work/bad.conf"
printf '[dicom]\nport = 11112\nwhat = 1\n' >"$bad"
expect2 "$CASEPORT" serve --config "$bad" | grep -q "$bad:3: unknown key \"what\" in \[dicom\]" || die "unknown key message"
printf '[dicom]\nport = 99999\n' >"$bad"
expect2 "$CASEPORT" serve --config "$bad" | grep -q "$bad:2: port must be between 0 and 65535" || die "range message"
printf '[nonsense]\n' >"$bad"
expect2 "$CASEPORT" migrate --config "$bad" | grep -q "$bad:1: unknown section \[nonsense\]" || die "unknown section message"
printf '[dicom]\nae_title = WAY_TOO_LONG_AE_TITLE\n' >"$bad"
expect2 "$CASEPORT" serve --config "$bad" | grep -q "$bad:2: ae_title" || die "ae title message"

# keygen never overwrites a key.
rc=0; cp_cli keygen >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || die "keygen overwrote or misreported an existing key ($rc)"
[ "$(stat -c %a "$work/keys/kek")" = 600 ] || die "key file mode is not 0600"

# Store a few instances, then tamper with one blob.
e2e_start
gen_series "$work/ct" 5 --rows 64 --cols 64 --seed cli
storescu_to "$work/ct" >/dev/null 2>&1 || die "store failed"
e2e_stop
cp_cli verify | grep -q 'verified 5 blob(s): 5 ok, 0 failed' || die "verify before tampering"
uid=$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" uid "$work/ct/CT00003.dcm")
hex=$(sql "SELECT encode(blob_address, 'hex') FROM instances WHERE sop_instance_uid = '$uid'")
IFS='|' read -r pack off len <<<"$(sql "SELECT pack, pack_offset, pack_length FROM blobs WHERE address = decode('$hex', 'hex')")"
blob="$work/blobs/packs/$pack.pack"
[ -f "$blob" ] || die "pack file not where docs/blob-format.md says: $blob"
# one bit in the middle of this blob's bytes in its pack
/usr/bin/python3 -c "
import sys; p, at = sys.argv[1], int(sys.argv[2])
with open(p, 'r+b') as f:
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 1]))" "$blob" "$((off + len / 2))"
rc=0; out=$(cp_cli verify) || rc=$?
[ $rc -eq 1 ] || die "verify did not fail on a tampered blob"
grep -q "FAILED $hex" <<<"$out" || die "verify did not name the tampered blob: $out"
grep -q '5 blob(s): 4 ok, 1 failed' <<<"$out" || die "verify summary: $out"
rc=0; cp_cli export --sop "$uid" --out "$work/t.dcm" 2>"$work/err.txt" || rc=$?
[ $rc -eq 1 ] || die "export of a tampered blob did not fail"
[ ! -e "$work/t.dcm" ] && [ ! -e "$work/t.dcm.part" ] || die "export left a file behind"
grep -q 'authentication' "$work/err.txt" || grep -q 'segment' "$work/err.txt" || die "export error unclear: $(cat "$work/err.txt")"

# The same instance sent again repairs it: the index is pointed at the new, sound copy.
e2e_start
storescu_to "$work/ct/CT00003.dcm" >"$work/resend.log" 2>&1 || die "resend failed: $(tail -n 3 "$work/resend.log"; grep -i store_failed "$work/serve.log")"
e2e_stop
cp_cli verify | grep -q 'verified 5 blob(s): 5 ok, 0 failed' || die "the resend did not repair the blob"
[ "$(sql "SELECT receipt_count FROM instances WHERE sop_instance_uid = '$uid'")" = 2 ] ||
  die "the resend was not counted as a receipt"
cp_cli export --sop "$uid" --out "$work/t.dcm" 2>/dev/null || die "export after the repair failed"
same_data "$work/t.dcm" "$work/ct/CT00003.dcm" || die "the repaired instance differs"
