# C-ECHO and association negotiation against DCMTK's echoscu/storescu/findscu.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start

echoscu_to >/dev/null 2>&1 || die "echoscu against CASEPORT failed"
log "echo ok"

# Wrong called AE title: A-ASSOCIATE-RJ, permanent, called AE not recognized.
out=$(echoscu -aet E2E -aec NOTME -v 127.0.0.1 "$port" 2>&1) && die "association to a wrong AE title was accepted"
grep -qi 'Called AE Title Not Recognized' <<<"$out" || die "expected called-AE rejection, got: $out"
log "wrong called AE rejected"

# An abstract syntax we do not serve (Q/R FIND): that context is rejected with reason 3,
# the association itself is accepted (findscu then has no context to use).
out=$(findscu -aet E2E -aec CASEPORT -d -S -k QueryRetrieveLevel=STUDY 127.0.0.1 "$port" 2>&1) || true
grep -q 'Abstract Syntax Not Supported' <<<"$out" || die "FIND context not rejected with reason 3: $(grep -i context <<<"$out" | head -5)"
grep -q 'PDU Type: Associate Accept' <<<"$out" || die "association with an unsupported context was not accepted"
log "unsupported abstract syntax rejected per context"

# Still serving.
echoscu_to >/dev/null 2>&1 || die "echoscu failed after the rejections"
e2e_stop
