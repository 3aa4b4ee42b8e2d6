# Four associations at once: two send the same series at the same moment (the database
# must end with one row and one blob per instance), two send series of their own.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start

gen_series "$work/a" 60 --rows 128 --cols 128 --seed concA --patient P-A
gen_series "$work/b" 60 --rows 128 --cols 128 --seed concB --patient P-B
gen_series "$work/c" 60 --rows 128 --cols 128 --seed concC --patient P-C
pids=()
for d in a a b c; do
  storescu_to "$work/$d" >"$work/$d.$RANDOM.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "a storescu failed"; done

[ "$(sql 'SELECT count(*) FROM instances')" = 180 ] || die "expected 180 instances, got $(sql 'SELECT count(*) FROM instances')"
[ "$(sql 'SELECT count(*) FROM blobs')" = 180 ] || die "expected 180 blobs"
[ "$(sql 'SELECT sum(receipt_count) FROM instances')" = 240 ] || die "expected 240 receipts"
[ "$(sql 'SELECT count(*) FROM patients')" = 3 ] || die "expected 3 patients"
[ "$(sql 'SELECT count(*) FROM studies')" = 3 ] || die "expected 3 studies"
[ "$(sql 'SELECT count(*) FROM blobs WHERE pack IS NOT NULL')" = 180 ] || die "expected 180 packed blobs"
packs_tight
[ -z "$(ls -A "$work/blobs/tmp")" ] || die "temp files left behind"
cp_cli verify >/dev/null || die "verify failed"
e2e_stop
