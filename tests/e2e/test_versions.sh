# The same instance again is not a conflict: a file sent with dcmsend and again with
# storescu -xb (converted to Explicit VR Big Endian on the way), and pydicom's MR_small
# in six transfer syntaxes under one SOP Instance UID, are one version each, received in
# several encodings, nothing flagged, each UID once in `caseport ls`. A real change of
# content under the same UID is a new version, flagged. Every encoding's bytes are kept.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start
d=/usr/lib/python3/dist-packages/pydicom/data/test_files
uid() { /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$1"; }
send_in() {  # TS FILE: storescu proposing only the file's class in TS (it converts to it)
  storescu_in "$1" "$2" MODALITY >/dev/null 2>&1 || die "storing $2 in $1 failed"
}
send_as_is() { send_in "$(ds ts "$1")" "$1"; }
jobs_done() {
  sql_eventually "SELECT count(*) FROM jobs WHERE state <> 'done'" 0 ||
    die "jobs not done: $(sql "SELECT kind, state, last_error FROM jobs WHERE state <> 'done'")"
}

ct=$(uid "$d/CT_small.dcm")
dcmsend -aet MODALITY -aec CASEPORT 127.0.0.1 "$port" "$d/CT_small.dcm" >/dev/null 2>&1 || die "dcmsend failed"
send_in 1.2.840.10008.1.2.2 "$d/CT_small.dcm"  # storescu -xb, with no fallback to accept
jobs_done
[ "$(sql "SELECT string_agg(version || ':' || transfer_syntax || ':' || flagged || ':' || (encoding_of IS NULL), ' ' ORDER BY id)
          FROM instances WHERE sop_instance_uid = '$ct'")" = \
  "1:1.2.840.10008.1.2.1:false:true 1:1.2.840.10008.1.2.2:false:false" ] ||
  die "CT_small sent twice: $(sql "SELECT version, transfer_syntax, flagged, encoding_of FROM instances WHERE sop_instance_uid = '$ct'")"
[ "$(sql "SELECT receipt_count FROM instances WHERE sop_instance_uid = '$ct' AND encoding_of IS NULL")" = 2 ] ||
  die "the second receipt is not counted on the version"
log "dcmsend, then storescu -xb: one version, received twice, in two encodings"

for f in MR_small.dcm MR_small_implicit.dcm MR_small_bigendian.dcm MR_small_RLE.dcm \
         MR_small_jpeg_ls_lossless.dcm MR_small_jp2klossless.dcm; do
  send_as_is "$d/$f"
done
jobs_done
mr=$(uid "$d/MR_small.dcm")
[ "$(sql "SELECT count(*) FROM instances WHERE sop_instance_uid = '$mr'")" = 6 ] ||
  die "not every encoding of MR_small was kept"
[ "$(sql "SELECT count(*) FROM instances WHERE sop_instance_uid = '$mr' AND (flagged OR version <> 1)")" = 0 ] ||
  die "MR_small in six syntaxes: $(sql "SELECT version, transfer_syntax, flagged FROM instances WHERE sop_instance_uid = '$mr'")"
cp_cli ls >"$work/ls" || die "caseport ls failed"
for u in "$mr" "$ct"; do
  [ "$(grep -c "instance $u " "$work/ls")" = 1 ] || die "caseport ls names $u $(grep -c "instance $u " "$work/ls") times"
done
grep "instance $mr " "$work/ls" | grep -q "also-as-ts=.*1.2.840.10008.1.2.5" ||
  die "ls does not say which encodings came: $(grep "instance $mr " "$work/ls")"
log "MR_small in six syntaxes: one version, no flag, its UID once in ls with its encodings"

# every encoding's bytes are kept as sent (rule 2), and export gives the version's own
cp_cli export --sop "$mr" --out "$work/mr.dcm" >/dev/null || die "export failed"
# (storescu leaves out MR_small.dcm's Data Set Trailing Padding: compared without it)
same=$(/usr/bin/python3 -c 'import sys, pydicom
a, b = (pydicom.dcmread(f) for f in sys.argv[1:])
el = lambda d: [(e.tag, e.value) for e in d.iterall() if e.tag != 0xFFFCFFFC]
print(el(a) == el(b), b.file_meta.TransferSyntaxUID)' "$d/MR_small.dcm" "$work/mr.dcm")
[ "$same" = "True 1.2.840.10008.1.2.1" ] || die "export of the version is not the Explicit VR LE receipt: $same"
[ "$(sql "SELECT count(DISTINCT blob_address) FROM instances WHERE sop_instance_uid = '$mr'")" = 6 ] ||
  die "an encoding's bytes were not kept"

# a real change under the same UID: a new version, flagged
cp "$d/CT_small.dcm" "$work/ct2.dcm"
dcmodify -nb -m "StudyDescription=CHANGED" "$work/ct2.dcm" >/dev/null 2>&1 || die "dcmodify"
send_as_is "$work/ct2.dcm"
jobs_done
[ "$(sql "SELECT version || ':' || flagged FROM instances WHERE sop_instance_uid = '$ct' AND encoding_of IS NULL ORDER BY version DESC LIMIT 1")" = "2:true" ] ||
  die "a changed data set under the same UID is not a flagged version 2: $(sql "SELECT version, flagged, encoding_of FROM instances WHERE sop_instance_uid = '$ct'")"
grep -q "event=new_content" "$work/serve.log" || die "the comparison that found new content is not logged"
log "a changed data set under the same UID: version 2, flagged"
e2e_stop
