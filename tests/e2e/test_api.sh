# The HTTP JSON API against a real PostgreSQL: sign-in, and every role against every
# endpoint from a table (what is allowed succeeds; the rest is 403 or 404, and every
# refusal touching patient data leaves an audit row); keep-alive; hostile requests (a
# body over the limit, garbage) answered and closed while the server goes on.
. "$SRC/tests/e2e/lib.sh"
e2e_setup
printf '[http]\nbind = 127.0.0.1\nport = 0\nconsole_dir = %s/web\nheader_timeout = 3\nrequest_timeout = 5\nmax_upload_mb = 1\n' \
  "$SRC" >>"$work/caseport.conf"
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
import http.client, json, os, random, socket, sys, time, zlib
port, tok = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

def send(method, path, token=None, body=None, ctype="application/json"):
    h = {"Content-Type": ctype}
    if token:
        h["Authorization"] = "Bearer " + token
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        conn.close()  # kept alive past header_timeout (3 s): closed by the server
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
    return r.status, r.getheader("Content-Type"), r.read()

def call(method, path, token=None, body=None):
    s, _, data = send(method, path, token, json.dumps(body) if body is not None else None)
    return s, (json.loads(data) if data else None)

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
        want(u + " first opinion", b["first_opinion"], "GBM")
    want(u + " triage", call("GET", "/api/v1/triage", t)[0], tri)
# typed in lower case, the token still names the case
want("token as typed", call("GET", "/api/v1/cases/" + tok.lower(), tokens["nina"])[0], 200)
want("no such case", call("GET", "/api/v1/cases/CP-0000-00", tokens["nina"])[0], 404)
# as a browser escapes it (the check symbol may be $ or =), or without the prefix's hyphen
want("token escaped", call("GET", "/api/v1/cases/" + "".join("%%%02X" % ord(ch) for ch in tok), tokens["nina"])[0], 200)
want("token unhyphenated", call("GET", "/api/v1/cases/" + tok.replace("-", "").lower(), tokens["nina"])[0], 200)
want("token badly escaped", call("GET", "/api/v1/cases/" + tok + "%2", tokens["nina"])[0], 404)
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
want("triage decision without a reason", call("POST", "/api/v1/triage/1", tokens["nina"], {"decision": "reject", "reason": " \t"})[0], 400)
s, b = call("POST", "/api/v1/triage/1", tokens["nina"], {"decision": "attach", "token": "CP-7K3M-9X", "reason": "x"})
want("triage attach to a mistyped token", (s, b["error"]["code"]), (400, "not_a_token"))
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
# conditions and their questionnaires: answers checked against the condition's schema
s, b = call("GET", "/api/v1/conditions", tokens["pat"])
codes = {d["code"]: d for d in b["conditions"]}
want("conditions", (s, "glioma" in codes, codes["glioma"]["subspecialty"]), (200, True, "neuro-oncology"))
want("a questionnaire is a schema", codes["glioma"]["questionnaire"]["required"], ["question"])
want("questions in their order", list(codes["glioma"]["questionnaire"]["properties"])[:3],
     ["question", "diagnosis_date", "who_grade"])
s, b = call("GET", "/api/v1/subspecialties", tokens["nina"])
want("subspecialties", (s, "cardiology" in [x["code"] for x in b["subspecialties"]]), (200, True))
gbm = {"patient_name": "Poe^Ed", "condition": "GBM, recurrent", "first_opinion": "resected 2025",
       "condition_code": "glioma", "questionnaire": {"question": "Is a trial an option?", "who_grade": 4,
       "treatments": ["surgery", "radiotherapy"], "karnofsky": 80}}
