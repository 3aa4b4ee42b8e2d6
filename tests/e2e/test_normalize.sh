# The normalize job against real files: Explicit VR Big Endian and Deflated originals
# become Explicit VR LE with the same elements and pixels (pydicom compares); Latin-1 and
# ISO 2022 Japanese text becomes UTF-8 with the names pydicom decodes; a file that needs
# nothing gets no copy; a patient's name and birth date sent differently for the same
# Patient ID are coerced, the values sent kept in Original Attributes Sequence; C-MOVE
# sends the normalized object (the original with send = original); dciodvfy (dicom3tools)
# finds no error in a normalized object that the original did not already have.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
dest_port=$(pg_free_port)
cat >>"$work/caseport.conf" <<CONF
[peer viewer]
ae_title = VIEWER
access = all
[peer archive]
ae_title = ARCHIVE
access = all
send = original
[peer dest]
ae_title = DEST
destination = 127.0.0.1:$dest_port
CONF
e2e_start
mkdir -p "$work/recv"
storescp -aet DEST -od "$work/recv" "$dest_port" >"$work/storescp.log" 2>&1 &
bg_pids+=($!)
d=$PYDICOM_DATA
c=/usr/lib/python3/dist-packages/pydicom/data/charset_files
storescu -aet E2E -aec CASEPORT -xb 127.0.0.1 "$port" "$d/MR_small_bigendian.dcm" >/dev/null 2>&1 || die "storing the big endian file failed"
storescu -aet E2E -aec CASEPORT -xd 127.0.0.1 "$port" "$d/image_dfl.dcm" >/dev/null 2>&1 || die "storing the deflated file failed"
storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$d/CT_small.dcm" \
  "$c/chrGerm.dcm" "$c/chrH31.dcm" "$c/chrRuss.dcm" >/dev/null 2>&1 || die "storing failed"
[ "$(sql "SELECT count(*) FROM instances WHERE transfer_syntax = '1.2.840.10008.1.2.1.99'")" = 1 ] ||
  die "image_dfl.dcm was not stored deflated: $(sql "SELECT transfer_syntax FROM instances")"
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND state <> 'done'" 0 ||
  die "normalize jobs not done: $(cp_cli jobs | head -n 5)"
[ "$(sql "SELECT count(*) FROM normalized")" = 6 ] || die "expected 6 normalized rows"

uid() { /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$1"; }
# Settled at ingest: CT_small needs nothing, so the intake recorded that and queued no
# normalize job; the big endian, deflated and non-UTF-8 ones each had theirs.
[ "$(sql "SELECT string_agg(i.sop_instance_uid, ' ') FROM instances i WHERE NOT EXISTS
          (SELECT 1 FROM jobs j WHERE j.instance_id = i.id AND j.kind = 'normalize')")" = "$(uid "$d/CT_small.dcm")" ] ||
  die "settled at ingest: $(sql "SELECT i.sop_instance_uid, j.id FROM instances i LEFT JOIN jobs j ON j.instance_id = i.id AND j.kind = 'normalize'")"

# compare ORIGINAL NORMALIZED: same elements (text compared decoded), same pixels
compare() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, pydicom, numpy as np
a, b = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
assert b.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1", b.file_meta.TransferSyntaxUID
def walk(x, y, path=""):
    for e in x:
        if e.tag.element == 0 or e.tag in (0x00080005, 0x00080001):
            continue
        assert e.tag in y, path + str(e.tag) + " missing"
        f = y[e.tag]
        if e.VR == "SQ":
            assert len(e.value) == len(f.value), path + str(e.tag)
            for i, (p, q) in enumerate(zip(e.value, f.value)):
                walk(p, q, "%s%s[%d]." % (path, e.tag, i))
        elif e.tag != 0x7FE00010:
            assert str(e.value).rstrip(" \0") == str(f.value).rstrip(" \0"), \
                "%s%s: %r != %r" % (path, e.tag, e.value, f.value)
walk(a, b)
if "PixelData" in a:
    assert np.array_equal(a.pixel_array, b.pixel_array), "pixels differ"
print("same")
PY
}
export_both() {  # FILE NAME: the original and its normalized data set as $work/NAME.{orig,norm}.dcm
  local u; u=$(uid "$1")
  cp_cli export --sop "$u" --out "$work/$2.orig.dcm" 2>/dev/null || die "export of $2 failed"
  cp_cli export --sop "$u" --normalized --out "$work/$2.norm.dcm" 2>/dev/null || die "export --normalized of $2 failed"
}

