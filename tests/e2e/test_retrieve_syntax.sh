# C-GET and C-MOVE deliver every transfer syntax of pydicom's corpus to peers that take
# only uncompressed syntaxes, as DCMTK's getscu and storescp do by default: an instance
# the peer accepted no context for in its own syntax goes in Explicit VR Little Endian
# with its pixels decoded (a delivery copy, made once and kept). Lossless ones arrive
# pixel-identical to the original; lossy ones say Lossy Image Compression 01.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
dest_port=$(pg_free_port)
implicit_port=$(pg_free_port)
cat >>"$work/caseport.conf" <<CONF
[peer viewer]
ae_title = VIEWER
access = all
duplicates = show
[peer archive]
ae_title = ARCHIVE
destination = 127.0.0.1:$dest_port
[peer implicit]
ae_title = IMPLICIT
destination = 127.0.0.1:$implicit_port
CONF
e2e_start
d=/usr/lib/python3/dist-packages/pydicom/data/test_files
files=(MR_small.dcm MR_small_implicit.dcm MR_small_bigendian.dcm image_dfl.dcm MR_small_RLE.dcm
       MR_small_jpeg_ls_lossless.dcm MR_small_jp2klossless.dcm SC_rgb_jpeg_gdcm.dcm
       JPEG-lossy.dcm SC_rgb_dcmtk_+eb+cr.dcm JPEG2000.dcm)
study=1.2.826.0.1.3680043.10.1417.77.1
mkdir -p "$work/in"
n=0
for f in "${files[@]}"; do  # one study, one patient, a UID of its own each
  n=$((n + 1))
  cp "$d/$f" "$work/in/$n.dcm"
  dcmodify -nb -gin -i PatientID=RET1 -i "PatientName=Retrieve^Test" -i PatientBirthDate=19700101 \
    -i "StudyInstanceUID=$study" -i "SeriesInstanceUID=$study.$n" "$work/in/$n.dcm" >/dev/null 2>&1 ||
    die "dcmodify $f"
done
# each file in its own syntax: storescu with an association profile of its class and syntax
for f in "$work"/in/*.dcm; do
  storescu_in "$(ds ts "$f")" "$f" MODALITY >"$work/send.log" 2>&1 ||
    die "storing $f failed: $(tail -n 3 "$work/send.log")"
done
[ "$(sql "SELECT count(DISTINCT transfer_syntax) FROM instances")" = "${#files[@]}" ] ||
  die "not one transfer syntax a file: $(sql "SELECT transfer_syntax, count(*) FROM instances GROUP BY 1")"
sql_eventually "SELECT count(*) FROM jobs WHERE state <> 'done'" 0 ||
  die "jobs not done: $(sql "SELECT kind, state, last_error FROM jobs WHERE state <> 'done'")"

# each received file against its original: not compressed; lossless pixels equal after
# decoding (pydicom, with GDCM for JPEG-LS and JPEG 2000), lossy ones marked as such
check() {  # DIR
  /usr/bin/python3 - "$work/in" "$1" "${#files[@]}" <<'PY'
import glob, os, sys, warnings
import numpy as np, pydicom
warnings.simplefilter("ignore")
orig = {pydicom.dcmread(f).SOPInstanceUID: f for f in glob.glob(os.path.join(sys.argv[1], "*.dcm"))}
got = sorted(glob.glob(os.path.join(sys.argv[2], "*")))
bad = []
if len(got) != int(sys.argv[3]):
    bad.append("%d files received, not %s" % (len(got), sys.argv[3]))
for f in got:
    r = pydicom.dcmread(f)
    o = pydicom.dcmread(orig[r.SOPInstanceUID])
    ots, rts = o.file_meta.TransferSyntaxUID, r.file_meta.TransferSyntaxUID
    name = "%s (%s)" % (os.path.basename(orig[r.SOPInstanceUID]), ots.name)
    if rts.is_compressed:
        bad.append("%s arrived compressed as %s" % (name, rts.name))
        continue
    a, b = o.pixel_array, r.pixel_array
    if a.shape != b.shape:
        bad.append("%s: shape %s, not %s" % (name, b.shape, a.shape))
    elif ots in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.91"):
        if r.get("LossyImageCompression") != "01":
            bad.append("%s: decoded lossy pixels without Lossy Image Compression 01" % name)
    elif not np.array_equal(a, b):
        bad.append("%s: pixels differ after decoding" % name)
print("\n".join(bad))
PY
}

mkdir -p "$work/get"
out=$(getscu -S -aet VIEWER -aec CASEPORT -od "$work/get" -k QueryRetrieveLevel=STUDY \
        -k "StudyInstanceUID=$study" 127.0.0.1 "$port" 2>&1) || die "getscu failed: $(tail -n 5 <<<"$out")"
bad=$(check "$work/get") || die "checking the C-GET files failed"
[ -z "$bad" ] || die "C-GET: $bad"
copies=$(sql "SELECT count(*) FROM delivery_copies")
[ "$copies" -ge 7 ] || die "only $copies delivery copies were made"
log "C-GET to getscu's default (uncompressed) contexts: all ${#files[@]} syntaxes, $copies through delivery copies"

mkdir -p "$work/move"
storescp -aet ARCHIVE -od "$work/move" "$dest_port" >"$work/storescp.log" 2>&1 &
bg_pids+=($!)
sleep 0.3
out=$(movescu -S -aet VIEWER -aec CASEPORT -aem ARCHIVE -v -k QueryRetrieveLevel=STUDY \
        -k "StudyInstanceUID=$study" 127.0.0.1 "$port" 2>&1) || die "movescu failed: $(tail -n 5 <<<"$out")"
grep -q 'Received Final Move Response (Success)' <<<"$out" ||
  die "the move did not succeed: $(grep -A3 'Final Move Response' <<<"$out")"
bad=$(check "$work/move") || die "checking the C-MOVE files failed"
[ -z "$bad" ] || die "C-MOVE: $bad"
[ "$(sql "SELECT count(*) FROM delivery_copies")" = "$copies" ] || die "delivery copies were made again"
log "C-MOVE to a default storescp: all ${#files[@]} syntaxes, the delivery copies reused"

# a destination that takes neither the stored syntax nor Explicit VR LE (storescp +xi:
# Implicit VR LE only): the compressed instances fail, the final response says why
mkdir -p "$work/implicit"
storescp -aet IMPLICIT +xi -od "$work/implicit" "$implicit_port" >"$work/storescp2.log" 2>&1 &
bg_pids+=($!)
sleep 0.3
out=$(movescu -S -aet VIEWER -aec CASEPORT -aem IMPLICIT -d -k QueryRetrieveLevel=STUDY \
        -k "StudyInstanceUID=$study" 127.0.0.1 "$port" 2>&1) || true
grep -q 'DIMSE Status *: 0xb000' <<<"$out" ||
  die "a move with failed sub-operations did not end in a warning: $(grep -A30 "Final Move Response" <<<"$out" | head -n 30)"
grep -q "neither its syntax nor Explicit VR LE.*ErrorComment" <<<"$out" ||
  die "no reason in the final response: $(grep -A20 'Final Move Response' <<<"$out" | head -n 24)"
[ "$(ls "$work/implicit" | wc -l)" = 1 ] ||
  die "the one instance stored as Implicit VR LE did not arrive alone: $(ls "$work/implicit")"
echoscu_to >/dev/null 2>&1 || die "caseport stopped answering"
log "a destination that takes no syntax we can send: the final response says why"
e2e_stop
