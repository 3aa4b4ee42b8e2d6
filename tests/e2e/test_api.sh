# The HTTP JSON API against a real PostgreSQL: sign-in, and every role against every
# endpoint from a table (what is allowed succeeds; the rest is 403 or 404, and every
# refusal touching patient data leaves an audit row); keep-alive; hostile requests (a
# body over the limit, garbage) answered and closed while the server goes on.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
printf '[http]\nbind = 127.0.0.1\nport = 0\nconsole_dir = %s/web\n' "$SRC" >>"$work/caseport.conf"
e2e_start
http_port=$(sed -n 's/.*event=http_listening .* port=\([0-9]*\).*/\1/p' "$work/serve.log" | tail -n 1)
[ -n "$http_port" ] || die "no HTTP port in the log"
for u in pat:patient nina:navigator otto:navigator sam:specialist sue:specialist adam:administrator; do
  extra=()
  [ "${u#*:}" = specialist ] && extra=(--subspecialties neuro-oncology)
  printf 'correct horse battery %s\n' "${u%%:*}" |
    cp_cli user add --username "${u%%:*}" --role "${u#*:}" "${extra[@]}" >/dev/null || die "adding $u failed"
done
tok=$(cp_cli case new --patient pat --patient-name "Doe^Jane" --condition glioblastoma \
  --subspecialty neuro-oncology --first-opinion "GBM" --navigator nina) || die "opening a case failed"
cp_cli case assign --token "$tok" --specialist sam >/dev/null || die "assigning failed"

/usr/bin/python3 - "$http_port" "$tok" <<'PY' || die "the API table failed (above)"
import http.client, json, socket, sys
port, tok = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

def call(method, path, token=None, body=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)

fails = []
def want(what, got, expected):
    if got != expected:
        fails.append(f"{what}: got {got}, want {expected}")

s, b = call("POST", "/api/v1/sessions", body={"username": "nina", "password": "wrong password!"})
want("wrong password", s, 401)
want("error shape", sorted(b["error"]), ["code", "message"])
tokens = {}
for u in ["pat", "nina", "otto", "sam", "sue", "adam"]:
    s, b = call("POST", "/api/v1/sessions", body={"username": u, "password": "correct horse battery " + u})
    want("sign in " + u, s, 201)
    tokens[u] = b["token"]
want("no session", call("GET", "/api/v1/me")[0], 401)
want("made-up session", call("GET", "/api/v1/me", token="x" * 43)[0], 401)

# role -> (cases listed, case, triage)
table = {
    "pat":  (200, 1, 200, 403),
    "nina": (200, 1, 200, 200),
    "otto": (200, 0, 404, 200),
    "sam":  (200, 1, 200, 403),
    "sue":  (200, 0, 404, 403),
    "adam": (403, None, 403, 403),
}
for u, (ls, n, one, tri) in table.items():
    t = tokens[u]
    want(u + " me", call("GET", "/api/v1/me", t)[0], 200)
    s, b = call("GET", "/api/v1/cases", t)
    want(u + " list", s, ls)
    if n is not None:
        want(u + " list count", b["total"], n)
    s, b = call("GET", "/api/v1/cases/" + tok, t)
    want(u + " case", s, one)
    if s == 200:
        want(u + " case token", b["token"], tok)
        want(u + " timeline", b["timeline"][0]["to"], "registered")
    want(u + " triage", call("GET", "/api/v1/triage", t)[0], tri)
# typed in lower case, the token still names the case
want("token as typed", call("GET", "/api/v1/cases/" + tok.lower(), tokens["nina"])[0], 200)
want("no such case", call("GET", "/api/v1/cases/CP-0000-00", tokens["nina"])[0], 404)
# moves: registered -> collecting_records is the navigator's, on their own case
move = {"to": "collecting_records", "reason": "requests sent"}
for u, code in [("pat", 409), ("sam", 409), ("otto", 404), ("sue", 404), ("adam", 403), ("nina", 200)]:
    want(u + " move", call("POST", f"/api/v1/cases/{tok}/transitions", tokens[u], move)[0], code)
want("moved", call("GET", "/api/v1/cases/" + tok, tokens["pat"])[1]["state"], "collecting_records")
want("bad state", call("POST", f"/api/v1/cases/{tok}/transitions", tokens["nina"], {"to": "done"})[0], 400)
want("unknown endpoint", call("GET", "/api/v1/nothing", tokens["nina"])[0], 404)
want("wrong method", call("GET", "/api/v1/sessions")[0], 405)
# pagination
s, b = call("GET", "/api/v1/cases?limit=0", tokens["nina"])
want("limit 0", (s, len(b["cases"]), b["total"]), (200, 0, 1))
# sign out: the token stops working
want("sign out", call("DELETE", "/api/v1/sessions/current", tokens["sue"])[0], 204)
want("signed out", call("GET", "/api/v1/me", tokens["sue"])[0], 401)

# records and triage decisions
s, b = call("GET", f"/api/v1/cases/{tok}/records", tokens["nina"])
want("records", (s, b["records"]), (200, []))
want("records not yours", call("GET", f"/api/v1/cases/{tok}/records", tokens["otto"])[0], 404)
want("triage decision by a patient", call("POST", "/api/v1/triage/1", tokens["pat"], {"decision": "reject", "reason": "x"})[0], 403)
want("triage decision malformed", call("POST", "/api/v1/triage/1", tokens["nina"], {"decision": "maybe", "reason": "x"})[0], 400)
want("triage item unknown", call("POST", "/api/v1/triage/999", tokens["nina"], {"decision": "attach", "token": tok, "reason": "x"})[0], 409)

