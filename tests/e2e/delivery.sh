# Shared by test_delivery_*.sh: caseport with [jobs] delivery = $DELIVERY (transfer syntax
# $WANT_TS) normalizes lossless originals of several syntaxes (native ones, YBR_FULL_422
# among them, JPEG 2000, JPEG-LS, RLE) into it; pydicom decodes each
# normalized object to the original's pixels; a lossy original stays as sent; dciodvfy
# finds no error the original lacked.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
printf '[jobs]\ndelivery = %s\n' "$DELIVERY" >>"$work/caseport.conf"
e2e_start
d=$PYDICOM_DATA
gen_series "$work/a" 2 --rows 64 --cols 48 --seed "deliver-$DELIVERY" --patient DELIVER
storescu_to "$work/a" >/dev/null 2>&1 || die "storing the native series failed"
# compressed originals, each sent in its own transfer syntax
storescu -aet E2E -aec CASEPORT -xv 127.0.0.1 "$port" "$d/GDCMJ2K_TextGBR.dcm" >/dev/null 2>&1 || die "storing a JPEG 2000 file failed"
storescu -aet E2E -aec CASEPORT -xt 127.0.0.1 "$port" "$d/MR_small_jpeg_ls_lossless.dcm" >/dev/null 2>&1 || die "storing a JPEG-LS file failed"
storescu -aet E2E -aec CASEPORT -xr 127.0.0.1 "$port" "$d/SC_rgb_rle_2frame.dcm" >/dev/null 2>&1 || die "storing an RLE file failed"
storescu -aet E2E -aec CASEPORT -xx 127.0.0.1 "$port" "$d/JPEG-lossy.dcm" >/dev/null 2>&1 || die "storing a lossy JPEG failed"
storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$d/SC_ybr_full_422_uncompressed.dcm" >/dev/null 2>&1 ||
  die "storing a native YBR_FULL_422 file failed"
[ "$(sql "SELECT count(DISTINCT transfer_syntax) FROM instances")" = 5 ] ||
  die "not stored in their own syntaxes: $(sql "SELECT transfer_syntax FROM instances")"
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND state <> 'done'" 0 ||
  die "normalize jobs not done: $(sql "SELECT j.state, i.transfer_syntax, j.last_error FROM jobs j JOIN instances i ON i.id = j.instance_id WHERE kind = 'normalize' AND state <> 'done'")"

check() {  # ORIGINAL NAME
  local u
  u=$(/usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$1")
  cp_cli export --sop "$u" --normalized --out "$work/$2.norm.dcm" 2>/dev/null || die "export --normalized of $2 failed"
  cp_cli export --sop "$u" --out "$work/$2.orig.dcm" 2>/dev/null || die "export of $2 failed"
  /usr/bin/python3 - "$1" "$work/$2.norm.dcm" <<'PY' || die "$2: $(cat "$work/py.err")"
import sys, warnings, numpy as np, pydicom
from pydicom.pixel_data_handlers.util import convert_color_space
warnings.filterwarnings("ignore")
a, b = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
pa, pb = a.pixel_array, b.pixel_array
if str(a.PhotometricInterpretation) in ("YBR_FULL", "YBR_FULL_422") and str(b.PhotometricInterpretation) == "RGB":
    pa = convert_color_space(pa, "YBR_FULL", "RGB")
open(sys.argv[2] + ".ts", "w").write(str(b.file_meta.TransferSyntaxUID))
if not np.array_equal(pa, pb):
    open("/dev/stderr", "w").write("pixels differ\n")
    sys.exit(1)
PY
  cat "$work/$2.norm.dcm.ts"
}
for f in "$work"/a/*; do
  [ "$(check "$f" "native-$(basename "$f")")" = "$WANT_TS" ] || die "the native original is not in $WANT_TS"
done
[ "$(check "$d/GDCMJ2K_TextGBR.dcm" j2k)" = "$WANT_TS" ] || die "the JPEG 2000 original is not in $WANT_TS"
[ "$(check "$d/MR_small_jpeg_ls_lossless.dcm" jls)" = "$WANT_TS" ] || die "the JPEG-LS original is not in $WANT_TS"
[ "$(check "$d/SC_rgb_rle_2frame.dcm" rle)" = "$WANT_TS" ] || die "the RLE original is not in $WANT_TS"
[ "$(check "$d/JPEG-lossy.dcm" lossy)" = 1.2.840.10008.1.2.4.51 ] || die "the lossy original was re-encoded"
[ "$(check "$d/SC_ybr_full_422_uncompressed.dcm" ybr422)" = "$WANT_TS" ] || die "the YBR_FULL_422 original is not in $WANT_TS"
log "$DELIVERY: native (YBR_FULL_422 too), JPEG 2000, JPEG-LS and RLE originals in $WANT_TS with the same pixels; lossy kept"
[ "$(sql "SELECT count(*) FROM normalized WHERE verified = 'decoded pixels equal the original''s'")" = "$WANT_VERIFIED" ] ||
  die "not verified by decoding: $(sql "SELECT verified FROM normalized")"

for n in j2k jls rle ybr422; do
  no_new_dciodvfy_errors "$n" "$work/$n.orig.dcm" "$work/$n.norm.dcm"
done
log "dciodvfy: no new errors"
e2e_stop
