# Query/Retrieve SCP against DCMTK's findscu and getscu: matching at every level, what
# each peer may see (access none / granted / all, caseport grant), retrieval byte for
# byte, the audit table, and a C-GET requestor that stops reading.
. "$SRC/tests/e2e/lib.sh"
e2e_setup "send_timeout = 2" "max_find_results = 50"
cat >>"$work/caseport.conf" <<'CONF'
[peer viewer]
ae_title = VIEWER
access = all
[peer limited]
ae_title = LIMITED
access = granted
[peer staller]
ae_title = STALLER
access = all
CONF
e2e_start

gen_series "$work/a" 5 --rows 64 --cols 64 --seed qr-a --patient QR-A
gen_series "$work/b" 3 --rows 64 --cols 64 --seed qr-b --patient QR-B
storescu_to "$work/a" >/dev/null 2>&1 || die "storing series a failed"
storescu_to "$work/b" >/dev/null 2>&1 || die "storing series b failed"
charsets=/usr/lib/python3/dist-packages/pydicom/data/charset_files
storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$charsets"/chrGerm.dcm "$charsets"/chrX1.dcm \
  >/dev/null 2>&1 || true
[ "$(sql 'SELECT count(*) FROM instances')" = 10 ] || die "expected 10 stored instances"
study_a=$(sql "SELECT study_uid FROM studies s JOIN patients p ON p.id = s.patient_id WHERE p.patient_id = 'QR-A'")
series_a=$(sql "SELECT series_uid FROM series e JOIN studies s ON s.id = e.study_id WHERE s.study_uid = '$study_a'")

# find AET DIR findscu-options...: the responses as files in DIR
find_as() {
  local aet=$1 dir=$2; shift 2
  rm -rf "$dir"; mkdir -p "$dir"
  findscu -aet "$aet" -aec CASEPORT -X -od "$dir" "$@" 127.0.0.1 "$port" >"$dir.log" 2>&1 ||
    die "findscu failed: $(tail -n 3 "$dir.log")"
}
# show DIR KEYWORD...: one line per response, values tab-separated, sorted
show() {
  /usr/bin/python3 - "$@" <<'PY'
import glob, sys, pydicom
rows = []
for f in sorted(glob.glob(sys.argv[1] + "/rsp*.dcm")):
    ds = pydicom.dcmread(f)
    rows.append("\t".join(str(ds.get(k, "<absent>")) for k in sys.argv[2:]))
print("\n".join(sorted(rows)))
PY
}

# STUDY level, study root: every study, with counts and modalities.
find_as VIEWER "$work/f1" -S -k QueryRetrieveLevel=STUDY -k PatientID -k StudyInstanceUID \
  -k NumberOfStudyRelatedSeries -k NumberOfStudyRelatedInstances -k ModalitiesInStudy \
  -k StudyDate -k RetrieveAETitle
got=$(show "$work/f1" PatientID NumberOfStudyRelatedSeries NumberOfStudyRelatedInstances ModalitiesInStudy RetrieveAETitle | grep QR-)
want=$(printf 'QR-A\t1\t5\tCT\tCASEPORT\nQR-B\t1\t3\tCT\tCASEPORT')
[ "$got" = "$want" ] || die "study level: got
$got
want
$want"
[ "$(ls "$work/f1" | wc -l)" = 4 ] || die "expected 4 studies, got $(ls "$work/f1" | wc -l)"
log "STUDY level: counts and modalities"

# Wildcards, case-insensitive names, date ranges, UID lists.
find_as VIEWER "$work/f2" -S -k QueryRetrieveLevel=STUDY -k 'PatientName=test^synthetic^qr-?' -k PatientID
[ "$(show "$work/f2" PatientID)" = "$(printf 'QR-A\nQR-B')" ] || die "wildcard name: $(show "$work/f2" PatientID)"
find_as VIEWER "$work/f3" -S -k QueryRetrieveLevel=STUDY -k StudyDate=20260101-20260131 -k PatientID
[ "$(show "$work/f3" PatientID)" = "$(printf 'QR-A\nQR-B')" ] || die "date range: $(show "$work/f3" PatientID)"
find_as VIEWER "$work/f4" -S -k QueryRetrieveLevel=STUDY -k StudyDate=-20251231 -k PatientID
grep -q QR- <<<"$(show "$work/f4" PatientID)" && die "a date range matched studies outside it"
study_b=$(sql "SELECT study_uid FROM studies s JOIN patients p ON p.id = s.patient_id WHERE p.patient_id = 'QR-B'")
find_as VIEWER "$work/f5" -S -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$study_a\\$study_b" -k PatientID
[ "$(show "$work/f5" PatientID)" = "$(printf 'QR-A\nQR-B')" ] || die "uid list: $(show "$work/f5" PatientID)"
log "wildcards, ranges, uid lists"

