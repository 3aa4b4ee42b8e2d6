# De-duplication level 3 by pixel hashes (computed as little endian native pixels arrive,
# else by the pixel_hash job): the same image stored in Explicit LE, Explicit BE and
# Implicit LE hashes the same; a series re-exported under new UIDs is
# linked to the original; other pixels are not; JPEG 2000 lossless is decoded and hashes
# as the native encodings do. Once linked, caseport ls and Query/Retrieve show the original only,
# with its copies named (ls) -- unless the peer asks for duplicates or cannot see the
# original. The same pixels under two patients are linked but never hidden.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
cat >>"$work/caseport.conf" <<'CONF'
[peer viewer]
ae_title = VIEWER
access = all
[peer mirror]
ae_title = MIRROR
access = all
duplicates = show
[peer limited]
ae_title = LIMITED
access = granted
CONF
e2e_start
d=$PYDICOM_DATA
storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$d/MR_small.dcm" >/dev/null 2>&1 || die "storing MR_small failed"
storescu -aet E2E -aec CASEPORT -xb 127.0.0.1 "$port" "$d/MR_small_bigendian.dcm" >/dev/null 2>&1 || die "storing the big endian one failed"
storescu -aet E2E -aec CASEPORT -xi 127.0.0.1 "$port" "$d/MR_small_implicit.dcm" >/dev/null 2>&1 || die "storing the implicit one failed"
storescu -aet E2E -aec CASEPORT -xv 127.0.0.1 "$port" "$d/MR_small_jp2klossless.dcm" >/dev/null 2>&1 || die "storing a JPEG 2000 file failed"
native="sop_instance_uid = '1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457' AND transfer_syntax IN ('1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2')"
[ "$(sql "SELECT count(*) FROM instances WHERE $native")" = 3 ] || die "MR_small not stored in its three encodings"

# the original series and a copy of it under new UIDs (same pixels), and one other image
gen_series "$work/a" 3 --rows 32 --cols 32 --seed pix-a --patient PIX-A
/usr/bin/python3 - "$work/a" "$work/copy" <<'PY'
import os, sys, pydicom
from pydicom.uid import generate_uid
os.makedirs(sys.argv[2])
study, series = generate_uid(), generate_uid()
for f in sorted(os.listdir(sys.argv[1])):
    ds = pydicom.dcmread(os.path.join(sys.argv[1], f))
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(os.path.join(sys.argv[2], f))
PY
gen_series "$work/b" 1 --rows 32 --cols 32 --seed pix-b --patient PIX-B
for s in a copy b; do storescu_to "$work/$s" >/dev/null 2>&1 || die "storing $s failed"; done
# two of pydicom's samples carry the same 32x32 image for two different patients
charsets=/usr/lib/python3/dist-packages/pydicom/data/charset_files
storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$charsets/chrGerm.dcm" "$charsets/chrX1.dcm" \
  >/dev/null 2>&1 || die "storing chrGerm and chrX1 failed"
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'pixel_hash' AND state <> 'done'" 0 ||
  die "pixel_hash jobs not done: $(cp_cli jobs | head -n 5)"

[ "$(sql "SELECT count(DISTINCT pixel_hash) || '/' || count(pixel_hash) FROM instances WHERE $native")" = 1/3 ] ||
  die "MR_small hashes differently in its three encodings"
[ "$(sql "SELECT count(*) FROM instances WHERE sop_instance_uid = '1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457' AND duplicate_of IS NOT NULL")" = 0 ] ||
  die "versions of one SOP Instance UID were linked as duplicates"
