# C-MOVE against DCMTK's movescu, with DCMTK's storescp as the destination: the instances
# arrive byte for byte; an unknown destination is refused with A801; an unreachable one
# fails every sub-operation and caseport keeps serving; the move is audited.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
dest_port=$(pg_free_port)
dead_port=$(pg_free_port)
cat >>"$work/caseport.conf" <<CONF
[peer viewer]
ae_title = VIEWER
access = all
[peer archive]
ae_title = ARCHIVE
destination = 127.0.0.1:$dest_port
[peer dead]
ae_title = DEAD
destination = 127.0.0.1:$dead_port
CONF
e2e_start
mkdir -p "$work/recv"
storescp -aet ARCHIVE -od "$work/recv" "$dest_port" >"$work/storescp.log" 2>&1 &
bg_pids+=($!)

gen_series "$work/a" 6 --rows 128 --cols 128 --seed move-a --patient MOVE-A
storescu_to "$work/a" >/dev/null 2>&1 || die "storing the series failed"
study=$(sql "SELECT study_uid FROM studies")
move() { movescu -S -aet VIEWER -aec CASEPORT -v "$@" -k QueryRetrieveLevel=STUDY \
           -k "StudyInstanceUID=$study" 127.0.0.1 "$port"; }

out=$(move -aem ARCHIVE 2>&1) || die "movescu failed: $out"
grep -q 'Received Final Move Response (Success)' <<<"$out" || die "move did not succeed: $(tail -n 5 <<<"$out")"
[ "$(ls "$work/recv" | wc -l)" = 6 ] || die "storescp received $(ls "$work/recv" | wc -l) files, not 6"
same_datasets "$work/a" "$work/recv"
log "C-MOVE: 6 instances at the destination, byte-identical"

out=$(move -aem NOWHERE 2>&1) || true
grep -q 'Received Final Move Response (Refused: MoveDestinationUnknown)' <<<"$out" ||
  die "unknown destination not refused with A801: $(tail -n 3 <<<"$out")"
out=$(move -aem DEAD 2>&1) || true
grep -q 'Received Final Move Response (Success)' <<<"$out" && die "a move to an unreachable destination succeeded"
grep -q 'Received Final Move Response' <<<"$out" || die "no final response for an unreachable destination: $(tail -n 3 <<<"$out")"
echoscu_to >/dev/null 2>&1 || die "caseport stopped answering after an unreachable destination"
log "unknown and unreachable destinations"

# C-CANCEL after two pending responses: the move stops there and says so.
gen_series "$work/c" 30 --rows 16 --cols 16 --seed move-c --patient MOVE-C
storescu_to "$work/c" >/dev/null 2>&1 || die "storing the 30-instance series failed"
study_c=$(sql "SELECT s.study_uid FROM studies s JOIN patients p ON p.id = s.patient_id WHERE p.patient_id = 'MOVE-C'")
before=$(ls "$work/recv" | wc -l)
out=$(movescu -S -aet VIEWER -aec CASEPORT -aem ARCHIVE --cancel 2 -v -k QueryRetrieveLevel=STUDY \
        -k "StudyInstanceUID=$study_c" 127.0.0.1 "$port" 2>&1) || true
grep -q 'Received Final Move Response (Cancel' <<<"$out" ||
  die "C-CANCEL did not end the C-MOVE: $(grep 'Final Move Response' <<<"$out")"
moved=$(( $(ls "$work/recv" | wc -l) - before ))
[ "$moved" -lt 30 ] || die "C-CANCEL: all 30 instances were still moved"
log "C-CANCEL ends a C-MOVE after $moved of 30 instances"

sql_eventually "SELECT count(*) FROM qr_audit WHERE operation = 'C-MOVE' AND destination_ae = 'ARCHIVE' AND completed = 6 AND status = 0" 1 ||
  die "the move is not audited: $(sql 'SELECT operation, destination_ae, completed, failed, status FROM qr_audit')"
sql_eventually "SELECT count(*) FROM qr_audit WHERE operation = 'C-MOVE' AND destination_ae = 'DEAD' AND failed = 6 AND status = 42754" 1 ||
  die "the failed move is not audited"
[ "$(sql "SELECT count(*) FROM associations WHERE called_ae = 'ARCHIVE' AND outcome = 'released' AND accepted")" -ge 1 ] ||
  die "the association to the destination is not recorded as released"
e2e_stop
