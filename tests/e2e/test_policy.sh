# Sender policy: only configured calling AE titles, from their own networks, within their
# own association and byte limits; everyone else gets the standard's rejection.
. "$SRC/tests/e2e/lib.sh"
e2e_setup "unknown_peers = reject"
cat >>"$work/caseport.conf" <<'CONF'
[peer loopback modality]
ae_title = E2E
hosts = 127.0.0.0/8, ::1
max_bytes = 100K
[peer far away]
ae_title = FAR
hosts = 10.0.0.0/8
[peer raw]
ae_title = RAWPEER
max_associations = 1
CONF
hash=$(echo 'correct horse' | "$CASEPORT" passwd) || die "caseport passwd failed"
printf '[peer secured]\nae_title = SECURE\nusername = alice\npassword_hash = %s\n' "$hash" >>"$work/caseport.conf"
e2e_start

echoscu_to >/dev/null 2>&1 || die "a configured peer was refused"
out=$(echoscu -aet STRANGER -aec CASEPORT -v 127.0.0.1 "$port" 2>&1) && die "an unknown calling AE was accepted"
grep -qi 'Calling AE Title Not Recognized' <<<"$out" || die "unknown AE: wrong rejection: $out"
grep -qi 'Permanent' <<<"$out" || die "unknown AE: rejection not permanent: $out"
out=$(echoscu -aet FAR -aec CASEPORT -v 127.0.0.1 "$port" 2>&1) && die "FAR was accepted from 127.0.0.1"
grep -qi 'Calling AE Title Not Recognized' <<<"$out" || die "wrong network: wrong rejection: $out"
log "unknown AE and wrong network rejected"

# RAWPEER may hold one association at a time.
/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" hold >"$work/hold" & h=$!
for _ in $(seq 1 100); do [ -s "$work/hold" ] && break; sleep 0.05; done
out=$(echoscu -aet RAWPEER -aec CASEPORT -v 127.0.0.1 "$port" 2>&1) && die "RAWPEER got a second association"
grep -qi 'Local Limit Exceeded' <<<"$out" || die "per-peer limit: wrong rejection: $out"
wait $h || die "the held association did not release properly"
echoscu -aet RAWPEER -aec CASEPORT 127.0.0.1 "$port" >/dev/null 2>&1 || die "RAWPEER refused after its association ended"
log "per-peer association limit enforced"

# SECURE must authenticate as alice with her password (user identity, PS3.7 D.3.3.7).
gen_series "$work/one" 1 --rows 32 --cols 32 --seed policy-one
sec() { storescu -aet SECURE -aec CASEPORT +sd "$@" 127.0.0.1 "$port" "$work/one"; }
out=$(sec -usr alice -pwd 'correct horse' -rsp -v 2>&1) || die "a correct user identity was refused: $out"
grep -qi 'Received Store Response (Success)' <<<"$out" || die "store with user identity failed: $out"
out=$(sec -usr alice -pwd 'wrong horse' -v 2>&1) && die "a wrong password was accepted"
grep -qi 'Association Rejected' <<<"$out" || die "wrong password: expected a rejection: $out"
out=$(sec -v 2>&1) && die "a missing user identity was accepted"
grep -qi 'Association Rejected' <<<"$out" || die "no identity: expected a rejection: $out"
out=$(sec -usr mallory -pwd 'correct horse' -v 2>&1) && die "another user name was accepted"
sql "DELETE FROM instances; DELETE FROM blobs" >/dev/null
log "user identity enforced"

# E2E may send 100 KiB per association: a 128 KiB instance gets the association aborted
# and nothing stored; small instances go through.
gen_series "$work/big" 1 --rows 256 --cols 256 --seed policy-big
storescu_to "$work/big" >"$work/big.log" 2>&1 && die "an association over max_bytes was not aborted"
grep -q 'peer max_bytes exceeded' "$work/serve.log" || die "no max_bytes abort logged"
[ "$(sql 'SELECT count(*) FROM instances')" = 0 ] || die "an instance of an aborted association was stored"
gen_series "$work/small" 3 --rows 32 --cols 32 --seed policy-small
storescu_to "$work/small" >/dev/null 2>&1 || die "small instances within max_bytes failed"
[ "$(sql 'SELECT count(*) FROM instances')" = 3 ] || die "expected 3 instances"
e2e_stop
