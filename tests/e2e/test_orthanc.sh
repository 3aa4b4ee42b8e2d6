# Interop with Orthanc (Debian's package) as a peer: Orthanc C-STOREs a study to caseport
# and asks for Storage Commitment (the N-EVENT-REPORT comes back on a new association);
# a commitment for an instance caseport does not hold fails with its reason; Orthanc
# C-FINDs caseport and C-MOVEs the study back to itself.
. "$SRC/tests/e2e/lib.sh"
oport=$(pg_free_port)
hport=$(pg_free_port)
e2e_setup
cat >>"$work/caseport.conf" <<CONF
[peer orthanc]
ae_title = ORTHANC
hosts = 127.0.0.1
access = all
destination = 127.0.0.1:$oport
commitment_report = new
CONF
e2e_start

mkdir -p "$work/orthanc-db"
cat >"$work/orthanc.json" <<JSON
{
  "Name": "caseport-e2e", "StorageDirectory": "$work/orthanc-db", "IndexDirectory": "$work/orthanc-db",
  "DicomAet": "ORTHANC", "DicomPort": $oport, "HttpPort": $hport, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "DicomCheckCalledAet": false, "Plugins": [],
  "DicomModalities": { "caseport": ["CASEPORT", "127.0.0.1", $port] },
  "DicomScuTimeout": 20, "DicomScpTimeout": 30
}
JSON
Orthanc "$work/orthanc.json" >"$work/orthanc.log" 2>&1 &
bg_pids+=($!)
api="http://127.0.0.1:$hport"
for _ in $(seq 1 100); do curl -sf "$api/system" >/dev/null && break; sleep 0.1; done
curl -sf "$api/system" >/dev/null || die "Orthanc did not start: $(tail -n 5 "$work/orthanc.log")"
j() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

gen_series "$work/s" 5 --rows 64 --cols 64 --seed orthanc --patient ORTHANC-1
for f in "$work"/s/*; do curl -sf -X POST --data-binary @"$f" "$api/instances" >/dev/null || die "upload to Orthanc failed"; done
ostudy=$(curl -sf "$api/studies" | j 'd[0]')

# Orthanc stores to caseport, then asks for Storage Commitment.
rsp=$(curl -sf -X POST "$api/modalities/caseport/store" \
  -d "{\"Resources\": [\"$ostudy\"], \"StorageCommitment\": true, \"Synchronous\": true}") ||
  die "Orthanc's C-STORE to caseport failed: $(tail -n 5 "$work/orthanc.log")"
[ "$(sql 'SELECT count(*) FROM instances')" = 5 ] || die "caseport did not store Orthanc's 5 instances"
txn=$(j 'd["StorageCommitmentTransactionUID"]' <<<"$rsp")
for _ in $(seq 1 100); do
  st=$(curl -sf "$api/storage-commitment/$txn" | j 'd["Status"]') && [ "$st" != Pending ] && break
  sleep 0.1
done
[ "$st" = Success ] || die "storage commitment: Orthanc says $st: $(curl -s "$api/storage-commitment/$txn")"
[ "$(curl -sf "$api/storage-commitment/$txn" | j 'len(d["Success"])')" = 5 ] || die "commitment did not name 5 instances"
sql_eventually "SELECT count(*) FROM commitments WHERE transaction_uid = '$txn' AND failed_n = 0 AND references_n = 5 AND delivery = 'new association'" 1 ||
  die "commitment not recorded: $(sql 'SELECT transaction_uid, references_n, failed_n, delivery, outcome FROM commitments')"
log "Orthanc stored 5 instances and got storage commitment for them"

# Commitment for an instance caseport never received: a failure, with its reason.
rsp=$(curl -sf -X POST "$api/modalities/caseport/storage-commitment" \
  -d '{"DicomInstances": [{"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2", "SOPInstanceUID": "1.2.3.4.5.6.7.8.9"}]}') ||
  die "Orthanc's storage commitment request failed"
txn2=$(j 'd["ID"]' <<<"$rsp")
for _ in $(seq 1 100); do
  st=$(curl -sf "$api/storage-commitment/$txn2" | j 'd["Status"]') && [ "$st" != Pending ] && break
  sleep 0.1
done
[ "$st" = Failure ] || die "commitment for an unknown instance: Orthanc says $st"
reason=$(curl -sf "$api/storage-commitment/$txn2" | j 'd["Failures"][0]["FailureReason"]')
[ "$reason" = 274 ] || die "failure reason $reason, not 0x0112 (no such object instance)"
log "commitment of an unknown instance fails with 0x0112"

# Orthanc queries caseport and moves the study back to itself.
curl -sf -X DELETE "$api/studies/$ostudy" >/dev/null || die "deleting the study in Orthanc failed"
q=$(curl -sf -X POST "$api/modalities/caseport/query" \
  -d '{"Level": "Study", "Query": {"PatientID": "ORTHANC-1", "StudyInstanceUID": "", "NumberOfStudyRelatedInstances": ""}}' | j 'd["ID"]') ||
  die "Orthanc's C-FIND failed: $(tail -n 5 "$work/orthanc.log")"
[ "$(curl -sf "$api/queries/$q/answers" | j 'len(d)')" = 1 ] || die "Orthanc's C-FIND did not find the study"
n=$(curl -sf "$api/queries/$q/answers/0/content?simplify" | j 'd["NumberOfStudyRelatedInstances"]')
[ "$n" = 5 ] || die "Orthanc saw $n instances in the study, not 5"
curl -sf -X POST "$api/queries/$q/answers/0/retrieve" -d '{"TargetAet": "ORTHANC", "Synchronous": true}' >/dev/null ||
  die "Orthanc's C-MOVE failed: $(tail -n 5 "$work/orthanc.log")"
[ "$(curl -sf "$api/instances" | j 'len(d)')" = 5 ] || die "the C-MOVE did not bring 5 instances to Orthanc"
for f in "$work"/s/*; do
  sop=$(/usr/bin/python3 -c "import pydicom,sys; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)" "$f")
  id=$(curl -sf -X POST "$api/tools/lookup" -d "$sop" | j 'd[0]["ID"]') || die "$sop not in Orthanc after the move"
  curl -sf "$api/instances/$id/file" >"$work/back.dcm"
  same_data "$f" "$work/back.dcm" || die "$sop came back different"
done
log "Orthanc C-FIND and C-MOVE from caseport: 5 instances back, byte-identical"
e2e_stop
