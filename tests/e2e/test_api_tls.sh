# The HTTP API and console over HTTPS ([http] tls_cert/tls_key, the DICOM listener's TLS
# layer): sign-in, keep-alive with two requests in one TLS write, a 300 KB PDF up and
# down, the console page; TLS 1.1, plain HTTP on the HTTPS port and a client that never
# finishes its handshake are refused or closed while the server goes on.
. "$SRC/tests/e2e/lib.sh"
pki="$work/pki"
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$pki/server.key" -out "$pki/server.crt" 2>/dev/null || die "no test certificate"
e2e_setup
printf '[http]\nbind = 127.0.0.1\nport = 0\nconsole_dir = %s/web\nheader_timeout = 3\ntls_cert = %s\ntls_key = %s\n' \
  "$SRC" "$pki/server.crt" "$pki/server.key" >>"$work/caseport.conf"
e2e_start
http_port=$(sed -n 's/.*event=http_listening .* port=\([0-9]*\) scheme=https.*/\1/p' "$work/serve.log" | tail -n 1)
[ -n "$http_port" ] || die "no HTTPS port in the log: $(grep http_listening "$work/serve.log")"
for u in nina:navigator sam:specialist; do
  extra=()
  [ "${u#*:}" = specialist ] && extra=(--subspecialties neuro-oncology)
  printf 'correct horse battery %s\n' "${u%%:*}" |
    cp_cli user add --username "${u%%:*}" --role "${u#*:}" "${extra[@]}" >/dev/null || die "adding $u failed"
done
tok=$(cp_cli case new --patient-name "Doe^Jane" --condition glioblastoma --subspecialty neuro-oncology \
  --first-opinion "GBM" --navigator nina) || die "opening a case failed"
cp_cli case assign --token "$tok" --specialist sam >/dev/null || die "assigning failed"
printf 'Agree.\n' >"$work/op.txt"
cp_cli opinion write --token "$tok" --as sam --text-file "$work/op.txt" >/dev/null || die "opinion write failed"

/usr/bin/python3 - "$http_port" "$tok" "$pki/server.crt" <<'PY' || die "HTTPS failed (above)"
import http.client, json, random, re, socket, ssl, sys, time, warnings
port, tok, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
fails = []
def want(what, got, expected):
    if got != expected:
        fails.append(f"{what}: got {got!r}, want {expected!r}")

conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
def call(method, path, token=None, body=None, ctype="application/json"):
    h = {"Content-Type": ctype}
    if token:
        h["Authorization"] = "Bearer " + token
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    return r.status, r.getheader("Content-Type"), r.read()

s, _, b = call("POST", "/api/v1/sessions", body=json.dumps({"username": "sam", "password": "correct horse battery sam"}))
want("sign in", s, 201)
token = json.loads(b)["token"]
want("protocol", conn.sock.version() in ("TLSv1.2", "TLSv1.3"), True)
s, _, b = call("GET", "/api/v1/me", token)
want("me", (s, json.loads(b)["username"]), (200, "sam"))
# a 300 KB PDF up and back down: many TLS records each way
pdf = b"%PDF-1.7\n" + bytes(random.Random(7).getrandbits(8) for _ in range(300000)) + b"\n%%EOF\n"
url = f"/api/v1/cases/{tok}/opinion/pdf"
s, _, b = call("PUT", url, token, pdf, "application/pdf")
want("pdf up", s, 200)
s, t, b = call("GET", url, token)
want("pdf down", (s, t, b == pdf), (200, "application/pdf", True))
s, t, b = call("GET", "/")
want("console", (s, t.split(";")[0], b'id="username"' in b), (200, "text/html", True))

# two requests in one write on one TLS connection: both answered, in order
raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="localhost")
req = f"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
raw.sendall((req + req.replace("/me", "/nothing")).encode())
data = b""
while data.count(b"HTTP/1.1 ") < 2 or not data.rstrip().endswith(b"}"):
    d = raw.recv(65536)
    if not d:
        break
    data += d
codes = [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]
want("pipelined over TLS", codes, [200, 404])
raw.close()

# TLS 1.1 is refused by the server (the client offers it: security level 0), TLS 1.2 taken
warnings.simplefilter("ignore", DeprecationWarning)
def handshake(version, seclevel0=False):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(ca)
    if seclevel0:
        c.set_ciphers("DEFAULT:@SECLEVEL=0")
    c.minimum_version = c.maximum_version = version
    try:
        s = c.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
        v = s.version()
        s.close()
        return v
    except ssl.SSLError as e:
        return e.reason
want("TLS 1.1", handshake(ssl.TLSVersion.TLSv1_1, True), "TLSV1_ALERT_PROTOCOL_VERSION")
want("TLS 1.2", handshake(ssl.TLSVersion.TLSv1_2), "TLSv1.2")
# plain HTTP on the HTTPS port: no HTTP answer, the connection closed
p = socket.create_connection(("127.0.0.1", port), timeout=10)
p.sendall(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    got = p.recv(100)
except ConnectionResetError:
    got = b""
want("plain HTTP answered in HTTP", got.startswith(b"HTTP/"), False)
# a client that connects and never starts its handshake is closed after header_timeout
t0 = time.monotonic()
idle = socket.create_connection(("127.0.0.1", port), timeout=10)
try:
    closed = idle.recv(100) == b""
except ConnectionResetError:
    closed = True
want("idle client closed", (closed, 2 < time.monotonic() - t0 < 8), (True, True))
conn2 = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
conn2.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + token})
want("still serving", conn2.getresponse().status, 200)
if fails:
    print("\n".join(fails))
    sys.exit(1)
PY
log "HTTPS: sign-in, keep-alive, pipelining, a 300 KB PDF each way; TLS 1.1, plain HTTP and an idle client refused"
e2e_stop
