# Every file of python3-pydicom's test corpus that DCMTK's storescu can send is stored by
# caseport and exported back with a data set byte-identical to what was sent. "What was
# sent" is measured by a second real receiver: DCMTK's storescp in bit-preserving mode.
# Then every stored image's decoded pixels are compared with pydicom's decoding of it.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start

ref="$work/storescp"
mkdir -p "$ref"
ref_port=$(pg_free_port)
storescp --bit-preserving +xa --promiscuous -aet REF -od "$ref" -uf "$ref_port" >"$work/storescp.log" 2>&1 &
ref_pid=$!
bg_pids+=("$ref_pid")
sleep 0.5

# storescu proposes exactly the file's own SOP class and transfer syntax (an association
# profile written per file), so both receivers get the data set in the file's encoding.

sent=0; skipped=0
for f in "$PYDICOM_DATA"/*.dcm; do
  name=$(basename "$f")
  sop_class=$(ds class "$f") && ts=$(ds ts "$f") || true
  if [ -z "$sop_class" ] || [ -z "$ts" ]; then
    # No (complete) file meta: DCMTK reads the data set anyway; propose its SOP class in
    # Implicit VR LE, which storescu converts to if needed.
    sop_class=$(dcmdump -q -Un +P 0008,0016 "$f" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n1 || true)
    ts=1.2.840.10008.1.2
  fi
  [ -n "$sop_class" ] || sop_class=1.2.840.10008.5.1.4.1.1.7
  one_context_profile "$sop_class" "$ts"
  opts=(-xf "$work/assoc.cfg" ONE)
  # The oracle decides what is sendable: a file storescu cannot send to storescp
  # (broken, unreadable) is skipped, with the reason logged.
  if ! storescu -aet E2E -aec REF "${opts[@]}" 127.0.0.1 "$ref_port" "$f" >"$work/ref.log" 2>&1; then
    log "storescu cannot send $name: $(grep -m1 -E '^(E|F):' "$work/ref.log")"
    skipped=$((skipped + 1))
    rm -f "$ref"/*
    continue
  fi
  reffile=$(ls "$ref"/* | head -n1)
  uid=$(ds uid "$reffile")
  storescu_to "$f" "${opts[@]}" >"$work/storescu.log" 2>&1 ||
    die "caseport did not store $name: $(tail -n 3 "$work/storescu.log")"
  # the bytes of this receipt: a file whose content an earlier one has is that version re-encoded
  cp_cli export --sop "$uid" --last-receipt --out "$work/out.dcm" 2>/dev/null || die "export of $name failed"
  dcmdump -q "$work/out.dcm" >/dev/null || die "dcmdump cannot read the export of $name"
  [ "$(ds ts "$work/out.dcm")" = "$(ds ts "$reffile")" ] || die "$name: transfer syntax differs"
  want=$(dataset_sha "$reffile")
  got=$(dataset_sha "$work/out.dcm")
  [ "$want" = "$got" ] || die "$name: exported data set differs from the one sent ($got vs $want)"
  rm -f "$ref"/*
  sent=$((sent + 1))
done
kill "$ref_pid" 2>/dev/null || true
log "sent and verified $sent files, $skipped not sendable by storescu"
[ "$sent" -ge 50 ] || die "only $sent corpus files were sent"

# Decoded pixels: every instance's pixel hash (native ones hashed as they arrived or by
# the job, JPEG family, JPEG-LS, RLE, JPEG 2000 decoded frame by frame) equals the same
# hash over pydicom's decoding of the file
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'pixel_hash' AND state NOT IN ('done', 'dead')" 0 ||
  die "pixel_hash jobs not finished: $(cp_cli jobs | head -n 5)"
sql "SELECT i.sop_instance_uid, i.transfer_syntax, coalesce(encode(i.pixel_hash, 'hex'), ''),
            coalesce(i.pixel_hash_note, ''), j.state, coalesce(replace(j.last_error, E'\n', ' '), '')
       FROM instances i LEFT JOIN jobs j ON j.instance_id = i.id AND j.kind = 'pixel_hash'" \
  >"$work/hashes"
/usr/bin/python3 "$SRC/tests/e2e/pixels.py" "$PYDICOM_DATA" "$work/hashes" >"$work/pixels.log" 2>&1 ||
  die "decoded pixels differ from pydicom's: $(cat "$work/pixels.log")"
log "$(grep '^pixels:' "$work/pixels.log")"

# Normalization settled at ingest (the normalize job's dry run over the header as it
# arrived, and the patient identity in cp_ingest): the job itself, queued now for every
# instance so settled, comes to the same answer over the whole corpus.
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND state NOT IN ('done', 'dead')" 0 ||
  die "normalize jobs not finished: $(cp_cli jobs | head -n 5)"
[ "$(sql "SELECT count(*) FROM instances i WHERE NOT EXISTS (SELECT 1 FROM normalized n WHERE n.instance_id = i.id)")" = 0 ] ||
  die "instances left without normalization"
settled=$(sql "SELECT string_agg(i.id::text, ',') FROM instances i WHERE NOT EXISTS
               (SELECT 1 FROM jobs j WHERE j.instance_id = i.id AND j.kind = 'normalize')")
n_settled=$(echo "$settled" | tr ',' '\n' | grep -c . || true)
[ "$n_settled" -ge 20 ] || die "only $n_settled corpus instances were settled at ingest"
sql "INSERT INTO jobs (kind, instance_id) SELECT 'normalize', id FROM instances WHERE id IN ($settled)" >/dev/null
sql_eventually "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND state NOT IN ('done', 'dead')" 0 ||
  die "the normalize jobs queued again did not finish: $(cp_cli jobs | head -n 5)"
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND instance_id IN ($settled) AND state = 'done'")" = "$n_settled" ] ||
  die "normalize jobs failed on instances settled at ingest: $(sql "SELECT instance_id, last_error FROM jobs WHERE kind = 'normalize' AND state <> 'done'")"
disagree=$(sql "SELECT string_agg(i.sop_instance_uid || ': ' || coalesce(array_to_string(n.changes, '; '), ''), ' | ')
                  FROM normalized n JOIN instances i ON i.id = n.instance_id
                 WHERE n.instance_id IN ($settled)
                   AND (n.blob_address IS NOT NULL OR n.verified <> 'the original needs no change')")
[ -z "$disagree" ] || die "the job would change what the intake settled as needing nothing: $disagree"
log "normalization: $n_settled of $(sql "SELECT count(*) FROM instances") instances settled at ingest, the job agrees on each"
cp_cli verify >/dev/null || die "caseport verify failed"
e2e_stop
