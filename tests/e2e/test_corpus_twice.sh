# pydicom's corpus sent by two clients (dcmsend, then storescu converting to Explicit VR
# Big Endian where it can), as a PACS administrator testing caseport would: re-encodings
# are receipts of their versions, and C-FIND shows each group of identical images (same
# decoded pixels, same patient) exactly once -- the earliest one, whichever version or
# encoding the intake linked the others to.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
cat >>"$work/caseport.conf" <<'CONF'
[peer viewer]
ae_title = VIEWER
access = all
CONF
e2e_start
for f in "$PYDICOM_DATA"/*.dcm; do dcmsend -aet ONE -aec CASEPORT 127.0.0.1 "$port" "$f" >/dev/null 2>&1 || true; done
for f in "$PYDICOM_DATA"/*.dcm; do storescu -aet TWO -aec CASEPORT -xb 127.0.0.1 "$port" "$f" >/dev/null 2>&1 || true; done
sql_eventually "SELECT count(*) FROM jobs WHERE state NOT IN ('done', 'dead')" 0 ||
  die "jobs not finished: $(cp_cli jobs | head -n 5)"
[ "$(sql "SELECT count(*) FROM instances WHERE encoding_of IS NOT NULL")" -ge 10 ] ||
  die "the second client's re-encodings were not found to be receipts: $(sql "SELECT count(*) FROM instances WHERE flagged")"
mkdir -p "$work/f"
findscu -S -aet VIEWER -aec CASEPORT -k QueryRetrieveLevel=IMAGE -k SOPInstanceUID \
  127.0.0.1 "$port" -X -od "$work/f" >"$work/find.log" 2>&1 || die "findscu failed: $(tail -n 3 "$work/find.log")"
for x in "$work"/f/*; do
  /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$x"
done | sort >"$work/shown"
sql "SELECT i.sop_instance_uid || '|' || encode(i.pixel_hash, 'hex') || '|' || s.patient_id
       FROM current_instances i JOIN series e ON e.id = i.series_id JOIN studies s ON s.id = e.study_id
      WHERE i.pixel_hash IS NOT NULL" >"$work/groups"
out=$(/usr/bin/python3 - "$work/groups" "$work/shown" <<'PY'
import collections, sys
shown = set(open(sys.argv[2]).read().split())
groups = collections.defaultdict(list)
for line in open(sys.argv[1]):
    uid, pixels, patient = line.strip().split("|")
    groups[(pixels, patient)].append(uid)
bad = [v for v in groups.values() if sum(u in shown for u in v) != 1]
print("%d groups of identical images, %d not shown once%s" % (
    len(groups), len(bad), ": " + repr(bad[:3]) if bad else ""))
sys.exit(1 if bad or len(groups) < 10 else 0)
PY
) || die "C-FIND: $out"
log "C-FIND after two clients: $out"
e2e_stop
