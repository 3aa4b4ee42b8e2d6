# De-duplication level 3 by the serve's pixel_hash jobs: the same image stored in Explicit
# LE, Explicit BE and Implicit LE hashes the same; a series re-exported under new UIDs is
# linked to the original (caseport ls: same-pixels-as=); other pixels are not; compressed
# pixel data is noted as waiting for its decoder.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
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
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'pixel_hash' AND state <> 'done'" 0 ||
  die "pixel_hash jobs not done: $(cp_cli jobs | head -n 5)"

[ "$(sql "SELECT count(DISTINCT pixel_hash) || '/' || count(pixel_hash) FROM instances WHERE $native")" = 1/3 ] ||
  die "MR_small hashes differently in its three encodings"
[ "$(sql "SELECT count(*) FROM instances WHERE sop_instance_uid = '1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457' AND duplicate_of IS NOT NULL")" = 0 ] ||
  die "versions of one SOP Instance UID were linked as duplicates"
log "MR_small: one hash in Explicit LE, Explicit BE and Implicit LE"
[ "$(sql "SELECT pixel_hash_note FROM instances WHERE transfer_syntax = '1.2.840.10008.1.2.4.90'")" = "compressed: waits for its decoder" ] ||
  die "JPEG 2000: $(sql "SELECT transfer_syntax, pixel_hash_note FROM instances WHERE pixel_hash IS NULL")"
linked=$(sql "SELECT count(*) FROM instances c JOIN instances o ON o.id = c.duplicate_of JOIN series e ON e.id = c.series_id JOIN series f ON f.id = o.series_id WHERE o.instance_number = c.instance_number AND e.series_uid <> f.series_uid")
[ "$linked" = 3 ] || die "expected the 3 copies linked to their originals, got $linked"
[ "$(sql "SELECT count(*) FROM instances WHERE duplicate_of IS NOT NULL")" = 3 ] || die "something else was linked"
[ "$(cp_cli ls | grep -c 'same-pixels-as=')" = 3 ] || die "caseport ls does not show the 3 duplicates"
log "a series re-exported under new UIDs is linked to the original; other pixels are not"
e2e_stop
