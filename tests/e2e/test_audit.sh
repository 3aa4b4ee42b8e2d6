# The audit trail against its database's superuser (issue 18, part 3): caseport serve
# anchors the head in [audit] anchor_file (and syslog) at start, every anchor_interval
# seconds when it moved and at a clean stop; `caseport audit verify` says "intact" for a
# clean trail, and names the row and the kind for a row edited and the chain re-hashed
# with plain SHA-256 as the old trigger did, and for a tail cut off with the head moved
# back. Without the key nothing is appended.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
anchors="$work/audit/anchors"
cp_cli migrate >/dev/null 2>&1 || die "migrate failed"
pw() { printf 'correct horse battery %s\n' "$1"; }
pw nina | cp_cli user add --username nina --role navigator >/dev/null || die "adding nina failed"
new_case() {
  cp_cli case new --patient-name "Doe^Jane" --condition "glioblastoma" \
    --subspecialty neuro-oncology --first-opinion "GBM" --navigator nina >/dev/null || die "case new failed"
}
head_seq() { sql "SELECT seq FROM audit_head"; }
head_line() { sql "SELECT 'seq=' || seq || ' hash=' || encode(hash, 'hex') FROM audit_head"; }
# anchored LINE: the anchor file has a line starting with it
anchored() { [ -f "$anchors" ] && grep -q "^$1 at=" "$anchors"; }
wait_anchored() {
  for _ in $(seq 1 100); do anchored "$1" && return 0; sleep 0.1; done
  return 1
}

# ---- serve anchors: at start, on its interval, at a clean stop; no syslog daemon needed
if [ -S /dev/log ]; then log "a syslog daemon listens on /dev/log"; else log "no syslog daemon here (no /dev/log): anchoring must not care"; fi
# at start (written before the listening line) and at a clean stop, with an interval too
# long to have anchored in between
printf '[audit]\nanchor_interval = 3600\n' >>"$work/caseport.conf"
e2e_start
anchored "$(head_line)" || die "serve did not anchor the head at start: $(cat "$anchors" 2>&1)"
[ "$(stat -c %a "$anchors")" = 600 ] || die "the anchor file is not its owner's alone"
new_case
anchored "$(head_line)" && die "the head was anchored before the stop: the test proves nothing"
e2e_stop
anchored "$(head_line)" || die "serve did not anchor the head at its clean stop: $(tail -n 2 "$anchors")"
log "anchored at start and at the clean stop"

# on the interval, when the head moved, and only then
sed -i 's/^anchor_interval = 3600$/anchor_interval = 1/' "$work/caseport.conf"
e2e_start
new_case
new_case
new_case
wait_anchored "$(head_line)" || die "serve did not anchor the moved head within its interval: $(cat "$anchors")"
lines=$(wc -l <"$anchors")
sleep 2.5
[ "$(wc -l <"$anchors")" = "$lines" ] || die "serve anchored a head that had not moved"
kill -0 "$serve_pid" || die "caseport serve died"
e2e_stop
grep -qvE '^seq=[0-9]+ hash=[0-9a-f]{64} at=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "$anchors" &&
  die "a line of the anchor file is not an anchor: $(cat "$anchors")"
log "anchored on the interval: $(wc -l <"$anchors") line(s)"

# ---- (c) a clean trail
out=$(cp_cli audit verify) || die "a clean audit trail did not verify: $out"
rows=$(sql "SELECT count(*) FROM audit")
n_anchors=$(wc -l <"$anchors")
[ "$out" = "audit trail intact: $rows row(s) ($rows keyed) checked against $n_anchors anchor(s)" ] ||
  die "unexpected verify output: $out"
log "$out"

