# C-ECHO and association negotiation against DCMTK's echoscu/storescu/findscu.
. "$SRC/tests/e2e/lib.sh"
e2e_setup "max_associations = 2"
e2e_start

echoscu_to >/dev/null 2>&1 || die "echoscu against CASEPORT failed"
log "echo ok"

# Wrong called AE title: A-ASSOCIATE-RJ, permanent, called AE not recognized.
out=$(echoscu -aet E2E -aec NOTME -v 127.0.0.1 "$port" 2>&1) && die "association to a wrong AE title was accepted"
grep -qi 'Called AE Title Not Recognized' <<<"$out" || die "expected called-AE rejection, got: $out"
log "wrong called AE rejected"

# An abstract syntax we do not serve (Modality Worklist FIND): that context is rejected with reason 3,
# the association itself is accepted (findscu then has no context to use).
out=$(findscu -aet E2E -aec CASEPORT -d -W -k PatientID 127.0.0.1 "$port" 2>&1) || true
grep -q 'Abstract Syntax Not Supported' <<<"$out" || die "FIND context not rejected with reason 3: $(grep -i context <<<"$out" | head -5)"
grep -q 'PDU Type: Associate Accept' <<<"$out" || die "association with an unsupported context was not accepted"
log "unsupported abstract syntax rejected per context"

# Still serving.
echoscu_to >/dev/null 2>&1 || die "echoscu failed after the rejections"

# max_associations = 2: with two held open, a third gets a transient rejection
# (local limit exceeded); once they are released, associations are accepted again.
peer() { /usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" "$1"; }
peer hold >"$work/hold1" & h1=$!
peer hold >"$work/hold2" & h2=$!
for _ in $(seq 1 100); do
  [ -s "$work/hold1" ] && [ -s "$work/hold2" ] && break
  sleep 0.05
done
out=$(echoscu_to -v 2>&1) && die "a third association was accepted over max_associations"
grep -qi 'Local Limit Exceeded' <<<"$out" || die "expected local-limit rejection, got: $out"
grep -qi 'Transient' <<<"$out" || die "the rejection is not transient: $out"
wait $h1 || die "held association 1 was not released properly"
wait $h2 || die "held association 2 was not released properly"
echoscu_to >/dev/null 2>&1 || die "echoscu failed after the held associations ended"
log "max_associations enforced with a transient rejection"

# Log injection (issue 17): a calling AE title holding quotes is one value in the log, and
# the field it tries to forge is no field at all (checked below, after the JSON run).
forged='X" role="admin'
echoscu -aet "$forged" -aec CASEPORT 127.0.0.1 "$port" >/dev/null 2>&1 ||
  die "echoscu with a quoting calling AE title failed"

# Every association asked for is recorded, with the peer's implementation and outcome.
e2e_stop
q() { sql "SELECT count(*) FROM associations WHERE $1"; }
[ "$(q "calling_ae = 'E2E' AND accepted AND outcome = 'released' AND impl_class_uid = '1.2.276.0.7230010.3.0.3.6.7' AND impl_version = 'OFFIS_DCMTK_367'")" -ge 3 ] ||
  die "echoscu's associations not recorded: $(sql 'SELECT calling_ae, outcome, impl_version FROM associations')"
[ "$(q "called_ae = 'NOTME' AND NOT accepted AND outcome = 'rejected: called ae title not recognized'")" = 1 ] ||
  die "the rejected association is not recorded"
[ "$(q "outcome = 'rejected: max_associations reached'")" = 1 ] || die "the over-limit rejection is not recorded"
[ "$(q "calling_ae = 'RAWPEER' AND outcome = 'released'")" = 2 ] || die "the held associations are not recorded"

# The same in JSON: serve again with [log] format = json (the [log] section is the config's
# last), then read every line of both runs as logfmt and JSON readers would.
printf 'format = json\n' >>"$work/caseport.conf"
e2e_start
echoscu -aet "$forged" -aec CASEPORT 127.0.0.1 "$port" >/dev/null 2>&1 ||
  die "echoscu with a quoting calling AE title failed (JSON log)"
e2e_stop
/usr/bin/python3 "$SRC/tests/e2e/logcheck.py" "$work/serve.log" calling_ae "$forged" role ||
  die "the forged calling AE title broke the log"
log "a calling AE title with quotes stays one field in logfmt and JSON"