s, b = call("POST", "/api/v1/cases", tokens["nina"], dict(gbm, questionnaire=dict(gbm["questionnaire"], karnofsky=150)))
want("answers out of range", (s, b["error"]["code"], b["error"]["message"]), (400, "invalid_answers", "/karnofsky: out of range"))
s, b = call("POST", "/api/v1/cases", tokens["nina"], dict(gbm, questionnaire={"who_grade": 2}))
want("answers without the question", (s, b["error"]["message"]), (400, "/question: required, and missing"))
want("an unknown condition", call("POST", "/api/v1/cases", tokens["nina"], dict(gbm, condition_code="flu"))[0], 400)
want("answers without a condition", call("POST", "/api/v1/cases", tokens["nina"], dict(new, questionnaire={}))[0], 400)
s, b = call("POST", "/api/v1/cases", tokens["nina"], gbm)
want("case with its answers", s, 201)
tok3 = b["token"]
s, b = call("GET", "/api/v1/cases/" + tok3, tokens["nina"])
want("subspecialty from the condition", (s, b["subspecialty"], b["condition_code"]), (200, "neuro-oncology", "glioma"))
want("a patient who is not one", call("POST", "/api/v1/cases", tokens["nina"], dict(gbm, patient_username="nina"))[1]["error"]["code"], "unknown_patient")
s, b = call("POST", "/api/v1/cases", tokens["nina"], dict(gbm, patient_username="pat", sex="F"))
want("case for pat", s, 201)
s, b = call("GET", "/api/v1/cases/" + b["token"], tokens["pat"])
want("pat sees it", (s, b["sex"]), (200, "F"))
s, b = call("GET", f"/api/v1/cases/{tok3}/questionnaire", tokens["nina"])
want("answers kept", (s, b["answers"], b["schema"]["properties"]["karnofsky"]["maximum"]), (200, gbm["questionnaire"], 100))
later = {"question": "Is a trial an option?", "seizures": True, "idh": "wildtype"}
want("answered by sam", call("PUT", f"/api/v1/cases/{tok3}/questionnaire", tokens["sam"], later)[0], 404)
s, b = call("PUT", f"/api/v1/cases/{tok3}/questionnaire", tokens["nina"], dict(later, idh="maybe"))
want("answer not a choice", (s, b["error"]["message"]), (400, "/idh: not one of the choices"))
want("answered by nina", call("PUT", f"/api/v1/cases/{tok3}/questionnaire", tokens["nina"], later)[0], 200)
want("answers replaced", call("GET", f"/api/v1/cases/{tok3}/questionnaire", tokens["nina"])[1]["answers"], later)
s, b = call("PUT", f"/api/v1/cases/{tok}/questionnaire", tokens["pat"], later)
want("no questionnaire", (s, b["error"]["code"]), (409, "no_questionnaire"))
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

# reading the opinion: its specialist and navigator; the patient not before it is published
s, b = call("GET", f"/api/v1/cases/{tok}/opinion", tokens["sue"])
want("sue reads it", (s, b["text"], b["pdf"], b["written_by"]), (200, op["text"], False, "sue"))
want("an addendum before publication", call("POST", f"/api/v1/cases/{tok}/opinion/addenda", tokens["sue"],
     {"text": "too early"})[0], 409)
want("nina reads it", call("GET", f"/api/v1/cases/{tok}/opinion", tokens["nina"])[0], 200)
s, b = call("GET", f"/api/v1/cases/{tok}/opinion", tokens["pat"])
want("pat before publication", (s, b["error"]["code"]), (404, "no_opinion"))
want("sam reads it", call("GET", f"/api/v1/cases/{tok}/opinion", tokens["sam"])[0], 404)
want("adam reads it", call("GET", f"/api/v1/cases/{tok}/opinion", tokens["adam"])[0], 403)
# the signed PDF: a body far over the 64 KiB of other requests, up to max_upload_mb (1 here)
rnd = random.Random(5)
stream = zlib.compress(bytes(rnd.getrandbits(8) for _ in range(300000)), 0)
pdf = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n2 0 obj\n<< /Length "
       + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n") + stream + b"\nendstream\nendobj\n%%EOF\n"
url = f"/api/v1/cases/{tok}/opinion/pdf"
want("pdf by nina", send("PUT", url, tokens["nina"], pdf, "application/pdf")[0], 403)
want("not a pdf", send("PUT", url, tokens["sue"], b"GIF89a" + pdf, "application/pdf")[0], 415)
s, _, b = send("PUT", url, tokens["sue"], pdf, "application/pdf")
want("pdf by sue", (s, json.loads(b).get("size")), (200, len(pdf)))
s, t, b = send("GET", url, tokens["nina"])
want("pdf read back", (s, t, b == pdf), (200, "application/pdf", True))
# over max_upload_mb: refused on its Content-Length, before the body is read
big = socket.create_connection(("127.0.0.1", port), timeout=30)
big.sendall(f"PUT {url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tokens['sue']}\r\n"
            f"Content-Length: {2 << 20}\r\n\r\n".encode())