# SERIES and IMAGE levels; PATIENT level in the patient root model.
find_as VIEWER "$work/f6" -S -k QueryRetrieveLevel=SERIES -k "StudyInstanceUID=$study_a" \
  -k SeriesInstanceUID -k Modality -k NumberOfSeriesRelatedInstances
[ "$(show "$work/f6" SeriesInstanceUID NumberOfSeriesRelatedInstances)" = "$(printf '%s\t5' "$series_a")" ] ||
  die "series level: $(show "$work/f6" SeriesInstanceUID NumberOfSeriesRelatedInstances)"
find_as VIEWER "$work/f7" -S -k QueryRetrieveLevel=IMAGE -k "StudyInstanceUID=$study_a" \
  -k "SeriesInstanceUID=$series_a" -k SOPInstanceUID -k InstanceNumber
# the SOP Instance UIDs of the files sent, not of caseport's own index
sent_a=$(/usr/bin/python3 -c 'import glob,sys,pydicom; print("\n".join(sorted(str(pydicom.dcmread(f).SOPInstanceUID) for f in glob.glob(sys.argv[1] + "/*"))))' "$work/a")
[ "$(show "$work/f7" SOPInstanceUID | LC_ALL=C sort)" = "$sent_a" ] ||
  die "image level: wrong instances"
find_as VIEWER "$work/f8" -P -k QueryRetrieveLevel=PATIENT -k PatientID=QR-B -k PatientName \
  -k NumberOfPatientRelatedStudies -k NumberOfPatientRelatedInstances
[ "$(show "$work/f8" PatientName NumberOfPatientRelatedStudies NumberOfPatientRelatedInstances)" = "$(printf 'TEST^SYNTHETIC^qr-b\t1\t3')" ] ||
  die "patient level: $(show "$work/f8" PatientName NumberOfPatientRelatedStudies NumberOfPatientRelatedInstances)"
# a UTF-8 name comes back declared as such
find_as VIEWER "$work/f9" -S -k QueryRetrieveLevel=STUDY -k PatientName -k SpecificCharacterSet
grep -q 'ISO_IR 192' <<<"$(show "$work/f9" SpecificCharacterSet)" || die "no ISO_IR 192 on a non-ASCII name"
log "SERIES, IMAGE, PATIENT levels"

# Who sees what: E2E has no [peer] (access none), LIMITED only what is granted.
find_as E2E "$work/g1" -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID
[ "$(ls "$work/g1" | wc -l)" = 0 ] || die "a peer without access saw studies"
find_as LIMITED "$work/g2" -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID
[ "$(ls "$work/g2" | wc -l)" = 0 ] || die "LIMITED saw studies before any grant"
cp_cli grant --peer limited --study "$study_a" || die "caseport grant failed"
grep -q "limited.$study_a" <<<"$(cp_cli grant --list)" || die "grant not listed"
find_as LIMITED "$work/g3" -P -k QueryRetrieveLevel=PATIENT -k PatientID -k NumberOfPatientRelatedStudies
[ "$(show "$work/g3" PatientID NumberOfPatientRelatedStudies)" = "$(printf 'QR-A\t1')" ] ||
  die "LIMITED after the grant: $(show "$work/g3" PatientID NumberOfPatientRelatedStudies)"
out=$(cp_cli grant --peer nobody --study 1.2.3 2>&1) && die "a grant to an unknown peer was accepted"
log "access none / granted / all enforced"