log "MR_small: one hash in Explicit LE, Explicit BE and Implicit LE"
# little endian native pixels are hashed as they arrive (no job); big endian by the job
jobs_of() {
  sql "SELECT count(j.id) FROM instances i LEFT JOIN jobs j ON j.instance_id = i.id AND j.kind = 'pixel_hash'
        WHERE i.sop_instance_uid = '1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457' AND i.transfer_syntax = '$1'"
}
[ "$(jobs_of 1.2.840.10008.1.2.1)/$(jobs_of 1.2.840.10008.1.2)/$(jobs_of 1.2.840.10008.1.2.2)" = 0/0/1 ] ||
  die "pixel_hash jobs for Explicit LE/Implicit LE/Explicit BE: $(jobs_of 1.2.840.10008.1.2.1)/$(jobs_of 1.2.840.10008.1.2)/$(jobs_of 1.2.840.10008.1.2.2), expected 0/0/1"
log "little endian pixels hashed as they arrived, equal to the job's hash of the big endian copy"
[ "$(sql "SELECT count(DISTINCT pixel_hash) || '/' || count(pixel_hash) FROM instances WHERE sop_instance_uid = '1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457'")" = 1/4 ] ||
  die "MR_small in JPEG 2000 lossless does not hash as its native encodings: $(sql "SELECT transfer_syntax, encode(pixel_hash, 'hex'), pixel_hash_note FROM instances")"
log "MR_small in JPEG 2000 lossless, decoded, hashes the same"
linked=$(sql "SELECT count(*) FROM instances c JOIN instances o ON o.id = c.duplicate_of JOIN series e ON e.id = c.series_id JOIN series f ON f.id = o.series_id JOIN studies s ON s.id = e.study_id JOIN patients p ON p.id = s.patient_id WHERE p.patient_id = 'PIX-A' AND o.instance_number = c.instance_number AND e.series_uid <> f.series_uid")
[ "$linked" = 3 ] || die "expected the 3 copies linked to their originals, got $linked"
[ "$(sql "SELECT count(*) FROM instances WHERE duplicate_of IS NOT NULL")" = 4 ] || die "something else was linked"
[ "$(sql "SELECT count(*) FROM instances i JOIN series e ON e.id = i.series_id JOIN studies s ON s.id = e.study_id JOIN instances o ON o.id = i.duplicate_of JOIN series oe ON oe.id = o.series_id JOIN studies os ON os.id = oe.study_id WHERE s.patient_id <> os.patient_id")" = 1 ] ||
  die "chrGerm and chrX1 (the same pixels, two patients) were not linked"
log "a series re-exported under new UIDs is linked to the original; other pixels are not"
# the copies were hashed and linked as they arrived, and say so as the job would
for id in $(sql "SELECT c.id FROM instances c JOIN series e ON e.id = c.series_id JOIN studies s ON s.id = e.study_id JOIN patients p ON p.id = s.patient_id WHERE p.patient_id = 'PIX-A' AND c.duplicate_of IS NOT NULL"); do
  grep -q "event=duplicate_pixels instance=$id representative=" "$work/serve.log" ||
    die "no duplicate_pixels line for instance $id"
done

# caseport ls: the copies are named on their originals' lines; --all lists them too
cp_cli ls >"$work/ls" || die "caseport ls failed"
[ "$(grep -c 'also-received-as=' "$work/ls")" = 3 ] || die "caseport ls does not name the 3 copies"
[ "$(grep -c 'same-pixels-as=' "$work/ls")" = 1 ] ||
  die "caseport ls: expected only the other patient's image marked same-pixels-as=: $(grep same-pixels "$work/ls")"