want("upload over the limit", big.recv(100).split(b" ")[1], b"413")
big.close()

# the case's records requests, as listed
s, b = call("GET", f"/api/v1/cases/{tok}/requests", tokens["nina"])
want("requests", (s, [(q["provider"], q["ae_title"], q["state"], q["patient_name"], q["birth_date"]) for q in b["requests"]]),
     (200, [("St Mary", "STMARY", "open", "", "")]))
want("studies received", call("GET", "/api/v1/cases/" + tok, tokens["nina"])[1]["records_received"], 0)
want("requests not yours", call("GET", f"/api/v1/cases/{tok}/requests", tokens["otto"])[0], 404)

want("send before publication", call("POST", f"/api/v1/cases/{tok}/outbound", tokens["pat"],
     {"recipient": "Dr. Who", "fax": "+1 (555) 010-0199"})[0], 409)
# publishing: the navigator completes the records, the specialist reviews and publishes
for u, to in [("nina", "records_complete"), ("nina", "under_review"), ("sue", "opinion_drafted"),
              ("sue", "opinion_published")]:
    want("move to " + to, call("POST", f"/api/v1/cases/{tok}/transitions", tokens[u], {"to": to})[0], 200)
s, b = call("GET", f"/api/v1/cases/{tok}/opinion", tokens["pat"])
want("pat after publication", (s, b["text"], b["pdf"], b["published"]), (200, op["text"], True, True))
want("pat reads the pdf", send("GET", url, tokens["pat"])[2] == pdf, True)
# published, it stays as the patient was shown it
s, b = call("PUT", f"/api/v1/cases/{tok}/opinion", tokens["sue"], {"text": "changed"})
want("rewriting a published opinion", (s, b["error"]["code"]), (409, "settled"))
want("replacing a published PDF", send("PUT", url, tokens["sue"], pdf, "application/pdf")[0], 409)
want("unchanged", call("GET", f"/api/v1/cases/{tok}/opinion", tokens["pat"])[1]["text"], op["text"])
# the patient asks for it to be sent to their doctor
doc = {"recipient": "Dr. Who", "fax": "+1 (555) 010-0199"}
want("sent by nina", call("POST", f"/api/v1/cases/{tok}/outbound", tokens["nina"], doc)[0], 403)
want("send to nowhere", call("POST", f"/api/v1/cases/{tok}/outbound", tokens["pat"], {"recipient": "x"})[0], 400)
want("send to a bad address", call("POST", f"/api/v1/cases/{tok}/outbound", tokens["pat"],
     {"recipient": "x", "email": "a@b@c"})[0], 400)
s, b = call("POST", f"/api/v1/cases/{tok}/outbound", tokens["pat"], doc)
want("pat sends it", (s, b.get("state")), (201, "queued"))
# after publication the opinion stays as shown; its specialist adds an addendum beside it
add = f"/api/v1/cases/{tok}/opinion/addenda"
want("addendum by nina", call("POST", add, tokens["nina"], {"text": "x"})[0], 403)
want("empty addendum", call("POST", add, tokens["sue"], {"text": "  "})[0], 400)
want("sue's addendum", call("POST", add, tokens["sue"], {"text": "The MRI of 3 Dec changes nothing."})[0], 201)
s, b = call("GET", f"/api/v1/cases/{tok}/opinion", tokens["pat"])
want("pat reads it beside the opinion", (b["text"], [(a["text"], a["written_by"]) for a in b["addenda"]]),
     (op["text"], [("The MRI of 3 Dec changes nothing.", "sue")]))
# where it was asked to be sent, and whether it went: the patient and the navigator see it
for u, code in [("pat", 200), ("nina", 200), ("sue", 403)]:
    s, b = call("GET", f"/api/v1/cases/{tok}/outbound", tokens[u])
    want(u + " lists the sending", s, code)
    if s == 200:
        want(u + " sees Dr. Who", [(o["recipient"], o["fax"], o["state"]) for o in b["requests"]],
             [("Dr. Who", "+1 (555) 010-0199", "queued")])

