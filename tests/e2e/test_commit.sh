# Storage Commitment on the requesting association (the default): a raw peer asks for a
# stored instance and an unknown one and must get the N-EVENT-REPORT on the same
# association, with one committed and one failed (0x0112); the request is recorded.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start
gen_series "$work/s" 1 --rows 32 --cols 32 --seed commit --patient COMMIT-1
storescu_to "$work/s" >/dev/null 2>&1 || die "storing failed"
read -r cls sop <<<"$(sql "SELECT sop_class_uid || ' ' || sop_instance_uid FROM instances")"
out=$(/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" commit-same "$cls" "$sop" 2>&1) ||
  die "storage commitment on the same association: $out"
log "$out"
sql_eventually "SELECT count(*) FROM commitments WHERE references_n = 2 AND failed_n = 1 AND delivery = 'same association' AND outcome LIKE 'reported%'" 1 ||
  die "commitment not recorded: $(sql 'SELECT references_n, failed_n, delivery, outcome FROM commitments')"
out=$(/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" commit-twice 2>&1) ||
  die "a repeated Referenced SOP Sequence: $out"
log "$out"
e2e_stop
