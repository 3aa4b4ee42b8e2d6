# The disk refuses a write (here: a file size limit, EFBIG, without privileges): that
# C-STORE fails with 0xA700, no partial blob or row is left, the server keeps serving.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
# 400 KiB per file: a 128x128 instance fits, a 512x512 one (512 KiB) does not.
( ulimit -f 400; exec "$CASEPORT" serve --config "$work/caseport.conf" 2>>"$work/serve.log" ) &
serve_pid=$!
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*event=listening .* port=\([0-9]*\).*/\1/p' "$work/serve.log" | tail -n 1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || die "caseport did not start"

gen_series "$work/small" 2 --rows 128 --cols 128 --seed fsize-small
gen_series "$work/big" 1 --rows 512 --cols 512 --seed fsize-big
storescu_to "$work/small" >/dev/null 2>&1 || die "small instances failed"
out=$(storescu_to "$work/big" -d 2>&1) || true
grep -q 'Received Store Response (Refused: OutOfResources' <<<"$out" ||
  grep -qi 'status=0xa700\|Out Of Resources' <<<"$out" || die "expected 0xA700 for the oversized write: $out"
grep -q 'event=store_failed .* status=0xa700' "$work/serve.log" || die "no store_failed 0xa700 logged"
# the peer hears the kind of fault, not our file names (the log has them)
comment=$(sed -n 's/.*(0000,0902) LO \[\(.*\)\].*/\1/p' <<<"$out" | head -n 1)
[ "$comment" = "input/output error" ] || die "the error comment to the peer is \"$comment\""
grep 'event=store_failed' "$work/serve.log" | grep -q "$work/blobs" || die "the log lost the failure's detail"
[ "$(sql 'SELECT count(*) FROM instances')" = 2 ] || die "the failed instance was indexed"
[ -z "$(ls -A "$work/blobs/tmp")" ] || die "a partial temp file was left behind"
packs_tight
echoscu_to >/dev/null 2>&1 || die "echoscu failed after the storage failure"
gen_series "$work/more" 1 --rows 64 --cols 64 --seed fsize-more
storescu_to "$work/more" >/dev/null 2>&1 || die "a store after the failure failed"
[ "$(sql 'SELECT count(*) FROM instances')" = 3 ] || die "expected 3 instances"
packs_tight
cp_cli verify >/dev/null || die "verify failed"
e2e_stop