# the superuser's tools: a copy to put back, and SQL as the replication role (no triggers)
sql "CREATE TABLE saved AS SELECT * FROM audit; CREATE TABLE saved_head AS SELECT * FROM audit_head"
su_sql() { sql "SET session_replication_role = replica; $1"; }
restore() {
  su_sql "TRUNCATE audit; INSERT INTO audit SELECT * FROM saved;
          UPDATE audit_head h SET seq = s.seq, hash = s.hash FROM saved_head s"
  cp_cli audit verify >/dev/null || die "the restored trail does not verify"
}
# verify_finds KIND SEQ: verify exits 1 and names row SEQ with KIND
verify_finds() {
  local out rc=0
  out=$(cp_cli audit verify 2>&1) || rc=$?
  [ $rc = 1 ] || die "verify exited $rc, not 1: $out"
  grep -q "row $2: $1: " <<<"$out" || die "verify did not name row $2 as $1: $out"
  grep -q "audit trail NOT intact" <<<"$out" || die "no verdict: $out"
  log "verify: $(grep -m 1 "row $2: $1: " <<<"$out")"
}

# ---- (a) a row edited and the chain re-hashed from it with plain SHA-256, as the old
# trigger hashed, the head following: every link holds, no keyed hash does
n=$((rows / 2))
su_sql "UPDATE audit SET outcome = 'allowed' WHERE seq = $n;
  DO \$\$ DECLARE r record; prev bytea; BEGIN
    SELECT hash INTO prev FROM audit WHERE seq = $n - 1;
    FOR r IN SELECT seq FROM audit WHERE seq >= $n ORDER BY seq LOOP
      UPDATE audit SET prev_hash = prev WHERE seq = r.seq;
      UPDATE audit a SET hash = sha256(convert_to(cp_audit_text(a), 'UTF8'))
        WHERE seq = r.seq RETURNING hash INTO prev;
    END LOOP;
    UPDATE audit_head SET hash = prev;
  END \$\$"
verify_finds re-hashed "$n"
restore

# ---- (b) the tail cut off and the head moved back to the last row left: the chain alone
# is whole; the anchor names a row that is gone
cut=$((rows - 2))
su_sql "DELETE FROM audit WHERE seq > $cut;
  UPDATE audit_head SET seq = $cut, hash = (SELECT hash FROM audit WHERE seq = $cut)"
verify_finds truncated $((cut + 1))
out=$(cp_cli audit verify 2>&1) && die "verify passed a cut trail"
grep -q "names row $rows: rows cut off" <<<"$out" || die "the anchor that names the cut rows is not said: $out"
# what finds it is the anchor: against an empty anchor file the same trail passes
sed "s|^anchor_file = .*|anchor_file = $work/none|" "$work/caseport.conf" >"$work/unanchored.conf"
"$CASEPORT" audit verify --config "$work/unanchored.conf" | grep -q "checked against 0 anchor(s)" ||
  die "without anchors the cut trail should pass: the anchor is what finds it"
# serve, started on the cut trail, says so too
e2e_start
grep -q "event=audit_head_went_back seq=$cut" <(tail -n "+$serve_from" "$work/serve.log") ||
  die "serve did not see the head go back: $(tail -n 5 "$work/serve.log")"
e2e_stop
restore

# ---- the anchor file itself: a last line cut short by a crash is no anchor; the next
# anchor starts a line of its own, and verify says the cut one is ignored
new_case  # the head moves while serve is down: its start must anchor it
printf 'seq=1 hash=00' >>"$anchors"
cp_cli audit verify >/dev/null || die "a cut-short last anchor line failed verify"
e2e_start
anchored "$(head_line)" || die "the anchor after a cut-short line is not a line of its own: $(tail -n 3 "$anchors")"
e2e_stop
out=$(cp_cli audit verify 2>&1) || die "a cut-short anchor line failed verify: $out"
grep -q "1 line(s) of $anchors are not anchors: ignored" <<<"$out" || die "the cut line is not said: $out"

# ---- no key, no audit row: the command fails before it writes anything
before=$(head_seq)
mv "$work/keys/kek" "$work/keys/kek.away"
pw otto | cp_cli user add --username otto --role navigator >/dev/null 2>"$work/nokey.err" &&
  die "an account was added without the audit key"
grep -q "audit trail's key" "$work/nokey.err" || die "the refusal does not say why: $(cat "$work/nokey.err")"
mv "$work/keys/kek.away" "$work/keys/kek"
[ "$(head_seq)" = "$before" ] && [ "$(sql "SELECT count(*) FROM accounts WHERE username = 'otto'")" = 0 ] ||
  die "something was written without the key"
cp_cli audit verify >/dev/null || die "the trail does not verify at the end"
log "ok"
