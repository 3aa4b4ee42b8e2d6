# PostgreSQL stops in the middle of a series: caseport answers with failure statuses
# (never success for an instance not indexed), keeps serving, and after PostgreSQL is back
# every acknowledged instance is there and the rest can be sent again.
. "$SRC/tests/e2e/lib.sh"
e2e_private_cluster
e2e_setup
e2e_start

gen_series "$work/ct" 100 --rows 256 --cols 256 --seed pgrestart
# storescu sends slowly enough to be caught mid-series: one association, -v to see the
# response of every request.
storescu_to "$work/ct" -v >"$work/send1.log" 2>&1 &
send_pid=$!
for _ in $(seq 1 400); do
  n=$(sql 'SELECT count(*) FROM instances' 2>/dev/null || echo 0)
  [ "$n" -ge 20 ] && break
  sleep 0.02
done
pg_stop "$own_cluster" immediate
log "postgresql stopped after $n instances"
wait "$send_pid" || true
sleep 0.5
pg_start "$own_cluster" "$PGHOST" "$PGPORT"

# Pair each file storescu sent with the status it got back.
/usr/bin/python3 - "$work/send1.log" >"$work/acks.txt" <<'PY'
import re, sys
current = None
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"Sending file: (\S+)", line)
    if m:
        current = m.group(1)
    m = re.search(r"Received Store Response \((\w+)", line)
    if m and current:
        print(current, m.group(1))
        current = None
PY
acked=$(grep -c ' Success$' "$work/acks.txt" || true)
refused=$(grep -vc ' Success$' "$work/acks.txt" || true)
log "storescu: $acked acknowledged, $refused refused"
[ "$acked" -ge 1 ] || die "nothing was acknowledged before the stop"
[ "$refused" -ge 1 ] || die "nothing was refused while postgresql was down"
grep -q 'status=0xa700' "$work/serve.log" || die "no 0xA700 status logged"

# Every acknowledged instance is indexed and exports byte-identical.
while read -r file status; do
  [ "$status" = Success ] || continue
  uid=$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" uid "$file")
  cp_cli export --sop "$uid" --out "$work/x.dcm" 2>/dev/null || die "acknowledged $file is missing"
  same_data "$work/x.dcm" "$file" || die "acknowledged $file differs"
done <"$work/acks.txt"

# The server reconnects by itself: the whole series goes through now.
storescu_to "$work/ct" >"$work/send2.log" 2>&1 || die "resend after restart failed: $(tail -3 "$work/send2.log")"
[ "$(sql 'SELECT count(*) FROM instances')" = 100 ] || die "expected 100 instances after resend"
cp_cli verify >/dev/null || die "verify failed"
# PostgreSQL's parting notices do not reach the log as raw lines: every line is an event
bad=$(grep -v '^ts=' "$work/serve.log" | head -n 3 || true)
[ -z "$bad" ] || die "lines in the log that are not events: $bad"
e2e_stop
