# tests/e2e/lib.sh -- sourced by every end-to-end test: a PostgreSQL database of its own,
# a blob store and key, a caseport serving on a free port, DCMTK's tools as the peer.
# Environment from ctest (tests/e2e/e2e.cmake): CASEPORT, SRC.
# From tools/test (optional): CASEPORT_TEST_PGHOST/PORT, a shared throwaway cluster; without
# them (or with e2e_private_cluster) the test starts a cluster of its own.
set -euo pipefail
. "$SRC/tools/pglib.sh"

PYDICOM_DATA=/usr/lib/python3/dist-packages/pydicom/data/test_files
work=$(mktemp -d /tmp/caseport-e2e.XXXXXX)
chmod 0755 "$work"
own_cluster=""
serve_pid=""
serve_from=1  # the first line of serve.log the running caseport wrote
bg_pids=()  # helpers a test starts (e.g. a reference storescp), killed at exit

log() { printf '# %s\n' "$*" >&2; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

e2e_cleanup() {
  local rc=$?
  [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$own_cluster" ] && pg_stop "$own_cluster" immediate
  if [ $rc -eq 0 ]; then
    rm -rf "$work"
  else
    echo "e2e: kept $work for inspection; caseport log tail:" >&2
    tail -n 30 "$work/serve.log" 2>/dev/null >&2 || true
  fi
}
trap e2e_cleanup EXIT

e2e_private_cluster() {
  own_cluster="$work/pg"
  PGPORT=$(pg_free_port)
  PGHOST="$work/pgrun"
  pg_init "$own_cluster" "$PGHOST"
  pg_start "$own_cluster" "$PGHOST" "$PGPORT"
  export PGHOST PGPORT
}

e2e_database() {
  if [ -z "${PGHOST:-}" ]; then
    if [ -n "${CASEPORT_TEST_PGHOST:-}" ]; then
      export PGHOST=$CASEPORT_TEST_PGHOST PGPORT=$CASEPORT_TEST_PGPORT
    else
      e2e_private_cluster
    fi
  fi
  db="e2e_$(basename "$work" | tr -c 'a-zA-Z0-9\n' '_' | tr 'A-Z' 'a-z')"
  "$pg_bin/createdb" "$db"
  export PGDATABASE=$db
}

sql() { "$pg_bin/psql" -X -Atq -v ON_ERROR_STOP=1 -c "$1"; }

# sql_eventually QUERY EXPECTED: polls for up to 10 s until QUERY prints EXPECTED (rows
# written after a response, such as audit and commitment records); fails otherwise.
sql_eventually() {
  local got
  for _ in $(seq 1 100); do
    got=$(sql "$1") && [ "$got" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# e2e_config [extra [dicom] lines...]: writes $work/caseport.conf
e2e_config() {
  {
  cat <<CONF
[dicom]
ae_title = CASEPORT
bind = 127.0.0.1
port = 0
max_associations = 16
artim_timeout = 3
negotiation_timeout = 3
idle_timeout = 30
CONF
  for line in "$@"; do printf '%s\n' "$line"; done  # later lines win
  cat <<CONF
[storage]
blob_dir = $work/blobs
key_file = $work/keys/kek
[audit]
anchor_file = $work/audit/anchors
[database]
conninfo = dbname=$db
pool_size = 4
[log]
level = debug
CONF
  } > "$work/caseport.conf"
}

e2e_setup() {
  e2e_database
  e2e_config "$@"
  "$CASEPORT" keygen --config "$work/caseport.conf" >/dev/null
}

# Starts caseport and waits for its listening line (logfmt or JSON); sets $port.
e2e_start() {
  local before=0  # a second start in one test must not read the first one's port
  [ -f "$work/serve.log" ] && before=$(wc -l <"$work/serve.log")
  serve_from=$((before + 1))  # e2e_stop reads this run's lines only
  "$CASEPORT" serve --config "$work/caseport.conf" 2>>"$work/serve.log" &
  serve_pid=$!
  for _ in $(seq 1 200); do
    port=$(tail -n "+$((before + 1))" "$work/serve.log" |
      sed -n -e 's/.*event=listening .* port=\([0-9]*\).*/\1/p' \
        -e 's/.*"event":"listening".*"port":"\([0-9]*\)".*/\1/p' | tail -n 1)
    [ -n "$port" ] && return 0
    kill -0 "$serve_pid" 2>/dev/null || die "caseport serve exited: $(tail -n 3 "$work/serve.log")"
    sleep 0.05
  done
  die "caseport did not start listening"
}

# Stops caseport with SIGTERM and checks it exited cleanly (loop closed, nothing leaked).
e2e_stop() {
  kill -TERM "$serve_pid"
  local rc=0
  wait "$serve_pid" || rc=$?
  serve_pid=""
  [ $rc -eq 0 ] || die "caseport serve exited with $rc"
  tail -n "+$serve_from" "$work/serve.log" |
    grep -qE 'event=stopped clean=yes|"event":"stopped","clean":"yes"' ||
    die "caseport did not stop cleanly"
}

cp_cli() { "$CASEPORT" "$@" --config "$work/caseport.conf"; }
# packs_tight: the pack files hold the indexed packed blobs and nothing else, end to end:
# no second copy of a duplicate, no part of a failed store, no overlap.
packs_tight() {
  local files idx overlap
  files=$(find "$work/blobs/packs" -type f -name '*.pack' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  idx=$(sql "SELECT coalesce(sum(pack_length), 0) FROM blobs WHERE pack IS NOT NULL")
  overlap=$(sql "SELECT count(*) FROM (SELECT pack_offset + pack_length AS e, lead(pack_offset)
    OVER (PARTITION BY pack ORDER BY pack_offset) AS n FROM blobs WHERE pack IS NOT NULL) x WHERE n < e")
  [ "$files" = "$idx" ] && [ "$overlap" = 0 ] ||
    die "packs hold $files bytes, the index $idx; $overlap overlapping blob(s)"
}

# storescu_to FILE_OR_DIR [storescu options...]
storescu_to() { storescu -aet E2E -aec CASEPORT +sd "${@:2}" 127.0.0.1 "$port" "$1"; }
echoscu_to() { echoscu -aet E2E -aec CASEPORT "$@" 127.0.0.1 "$port"; }

# dataset_sha FILE: sha256 of the data set of a Part 10 file (what follows group 0002).
# dataset_sha FILE: sha256 of its data set; a file it cannot read fails the test (two
# unreadable files must never compare equal)
dataset_sha() {
  local h
  h=$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" sha "$1") && [ -n "$h" ] || die "cannot read the data set of $1"
  printf '%s\n' "$h"
}

# same_data A B: the two files' data sets are byte-identical (either unreadable fails)
same_data() {
  local a b
  a=$(dataset_sha "$1") || exit 1
  b=$(dataset_sha "$2") || exit 1
  [ "$a" = "$b" ]
}

# same_datasets SENT_DIR GOT_DIR: every file sent has a file in GOT_DIR named after its SOP
# Instance UID (as getscu and storescp name them) with a byte-identical data set.
same_datasets() {
  local f sop g
  for f in "$1"/*; do
    sop=$(/usr/bin/python3 -c "import pydicom,sys; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)" "$f")
    g=$(ls "$2" | grep -F "$sop" | head -n 1)
    [ -n "$g" ] || die "instance $sop did not arrive in $2"
    same_data "$f" "$2/$g" || die "$sop in $2 differs from the one sent"
  done
}

gen_series() { /usr/bin/python3 "$SRC/tools/gen-series.py" "$@"; }
# ds sha|uid|ts|class FILE: Part 10 facts in plain Python (tests/e2e/dataset.py)
ds() { /usr/bin/python3 "$SRC/tests/e2e/dataset.py" "$@" 2>/dev/null; }
# one_context_profile CLASS TS: $work/assoc.cfg, a storescu association profile ONE that
# proposes exactly that SOP class in that transfer syntax (storescu converts to it)
one_context_profile() {
  printf '[[TransferSyntaxes]]\n[TS]\nTransferSyntax1 = %s\n[[PresentationContexts]]\n[PC]\n%s\n[[Profiles]]\n[ONE]\nPresentationContexts = PC\n' \
    "$2" "PresentationContext1 = $1\\TS" >"$work/assoc.cfg"
}
# storescu_in TS FILE [CALLING]: FILE sent to caseport in transfer syntax TS alone
storescu_in() {
  one_context_profile "$(ds class "$2")" "$1"
  storescu -aet "${3:-E2E}" -aec CASEPORT -xf "$work/assoc.cfg" ONE 127.0.0.1 "$port" "$2"
}

# no_new_dciodvfy_errors NAME ORIGINAL RESULT: dicom3tools' dciodvfy may find no error in
# RESULT that it does not also find in ORIGINAL (normalization must not make things worse)
no_new_dciodvfy_errors() {
  command -v dciodvfy >/dev/null || die "dciodvfy (dicom3tools) is missing"
  dciodvfy "$3" >"$work/$1.norm.out" 2>&1 || true
  grep -q 'read failed' "$work/$1.norm.out" && die "$1: dciodvfy cannot read the normalized object"
  grep -q . "$work/$1.norm.out" || die "$1: dciodvfy said nothing"
  dciodvfy "$2" 2>&1 | grep '^Error' | sort -u >"$work/$1.orig.err" || true
  grep '^Error' "$work/$1.norm.out" | sort -u >"$work/$1.norm.err" || true
  local new
  new=$(comm -13 "$work/$1.orig.err" "$work/$1.norm.err")
  [ -z "$new" ] || die "$1: dciodvfy finds new errors in the normalized object: $new"
}
