#!/usr/bin/python3
"""Connections that never become a client, held open against caseport's listeners
(tests/e2e/test_flood.sh, tools/torture):

  flood.py hold [--reopen] DICOM_PORT HTTP_PORT GROUP...   GROUP is KIND:COUNT:SOURCE_ADDRESS
      dicom-idle     connects and sends nothing
      dicom-partial  sends the first 100 bytes of a 4 KiB A-ASSOCIATE-RQ, then nothing
      http-slow      sends a request head a byte a second and never ends it (slow-loris)
    Prints "ready" once every connection is open, keeps the slow ones trickling until
    stdin closes, then one line per group: how many the server had closed. --reopen: a
    connection the server closed is opened again at the next tick (once a second), as an
    attacker keeps COUNT held; the line then also says how many times that was done.
  flood.py login HTTP_PORT USER PASSWORD
    One API sign-in on a new connection: prints "STATUS MILLISECONDS".
"""
import http.client
import json
import resource
import select
import socket
import struct
import sys
import time


def connect(port, source):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s.setblocking(False)
    return s


def partial_rq():
    """The head of an A-ASSOCIATE-RQ that announces 4 KiB and sends 100 bytes of it."""
    return struct.pack(">BBI", 1, 0, 4096) + b"\0\x01\0\0" + b"CASEPORT".ljust(16) + b"X" * 74


def open_one(kind, source, dicom_port, http_port):
    s = connect(http_port if kind == "http-slow" else dicom_port, source)
    if kind == "dicom-partial":
        s.send(partial_rq())
    elif kind == "http-slow":
        s.send(b"P")
    return s


def open_group(spec, dicom_port, http_port):
    kind, count, source = spec.split(":")
    socks = [open_one(kind, source, dicom_port, http_port) for _ in range(int(count))]
    return {"spec": spec, "kind": kind, "source": source, "socks": socks, "closed": set(),
            "sent": [1] * len(socks), "reopened": 0}


def reopen(groups, dicom_port, http_port):
    """Every connection the server closed, opened again (one that fails stays closed)."""
    for g in groups:
        for i in sorted(g["closed"]):
            try:
                s = open_one(g["kind"], g["source"], dicom_port, http_port)
            except OSError:
                continue
            g["socks"][i].close()
            g["socks"][i] = s
            g["sent"][i] = 1
            g["closed"].discard(i)
            g["reopened"] += 1


HEAD = b"POST /api/v1/sessions HTTP/1.1\r\nHost: caseport\r\nX-Slow: " + b"a" * 4000


def closed_by_server(s):
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def trickle(groups):
    """One more byte on every slow connection still open; notes those the server closed."""
    for g in groups:
        for i, s in enumerate(g["socks"]):
            if i in g["closed"]:
                continue
            if closed_by_server(s):
                g["closed"].add(i)
            elif g["kind"] == "http-slow":
                n = g["sent"][i] % len(HEAD)
                try:
                    s.send(HEAD[n:n + 1])
                    g["sent"][i] += 1
                except OSError:
                    g["closed"].add(i)


def hold(dicom_port, http_port, specs, again=False):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    groups = [open_group(spec, dicom_port, http_port) for spec in specs]
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], 1.0)
        if ready and sys.stdin.readline() == "":
            break
        trickle(groups)
        if again:
            reopen(groups, dicom_port, http_port)
    trickle(groups)
    for g in groups:
        more = " reopened %d" % g["reopened"] if again else ""
        print("%s closed %d of %d%s" % (g["spec"], len(g["closed"]), len(g["socks"]), more),
              flush=True)
        for s in g["socks"]:
            s.close()


def login(http_port, user, password):
    start = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    c.request("POST", "/api/v1/sessions", body=json.dumps({"username": user, "password": password}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    print("%d %.1f" % (r.status, (time.monotonic() - start) * 1000))


def main():
    if sys.argv[1] == "hold":
        args = sys.argv[2:]
        again = args[:1] == ["--reopen"]
        if again:
            args = args[1:]
        hold(int(args[0]), int(args[1]), args[2:], again)
    elif sys.argv[1] == "login":
        login(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
