# One 128 MiB instance: received, stored and exported byte for byte while caseport's
# memory stays bounded (DESIGN.md rule 3: no whole instance is ever held in memory).
. "$SRC/tests/e2e/lib.sh"
e2e_setup
e2e_start

gen_series "$work/big" 1 --rows 8192 --cols 8192 --seed large
size=$(stat -c %s "$work/big/CT00001.dcm")
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$serve_pid/status"; }
before=$(hwm)
storescu_to "$work/big" >"$work/send.log" 2>&1 || die "storescu failed: $(tail -3 "$work/send.log")"
after=$(hwm)
growth_mb=$(( (after - before) / 1024 ))
log "instance of $((size / 1048576)) MiB; caseport peak RSS grew by ${growth_mb} MiB (from $((before / 1024)) MiB)"
[ "$growth_mb" -lt 48 ] || die "peak RSS grew by ${growth_mb} MiB for a $((size / 1048576)) MiB instance"

uid=$(/usr/bin/python3 "$SRC/tests/e2e/dataset.py" uid "$work/big/CT00001.dcm")
cp_cli export --sop "$uid" --out "$work/x.dcm" 2>/dev/null || die "export failed"
same_data "$work/x.dcm" "$work/big/CT00001.dcm" || die "exported data set differs"
e2e_stop
