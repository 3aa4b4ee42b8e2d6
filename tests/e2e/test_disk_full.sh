# A full disk for a while (issue 18, part 5): the blob store on a 4 MiB tmpfs, filled,
# then freed. Meanwhile a C-STORE is refused with 0xA700 and "storage is full" (no path of
# ours), and a normalize job, though allowed a single attempt, is retried rather than
# given up: the failure passes by itself. Once there is room again the job finishes.
# The tmpfs is mounted in a mount namespace of its own (root, as CI runs), which caseport
# serve enters; it goes away with the test.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
printf '[jobs]\nworkers = 0\n' >>"$work/caseport.conf"
unshare --mount --propagation private sleep 900 &
holder=$!
bg_pids+=("$holder")
sleep 0.2
ns() { nsenter -t "$holder" -m -- "$@"; }
mkdir -p "$work/blobs"
ns mount -t tmpfs -o size=4m,mode=0700 tmpfs "$work/blobs" || die "cannot mount a tmpfs for the blob store"
printf '#!/bin/sh\nexec nsenter -t %s -m -- %s "$@"\n' "$holder" "$CASEPORT" >"$work/caseport-ns"
chmod +x "$work/caseport-ns"
CASEPORT=$work/caseport-ns
this_life() { tail -n "+$serve_from" "$work/serve.log"; }

e2e_start
storescu_to "$PYDICOM_DATA/MR_small_bigendian.dcm" >/dev/null 2>&1 || die "storing the big endian MR failed"
e2e_stop
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'normalize' AND state = 'queued'")" = 1 ] ||
  die "no normalize job waits for the big endian MR"
sql "UPDATE jobs SET max_attempts = 1" >/dev/null # under the old rule, one failure was death

ns dd if=/dev/zero of="$work/blobs/filler" bs=64k >/dev/null 2>&1 || true # until the disk is full
sed -i 's/^workers = .*/workers = 1/' "$work/caseport.conf"
e2e_start
gen_series "$work/ct" 1 --rows 256 --cols 256 --seed full
out=$(storescu_to "$work/ct" -d 2>&1) && die "a C-STORE succeeded on a full disk"
comment=$(sed -n 's/.*(0000,0902) LO \[\(.*\)\].*/\1/p' <<<"$out" | head -n 1)
[ "$comment" = "storage is full" ] || die "the error comment to the peer is \"$comment\""
for _ in $(seq 1 200); do
  [ "$(this_life | grep -c 'event=failed .*kind=normalize')" -ge 3 ] && break
  sleep 0.1
done
[ "$(this_life | grep -c 'event=failed .*kind=normalize')" -ge 3 ] ||
  die "the normalize job did not fail three times on the full disk: $(sql "SELECT state, last_error FROM jobs")"
[ "$(sql "SELECT state || ' ' || attempts FROM jobs WHERE kind = 'normalize'")" = "queued 0" ] ||
  die "the job on a full disk: $(sql "SELECT state, attempts, last_error FROM jobs WHERE kind = 'normalize'")"
log "full disk: C-STORE refused (\"$comment\"), the normalize job failed 3 times and waits"

ns rm "$work/blobs/filler"
for _ in $(seq 1 300); do
  [ "$(sql "SELECT state FROM jobs WHERE kind = 'normalize'")" = done ] && break
  sleep 0.1
done
[ "$(sql "SELECT state FROM jobs WHERE kind = 'normalize'")" = done ] ||
  die "the job did not finish once the disk had room: $(sql "SELECT state, last_error FROM jobs WHERE kind = 'normalize'")"
storescu_to "$work/ct" >/dev/null 2>&1 || die "a C-STORE failed once the disk had room"
log "room again: the job finished, a C-STORE succeeded"
e2e_stop
