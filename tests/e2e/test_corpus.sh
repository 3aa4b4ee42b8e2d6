# Every file of python3-pydicom's test corpus that DCMTK's storescu can send is stored by
# caseport and exported back with a data set byte-identical to what was sent. "What was
# sent" is measured by a second real receiver: DCMTK's storescp in bit-preserving mode.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start

ref="$work/storescp"
mkdir -p "$ref"
ref_port=$(pg_free_port)
storescp --bit-preserving +xa --promiscuous -aet REF -od "$ref" -uf "$ref_port" >"$work/storescp.log" 2>&1 &
ref_pid=$!
sleep 0.5

sent=0; skipped=0
for f in "$PYDICOM_DATA"/*.dcm; do
  name=$(basename "$f")
  # The oracle decides what is sendable: a file storescu cannot send to storescp (broken,
  # no meta) is skipped; the same storescu options are then used towards caseport.
  opts=""
  if ! storescu -aet E2E -aec REF 127.0.0.1 "$ref_port" "$f" >/dev/null 2>&1; then
    rm -f "$ref"/*
    opts="--propose-lossless"
    if ! storescu -aet E2E -aec REF $opts 127.0.0.1 "$ref_port" "$f" >/dev/null 2>&1; then
      log "storescu cannot send $name"
      skipped=$((skipped + 1))
      rm -f "$ref"/*
      continue
    fi
  fi
  reffile=$(ls "$ref"/* | head -n1)
  uid=$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" uid "$reffile")
  storescu_to "$f" $opts >"$work/storescu.log" 2>&1 ||
    die "caseport did not store $name: $(tail -n 3 "$work/storescu.log")"
  cp_cli export --sop "$uid" --out "$work/out.dcm" 2>/dev/null || die "export of $name failed"
  dcmdump -q "$work/out.dcm" >/dev/null || die "dcmdump cannot read the export of $name"
  want=$(dataset_sha "$reffile")
  got=$(dataset_sha "$work/out.dcm")
  [ "$want" = "$got" ] || die "$name: exported data set differs from the one sent ($got vs $want)"
  [ "$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" ts "$work/out.dcm")" = \
    "$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" ts "$reffile")" ] || die "$name: transfer syntax differs"
  rm -f "$ref"/*
  sent=$((sent + 1))
done
kill "$ref_pid" 2>/dev/null || true
log "sent and verified $sent files, $skipped not sendable by storescu"
[ "$sent" -ge 50 ] || die "only $sent corpus files were sent"
cp_cli verify >/dev/null || die "caseport verify failed"
e2e_stop