export_both "$d/MR_small_bigendian.dcm" be
same_data "$work/be.orig.dcm" "$d/MR_small_bigendian.dcm" || die "the big endian original changed"
[ "$(compare "$d/MR_small_bigendian.dcm" "$work/be.norm.dcm")" = same ] || die "big endian: not the same data set"
export_both "$d/image_dfl.dcm" dfl
[ "$(compare "$d/image_dfl.dcm" "$work/dfl.norm.dcm")" = same ] || die "deflated: not the same data set"
[ "$(sql "SELECT changes[1] FROM normalized n JOIN instances i ON i.id = n.instance_id WHERE i.transfer_syntax = '1.2.840.10008.1.2.2'")" = "transfer syntax 1.2.840.10008.1.2.2 -> 1.2.840.10008.1.2.1" ] ||
  die "big endian: changes recorded as $(sql "SELECT changes FROM normalized")"
[ "$(sql "SELECT verified FROM normalized n JOIN instances i ON i.id = n.instance_id WHERE i.transfer_syntax = '1.2.840.10008.1.2.2'")" = "decoded pixels equal the original's" ] ||
  die "big endian: not verified"
[ "$(sql "SELECT verified FROM normalized n JOIN instances i ON i.id = n.instance_id WHERE i.transfer_syntax = '1.2.840.10008.1.2.1.99'")" = "decoded pixels equal the original's" ] ||
  die "deflated: not verified by its pixels"
log "Explicit VR Big Endian and Deflated: Explicit VR LE, same elements and pixels"


for f in chrGerm chrH31 chrRuss; do
  export_both "$c/$f.dcm" "$f"
  got=$(/usr/bin/python3 -c 'import sys,pydicom; a,b=pydicom.dcmread(sys.argv[1]),pydicom.dcmread(sys.argv[2]); print(b.SpecificCharacterSet, str(a.PatientName)==str(b.PatientName), b.PatientName.original_string.decode("utf-8")==str(a.PatientName))' "$c/$f.dcm" "$work/$f.norm.dcm")
  [ "$got" = "ISO_IR 192 True True" ] || die "$f: normalized character set and name: $got"
done
log "Latin-1, ISO 2022 Japanese and Cyrillic names: UTF-8, as pydicom decodes them"