# opening cases, asking for records, waiting on the patient
new = {"patient_name": "Roe^Rick", "condition": "relapsing MS", "subspecialty": "multiple-sclerosis",
       "first_opinion": "RRMS since 2019", "birth_date": "19700101", "sex": "M"}
for u, code in [("sam", 403), ("pat", 403)]:
    want(u + " opens a case", call("POST", "/api/v1/cases", tokens[u], new)[0], code)
want("case without first opinion", call("POST", "/api/v1/cases", tokens["nina"], dict(new, first_opinion=""))[0], 400)
want("case with a bad birth date", call("POST", "/api/v1/cases", tokens["nina"], dict(new, birth_date="1970"))[0], 400)
want("case in no subspecialty", call("POST", "/api/v1/cases", tokens["nina"], dict(new, subspecialty="astrology"))[0], 400)
s, b = call("POST", "/api/v1/cases", tokens["nina"], new)
want("nina opens a case", s, 201)
tok2 = b["token"]
s, b = call("GET", "/api/v1/cases/" + tok2, tokens["nina"])
want("nina's new case", (s, b["navigator"], b["state"]), (200, "nina", "registered"))
req = {"provider": "St Mary", "ae_title": "STMARY", "patient_id": "MRN-1", "issuer": "HOSP"}
for u, code in [("otto", 404), ("sam", 403), ("nina", 201)]:
    want(u + " asks for records", call("POST", f"/api/v1/cases/{tok}/requests", tokens[u], req)[0], code)
want("request without patient", call("POST", f"/api/v1/cases/{tok}/requests", tokens["nina"], {"provider": "x"})[0], 400)
for u, body, code in [("pat", {"waiting": True}, 403), ("nina", {"waiting": True, "reason": "abroad"}, 200),
                      ("nina", {"waiting": True}, 409), ("nina", {"waiting": "yes"}, 400),
                      ("nina", {"waiting": False}, 200)]:
    want(f"{u} waiting {body}", call("PUT", f"/api/v1/cases/{tok}/waiting", tokens[u], body)[0], code)

# assigning the specialist (least loaded first), and the opinion's text
want("suggestions by a patient", call("GET", f"/api/v1/cases/{tok}/specialists", tokens["pat"])[0], 403)
s, b = call("GET", f"/api/v1/cases/{tok}/specialists", tokens["nina"])
want("suggestions", (s, [(x["username"], x["open_cases"]) for x in b["specialists"]]), (200, [("sue", 0), ("sam", 1)]))
want("sam assigns", call("PUT", f"/api/v1/cases/{tok}/specialist", tokens["sam"], {"username": "sue"})[0], 403)
want("a patient as specialist", call("PUT", f"/api/v1/cases/{tok}/specialist", tokens["nina"], {"username": "pat"})[0], 400)
want("nina assigns sue", call("PUT", f"/api/v1/cases/{tok}/specialist", tokens["nina"], {"username": "sue"})[0], 200)
s, b = call("POST", "/api/v1/sessions", body={"username": "sue", "password": "correct horse battery sue"})
tokens["sue"] = b["token"]
op = {"text": "Agree with the diagnosis; propose a trial."}
want("sam, no longer the case's", call("PUT", f"/api/v1/cases/{tok}/opinion", tokens["sam"], op)[0], 404)
want("the navigator writes it", call("PUT", f"/api/v1/cases/{tok}/opinion", tokens["nina"], op)[0], 403)
want("an empty opinion", call("PUT", f"/api/v1/cases/{tok}/opinion", tokens["sue"], {"text": "  "})[0], 400)
want("sue writes it", call("PUT", f"/api/v1/cases/{tok}/opinion", tokens["sue"], op)[0], 200)

# the console: its files with their types and a policy that allows only itself; any
# other name is not found, whatever it tries
def raw(path):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.decode(), body
st, head, body = raw("/")
want("console", st, 200)
want("console type", "Content-Type: text/html; charset=utf-8" in head, True)
want("console policy", "Content-Security-Policy: default-src 'self'" in head, True)
want("console form labelled", b'<label for="username">' in body and b'id="username"' in body, True)
st, head, body = raw("/app.js")
want("script", (st, "text/javascript" in head), (200, True))
for bad in ["/../CMakeLists.txt", "/..%2fCMakeLists.txt", "/caseport.conf", "/.hidden.js", "/a.b.js", "/app.js/x"]:
    want("refused " + bad, raw(bad)[0], 404)

# hostile: a body over 64 KiB, then garbage; each gets its answer and its connection closed
c2 = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c2.request("POST", "/api/v1/sessions", body="x" * 70000)
r = c2.getresponse()
want("too large", r.status, 413)
sock = socket.create_connection(("127.0.0.1", port), timeout=30)
sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
got = sock.recv(200)
want("garbage", got.split(b" ")[1] if got else b"", b"400")
want("after hostile", call("GET", "/api/v1/me", tokens["nina"])[0], 200)
if fails:
    print("\n".join(fails))
    sys.exit(1)
PY
log "every role x endpoint as the table says; sessions; limits"
# refusals touching patient data are audited: otto and sue (case read, move), adam (list,
# read, move), pat and sam (move), the triage refusals, the records of a case not
# theirs, a patient deciding on triage, the wrong password; opening a case (sam, pat),
# asking for records (otto, sam), a patient pausing; sam assigning, sam and nina writing
# the opinion
denied=$(sql "SELECT count(*) FROM audit WHERE outcome = 'denied'")
[ "$denied" = 25 ] || die "denied rows: $denied: $(sql "SELECT a.username, u.action FROM audit u LEFT JOIN accounts a ON a.id = u.actor_id WHERE outcome = 'denied'")"
cp_cli audit verify >/dev/null || die "the audit chain does not verify"
e2e_stop