copy_study=$(/usr/bin/python3 -c 'import glob,sys,pydicom; print(pydicom.dcmread(sorted(glob.glob(sys.argv[1]+"/*"))[0]).StudyInstanceUID)' "$work/copy")
grep -q "study $copy_study" "$work/ls" && die "caseport ls shows the copied study, which has nothing else"
for f in "$work"/copy/*; do
  uid=$(/usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$f")
  grep -q "also-received-as=$uid" "$work/ls" || die "caseport ls does not name $uid"
done
cp_cli ls --all >"$work/ls-all" || die "caseport ls --all failed"
[ "$(grep -c 'same-pixels-as=' "$work/ls-all")" = 4 ] || die "caseport ls --all does not list the 3 copies and the other patient's image"
[ "$(tail -n 1 "$work/ls-all")" = "$(( $(sql 'SELECT count(*) FROM instances WHERE encoding_of IS NULL') )) instance(s)" ] ||
  die "caseport ls --all: $(tail -n 1 "$work/ls-all")"
log "caseport ls: copies named on the original's line; --all lists them"

# studies AET: "patient study-uid instances" per STUDY-level match
studies() {
  local dir="$work/find-$1"
  rm -rf "$dir"; mkdir -p "$dir"
  findscu -S -aet "$1" -aec CASEPORT -X -od "$dir" -k QueryRetrieveLevel=STUDY -k PatientID=PIX-A \
    -k StudyInstanceUID -k NumberOfStudyRelatedInstances 127.0.0.1 "$port" >"$dir.log" 2>&1 ||
    die "findscu as $1 failed: $(tail -n 3 "$dir.log")"
  /usr/bin/python3 - "$dir" "$copy_study" <<'PY2'
import glob, sys, pydicom
rows = []
for f in glob.glob(sys.argv[1] + "/rsp*.dcm"):
    ds = pydicom.dcmread(f)
    rows.append("%s %s" % ("copy" if ds.StudyInstanceUID == sys.argv[2] else "original",
                           ds.NumberOfStudyRelatedInstances))
print(" ".join(sorted(rows)))
PY2
}
# images AET: the SOP Instance UIDs an IMAGE-level query of the copied study returns
images() {
  local dir="$work/img-$1"
  rm -rf "$dir"; mkdir -p "$dir"
  findscu -S -aet "$1" -aec CASEPORT -X -od "$dir" -k QueryRetrieveLevel=IMAGE \
    -k StudyInstanceUID="$copy_study" -k SeriesInstanceUID -k SOPInstanceUID 127.0.0.1 "$port" \
    >"$dir.log" 2>&1 || die "findscu as $1 failed: $(tail -n 3 "$dir.log")"
  ls "$dir" | wc -l
}
[ "$(studies VIEWER)" = "original 3" ] || die "VIEWER sees: $(studies VIEWER)"
[ "$(images VIEWER)" = 0 ] || die "VIEWER finds copies at IMAGE level"
[ "$(studies MIRROR)" = "copy 3 original 3" ] || die "MIRROR (duplicates = show) sees: $(studies MIRROR)"
[ "$(images MIRROR)" = 3 ] || die "MIRROR does not find the copies at IMAGE level"
[ "$(studies LIMITED)" = "" ] || die "LIMITED sees what it was not granted: $(studies LIMITED)"
cp_cli grant --peer limited --study "$copy_study" >/dev/null || die "caseport grant failed"
[ "$(studies LIMITED)" = "copy 3" ] || die "LIMITED, granted the copy only, sees: $(studies LIMITED)"
mkdir -p "$work/chr"
findscu -S -aet VIEWER -aec CASEPORT -X -od "$work/chr" -k QueryRetrieveLevel=IMAGE \
  -k SOPInstanceUID='1.3.6.1.4.1.5962.1.1.0.1.1.1175775772.5723.0\1.3.6.1.4.1.5962.1.1.0.1.1.1175775771.5711.0' \
  127.0.0.1 "$port" >"$work/chr.log" 2>&1 || die "findscu failed: $(tail -n 3 "$work/chr.log")"
n=$(ls "$work/chr" | wc -l)
[ "$n" = 2 ] || die "the same pixels under two patients: VIEWER finds $n of the 2 images"
log "Query/Retrieve: copies hidden behind a visible original; shown with duplicates = show or when the original is not granted"
# the jobs' results went with their batches, never one by one after a failed batch
! grep -q 'event=batch_not_finished' "$work/serve.log" ||
  die "a batch of job results failed: $(grep -m1 'event=batch_not_finished' "$work/serve.log")"
e2e_stop
