# Two DICOM stacks not built on DCMTK as peers: GDCM's gdcmscu (C-ECHO, C-STORE, C-FIND,
# C-MOVE) and dcmjs-dimse from npm (tests/peers/dimse.mjs: the same from Node.js).
# What they store is kept byte for byte as they sent it; what they query and retrieve
# comes back whole, an instance stored as Implicit VR LE included.
. "$SRC/tests/e2e/lib.sh"
command -v gdcmscu >/dev/null || die "gdcmscu is missing: tools/setup installs libgdcm-tools"
peers="$SRC/tests/peers"
[ -f "$peers/node_modules/dcmjs-dimse/package.json" ] || die "tests/peers/node_modules is missing: run tools/setup"
e2e_setup
gdcm_port=$(pg_free_port)
cat >>"$work/caseport.conf" <<CONF
[peer gdcm]
ae_title = GDCM
access = all
duplicates = show
destination = 127.0.0.1:$gdcm_port
[peer dcmjs]
ae_title = DCMJS
access = all
duplicates = show
CONF
e2e_start
d=/usr/lib/python3/dist-packages/pydicom/data/test_files
uid() { /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' "$1"; }
study_of() { /usr/bin/python3 -c 'import sys,pydicom; print(pydicom.dcmread(sys.argv[1]).StudyInstanceUID)' "$1"; }
# gdcmscu aborts after every A-RELEASE-RP (PEERS.md): its status lines judge, not its exit code
gdcm() { gdcmscu --aetitle GDCM --call CASEPORT "$@" 127.0.0.1 "$port" 2>&1 || true; }
dcmjs() { node "$peers/dimse.mjs" "$port" DCMJS "$@" 2>&1; }

# C-ECHO and C-STORE from GDCM: stored as sent
out=$(gdcm --echo -V)
grep -qi "error" <<<"$out" && die "gdcmscu C-ECHO: $out"
for f in CT_small.dcm MR_small_implicit.dcm SC_rgb_rle.dcm; do
  out=$(gdcm --store -i "$d/$f" -V)
  sql_eventually "SELECT count(*) FROM instances WHERE sop_instance_uid = '$(uid "$d/$f")' AND calling_ae = 'GDCM'" 1 ||
    die "gdcmscu's C-STORE of $f was not stored: $out"
  cp_cli export --sop "$(uid "$d/$f")" --out "$work/gdcm-$f" >/dev/null || die "export of $f"
  same_data "$d/$f" "$work/gdcm-$f"
done
log "GDCM: C-ECHO; C-STORE of Explicit, Implicit and RLE files, stored byte for byte"

# C-FIND from GDCM and from dcmjs-dimse: the study with its patient and instance count
study=$(study_of "$d/CT_small.dcm")
# (gdcmscu prints no identifiers; that it succeeded with one match is the server's to say)
out=$(gdcm --find --study --studyroot --key "20,d=$study" --key 10,20= --key 20,1208= -V -D)
grep -q "C-Find was successful" <<<"$out" || die "gdcmscu C-FIND: $(grep -v '^Debug\|^Last' <<<"$out" | tail -n 20)"
sql_eventually "SELECT count(*) FROM qr_audit WHERE calling_ae = 'GDCM' AND operation = 'C-FIND' AND matches = 1 AND status = 0" 1 ||
  die "gdcmscu's C-FIND did not match the study"
out=$(dcmjs find "$study") || die "dcmjs-dimse C-FIND: $out"
grep -q "^match 1CT1|CompressedSamples^CT1|1$" <<<"$out" || die "dcmjs-dimse C-FIND: $out"
grep -q "^status 0x0000$" <<<"$out" || die "dcmjs-dimse C-FIND final status: $out"
log "C-FIND from GDCM and from dcmjs-dimse"

# C-GET of the study stored as Implicit VR LE from dcmjs-dimse (gdcmscu 3.0.21's --get
# exits 1 before connecting, against any server)
mr=$(study_of "$d/MR_small_implicit.dcm")
mkdir -p "$work/dcmjs-get"
out=$(dcmjs get "$mr" "$work/dcmjs-get") || die "dcmjs-dimse C-GET: $out"
grep -q "^status 0x0000 completed [1-9][0-9]* failed 0$" <<<"$out" || die "dcmjs-dimse C-GET: $out"
[ "$(ls "$work/dcmjs-get" | wc -l)" -ge 1 ] || die "dcmjs-dimse C-GET wrote nothing: $out"
for f in "$work/dcmjs-get"/*; do
  same=$(/usr/bin/python3 -c 'import sys, numpy, pydicom
a, b = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
print(a.SOPInstanceUID == b.SOPInstanceUID and numpy.array_equal(a.pixel_array, b.pixel_array))' \
    "$d/MR_small_implicit.dcm" "$f" 2>&1)
  [ "$same" = True ] || die "$f is not the MR image stored as Implicit VR LE: $same"
done
log "C-GET from dcmjs-dimse, the instance stored as Implicit VR LE included"

# C-STORE from dcmjs-dimse (it re-encodes through dcmjs: what arrived is what is kept)
out=$(dcmjs store "$d/SC_rgb_small_odd.dcm") || die "dcmjs-dimse C-STORE: $out"
grep -q "^status 0x0000$" <<<"$out" || die "dcmjs-dimse C-STORE status: $out"
sql_eventually "SELECT count(*) FROM instances WHERE calling_ae = 'DCMJS'" 1 || die "dcmjs-dimse's C-STORE not stored"
log "C-STORE from dcmjs-dimse"

# C-MOVE from GDCM to itself (its own SCP on --port-scp)
mkdir -p "$work/gdcm-move"
out=$(gdcmscu --aetitle GDCM --call CASEPORT --move --study --studyroot --key "20,d=$study" \
        --port-scp "$gdcm_port" -o "$work/gdcm-move" -V 127.0.0.1 "$port" 2>&1 || true)
[ "$(ls "$work/gdcm-move" | wc -l)" = 1 ] || die "gdcmscu C-MOVE: $(ls "$work/gdcm-move") $(tail -n 20 <<<"$out")"
log "C-MOVE from GDCM to its own SCP"
# rtdose_rle.dcm's SOP Class and Instance UIDs are encoded UN. DCMTK's dcmsend reads them
# as their hex dump and puts "31" in the command for both; the data set agrees with the
# negotiated SOP class, so it is stored, under its own UIDs (storescu refuses to send it)
rt=$(uid "$d/rtdose_rle.dcm")
out=$(dcmsend -aet DCMSEND -aec CASEPORT 127.0.0.1 "$port" "$d/rtdose_rle.dcm" 2>&1) ||
  die "dcmsend of rtdose_rle.dcm: $out"
sql_eventually "SELECT count(*) FROM instances WHERE calling_ae = 'DCMSEND' AND sop_instance_uid = '$rt'" 1 ||
  die "dcmsend's rtdose_rle.dcm was not stored under its own UID: $out"
# a sender that sends the data set as it is in the file, with the File Meta Information's
# UIDs in the command: the same value encoded UN, so Success
out=$(/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" store-file "$d/rtdose_rle.dcm" 2>&1) ||
  die "rtdose_rle.dcm, its SOP Class UID encoded UN, was refused: $out"
log "rtdose_rle.dcm (UIDs encoded UN) from dcmsend and as it is: stored"
echoscu_to >/dev/null 2>&1 || die "caseport stopped answering"
e2e_stop
