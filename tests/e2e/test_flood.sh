# Silent sockets and slow clients never shut a real sender out (issue 18, part 1). With
# 1 000 DICOM connections that send nothing, 100 half A-ASSOCIATE-RQs and 300 slow-loris
# HTTP clients held open, some from the senders' own address, C-ECHO, a C-STORE on four
# associations and an API sign-in still succeed, and the server holds no more of them
# than its pending budgets. The deadlines are long here (20 s): the budgets, not the
# timers, must make the room. tools/torture measures the same flood's latencies.
. "$SRC/tests/e2e/lib.sh"
e2e_setup "negotiation_timeout = 20" "artim_timeout = 30" "max_pending = 64" \
  "max_pending_per_address = 16"
printf '[http]\nbind = 127.0.0.1\nport = 0\nheader_timeout = 20\nmax_connections = 128\nmax_pending = 64\nmax_pending_per_address = 16\n' \
  >>"$work/caseport.conf"
e2e_start
http_port=$(sed -n 's/.*event=http_listening .* port=\([0-9]*\).*/\1/p' "$work/serve.log" | tail -n 1)
[ -n "$http_port" ] || die "no HTTP port in the log"
printf 'correct horse battery nina\n' | cp_cli user add --username nina --role navigator >/dev/null ||
  die "adding a user failed"
flood() { /usr/bin/python3 "$SRC/tests/e2e/flood.py" "$@"; }
login() { flood login "$http_port" nina 'correct horse battery nina'; }
gen_series "$work/ct" 8 --rows 64 --cols 64 --seed flood

# the flood: 127.0.0.1 is also where the real senders below come from
coproc FLOOD { flood hold "$port" "$http_port" dicom-idle:400:127.0.0.1 dicom-idle:600:127.0.0.2 \
  dicom-partial:100:127.0.0.3 http-slow:300:127.0.0.1 2>&1; }
read -r -t 120 ready <&"${FLOOD[0]}"
[ "$ready" = ready ] || die "the flood did not start: $ready"

t0=$(date +%s%N)
echoscu_to >/dev/null 2>&1 || die "C-ECHO failed during the flood: $(echoscu_to -v 2>&1 | tail -n 3)"
echo_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
out=$(login) || die "the sign-in failed during the flood: $out"
[ "${out%% *}" = 201 ] || die "the sign-in was refused during the flood: $out"
i=0
for f in "$work"/ct/*; do mkdir -p "$work/part$((i % 4))" && mv "$f" "$work/part$((i % 4))/"; i=$((i + 1)); done
pids=()
for i in 0 1 2 3; do storescu_to "$work/part$i" >/dev/null 2>&1 & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || die "a C-STORE failed during the flood"; done
fds=$(ls "/proc/$serve_pid/fd" | wc -l)
# 64 + 64 pending, the database pool, the blob store, the log: far under the 1 400 held
[ "$fds" -le 200 ] || die "the server holds $fds descriptors during the flood"
log "during the flood: C-ECHO in ${echo_ms} ms (echoscu's own start included), sign-in $out ms, $fds descriptors open"

exec {FLOOD[1]}>&-
summary=$(cat <&"${FLOOD[0]}")
log "$(tr '\n' ';' <<<"$summary")"
closed() { sed -n "s/^$1 closed \([0-9]*\) of .*/\1/p" <<<"$summary"; }
# of each source, all but its share were closed by the server
[ "$(closed dicom-idle:600:127.0.0.2)" -ge $((600 - 16)) ] || die "127.0.0.2 kept more than its share: $summary"
[ "$(closed dicom-partial:100:127.0.0.3)" -ge $((100 - 16)) ] || die "127.0.0.3 kept more than its share: $summary"
[ "$(closed http-slow:300:127.0.0.1)" -ge $((300 - 16)) ] || die "the slow-loris kept more than its share: $summary"
grep -q "comp=dicom.ul event=pending_dropped" "$work/serve.log" && grep -q "comp=http event=pending_dropped" "$work/serve.log" ||
  die "pending connections dropped without a word in the log"
sql_eventually "SELECT count(*) FROM instances" 8 || die "the 8 instances stored during the flood are not all indexed"

# a refused association and a broken one close at once, not after ARTIM (30 s here)
for sc in rejected garbage; do
  out=$(/usr/bin/python3 "$SRC/tests/e2e/rawpeer.py" "$port" $sc) || die "$sc: $out"
done
e2e_stop