# break-glass: an administrator reads one case, saying why, audited; still writes nothing
glass = f"/api/v1/cases/{tok}/break-glass"
want("glass by nina", call("POST", glass, tokens["nina"], {"reason": "curious"})[0], 403)
want("glass without reason", call("POST", glass, tokens["adam"], {"reason": " "})[0], 400)
want("glass on no case", call("POST", "/api/v1/cases/CP-0000-00/break-glass", tokens["adam"], {"reason": "x"})[0], 404)
s, b = call("POST", glass, tokens["adam"], {"reason": "patient complaint #4711"})
want("glass", (s, b.get("expires_in")), (201, 3600))
want("adam reads the case", call("GET", "/api/v1/cases/" + tok, tokens["adam"])[0], 200)
want("adam reads the opinion", call("GET", f"/api/v1/cases/{tok}/opinion", tokens["adam"])[0], 200)
want("adam writes the opinion", call("PUT", f"/api/v1/cases/{tok}/opinion", tokens["adam"], op)[0], 403)
want("adam, another case", call("GET", "/api/v1/cases/" + tok2, tokens["adam"])[0], 403)
want("adam still lists nothing", call("GET", "/api/v1/cases", tokens["adam"])[0], 403)

# accounts are the administrator's: listed without hashes, added, disabled (its sessions
# end at once), enabled with a new password
s, b = call("GET", "/api/v1/accounts", tokens["adam"])
want("accounts", (s, sorted(a["username"] for a in b["accounts"])[:3], "password_hash" in str(b)),
     (200, ["adam", "nina", "otto"], False))
want("sam's subspecialties", [a["subspecialties"] for a in b["accounts"] if a["username"] == "sam"], ["neuro-oncology"])
want("accounts by nina", call("GET", "/api/v1/accounts", tokens["nina"])[0], 403)
pia = {"username": "pia", "role": "patient", "password": "pia's long password"}
want("short password", call("POST", "/api/v1/accounts", tokens["adam"], dict(pia, password="short"))[0], 400)
want("specialist without subspecialties", call("POST", "/api/v1/accounts", tokens["adam"], dict(pia, role="specialist"))[0], 400)
want("bad username", call("POST", "/api/v1/accounts", tokens["adam"], dict(pia, username="Pia Smith"))[0], 400)
want("pia added", call("POST", "/api/v1/accounts", tokens["adam"], pia)[0], 201)
want("spaces between subspecialties", call("POST", "/api/v1/accounts", tokens["adam"],
     {"username": "sol", "role": "specialist", "password": "sol's long password", "subspecialties": " neuro-oncology, dementia "})[0], 201)
want("sol's subspecialties", [a["subspecialties"] for a in call("GET", "/api/v1/accounts", tokens["adam"])[1]["accounts"]
     if a["username"] == "sol"], ["dementia,neuro-oncology"])
want("adam disables himself", call("PUT", "/api/v1/accounts/adam", tokens["adam"], {"disabled": True})[1]["error"]["code"], "yourself")
want("pia again", call("POST", "/api/v1/accounts", tokens["adam"], pia)[0], 409)
s, b = call("POST", "/api/v1/sessions", body={"username": "pia", "password": pia["password"]})
want("pia signs in", s, 201)
pia_token = b["token"]
want("pia's session", call("GET", "/api/v1/me", pia_token)[0], 200)
want("pia disabled", call("PUT", "/api/v1/accounts/pia", tokens["adam"], {"disabled": True})[0], 200)
want("pia's session ended", call("GET", "/api/v1/me", pia_token)[0], 401)
want("pia cannot sign in", call("POST", "/api/v1/sessions", body={"username": "pia", "password": pia["password"]})[0], 401)
want("pia enabled, new password", call("PUT", "/api/v1/accounts/pia", tokens["adam"],
     {"disabled": False, "password": "a brand new passphrase"})[0], 200)
