# Hostile input: each bad connection alone is dropped with the protocol's proper reaction
# (A-ABORT, a failure status, a timeout close), nothing half-received is stored, and the
# server keeps serving (echoscu and a real store succeed afterwards).
. "$SRC/tests/e2e/lib.sh"
e2e_setup "max_pdu = 16K"
e2e_start
peer() { /usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" "$1"; }

for sc in garbage oversized-rq oversized-pdata malformed-rq unexpected-pdu rejected; do
  out=$(peer $sc) || die "$sc: $out"
  log "$sc: $(tr '\n' ' ' <<<"$out")"
  echoscu_to >/dev/null 2>&1 || die "echoscu failed after $sc"
done
out=$(peer garbage) ; grep -q 'abort source=2 reason=1' <<<"$out" || die "garbage: wrong abort: $out"
out=$(peer oversized-rq) ; grep -q 'abort source=2 reason=6' <<<"$out" || die "oversized: wrong abort: $out"

out=$(peer garbage-dataset) || die "garbage-dataset: $out"
log "garbage-dataset: $out"
out=$(peer cut-mid-store) || die "cut-mid-store: $out"
sleep 0.5
[ "$(sql 'SELECT count(*) FROM instances')" = 0 ] || die "a partial or bad data set was indexed"
[ -z "$(ls -A "$work/blobs/tmp")" ] || die "temp file of the cut store left behind"
packs_tight
out=$(peer silent) || die "silent peer: $out"
log "silent: $out"

# The PDU fuzzer's corpus replayed against the live server (built with ASan and UBSan:
# any memory error aborts it and fails e2e_stop below).
out=$(/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" replay "$SRC/tests/fuzz/seeds/pdu") || die "replay: $out"
log "$out"
echoscu_to >/dev/null 2>&1 || die "echoscu failed after the replay"

# One nesting limit for every parser (16 sequences): a data set nested 16 deep is stored
# and every later stage reads it; 17 deep, or 10 000 deep in sequences of defined length
# (which the intake used to skip unread and acknowledge), is refused with the reason.
nested() { /usr/bin/python3 "$SRC/tests/e2e/nested.py" "$1" "2.25.4711$1" "$work/nest$1.dcm"; }
store_raw() { /usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" store-file "$1" 2>&1 || true; }
nested 16 && out=$(store_raw "$work/nest16.dcm")
[ "$out" = "status 0x0000" ] || die "16 sequences deep was refused: $out"
path=$(printf '0009,1010[0].%.0s' $(seq 16))0010,0020
[ "$(cp_cli tag --sop 2.25.471116 --path "$path")" = DEEP ] || die "caseport tag cannot read 16 deep"
sql_eventually "SELECT count(*) FROM jobs j JOIN instances i ON i.id = j.instance_id WHERE i.sop_instance_uid = '2.25.471116' AND j.state <> 'done'" 0 ||
  die "a job on the 16-deep data set did not finish: $(sql "SELECT kind, last_error FROM jobs WHERE state <> 'done'")"
for depth in 17 10000; do
  nested "$depth" && out=$(store_raw "$work/nest$depth.dcm")
  [ "$out" != "status 0x0000" ] && [ -n "$out" ] || die "$depth sequences deep was acknowledged: $out"
  [ "$(sql "SELECT count(*) FROM instances WHERE sop_instance_uid = '2.25.4711$depth'")" = 0 ] ||
    die "$depth sequences deep was stored"
done
grep -q 'nested deeper than 16' "$work/serve.log" || die "the refusal does not say why"
log "nesting: 16 deep stored and read by every stage, 17 and 10 000 deep refused"

# pydicom's MR_truncated.dcm: 8 130 of the 8 192 pixel bytes Rows x Columns x Bits say.
# Sent as the file is (Pixel Data declared 8 192, the data set ending early) and as
# pydicom writes it again (declared 8 130): both refused with C000 and the reason.
trunc=$PYDICOM_DATA/MR_truncated.dcm
/usr/bin/python3 -c 'import sys, pydicom; pydicom.dcmread(sys.argv[1]).save_as(sys.argv[2])' "$trunc" "$work/short.dcm"
for f in "$trunc" "$work/short.dcm"; do
  out=$(store_raw "$f")
  [ "$out" = "status 0xc000" ] || die "$(basename "$f") with its pixel data short: $out"
done
[ "$(sql "SELECT count(*) FROM instances WHERE sop_instance_uid = '$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" uid "$trunc")'")" = 0 ] ||
  die "a data set with short pixel data was stored"
grep -q 'the data set ends inside its pixel data' "$work/serve.log" &&
  grep -q 'pixel data shorter than the image they describe' "$work/serve.log" || die "the refusals do not say why"
log "MR_truncated.dcm, as sent and as rewritten: refused, C000"

gen_series "$work/ct" 3 --rows 64 --cols 64 --seed hostile
storescu_to "$work/ct" >/dev/null 2>&1 || die "store after the attacks failed"
[ "$(sql "SELECT count(*) FROM instances WHERE sop_instance_uid NOT LIKE '2.25.4711%'")" = 3 ] || die "expected 3 instances"
e2e_stop