# C-MOVE: a workstation gets the normalized data set, an archive with send = original
# the bytes received (storescp, DCMTK's, takes both)
move_as() {  # AET FILE: moves the instance FILE holds to DEST; prints the file received
  rm -rf "$work/recv"/*
  local keys
  keys=$(/usr/bin/python3 -c 'import sys,pydicom; d=pydicom.dcmread(sys.argv[1]); print("StudyInstanceUID=%s SeriesInstanceUID=%s SOPInstanceUID=%s" % (d.StudyInstanceUID, d.SeriesInstanceUID, d.SOPInstanceUID))' "$2")
  movescu -S -aet "$1" -aec CASEPORT -aem DEST -k QueryRetrieveLevel=IMAGE \
    $(for k in $keys; do printf -- '-k %s ' "$k"; done) 127.0.0.1 "$port" >"$work/move.log" 2>&1 ||
    die "movescu as $1 failed: $(tail -n 3 "$work/move.log")"
  [ "$(ls "$work/recv" | wc -l)" = 1 ] || die "the move as $1 delivered $(ls "$work/recv" | wc -l) files"
  ls "$work/recv"/*
}
got=$(move_as VIEWER "$d/MR_small_bigendian.dcm")
[ "$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" ts "$got")" = 1.2.840.10008.1.2.1 ] || die "VIEWER did not get Explicit VR LE"
same_data "$got" "$work/be.norm.dcm" || die "VIEWER did not get the normalized data set"
got=$(move_as ARCHIVE "$d/MR_small_bigendian.dcm")
[ "$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" ts "$got")" = 1.2.840.10008.1.2.2 ] || die "ARCHIVE did not get Explicit VR BE"
same_data "$got" "$work/be.orig.dcm" || die "ARCHIVE (send = original) did not get the original"
got=$(move_as VIEWER "$c/chrGerm.dcm")
same_data "$got" "$work/chrGerm.norm.dcm" || die "VIEWER did not get chrGerm normalized"
got=$(move_as ARCHIVE "$c/chrGerm.dcm")
same_data "$got" "$work/chrGerm.orig.dcm" || die "ARCHIVE did not get chrGerm as received"
log "C-MOVE: the normalized data set, or with send = original the bytes received"

[ "$(sql "SELECT n.blob_address IS NULL AND n.verified = 'the original needs no change' FROM normalized n JOIN instances i ON i.id = n.instance_id WHERE i.sop_instance_uid = '$(uid "$d/CT_small.dcm")'")" = t ] ||
  die "CT_small needs no change but got a copy"
export_both "$d/CT_small.dcm" ct
same_data "$work/ct.norm.dcm" "$work/ct.orig.dcm" || die "CT_small: the normalized export is not the original"
log "a file that needs nothing keeps its original"

# A header longer than the intake's first chunk (256 KiB, and at most one PDU more): the
# intake cannot run the dry run over it, so the job decides, and finds nothing to change
/usr/bin/python3 - "$d/CT_small.dcm" "$work/ct-long-header.dcm" <<'PY'
import sys, pydicom
from pydicom.uid import generate_uid
ds = pydicom.dcmread(sys.argv[1])
ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
ds.add_new(0x00290010, "LO", "CASEPORT TEST")  # private creator of block 10
ds.add_new(0x00291001, "OB", bytes(1024 * 1024))
ds.save_as(sys.argv[2])
PY
storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$work/ct-long-header.dcm" >/dev/null 2>&1 ||
  die "storing ct-long-header failed"
long=$(uid "$work/ct-long-header.dcm")
[ "$(sql "SELECT count(*) FROM jobs j JOIN instances i ON i.id = j.instance_id WHERE j.kind = 'normalize' AND i.sop_instance_uid = '$long'")" = 1 ] ||
  die "a header past the first chunk was settled at ingest"
sql_eventually "SELECT n.verified FROM normalized n JOIN instances i ON i.id = n.instance_id WHERE i.sop_instance_uid = '$long'" \
  "the original needs no change" || die "the job did not find ct-long-header unchanged"
log "a header past the intake's first chunk: its job decides"

# Identity coercion: CT_small again under a new SOP Instance UID, its name written another
# way (case, empty components: the same person, docs/cases.md identity rules) and with a
# birth date the record lacks, gets the patient record's name; what it was sent with is in
# Original Attributes Sequence (PS3.3 C.12.1.1.9). Another name would be another person:
# nothing coerced (tests/unit/pg/test_identity.c).
/usr/bin/python3 - "$d/CT_small.dcm" "$work/ct-renamed.dcm" <<'PY'
import sys, pydicom
from pydicom.uid import generate_uid
ds = pydicom.dcmread(sys.argv[1])
ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
ds.PatientName, ds.PatientBirthDate = "COMPRESSEDSAMPLES^CT1^^", "19991231"
ds.save_as(sys.argv[2])
PY
storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$work/ct-renamed.dcm" >/dev/null 2>&1 || die "storing ct-renamed failed"
[ "$(sql "SELECT count(*) FROM jobs j JOIN instances i ON i.id = j.instance_id WHERE j.kind = 'normalize' AND i.sop_instance_uid = '$(uid "$work/ct-renamed.dcm")'")" = 1 ] ||
  die "ct-renamed, whose identity is coerced, was settled at ingest"
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND state <> 'done'" 0 ||
  die "normalize jobs not done: $(cp_cli jobs | head -n 5)"
export_both "$work/ct-renamed.dcm" renamed
got=$(/usr/bin/python3 - "$d/CT_small.dcm" "$work/renamed.norm.dcm" <<'PY'
import sys, pydicom
a, b = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
item = b.OriginalAttributesSequence[-1]
sent = item.ModifiedAttributesSequence[0]
# CT_small's birth date is empty: the record has none to coerce to, so the one sent stays
print(b.PatientName == a.PatientName, a.get("PatientBirthDate", "") == "", b.PatientBirthDate,
      str(sent.PatientName), "PatientBirthDate" in sent, item.ReasonForTheAttributeModification,
      item.ModifyingSystem, item.SourceOfPreviousValues, len(item.AttributeModificationDateTime) >= 14)
PY
)
[ "$got" = "True True 19991231 COMPRESSEDSAMPLES^CT1^^ False COERCE caseport E2E True" ] || die "coercion: $got"
[ "$(sql "SELECT count(*) FROM normalized WHERE changes[1] LIKE 'patient identity coerced to the patient record (PatientName)%'")" = 1 ] ||
  die "coercion not recorded: $(sql "SELECT changes FROM normalized WHERE blob_address IS NOT NULL")"
log "identity coercion: the patient record's name, the name sent in Original Attributes Sequence"

# caseport tag: a value by path, read up to Pixel Data, from the original or the copy
ren=$(uid "$work/ct-renamed.dcm")
[ "$(cp_cli tag --sop "$ren" --path 0010,0010)" = "COMPRESSEDSAMPLES^CT1^^" ] || die "caseport tag: the name sent"
[ "$(cp_cli tag --sop "$ren" --normalized --path 0400,0561[0].0400,0550[0].0010,0010)" = "COMPRESSEDSAMPLES^CT1^^" ] ||
  die "caseport tag: the name in Original Attributes Sequence"
[ "$(cp_cli tag --sop "$ren" --normalized --path 0400,0561[0].0400,0565)" = COERCE ] || die "caseport tag: the reason"
[ "$(cp_cli tag --sop "$(uid "$c/chrGerm.dcm")" --normalized --path 0010,0010)" = "Äneas^Rüdiger" ] ||
  die "caseport tag: chrGerm's name in UTF-8"
[ "$(cp_cli tag --sop "$(uid "$d/MR_small_bigendian.dcm")" --path 0028,0010)" = 64 ] ||
  die "caseport tag: Rows of the big endian original is not 64"
# binary numbers as numbers, as dcmdump writes them: US, SS, SL, FL, FD
for want in "0028,0100=16" "0019,1011=2" "0019,1002=912" "0027,1041=-77.2040634" \
            "0023,1070=862399761.11107898"; do
  got=$(cp_cli tag --sop "$ren" --path "${want%%=*}")
  [ "$got" = "${want#*=}" ] || die "caseport tag ${want%%=*}: $got, not ${want#*=}"
done
rc=0; cp_cli tag --sop "$ren" --path 0010,9999 2>/dev/null || rc=$?
[ "$rc" = 1 ] || die "caseport tag: a missing attribute exits $rc, not 1"
rc=0; cp_cli tag --sop "$ren" --path 10,10 2>/dev/null || rc=$?
[ "$rc" = 2 ] || die "caseport tag: a malformed path exits $rc, not 2"
log "caseport tag: values by path, nested ones too, from the original or the normalized copy"

# dciodvfy: no error in a normalized object that the original lacks. dciodvfy cannot read
# a deflated data set at all; that original is compared as DCMTK's dcmconv inflates it.
dcmconv +te "$work/dfl.orig.dcm" "$work/dfl.inflated.dcm" || die "dcmconv could not inflate image_dfl"
dciodvfy "$work/dfl.orig.dcm" >"$work/dfl.orig.out" 2>&1 || true
grep -q 'Dicom dataset read failed' "$work/dfl.orig.out" ||
  die "dciodvfy reads deflated data sets now: compare with the original itself"
dciodvfy "$work/dfl.norm.dcm" >"$work/dfl.norm.out" 2>&1 || true
grep -q 'read failed' "$work/dfl.norm.out" && die "dciodvfy cannot read the normalized image_dfl"
for n in be dfl chrGerm chrH31 chrRuss renamed; do
  base="$work/$n.orig.dcm"
  [ "$n" = dfl ] && base="$work/dfl.inflated.dcm"
  no_new_dciodvfy_errors "$n" "$base" "$work/$n.norm.dcm"
done
log "dciodvfy: no new errors"
cp_cli verify >/dev/null || die "caseport verify fails with the normalized blobs"
# an instance removed takes its copy's blob reference with it
copy_blob=$(sql "SELECT encode(n.blob_address, 'hex') FROM normalized n JOIN instances i ON i.id = n.instance_id WHERE i.sop_instance_uid = '$ren'")
[ -n "$copy_blob" ] || die "ct-renamed has no normalized blob"
[ "$(sql "SELECT refcount FROM blobs WHERE address = '\\x$copy_blob'")" = 1 ] || die "the copy's blob is not referenced once"
sql "DELETE FROM instances WHERE sop_instance_uid = '$ren'" >/dev/null
[ "$(sql "SELECT refcount FROM blobs WHERE address = '\\x$copy_blob'")" = 0 ] || die "the copy's blob reference was not given back"
log "removing an instance gives its normalized copy's blob reference back"
# 8-bit RGB whose pixels are an OW value of odd length, sent as Explicit VR Big Endian
# (storescu converts it: every pair of bytes swapped, one pair across the frame's end):
# normalized to the same pixels, not a dead job
odd=$d/SC_rgb_small_odd.dcm
storescu_in 1.2.840.10008.1.2.2 "$odd" >/dev/null 2>&1 ||
  die "storing SC_rgb_small_odd as big endian failed"
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND state <> 'done'" 0 ||
  die "normalizing 8-bit RGB sent as big endian: $(sql "SELECT last_error FROM jobs WHERE state <> 'done'")"
export_both "$odd" rgbbe
[ "$(compare "$odd" "$work/rgbbe.norm.dcm")" = same ] || die "8-bit RGB from big endian: not the same data set"
log "8-bit RGB in an odd-length OW value, sent as big endian: normalized, the same pixels"

# no normalized copy: export says why, from the normalize job
u=$(uid "$odd")
sql "DELETE FROM normalized WHERE instance_id = (SELECT id FROM instances WHERE sop_instance_uid = '$u');
     UPDATE jobs SET state = 'dead', last_error = 'a reason kept by the job'
      WHERE kind = 'normalize' AND instance_id = (SELECT id FROM instances WHERE sop_instance_uid = '$u')" >/dev/null
out=$(cp_cli export --sop "$u" --normalized --out "$work/none.dcm" 2>&1) && die "export of a missing copy succeeded"
grep -q "no normalized copy: normalizing it failed: a reason kept by the job" <<<"$out" ||
  die "export --normalized does not say why: $out"
log "export --normalized without a copy says why: $out"
# the jobs' results went with their batches, never one by one after a failed batch
! grep -q 'event=batch_not_finished' "$work/serve.log" ||
  die "a batch of job results failed: $(grep -m1 'event=batch_not_finished' "$work/serve.log")"
e2e_stop
