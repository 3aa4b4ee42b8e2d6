# DICOM TLS (PS3.15 B.9): DCMTK's storescu and echoscu with +tls against caseport's TLS
# port, with client certificates required; strangers and plain TCP on the TLS port are
# refused and the server keeps serving.
. "$SRC/tests/e2e/lib.sh"
pki="$work/pki"
mkdir -p "$pki"
cert() { # name, subject, issuer name (or "self"), extensions
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  if [ "$3" = self ]; then
    openssl x509 -req -in "$pki/$1.csr" -signkey "$pki/$1.key" -days 2 -out "$pki/$1.crt" \
      -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign') 2>/dev/null
  else
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$3.crt" -CAkey "$pki/$3.key" -CAcreateserial \
      -days 2 -out "$pki/$1.crt" -extfile <(printf '%s' "$4") 2>/dev/null
  fi
}
cert ca "caseport test CA" self
cert server localhost ca 'subjectAltName=DNS:localhost,IP:127.0.0.1'
cert client modality ca 'extendedKeyUsage=clientAuth'
cert client2 "another modality" ca 'extendedKeyUsage=clientAuth'
cert other "other CA" self
cert stranger stranger other 'extendedKeyUsage=clientAuth'

e2e_setup "tls_port = 0" "tls_cert = $pki/server.crt" "tls_key = $pki/server.key" \
  "tls_ca = $pki/ca.crt" "tls_require_client_cert = yes"
# E2E is pinned to its own certificate: a plain association or another certificate from
# the same CA is refused for that AE title.
fp=$(openssl x509 -in "$pki/client.crt" -noout -fingerprint -sha256 | cut -d= -f2)
printf '[peer modality]\nae_title = E2E\ncert_sha256 = %s\n' "$fp" >>"$work/caseport.conf"
e2e_start
tls_port=$(sed -n 's/.*event=listening .* tls_port=\([0-9]*\).*/\1/p' "$work/serve.log" | tail -n 1)
[ -n "$tls_port" ] && [ "$tls_port" -gt 0 ] || die "no tls_port in the listening line"

tls_opts=(+tls "$pki/client.key" "$pki/client.crt" +cf "$pki/ca.crt")
echoscu -aet E2E -aec CASEPORT "${tls_opts[@]}" 127.0.0.1 "$tls_port" >"$work/e.log" 2>&1 ||
  die "echoscu over TLS failed: $(tail -3 "$work/e.log")"
gen_series "$work/ct" 5 --rows 128 --cols 128 --seed tls
storescu -aet E2E -aec CASEPORT "${tls_opts[@]}" +sd 127.0.0.1 "$tls_port" "$work/ct" >"$work/s.log" 2>&1 ||
  die "storescu over TLS failed: $(tail -3 "$work/s.log")"
[ "$(sql 'SELECT count(*) FROM instances')" = 5 ] || die "expected 5 instances over TLS"
grep -q 'event=tls_session .* client_cert=verified' "$work/serve.log" || die "no verified TLS session logged"
log "store over TLS with a verified client certificate: $(grep -o 'version=[^ ]* cipher=[^ ]*' "$work/serve.log" | head -1)"

# Without a client certificate, with one from another CA, or in plain TCP: refused.
echoscu -aet E2E -aec CASEPORT +tla +cf "$pki/ca.crt" 127.0.0.1 "$tls_port" >/dev/null 2>&1 &&
  die "a TLS client without certificate was accepted"
echoscu -aet E2E -aec CASEPORT +tls "$pki/stranger.key" "$pki/stranger.crt" +cf "$pki/ca.crt" \
  127.0.0.1 "$tls_port" >/dev/null 2>&1 && die "a client certificate from another CA was accepted"
timeout 20 echoscu -aet E2E -aec CASEPORT -to 5 127.0.0.1 "$tls_port" >/dev/null 2>&1 &&
  die "plain TCP was accepted on the TLS port"
out=$(echoscu_to -v 2>&1) && die "the pinned AE title was accepted without TLS"
grep -qi 'Calling AE Title Not Recognized' <<<"$out" || die "pinned AE over plain TCP: wrong rejection: $out"
out=$(echoscu -aet E2E -aec CASEPORT +tls "$pki/client2.key" "$pki/client2.crt" +cf "$pki/ca.crt" \
  -v 127.0.0.1 "$tls_port" 2>&1) && die "the pinned AE title was accepted with another certificate"
grep -qi 'Calling AE Title Not Recognized' <<<"$out" || die "wrong certificate: wrong rejection: $out"
echoscu -aet OTHER -aec CASEPORT 127.0.0.1 "$port" >/dev/null 2>&1 || die "the plain port stopped serving"
echoscu -aet E2E -aec CASEPORT "${tls_opts[@]}" 127.0.0.1 "$tls_port" >/dev/null 2>&1 ||
  die "the TLS port stopped serving"
e2e_stop
