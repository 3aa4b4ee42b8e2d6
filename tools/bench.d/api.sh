# tools/bench.d/api.sh -- the API phase of tools/bench (sourced): 50 concurrent clients
# (wrk) listing and opening cases on a database of 10 000 cases and 1 000 000 instances
# (api-data.sql): 50 navigators with 200 cases each, one a connection. Against
# caseport serve (Release) with its HTTP API. For each request
# kind -- the case list (50 most urgent), a case page (facts, clocks, timeline) and a
# case's received records -- requests/s, median and 99th percentile latency; target: p99
# under 50 ms for the list and the case page. Every request is audited as in production.

api_phase() {
  local out="$work/api" port http_port pid lg="$logs/api" db=bench_api
  mkdir -p "$out"
  free_port port
  pgq caseport "CREATE DATABASE $db"
  cat >"$out/caseport.conf" <<CONF
# written by tools/bench (api phase)
[dicom]
ae_title = CASEPORT
bind = $host
port = $port
[storage]
blob_dir = $out/blobs
key_file = $work/kek
[audit]
anchor_file = $out/audit-anchors
[database]
conninfo = host=$pg_host_caseport port=$pg_port_caseport dbname=$db
[http]
bind = $host
port = 0
[log]
level = info
CONF
  "$caseport" migrate --config "$out/caseport.conf" >/dev/null 2>"$lg.migrate.log" || die "migrate failed: $lg.migrate.log"
  # one argon2id hash (of "bench password") for every account
  printf 'bench password\n' | "$caseport" user add --config "$out/caseport.conf" --username hashsource \
    --role navigator >/dev/null 2>>"$lg.migrate.log" || die "user add failed"
  local hash
  hash=$(PGHOST=$pg_host_caseport PGPORT=$pg_port_caseport "$pg_bin/psql" -X -Atq -d "$db" \
    -c "SELECT password_hash FROM accounts WHERE username = 'hashsource'")
  log "api: generating 10 000 cases and 1 000 000 instances"
  local t0=$SECONDS
  PGHOST=$pg_host_caseport PGPORT=$pg_port_caseport "$pg_bin/psql" -X -q -d "$db" -v hash="$hash" \
    -f "$root/tools/bench.d/api-data.sql" >"$lg.data.log" 2>&1 || { tail -n 5 "$lg.data.log" >&2; die "api data failed"; }
  log "api: data in $((SECONDS - t0)) s"
  "$caseport" serve --config "$out/caseport.conf" 2>"$lg.server.log" &
  pid=$!
  server_pids+=("$pid")
  for _ in $(seq 1 100); do
    http_port=$(sed -n 's/.*event=http_listening .* port=\([0-9]*\).*/\1/p' "$lg.server.log" | tail -n 1)
    [ -n "$http_port" ] && break
    sleep 0.1
  done
  [ -n "$http_port" ] || die "caseport serve did not start its HTTP API: $lg.server.log"
  # a session for each navigator, and each navigator's open cases
  local sessions="$out/sessions.txt" nav tok
  : >"$sessions"
  for nav in $(seq 1 50); do
    tok=$(curl -sf -X POST -H 'Content-Type: application/json' \
      -d "{\"username\": \"nav$nav\", \"password\": \"bench password\"}" \
      "http://$host:$http_port/api/v1/sessions" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') ||
      die "nav$nav could not sign in"
    PGHOST=$pg_host_caseport PGPORT=$pg_port_caseport "$pg_bin/psql" -X -Atq -d "$db" \
      -c "SELECT '$tok ' || c.token FROM cases c JOIN accounts a ON a.id = c.navigator_id
          WHERE a.username = 'nav$nav' ORDER BY c.id LIMIT 50" >>"$sessions"
  done
  local what line
  for what in list case records; do
    # a short warm-up, then the measured run
    wrk -t2 -c50 -d3s -s "$root/tools/bench.d/api.lua" "http://$host:$http_port" -- "$what" "$sessions" >/dev/null 2>&1
    line=$(wrk -t2 -c50 -d20s --timeout 10s -s "$root/tools/bench.d/api.lua" "http://$host:$http_port" -- "$what" "$sessions" 2>"$lg.wrk-$what.err" |
      tee "$lg.wrk-$what.log" | grep '^API ' | sed "s/^API /API $what /") || die "wrk $what failed: $lg.wrk-$what.log"
    echo "$line" >>"$api_lines"
    log "api: $line"
  done
  stop_server "$pid"
  local audited
  audited=$(PGHOST=$pg_host_caseport PGPORT=$pg_port_caseport "$pg_bin/psql" -X -Atq -d "$db" -c "SELECT count(*) FROM audit")
  echo "AUDIT $audited" >>"$api_lines"
  pgq caseport "DROP DATABASE $db"
}

# api_report: the table of api_lines
api_report() {
  echo "HTTP API: 50 connections (wrk -t2 -c50, 20 s each), 50 navigators' sessions, 200 cases each; 10 000 cases, 1 000 000 instances;"
  echo "target: p99 < 50 ms for the case list and the case page"
  awk '$1 == "API" {
         printf "  %-8s %8.1f req/s   p50 %7.2f ms   p99 %7.2f ms   max %8.2f ms   errors %d of %d%s\n",
           $2, $3, $4, $5, $6, $7, $8, ($2 != "records" ? ($5 < 50 ? "   (met)" : "   (NOT met)") : "")
       }
       $1 == "AUDIT" { printf "  audit rows written: %d (one per request)\n", $2 }' "$api_lines"
}
