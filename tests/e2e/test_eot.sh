# Encapsulated pixel data split by an Extended Offset Table (PS3.5 A.4): pydicom's
# SC_rgb_rle_2frame.dcm re-encapsulated by pydicom with two fragments per frame, an empty
# Basic Offset Table and the Extended Offset Table with its lengths. Without the table the
# four fragments could not be told apart into two frames. caseport decodes the frames to
# the original's pixels (the two instances are linked as the same pixels), keeps the
# original byte for byte, and its Explicit VR LE copy leaves the table out (it described
# the fragments that are gone) and decodes in pydicom to the same pixels.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
printf '[jobs]\ndelivery = explicit-le\n' >>"$work/caseport.conf"
e2e_start
src=$PYDICOM_DATA/SC_rgb_rle_2frame.dcm
/usr/bin/python3 - "$src" "$work/eot.dcm" <<'PY' || die "cannot make the test file"
import struct, sys
import pydicom
from pydicom.encaps import encapsulate, generate_pixel_data_frame
from pydicom.uid import generate_uid

ds = pydicom.dcmread(sys.argv[1])
n = int(ds.NumberOfFrames)
frames = list(generate_pixel_data_frame(ds.PixelData, n))
data = encapsulate(frames, fragments_per_frame=2, has_bot=False)
# where each frame's first item starts, from the first fragment's item (the empty Basic
# Offset Table item is 8 bytes)
starts, off, frame, got, items = [], 8, 0, 0, 0
while off < len(data) and frame < n:
    length = struct.unpack("<I", data[off + 4:off + 8])[0]
    if got == 0:
        starts.append(off - 8)
    got += length
    items += 1
    if got >= len(frames[frame]):
        frame, got = frame + 1, 0
    off += 8 + length
assert len(starts) == n and items == 2 * n, (starts, items)
ds.add_new(0x7FE00001, "OV", struct.pack("<%dQ" % n, *starts))
ds.add_new(0x7FE00002, "OV", struct.pack("<%dQ" % n, *[len(f) for f in frames]))
ds.PixelData = data
ds["PixelData"].is_undefined_length = True
ds.SOPInstanceUID = generate_uid()
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.save_as(sys.argv[2])
PY
uid=$(/usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$work/eot.dcm")
dcmdump -q +P 7fe0,0001 "$work/eot.dcm" | grep -q OV || die "the test file has no Extended Offset Table"
storescu -aet E2E -aec CASEPORT -xr 127.0.0.1 "$port" "$src" >/dev/null 2>&1 || die "storing the original failed"
storescu -aet E2E -aec CASEPORT -xr 127.0.0.1 "$port" "$work/eot.dcm" >/dev/null 2>&1 ||
  die "storing the re-encapsulated copy failed"
sql_eventually "SELECT count(*) FROM jobs WHERE state <> 'done'" 0 ||
  die "jobs not done: $(sql "SELECT kind, state, last_error FROM jobs WHERE state <> 'done'")"
[ "$(sql "SELECT count(*) FROM instances WHERE transfer_syntax = '1.2.840.10008.1.2.5'")" = 2 ] ||
  die "not both stored as RLE"
[ "$(sql "SELECT count(DISTINCT pixel_hash) || ' ' || count(pixel_hash) FROM instances")" = "1 2" ] ||
  die "the frames split by the Extended Offset Table do not hash as the original's: $(sql "SELECT sop_instance_uid, encode(pixel_hash, 'hex'), pixel_hash_note FROM instances")"
[ "$(sql "SELECT count(*) FROM instances WHERE sop_instance_uid = '$uid' AND duplicate_of IS NOT NULL")" = 1 ] ||
  die "the copy is not linked to the original as the same pixels"
log "two fragments a frame, split by the Extended Offset Table: same pixel hash as the original"

cp_cli export --sop "$uid" --out "$work/orig.dcm" 2>/dev/null || die "export failed"
same_data "$work/eot.dcm" "$work/orig.dcm" || die "the original was not kept as sent"
cp_cli export --sop "$uid" --normalized --out "$work/norm.dcm" 2>/dev/null || die "export --normalized failed"
! dcmdump -q "$work/norm.dcm" | grep -iqE '^\(7fe0,000[12]\)' ||
  die "the normalized copy still has the Extended Offset Table: $(dcmdump -q "$work/norm.dcm" | grep -i '(7fe0')"
/usr/bin/python3 - "$src" "$work/norm.dcm" <<'PY' || die "the normalized copy's pixels differ from the original's"
import sys, warnings
import numpy as np, pydicom
warnings.filterwarnings("ignore")
a, b = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
assert str(b.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.1", b.file_meta.TransferSyntaxUID
assert np.array_equal(a.pixel_array, b.pixel_array)
PY
log "the Explicit VR LE copy leaves the table out and has the original's pixels"
