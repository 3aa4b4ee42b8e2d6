# After a crash (issue 18, part 5): a restarted node takes back its previous life's jobs
# at once, not when their leases expire; a job run again writes the same blob, so what
# the killed run left is the one recorded; blob files and pack tails nothing refers to
# are reported by `caseport verify`, and removed by `verify --orphans` and at start.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
printf '[jobs]\nworkers = 0\n' >>"$work/caseport.conf"
workers() { sed -i "s/^workers = .*/workers = $1/" "$work/caseport.conf"; }
d=$PYDICOM_DATA
e2e_start
storescu_to "$d/CT_small.dcm" >/dev/null 2>&1 || die "storing CT_small failed"
# CT_small under another SOP Instance UID and its name written another way: coerced to
# the record's name, the values sent dated in Original Attributes Sequence
/usr/bin/python3 - "$d/CT_small.dcm" "$work/renamed.dcm" <<'PY'
import sys, pydicom
from pydicom.uid import generate_uid
ds = pydicom.dcmread(sys.argv[1])
ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
ds.PatientName = "COMPRESSEDSAMPLES^CT1^^"
ds.save_as(sys.argv[2])
PY
storescu_to "$work/renamed.dcm" >/dev/null 2>&1 || die "storing the renamed CT failed"
e2e_stop

# -- the previous life's jobs: its workers were host:PID:N with a PID now gone; a live
# process's worker (this shell's PID) keeps its lease
host=$(hostname | cut -c1-31)
dead_pid=$(sh -c 'echo $$')
sql "UPDATE jobs SET state = 'running', worker = '$host:$dead_pid:0', attempts = 1,
     lease_until = now() + interval '5 minutes'" >/dev/null
n=$(sql "SELECT count(*) FROM jobs WHERE state = 'running'")
[ "$n" -ge 2 ] || die "expected the two normalize jobs at least, found $n jobs" 
sql "INSERT INTO jobs (kind, state, worker, lease_until, attempts)
     VALUES ('reindex', 'running', '$host:$$:0', now() + interval '5 minutes', 1)" >/dev/null
workers 1
e2e_start
sql_eventually "SELECT count(*) FROM jobs WHERE state <> 'done' AND worker IS DISTINCT FROM '$host:$$:0'" 0 ||
  die "the previous life's jobs were not taken back: $(sql "SELECT kind, state, worker FROM jobs")"
grep -q "event=reclaimed workers=1 requeued=$n dead=0" "$work/serve.log" || die "the reclaim is not logged"
[ "$(sql "SELECT state FROM jobs WHERE worker = '$host:$$:0'")" = running ] ||
  die "a live process's job was taken back"
sql "DELETE FROM jobs WHERE worker = '$host:$$:0'" >/dev/null
log "the previous life's $n jobs taken back at start; a live worker's left to its lease"

# -- a normalize job run again (as after a kill before its result was recorded) writes
# the same bytes: the same address, no second file
renamed=$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" uid "$work/renamed.dcm")
norm() { sql "SELECT encode(n.blob_address, 'hex') FROM normalized n JOIN instances i ON i.id = n.instance_id WHERE i.sop_instance_uid = '$renamed'"; }
first=$(norm)
[ -n "$first" ] || die "the renamed CT was not rewritten"
files() { find "$work/blobs" -path "$work/blobs/packs" -prune -o -path "$work/blobs/tmp" -prune -o -type f -print | wc -l; }
before=$(files)
sleep 1.1 # a run a second later, which dated its coercion by the clock, wrote other bytes
sql "UPDATE jobs j SET state = 'queued', run_after = now() FROM instances i
     WHERE i.id = j.instance_id AND i.sop_instance_uid = '$renamed' AND j.kind = 'normalize'" >/dev/null
sql_eventually "SELECT count(*) FROM jobs WHERE state <> 'done'" 0 || die "the job run again did not finish"
[ "$(norm)" = "$first" ] || die "the job run again wrote another blob: $first, then $(norm)"
[ "$(files)" = "$before" ] || die "the job run again left a file beside the first: $before, then $(files)"
log "a normalize job run again recorded the blob its first run wrote"

# -- orphans: blob files no row names (a copy under another address), one an hour old,
# one new; and a pack tail: bytes past the last indexed blob of a pack no one holds
e2e_stop
at() { echo "$work/blobs/${1:0:3}/$1"; }
orphan() { cp "$(at "$first")" "$(at "$1")"; }
old=$(printf 'ab%.0s' $(seq 32)) new=$(printf 'cd%.0s' $(seq 32))
orphan "$old" && touch -d '1 hour ago' "$(at "$old")"
orphan "$new"
pack=$(find "$work/blobs/packs" -name '*.pack' | head -n 1)
size=$(stat -c %s "$pack")
head -c 5000 /dev/urandom >>"$pack"
out=$(cp_cli verify) || die "verify failed: $out"
grep -q "unreferenced: 1 blob file(s) of .* to remove; 1 younger" <<<"$out" &&
  grep -q "pack tails: 1 of .* 5000 bytes past their last indexed blob to cut" <<<"$out" ||
  die "verify does not report the leftovers: $out"
[ -f "$(at "$old")" ] && [ "$(stat -c %s "$pack")" = $((size + 5000)) ] ||
  die "plain verify changed the store"
out=$(cp_cli verify --orphans) || die "verify --orphans failed: $out"
[ ! -e "$(at "$old")" ] && [ -f "$(at "$new")" ] ||
  die "verify --orphans removed the wrong files: $out"
[ "$(stat -c %s "$pack")" = "$size" ] || die "the pack tail was not cut: $(stat -c %s "$pack") bytes, not $size"
packs_tight
log "$(tr '\n' ' ' <<<"$out")"
# at start: the same sweep (the new file is an hour old now)
touch -d '1 hour ago' "$(at "$new")"
head -c 300 /dev/urandom >>"$pack"
e2e_start
this_life() { tail -n "+$serve_from" "$work/serve.log"; }
for _ in $(seq 1 100); do this_life | grep -q 'event=swept' && break; sleep 0.1; done
this_life | grep -q 'event=swept .*orphans_removed=1 .*tails_cut=1 tail_bytes=300' ||
  die "the sweep at start: $(this_life | grep 'event=sw')"
[ ! -e "$(at "$new")" ] || die "the sweep at start left the orphan"
packs_tight
cp_cli verify >/dev/null || die "verify after the sweep failed"
e2e_stop
