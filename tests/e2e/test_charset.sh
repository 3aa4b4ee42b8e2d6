# Character sets: every sample of pydicom's charset_files that storescu can send is stored,
# and the index holds its Patient's Name in UTF-8 exactly as pydicom decodes it (ISO 8859
# sets, ISO 2022 Japanese and Korean, UTF-8, GB18030). A C-FIND in Latin-1 finds the
# German name, returned in UTF-8.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
printf '[peer viewer]\nae_title = VIEWER\naccess = all\n' >>"$work/caseport.conf"
e2e_start
cs=/usr/lib/python3/dist-packages/pydicom/data/charset_files
# one association per file: storescu gives up on the rest of a batch after a file it
# cannot send (the two without a Patient's Name and SOP Class)
for f in "$cs"/*.dcm; do
  storescu -aet E2E -aec CASEPORT 127.0.0.1 "$port" "$f" >>"$work/store.log" 2>&1 || true
done
/usr/bin/python3 - "$cs" >"$work/expected.tsv" <<'PY'
import glob, os, sys, pydicom
from pydicom.multival import MultiValue
for f in sorted(glob.glob(sys.argv[1] + "/*.dcm")):
    ds = pydicom.dcmread(f)
    pn = ds.get("PatientName")
    if pn is None:
        continue
    name = "\\".join(str(v) for v in pn) if isinstance(pn, MultiValue) else str(pn)
    print("%s\t%s\t%s" % (os.path.basename(f), ds.SOPInstanceUID, name.rstrip("=^")))
PY
checked=0
while IFS=$'\t' read -r file sop want; do
  got=$(sql "SELECT DISTINCT p.name FROM instances i JOIN series e ON e.id = i.series_id JOIN studies s ON s.id = e.study_id JOIN patients p ON p.id = s.patient_id WHERE i.sop_instance_uid = '$sop'")
  [ -n "$got" ] || { log "$file: not stored (storescu: $(grep -A1 "$file" "$work/store.log" | grep -E '^E:' | head -n 1))"; continue; }
  got=$(sed 's/[=^]*$//' <<<"$got")
  [ "$got" = "$want" ] || die "$file: index has '$got', pydicom decodes '$want'"
  checked=$((checked + 1))
done <"$work/expected.tsv"
[ "$checked" = "$(wc -l <"$work/expected.tsv")" ] || die "only $checked names checked"
log "$checked names in the index equal pydicom's decoding"

# A Latin-1 query (ISO_IR 100 in the identifier) matches the name stored from Latin-1.
mkdir -p "$work/f"
findscu -S -aet VIEWER -aec CASEPORT -X -od "$work/f" -k QueryRetrieveLevel=STUDY \
  -k "SpecificCharacterSet=ISO_IR 100" -k "PatientName=$(printf '\xc4neas*')" -k PatientID \
  127.0.0.1 "$port" >"$work/f.log" 2>&1 || die "findscu failed: $(tail -n 3 "$work/f.log")"
got=$(/usr/bin/python3 -c "import glob,pydicom; print([str(pydicom.dcmread(f).PatientName) for f in glob.glob('$work/f/rsp*.dcm')])")
[ "$got" = "['Äneas^Rüdiger']" ] || die "Latin-1 query: $got"
log "a Latin-1 C-FIND finds Äneas^Rüdiger"
e2e_stop