want("pia signs in again", call("POST", "/api/v1/sessions", body={"username": "pia", "password": "a brand new passphrase"})[0], 201)
# guessing a password from one address (127.0.0.2): after 5 failures each further try
# from there waits 30 s, unchecked (429), even with the right password; from the owner's
# own address (127.0.0.1) the right password still signs in at once
def call_from(addr, method, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(addr, 0))
    c.request(method, path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    got = (r.status, json.loads(r.read() or b"null"))
    c.close()
    return got
for i in range(5):
    want(f"otto guessed {i}", call_from("127.0.0.2", "POST", "/api/v1/sessions", {"username": "otto", "password": f"guess number {i}"})[0], 401)
s, b = call_from("127.0.0.2", "POST", "/api/v1/sessions", {"username": "otto", "password": "correct horse battery otto"})
want("otto throttled there", (s, b["error"]["code"], 25 <= b["error"]["retry_after"] <= 30), (429, "too_many_attempts", True))
want("otto signs in from his own address", call("POST", "/api/v1/sessions", body={"username": "otto", "password": "correct horse battery otto"})[0], 201)
want("pia not throttled", call("POST", "/api/v1/sessions", body={"username": "pia", "password": "a brand new passphrase"})[0], 201)
want("no such account", call("PUT", "/api/v1/accounts/nobody", tokens["adam"], {"disabled": True})[0], 404)
want("change without a change", call("PUT", "/api/v1/accounts/pia", tokens["adam"], {})[0], 400)

# hostile bodies: malformed JSON, NUL characters, deep nesting, SQL in every text field
for path, method in [("/api/v1/cases", "POST"), (f"/api/v1/cases/{tok2}/requests", "POST"),
                     (f"/api/v1/cases/{tok2}/waiting", "PUT"), (f"/api/v1/cases/{tok2}/transitions", "POST"),
                     ("/api/v1/triage/1", "POST"), ("/api/v1/sessions", "POST")]:
    for bad in [b"{", b"[1, 2]", b'{"patient_name": "a\\u0000b"}', b"[" * 60000, b"\xff\xfe{}"]:
        want(f"{method} {path} {bad[:12]!r}", send(method, path, tokens["nina"], bad)[0], 400)
evil = "Robert'); DROP TABLE cases;-- \\ \" %s $1 \u00e9\u4e2d"
new_evil = {k: evil for k in ["patient_name", "condition", "first_opinion"]}
new_evil["subspecialty"] = "multiple-sclerosis"
s, b = call("POST", "/api/v1/cases", tokens["nina"], new_evil)
want("case with SQL in its text", s, 201)
s, b = call("GET", "/api/v1/cases/" + b["token"], tokens["nina"])
want("SQL kept as text", (s, b["patient_name"], b["condition"]), (200, evil, evil))
req_evil = {k: evil for k in ["provider", "ae_title", "fax", "email", "patient_id", "issuer"]}
want("request with SQL", call("POST", f"/api/v1/cases/{tok2}/requests", tokens["nina"], req_evil)[0], 201)
want("login with SQL", call("POST", "/api/v1/sessions", body={"username": evil, "password": evil})[0], 401)
want("token with SQL", call("GET", "/api/v1/me", token=evil.replace("\\", "").encode("ascii", "replace").decode())[0], 401)
want("case token with SQL", call("GET", "/api/v1/cases/%27%20OR%201=1--", tokens["nina"])[0], 404)

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
# slow-loris: a client that trickles its headers is closed when header_timeout (3 s) is
# over, while others are answered meanwhile; a whole head, then a body trickled, is closed
# when request_timeout (5 s) from the head is over, not header_timeout
def trickle(head, more, limit, meanwhile=None):
    """Sends head, then more every half second until the server closes (or limit s):
    (closed, seconds)."""
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    slow.sendall(head)
    t0, closed = time.monotonic(), False
    while time.monotonic() - t0 < limit and not closed:
        try:
            slow.sendall(more)
            slow.settimeout(0.5)
            closed = slow.recv(100) == b""
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        if meanwhile and not closed and time.monotonic() - t0 > 1:
            meanwhile()
    return closed, time.monotonic() - t0
def answered_beside():
    c3 = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c3.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + tokens["nina"]})
    want("answered beside a slow client", c3.getresponse().status, 200)
    c3.close()