# More matches than max_find_results: the first 50 and a refusal saying why.
for i in $(seq 1 6); do gen_series "$work/m$i" 10 --rows 16 --cols 16 --seed "qr-m$i" --patient "QR-M$i"; done
storescu -aet E2E -aec CASEPORT +sd 127.0.0.1 "$port" "$work"/m[1-6] >/dev/null 2>&1 || die "storing 60 failed"
find_as VIEWER "$work/h1" -S -k QueryRetrieveLevel=IMAGE -k SOPInstanceUID -v
[ "$(ls "$work/h1" | wc -l)" = 50 ] || die "expected 50 responses, got $(ls "$work/h1" | wc -l)"
grep -qi 'OutOfResources' "$work/h1.log" || die "no final 0xA700 after 50 matches: $(tail -n 5 "$work/h1.log")"
log "max_find_results enforced"

# C-CANCEL right behind the C-FIND: the server stops between responses and ends with FE00.
out=$(/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" find-cancel 2>&1) || die "C-CANCEL did not end the C-FIND: $out"
n=$(sed -n 's/.*: \([0-9]*\) matches sent.*/\1/p' <<<"$out")
[ "${n:-50}" -lt 50 ] || die "C-CANCEL: all 50 responses were still sent"
log "$out"

# C-GET of series a: every instance back, data sets byte-identical to what was sent.
mkdir -p "$work/get1"
getscu -S -aet VIEWER -aec CASEPORT -od "$work/get1" -k QueryRetrieveLevel=SERIES \
  -k "StudyInstanceUID=$study_a" -k "SeriesInstanceUID=$series_a" 127.0.0.1 "$port" >"$work/get1.log" 2>&1 ||
  die "getscu failed: $(tail -n 5 "$work/get1.log")"
[ "$(ls "$work/get1" | wc -l)" = 5 ] || die "C-GET brought $(ls "$work/get1" | wc -l) files, not 5"
same_datasets "$work/a" "$work/get1"
log "C-GET: 5 instances back, byte-identical data sets"

# A requestor proposing big endian first still gets the instances in the syntax they were
# stored in (Explicit VR LE, its second choice).
mkdir -p "$work/get2"
getscu -S -aet VIEWER -aec CASEPORT +xb -od "$work/get2" -k QueryRetrieveLevel=STUDY \
  -k "StudyInstanceUID=$study_b" 127.0.0.1 "$port" >"$work/get2.log" 2>&1 || die "getscu +xb failed"
[ "$(ls "$work/get2" | wc -l)" = 3 ] || die "C-GET with big endian preferred brought $(ls "$work/get2" | wc -l) files, not 3"
# An instance stored as Implicit VR LE, to a requestor whose context for its SOP class
# takes Explicit VR LE (getscu offers both, we choose Explicit): it arrives as Explicit VR
# LE, the same data set (a delivery copy; tests/e2e/test_retrieve_syntax.sh has the rest).
storescu -aet E2E -aec CASEPORT -xi 127.0.0.1 "$port" "$PYDICOM_DATA/MR_small_implicit.dcm" >/dev/null 2>&1 ||
  die "storing MR_small_implicit failed"
study_mr=$(/usr/bin/python3 -c "import pydicom,sys; print(pydicom.dcmread(sys.argv[1]).StudyInstanceUID)" "$PYDICOM_DATA/MR_small_implicit.dcm")
mkdir -p "$work/get4"
getscu -S -aet VIEWER -aec CASEPORT -od "$work/get4" -k QueryRetrieveLevel=STUDY \
  -k "StudyInstanceUID=$study_mr" 127.0.0.1 "$port" -v >"$work/get4.log" 2>&1 ||
  die "getscu of the implicit instance failed: $(tail -n 8 "$work/get4.log")"
[ "$(ls "$work/get4" | wc -l)" = 1 ] || die "the implicit instance did not arrive: $(tail -n 8 "$work/get4.log")"
[ "$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" ts "$work/get4/"*)" = 1.2.840.10008.1.2.1 ] ||
  die "the implicit instance did not arrive as Explicit VR LE"
same=$(/usr/bin/python3 -c 'import sys, pydicom
a, b = (pydicom.dcmread(f) for f in sys.argv[1:])
el = lambda d: [(e.tag, e.value) for e in d.iterall()]
print(el(a) == el(b))' "$PYDICOM_DATA/MR_small_implicit.dcm" "$work/get4/"*)
[ "$same" = True ] || die "the implicit instance's data set changed on the way"
# LIMITED may not retrieve what it is not granted
mkdir -p "$work/get3" "$work/get5"
getscu -S -aet LIMITED -aec CASEPORT -od "$work/get3" -k QueryRetrieveLevel=STUDY \
  -k "StudyInstanceUID=$study_b" 127.0.0.1 "$port" >"$work/get3.log" 2>&1 || true
[ "$(ls "$work/get3" | wc -l)" = 0 ] || die "LIMITED retrieved a study it was not granted"
# it was answered, not failed: a successful C-GET that matched nothing
# (the audit row is written after the final response: waited for)
sql_eventually "SELECT matches || '/' || completed || '/' || status FROM qr_audit WHERE calling_ae = 'LIMITED' AND operation = 'C-GET' ORDER BY id DESC LIMIT 1" 0/0/0 ||
  die "LIMITED's C-GET of an ungranted study: $(tail -n 3 "$work/get3.log")"
# and it does retrieve the study it was granted
getscu -S -aet LIMITED -aec CASEPORT -od "$work/get5" -k QueryRetrieveLevel=STUDY \
  -k "StudyInstanceUID=$study_a" 127.0.0.1 "$port" >"$work/get5.log" 2>&1 ||
  die "LIMITED's C-GET of its granted study failed: $(tail -n 3 "$work/get5.log")"
[ "$(ls "$work/get5" | wc -l)" = 5 ] || die "LIMITED got $(ls "$work/get5" | wc -l) of the granted study's 5 instances"
log "C-GET: an Implicit VR LE instance as Explicit VR LE to a peer that chose it, and grants"

# The audit: every operation above, with who and what.
sql_eventually "SELECT count(*) FROM qr_audit WHERE operation = 'C-GET' AND calling_ae = 'VIEWER' AND completed = 5 AND status = 0" 1 ||
  die "the successful C-GET is not audited: $(sql 'SELECT operation, calling_ae, completed, failed, status FROM qr_audit')"
[ "$(sql "SELECT count(*) FROM qr_audit WHERE calling_ae = 'LIMITED' AND access = 'granted' AND query ? '0020000D'")" -ge 1 ] ||
  die "LIMITED's queries are not audited"
sql_eventually "SELECT count(*) FROM qr_audit WHERE operation = 'C-FIND' AND status = 42752 AND matches = 50" 1 ||
  die "the truncated C-FIND is not audited"
sql_eventually "SELECT count(*) FROM qr_audit WHERE operation = 'C-GET' AND completed = 1 AND failed = 0 AND status = 0" 1 ||
  die "the C-GET of the implicit instance is not audited"
log "audit rows written"

# A requestor that stops reading mid-C-GET is dropped after send_timeout; others go on.
gen_series "$work/big" 1 --rows 2560 --cols 2560 --seed qr-big --patient QR-BIG  # 12.5 MiB: more than the kernel buffers
storescu_to "$work/big" >/dev/null 2>&1 || die "storing the big series failed"
series_big=$(sql "SELECT e.series_uid FROM series e JOIN studies s ON s.id = e.study_id JOIN patients p ON p.id = s.patient_id WHERE p.patient_id = 'QR-BIG'")
/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" get-stall "$series_big" 6 >"$work/stall" 2>&1 & st=$!
sleep 1
echoscu_to >/dev/null 2>&1 || die "the server stopped answering while a C-GET stalled"
wait $st || die "stalled C-GET: $(cat "$work/stall")"
grep -q 'event=send_timeout' "$work/serve.log" || die "no send_timeout logged"
# the same, but the stalled requestor also sends a response to nothing while the server is
# parked waiting for it to read: the association is aborted, nothing parked wakes up
/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" get-stall-bogus "$series_big" 4 >"$work/stall2" 2>&1 ||
  die "stalled C-GET with a bogus response: $(cat "$work/stall2")"
grep -q 'dimse response to nothing we asked' "$work/serve.log" || die "the bogus response was not refused"
echoscu_to >/dev/null 2>&1 || die "the server stopped answering after a stalled C-GET"
log "stalled C-GET requestor dropped: $(cat "$work/stall" | tail -n 1)"

# An A-RELEASE-RQ while a C-FIND or C-GET runs: the operation ends with a final response
# (cancelled), then the release is answered -- as a C-STORE under way is completed first.
out=$(/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" find-release 2>&1) || die "release during C-FIND: $out"
log "$out"
out=$(/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" get-release "$series_a" 2>&1) || die "release during C-GET: $out"
log "$out"
e2e_stop
