# Hostile input: each bad connection alone is dropped with the protocol's proper reaction
# (A-ABORT, a failure status, a timeout close), nothing half-received is stored, and the
# server keeps serving (echoscu and a real store succeed afterwards).
. "$SRC/tests/e2e/lib.sh"
e2e_setup "max_pdu = 16K"
e2e_start
peer() { /usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" "$1"; }

for sc in garbage oversized-rq oversized-pdata malformed-rq unexpected-pdu; do
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

gen_series "$work/ct" 3 --rows 64 --cols 64 --seed hostile
storescu_to "$work/ct" >/dev/null 2>&1 || die "store after the attacks failed"
[ "$(sql 'SELECT count(*) FROM instances')" = 3 ] || die "expected 3 instances"
e2e_stop