closed, took = trickle(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n", 8, answered_beside)
want("slow client closed", (closed, 2.5 < took < 6), (True, True))
closed, took = trickle(b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 1000\r\n\r\n", b" ", 10)
want("slow body closed", (closed, 4.5 < took < 8), (True, True))
# a burst: 60 clients at once, many more than the requests let onto the worker pool at a
# time (3 * pool_size); those over wait their turn and every one is answered, the same
import threading
burst = []
def one_list():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/api/v1/cases", headers={"Authorization": "Bearer " + tokens["nina"]})
    r = c.getresponse()
    burst.append((r.status, r.read()))
    c.close()
threads = [threading.Thread(target=one_list) for _ in range(60)]
for t in threads:
    t.start()
for t in threads:
    t.join()
want("burst answered", (len(burst), {s for s, _ in burst}, len({b for _, b in burst})), (60, {200}, 1))
# what an administrator looks at: last sign-ins, the grants in force, a case's or an
# account's audit trail (itself audited); nobody else
s, b = call("GET", "/api/v1/accounts", tokens["adam"])
last = {a["username"]: a["last_sign_in"] for a in b["accounts"]}
want("nina's last sign-in", bool(last["nina"]) and last["nina"].endswith("Z"), True)
s, b = call("GET", "/api/v1/break-glass", tokens["adam"])
want("grants in force", (s, [(g["token"], g["username"]) for g in b["grants"]]), (200, [(tok, "adam")]))
want("grants for nina", call("GET", "/api/v1/break-glass", tokens["nina"])[0], 403)
s, b = call("GET", "/api/v1/audit?case=" + tok.lower(), tokens["adam"])
want("the case's trail", (s, {"case.read", "case.break_glass"} <= {r["action"] for r in b["rows"]},
                          all(r["case"] == tok for r in b["rows"])), (200, True, True))
want("newest first", [r["seq"] for r in b["rows"]] == sorted((r["seq"] for r in b["rows"]), reverse=True), True)
s, b = call("GET", "/api/v1/audit?account=pia", tokens["adam"])
acts = {(r["actor"], r["action"]) for r in b["rows"]}
want("pia's trail", (s, ("pia", "session.create") in acts, ("adam", "account.disable") in acts), (200, True, True))
want("a trail of nothing", call("GET", "/api/v1/audit", tokens["adam"])[0], 400)
want("a trail of nobody", call("GET", "/api/v1/audit?account=nobody", tokens["adam"])[0], 404)
want("a trail for nina", call("GET", "/api/v1/audit?case=" + tok, tokens["nina"])[0], 403)
# withdrawing cannot be undone: never without a reason; the patient may, with one
s, b = call("POST", "/api/v1/cases", tokens["nina"], {"patient_name": "Whiskey^Wendy", "condition": "glioblastoma",
                                                       "subspecialty": "neuro-oncology", "first_opinion": "GBM"})
want("a case to withdraw", s, 201)
wtok = b["token"]
for why in [None, "", "   "]:
    body = {"to": "withdrawn"} if why is None else {"to": "withdrawn", "reason": why}
    s, b = call("POST", f"/api/v1/cases/{wtok}/transitions", tokens["nina"], body)
    want(f"withdrawn with reason {why!r}", (s, b["error"]["code"]), (400, "reason_needed"))
want("withdrawn with a reason", call("POST", f"/api/v1/cases/{wtok}/transitions", tokens["nina"],
     {"to": "withdrawn", "reason": "the patient called: treated elsewhere"})[0], 200)
# a way back in: a one-time link to set a new password, made by an administrator (anyone's)
# or a navigator (a patient's); used once, replaced by a newer one, the sessions ended
def link(who, user):
    return call("POST", f"/api/v1/accounts/{user}/password-link", tokens[who], {})
s, b = link("adam", "otto")
want("adam's link for otto", (s, b["path"].startswith("/#password/"), b["expires_in"]), (201, True, 86400))
otto_link = b["path"].split("/")[-1]
want("nina's link for otto", link("nina", "otto")[0], 403)
want("sam's link for pat", link("sam", "pat")[0], 403)
want("adam's link for adam", link("adam", "adam")[0], 403)
want("a link for nobody", link("adam", "nobody")[0], 404)
s, b = link("nina", "pat")
want("nina's link for pat", s, 201)
pat_first = b["path"].split("/")[-1]
pat_second = link("adam", "pat")[1]["path"].split("/")[-1]
use = lambda token, pw: call("POST", "/api/v1/password-links/use", body={"token": token, "password": pw})
want("too short", use(otto_link, "short")[0], 400)
want("otto's link used", use(otto_link, "otto's new passphrase"), (200, {"username": "otto"}))
want("otto's session ended", call("GET", "/api/v1/me", tokens["otto"])[0], 401)
want("otto signs in anew", call("POST", "/api/v1/sessions", body={"username": "otto", "password": "otto's new passphrase"})[0], 201)
want("otto's link again", use(otto_link, "yet another passphrase")[0], 404)
want("pat's replaced link", use(pat_first, "pat's new passphrase")[0], 404)
want("pat's newer link", use(pat_second, "pat's new passphrase")[0], 200)
want("a made-up link", use("x" * 43, "pat's new passphrase")[0], 404)
if fails:
    print("\n".join(fails))
    sys.exit(1)
PY
log "every role x endpoint as the table says; sessions; limits"
# a password hash made with the old parameters (t=3, 64 MiB) is made again with the new
# ones at the next sign-in, and still signs in afterwards
old='$argon2id$v=19$m=65536,t=3,p=1$Y2FzZXBvcnQtb2xkaGFzaA$NDoe3obiuoD39hiIsT4ZXEggXMNEHufcpEKbQ2QZBUg'
sql "UPDATE accounts SET password_hash = '$old' WHERE username = 'sue'" >/dev/null
signin_sue() { /usr/bin/python3 -c 'import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("POST", "/api/v1/sessions", body=json.dumps({"username": "sue", "password": "correct horse battery old"}))
print(c.getresponse().status)' "$http_port"; }
[ "$(signin_sue)" = 201 ] || die "sue's old hash does not sign in"
sql_eventually "SELECT password_hash LIKE '\$argon2id\$v=19\$m=19456,t=2,p=1\$%' FROM accounts WHERE username = 'sue'" t ||
  die "sue's hash was not made again: $(sql "SELECT password_hash FROM accounts WHERE username = 'sue'")"
[ "$(signin_sue)" = 201 ] || die "sue's new hash does not sign in"
log "an old-parameter password hash made again at sign-in"

# refusals touching patient data are audited: otto and sue (case read, move), adam (list,
# read, move), pat and sam (move), the triage refusals, the records of a case not
# theirs, a patient deciding on triage, the wrong password; opening a case (sam, pat),
# asking for records (otto, sam), a patient pausing; sam assigning, sam and nina writing
# the opinion; sam and adam reading the opinion, nina attaching its PDF, asking for it to be
# sent and breaking the glass, otto listing the requests, adam listing cases, writing the
# opinion under a grant and reading another case, a login and a case token made of SQL, a
# token badly escaped, sam answering a questionnaire, nina listing accounts, disabled pia
# signing in, otto's five guesses and his throttled sign-in; password links made by nina
# for otto, sam for pat, adam for himself, and three links used that do not work; nina
# listing the grants and reading a trail; sue (its specialist) listing where the opinion
# was sent; nina adding to the opinion
denied=$(sql "SELECT count(*) FROM audit WHERE outcome = 'denied'")
[ "$denied" = 56 ] || die "denied rows: $denied: $(sql "SELECT a.username, u.action FROM audit u LEFT JOIN accounts a ON a.id = u.actor_id WHERE outcome = 'denied'")"
glass=$(sql "SELECT count(*) FROM audit u JOIN accounts a ON a.id = u.actor_id WHERE a.username = 'adam'
  AND u.outcome = 'allowed' AND u.action IN ('case.break_glass', 'case.read', 'opinion.read')")
[ "$glass" = 3 ] || die "adam's break-glass rows: $glass"
[ "$(sql "SELECT count(*) FROM cases")" -ge 3 ] || die "the cases table lost rows"
cp_cli audit verify >/dev/null || die "the audit chain does not verify"
e2e_stop
