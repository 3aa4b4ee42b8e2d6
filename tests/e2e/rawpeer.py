#!/usr/bin/python3
"""A deliberately misbehaving DICOM peer for the hostile-input tests (plain sockets).

usage: rawpeer.py PORT SCENARIO
Scenarios print what the server did ("abort reason=N", "closed", ...) and exit 0 when the
server reacted as a conformant, robust SCP should; 1 otherwise.
"""
import os
import socket
import struct
import sys
import time

VERIFICATION = b"1.2.840.10008.1.1"
CT_STORAGE = b"1.2.840.10008.5.1.4.1.1.2"
IMPLICIT_LE = b"1.2.840.10008.1.2"


def item(t, payload):
    return struct.pack(">BBH", t, 0, len(payload)) + payload


def assoc_rq(called=b"CASEPORT", calling=b"RAWPEER"):
    body = struct.pack(">HH", 1, 0) + called.ljust(16) + calling.ljust(16) + b"\0" * 32
    body += item(0x10, b"1.2.840.10008.3.1.1.1")
    for pc_id, abstract in ((1, VERIFICATION), (3, CT_STORAGE)):
        body += item(0x20, bytes([pc_id, 0, 0, 0]) + item(0x30, abstract) + item(0x40, IMPLICIT_LE))
    body += item(0x50, item(0x51, struct.pack(">I", 16384)))
    return struct.pack(">BBI", 1, 0, len(body)) + body


def read_pdu(s, timeout=10):
    s.settimeout(timeout)
    head = b""
    while len(head) < 6:
        chunk = s.recv(6 - len(head))
        if not chunk:
            return None, None
        head += chunk
    t, n = head[0], struct.unpack(">I", head[2:6])[0]
    body = b""
    while len(body) < n:
        chunk = s.recv(min(65536, n - len(body)))
        if not chunk:
            return None, None
        body += chunk
    return t, body


def expect_close(s, after):
    """The server closes the connection at once after its A-ABORT or A-ASSOCIATE-RJ (not
    after ARTIM, which the tests that use this set to 3 s or more)."""
    start = time.time()
    s.settimeout(10)
    try:
        rest = s.recv(100)
    except ConnectionResetError:
        rest = b""
    except socket.timeout:
        print("still open 10 s after the %s" % after)
        return 1
    if rest:
        print("data after the %s" % after)
        return 1
    waited = time.time() - start
    print("closed after %.1fs" % waited)
    return 0 if waited < 2 else 1


def expect_abort_then_close(s):
    t, body = read_pdu(s)
    if t != 7:
        print("expected A-ABORT, got %r" % t)
        return 1
    print("abort source=%d reason=%d" % (body[2], body[3]))
    return expect_close(s, "A-ABORT")


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def associate(port):
    s = connect(port)
    s.sendall(assoc_rq())
    t, body = read_pdu(s)
    if t != 2:
        raise SystemExit("association not accepted: pdu %r" % t)
    return s


def pdata(pc_id, flags, data):
    pdv = struct.pack(">IBB", len(data) + 2, pc_id, flags) + data
    return struct.pack(">BBI", 4, 0, len(pdv)) + pdv


def elem(tag_group, tag_elem, value):
    if len(value) % 2:
        value += b"\0"
    return struct.pack("<HHI", tag_group, tag_elem, len(value)) + value


def request(sop_class, field, more=b""):
    """A request's command set (message ID 1, medium priority, a data set follows), with
    more elements after Command Data Set Type, in tag order."""
    cmd = elem(0, 0x0002, sop_class) + elem(0, 0x0100, struct.pack("<H", field))
    cmd += elem(0, 0x0110, struct.pack("<H", 1)) + elem(0, 0x0700, struct.pack("<H", 0))
    cmd += elem(0, 0x0800, struct.pack("<H", 0)) + more
    return elem(0, 0x0000, struct.pack("<I", len(cmd))) + cmd


def store_rq_command(sop_uid):
    body = elem(0, 0x0002, CT_STORAGE) + elem(0, 0x0100, struct.pack("<H", 1))
    body += elem(0, 0x0110, struct.pack("<H", 7)) + elem(0, 0x0700, struct.pack("<H", 0))
    body += elem(0, 0x0800, struct.pack("<H", 0)) + elem(0, 0x1000, sop_uid)
    return elem(0, 0x0000, struct.pack("<I", len(body))) + body


def scenario(port, name):
    if name == "garbage":
        s = connect(port)
        s.sendall(b"\x55" + os.urandom(2000))
        return expect_abort_then_close(s)
    if name == "oversized-rq":
        s = connect(port)
        s.sendall(struct.pack(">BBI", 1, 0, 0x7FFFFFF0) + b"\0" * 100)
        return expect_abort_then_close(s)
    if name == "oversized-pdata":
        s = associate(port)
        s.sendall(struct.pack(">BBI", 4, 0, 64 * 1024 * 1024) + b"\0" * 100)
        return expect_abort_then_close(s)
    if name == "malformed-rq":
        rq = bytearray(assoc_rq())
        rq[6 + 68 + 2:6 + 68 + 4] = b"\xff\xff"  # application context item overruns
        s = connect(port)
        s.sendall(bytes(rq))
        return expect_abort_then_close(s)
    if name == "unexpected-pdu":
        s = associate(port)
        s.sendall(assoc_rq())  # a second A-ASSOCIATE-RQ on an open association
        return expect_abort_then_close(s)
    if name == "silent":
        s = connect(port)
        start = time.time()
        s.settimeout(30)
        data = s.recv(100)
        waited = time.time() - start
        print("closed after %.1fs, %d bytes" % (waited, len(data)))
        return 0 if not data and waited < 20 else 1
    if name == "rejected":
        s = connect(port)
        s.sendall(assoc_rq(called=b"NOTUS"))
        t, body = read_pdu(s)
        if t != 3:
            print("expected A-ASSOCIATE-RJ, got %r" % t)
            return 1
        print("rejected result=%d source=%d reason=%d" % (body[1], body[2], body[3]))
        return expect_close(s, "A-ASSOCIATE-RJ")
    if name == "hold":
        s = associate(port)
        print("holding", flush=True)
        time.sleep(4)
        s.sendall(bytes([5, 0, 0, 0, 0, 4, 0, 0, 0, 0]))
        t, _ = read_pdu(s)
        return 0 if t == 6 else 1
    if name == "cut-mid-store":
        s = associate(port)
        s.sendall(pdata(3, 0x03, store_rq_command(b"2.25.99999")))
        ds = elem(0x0008, 0x0016, CT_STORAGE) + elem(0x0008, 0x0018, b"2.25.99999")
        ds += struct.pack("<HHI", 0x7FE0, 0x0010, 1 << 20) + b"\0" * 1000
        s.sendall(pdata(3, 0x00, ds))
        time.sleep(0.3)
        s.close()
        print("sent half a data set and closed")
        return 0
    if name == "garbage-dataset":
        s = associate(port)
        s.sendall(pdata(3, 0x03, store_rq_command(b"2.25.88888")))
        s.sendall(pdata(3, 0x02, b"\xfe\xff\x00\xe0" + os.urandom(64)))
        t, body = read_pdu(s)
        if t != 4:
            print("expected a C-STORE-RSP, got pdu %r" % t)
            return 1
        status = None
        off = 6
        while off + 8 <= len(body):
            g, e, n = struct.unpack_from("<HHI", body, off)
            if (g, e) == (0, 0x0900):
                status = struct.unpack_from("<H", body, off + 8)[0]
            off += 8 + n
        print("status=0x%04x" % status)
        return 0 if status is not None and status & 0xF000 == 0xC000 else 1
    if name == "replay":
        # Every file of the PDU fuzzer's corpus (less its first byte, which the fuzzer uses
        # to pick read sizes) on a connection of its own; the server may answer anything a
        # protocol allows, and must neither crash nor hang.
        seeds = sys.argv[3]
        sent = 0
        for f in sorted(os.listdir(seeds)):
            data = open(os.path.join(seeds, f), "rb").read()[1:]
            s = connect(port)
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(10)
                while s.recv(65536):
                    pass
            except (ConnectionResetError, BrokenPipeError):
                pass
            except socket.timeout:
                print("server did not close after %s" % f)
                return 1
            s.close()
            sent += 1
        print("replayed %d inputs" % sent)
        return 0
    if name == "get-stall":
        return get_stall(port, sys.argv[3], int(sys.argv[4]))
    if name == "commit-same":
        return commit_same(port, sys.argv[3], sys.argv[4])
    if name == "find-cancel":
        return find_cancel(port)
    if name == "commit-twice":
        return commit_twice(port)
    if name == "get-stall-bogus":
        return get_stall(port, sys.argv[3], int(sys.argv[4]), bogus=True)
    if name == "find-release":
        return find_release(port)
    if name == "store-file":
        return store_file(port, sys.argv[3])
    if name == "get-release":
        return get_release(port, sys.argv[3])
    raise SystemExit("unknown scenario " + name)


STUDY_GET = b"1.2.840.10008.5.1.4.1.2.2.3"
EXPLICIT_LE = b"1.2.840.10008.1.2.1"


def get_assoc_rq():
    """Study Root C-GET plus CT storage with the SCP role, as getscu proposes them."""
    body = struct.pack(">HH", 1, 0) + b"CASEPORT".ljust(16) + b"STALLER".ljust(16) + b"\0" * 32
    body += item(0x10, b"1.2.840.10008.3.1.1.1")
    body += item(0x20, bytes([1, 0, 0, 0]) + item(0x30, STUDY_GET) + item(0x40, IMPLICIT_LE))
    body += item(0x20, bytes([3, 0, 0, 0]) + item(0x30, CT_STORAGE) + item(0x40, EXPLICIT_LE))
    role = struct.pack(">H", len(CT_STORAGE)) + CT_STORAGE + bytes([0, 1])
    body += item(0x50, item(0x51, struct.pack(">I", 16384)) + item(0x54, role))
    return struct.pack(">BBI", 1, 0, len(body)) + body


def start_get(port, series_uid, rcvbuf=None):
    """An association as getscu proposes it and a C-GET of one series sent on it; the
    socket, or None (said why) if the association was not accepted."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(get_assoc_rq())
    t, _ = read_pdu(s)
    if t != 2:
        print("association not accepted: pdu %r" % t)
        return None
    cmd = request(STUDY_GET, 0x0010)
    ident = elem(0x0008, 0x0052, b"SERIES") + elem(0x0020, 0x000E, series_uid.encode())
    s.sendall(pdata(1, 3, cmd) + pdata(1, 2, ident))
    return s


def get_stall(port, series_uid, wait, bogus=False):
    """A C-GET whose requestor then reads nothing: the server must drop it after its
    send_timeout rather than buffer the series, and must close the connection. bogus: while
    the server waits for the requestor to read, it also gets a C-STORE-RSP to nothing
    (which aborts the association) before the requestor reads again."""
    s = start_get(port, series_uid, rcvbuf=4096)
    if s is None:
        return 1
    print("stalling", flush=True)
    if bogus:
        time.sleep(1)
        r = elem(0, 0x0002, CT_STORAGE) + elem(0, 0x0100, struct.pack("<H", 0x8001))
        r += elem(0, 0x0120, struct.pack("<H", 999)) + elem(0, 0x0800, struct.pack("<H", 0x0101))
        r += elem(0, 0x0900, struct.pack("<H", 0))
        r = elem(0, 0x0000, struct.pack("<I", len(r))) + r
        s.sendall(pdata(3, 3, r))
    time.sleep(wait)
    # now drain: the server must have given up and closed the connection
    s.settimeout(10)
    got = 0
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
    except ConnectionResetError:
        pass
    except socket.timeout:
        print("server still sending after %d s (%d bytes drained)" % (wait, got))
        return 1
    print("closed after %d bytes" % got)
    return 0



STGCMT = b"1.2.840.10008.1.20.1"
STGCMT_INSTANCE = b"1.2.840.10008.1.20.1.1"


def eelem(g, e, vr, value):
    """An Explicit VR Little Endian element (short VRs only, plus SQ of undefined length)."""
    if vr == b"SQ":
        return struct.pack("<HH", g, e) + b"SQ\0\0" + struct.pack("<I", 0xFFFFFFFF) + value + \
            struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    if len(value) % 2:
        value += b"\0" if vr == b"UI" else b" "
    return struct.pack("<HH", g, e) + vr + struct.pack("<H", len(value)) + value


def ds_item(body):
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def read_message(s):
    """One DIMSE message: (command bytes, data set bytes or None)."""
    cmd, data, need_data = b"", b"", None
    while True:
        t, body = read_pdu(s)
        if t != 4:
            raise SystemExit("expected P-DATA, got pdu %r" % t)
        off = 0
        while off < len(body):
            n = struct.unpack(">I", body[off:off + 4])[0]
            flags = body[off + 5]
            chunk = body[off + 6:off + 4 + n]
            off += 4 + n
            if flags & 1:
                cmd += chunk
                if flags & 2:
                    dst = cmd_value(cmd, 0x0800)
                    need_data = dst is not None and dst != 0x0101
                    if not need_data:
                        return cmd, None
            else:
                data += chunk
                if flags & 2:
                    return cmd, data


def cmd_value(cmd, elem_no):
    off = 0
    while off + 8 <= len(cmd):
        g, e, n = struct.unpack("<HHI", cmd[off:off + 8])
        if e == elem_no:
            v = cmd[off + 8:off + 8 + n]
            return struct.unpack("<H", v)[0] if n == 2 else v
        off += 8 + n
    return None


STUDY_FIND = b"1.2.840.10008.5.1.4.1.2.2.1"


def find_cancel(port):
    """A C-FIND at IMAGE level followed at once by its C-CANCEL: the server must stop
    sending matches and end with Cancel (FE00)."""
    s = one_context_assoc(port, b"VIEWER", STUDY_FIND, IMPLICIT_LE)
    if s is None:
        return 1
    cmd = request(STUDY_FIND, 0x0020)
    ident = elem(0x0008, 0x0018, b"") + elem(0x0008, 0x0052, b"IMAGE")
    cancel = elem(0, 0x0100, struct.pack("<H", 0x0FFF)) + elem(0, 0x0120, struct.pack("<H", 1))
    cancel += elem(0, 0x0800, struct.pack("<H", 0x0101))
    cancel = elem(0, 0x0000, struct.pack("<I", len(cancel))) + cancel
    s.sendall(pdata(1, 3, cmd) + pdata(1, 2, ident) + pdata(1, 3, cancel))
    pending = 0
    while True:
        rsp, _ = read_message(s)
        status = cmd_value(rsp, 0x0900)
        if status in (0xFF00, 0xFF01):
            pending += 1
            continue
        break
    s.sendall(struct.pack(">BBI", 5, 0, 4) + b"\0" * 4)
    read_pdu(s)
    print("C-FIND cancelled at once: %d matches sent, final status 0x%04x" % (pending, status))
    return 0 if status == 0xFE00 else 1


def commit_assoc(port):
    """An association with one Storage Commitment context (Explicit VR LE), or None."""
    return one_context_assoc(port, b"COMMITTER", STGCMT, EXPLICIT_LE)


def one_context_assoc(port, calling, abstract, ts):
    """An association with one presentation context (id 1), or None if not accepted."""
    body = struct.pack(">HH", 1, 0) + b"CASEPORT".ljust(16) + calling.ljust(16) + b"\0" * 32
    body += item(0x10, b"1.2.840.10008.3.1.1.1")
    body += item(0x20, bytes([1, 0, 0, 0]) + item(0x30, abstract) + item(0x40, ts))
    body += item(0x50, item(0x51, struct.pack(">I", 16384)))
    s = connect(port)
    s.sendall(struct.pack(">BBI", 1, 0, len(body)) + body)
    t, _ = read_pdu(s)
    if t != 2:
        print("association not accepted: pdu %r" % t)
        return None
    return s


def commit_twice(port):
    """An N-ACTION whose data set repeats the Referenced SOP Sequence, the first with 70
    items: refused with 0x0115 (invalid argument), and the association goes on."""
    s = commit_assoc(port)
    if s is None:
        return 1
    one = ds_item(eelem(8, 0x1150, b"UI", b"1.2.840.10008.5.1.4.1.1.2") + eelem(8, 0x1155, b"UI", b"1.2.3.4"))
    data = eelem(8, 0x1195, b"UI", b"1.2.3.9") + eelem(8, 0x1199, b"SQ", one * 70) + \
        eelem(8, 0x1199, b"SQ", one * 70)
    cmd = elem(0, 0x0003, STGCMT) + elem(0, 0x0100, struct.pack("<H", 0x0130))
    cmd += elem(0, 0x0110, struct.pack("<H", 5)) + elem(0, 0x0800, struct.pack("<H", 0))
    cmd += elem(0, 0x1001, STGCMT_INSTANCE) + elem(0, 0x1008, struct.pack("<H", 1))
    cmd = elem(0, 0x0000, struct.pack("<I", len(cmd))) + cmd
    s.sendall(pdata(1, 3, cmd))
    for off in range(0, len(data), 8000):
        chunk = data[off:off + 8000]
        s.sendall(pdata(1, 2 if off + 8000 >= len(data) else 0, chunk))
    rsp, _ = read_message(s)
    status = cmd_value(rsp, 0x0900)
    s.sendall(struct.pack(">BBI", 5, 0, 4) + b"\0" * 4)
    t, _ = read_pdu(s)
    print("N-ACTION with a repeated sequence: status 0x%04x; release %s" % (status, "ok" if t == 6 else t))
    return 0 if status == 0x0115 and t == 6 else 1


def commit_same(port, sop_class, sop_uid):
    """Storage Commitment on one association: N-ACTION for a stored instance and an unknown
    one, the N-EVENT-REPORT expected on the same association (event 2, one of each)."""
    s = commit_assoc(port)
    if s is None:
        return 1
    refs = ds_item(eelem(8, 0x1150, b"UI", sop_class.encode()) + eelem(8, 0x1155, b"UI", sop_uid.encode()))
    refs += ds_item(eelem(8, 0x1150, b"UI", sop_class.encode()) + eelem(8, 0x1155, b"UI", b"1.2.3.4.5.6.7.8.9"))
    data = eelem(8, 0x1195, b"UI", b"1.2.826.0.1.3680043.2.1143.777") + eelem(8, 0x1199, b"SQ", refs)
    cmd = elem(0, 0x0003, STGCMT) + elem(0, 0x0100, struct.pack("<H", 0x0130))
    cmd += elem(0, 0x0110, struct.pack("<H", 5)) + elem(0, 0x0800, struct.pack("<H", 0))
    cmd += elem(0, 0x1001, STGCMT_INSTANCE) + elem(0, 0x1008, struct.pack("<H", 1))
    cmd = elem(0, 0x0000, struct.pack("<I", len(cmd))) + cmd
    s.sendall(pdata(1, 3, cmd) + pdata(1, 2, data))
    rsp, _ = read_message(s)
    if cmd_value(rsp, 0x0100) != 0x8130 or cmd_value(rsp, 0x0900) != 0:
        print("N-ACTION-RSP: field %r status %r" % (cmd_value(rsp, 0x0100), cmd_value(rsp, 0x0900)))
        return 1
    rq, ds = read_message(s)
    if cmd_value(rq, 0x0100) != 0x0100 or cmd_value(rq, 0x1002) != 2 or ds is None:
        print("expected N-EVENT-REPORT-RQ with event 2, got field %r event %r" %
              (cmd_value(rq, 0x0100), cmd_value(rq, 0x1002)))
        return 1
    import io
    from pydicom.filereader import read_dataset
    report = read_dataset(io.BytesIO(ds), is_implicit_VR=False, is_little_endian=True)
    ok = [i.ReferencedSOPInstanceUID for i in report.get("ReferencedSOPSequence", [])]
    bad = [(i.ReferencedSOPInstanceUID, i.FailureReason) for i in report.get("FailedSOPSequence", [])]
    if report.TransactionUID != "1.2.826.0.1.3680043.2.1143.777" or ok != [sop_uid] or \
            bad != [("1.2.3.4.5.6.7.8.9", 0x0112)]:
        print("wrong report: ok=%r failed=%r" % (ok, bad))
        return 1
    msg_id = cmd_value(rq, 0x0110)
    r = elem(0, 0x0002, STGCMT) + elem(0, 0x0100, struct.pack("<H", 0x8100))
    r += elem(0, 0x0120, struct.pack("<H", msg_id)) + elem(0, 0x0800, struct.pack("<H", 0x0101))
    r += elem(0, 0x0900, struct.pack("<H", 0)) + elem(0, 0x1000, STGCMT_INSTANCE)
    r = elem(0, 0x0000, struct.pack("<I", len(r))) + r
    s.sendall(pdata(1, 3, r))
    s.sendall(struct.pack(">BBI", 5, 0, 4) + b"\0" * 4)
    t, _ = read_pdu(s)
    print("report: 1 committed, 1 failed with 0x0112; release %s" % ("ok" if t == 6 else "pdu %r" % t))
    return 0 if t == 6 else 1


RELEASE_RQ = struct.pack(">BBI", 5, 0, 4) + b"\0" * 4


def final_then_release_rp(s, field):
    """Reads messages until the final response of command field (a C-STORE-RQ of a C-GET
    is read and left unanswered), then expects the A-RELEASE-RP. Returns (pending, status,
    failed count) or None with the reason printed."""
    pending = 0
    while True:
        rsp, _ = read_message(s)
        if cmd_value(rsp, 0x0100) == 0x0001:  # a C-STORE-RQ sub-operation: no answer now
            continue
        if cmd_value(rsp, 0x0100) != field:
            print("unexpected command 0x%04x" % cmd_value(rsp, 0x0100))
            return None
        status = cmd_value(rsp, 0x0900)
        if status in (0xFF00, 0xFF01):
            pending += 1
            continue
        break
    t, _ = read_pdu(s)
    if t != 6:
        print("after the final response: pdu %r, not A-RELEASE-RP" % t)
        return None
    return pending, status, cmd_value(rsp, 0x1022)


def find_release(port):
    """A C-FIND at IMAGE level, then at once an A-RELEASE-RQ: the server must end the
    C-FIND with a final response before its A-RELEASE-RP, not abandon it."""
    s = one_context_assoc(port, b"VIEWER", STUDY_FIND, IMPLICIT_LE)
    if s is None:
        return 1
    cmd = request(STUDY_FIND, 0x0020)
    ident = elem(0x0008, 0x0018, b"") + elem(0x0008, 0x0052, b"IMAGE")
    s.sendall(pdata(1, 3, cmd) + pdata(1, 2, ident) + RELEASE_RQ)
    got = final_then_release_rp(s, 0x8020)
    if got is None:
        return 1
    print("C-FIND released: %d matches, final status 0x%04x, then A-RELEASE-RP" % got[:2])
    return 0 if got[1] in (0xFE00, 0x0000) else 1


def get_release(port, series_uid):
    """A C-GET of a series, then an A-RELEASE-RQ as soon as the first C-STORE-RQ arrives
    (left unanswered: a requestor awaiting release sends no data): the server must end the
    C-GET with a final response that counts that sub-operation failed, then release."""
    s = start_get(port, series_uid)
    if s is None:
        return 1
    rq, _ = read_message(s)
    if cmd_value(rq, 0x0100) != 0x0001:
        print("expected a C-STORE-RQ first, got 0x%04x" % cmd_value(rq, 0x0100))
        return 1
    s.sendall(RELEASE_RQ)
    got = final_then_release_rp(s, 0x8010)
    if got is None:
        return 1
    print("C-GET released: final status 0x%04x, %d failed, then A-RELEASE-RP" % got[1:])
    return 0 if got[1] == 0xFE00 and got[2] >= 1 else 1


def store_file(port, path):
    """The data set of a Part 10 file sent as it is in the file, with the SOP class and
    instance of its File Meta Information in the C-STORE-RQ (what a sender that does not
    re-read the data set does): prints the response status."""
    data = open(path, "rb").read()
    off, meta = 132, {}
    while data[off:off + 2] == b"\x02\x00":
        el = struct.unpack_from("<H", data, off + 2)[0]
        vr = data[off + 4:off + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
            n, head = struct.unpack_from("<I", data, off + 8)[0], 12
        else:
            n, head = struct.unpack_from("<H", data, off + 6)[0], 8
        meta[el] = data[off + head:off + head + n].rstrip(b"\0 ")
        off += head + n
    sop_class, sop, ts = meta[2], meta[3], meta[0x10]
    s = one_context_assoc(port, b"RAWPEER", sop_class, ts)
    if s is None:
        return 1
    cmd = request(sop_class, 0x0001, elem(0, 0x1000, sop))
    body = data[off:]
    msgs = pdata(1, 3, cmd)
    for i in range(0, len(body), 16000):
        chunk = body[i:i + 16000]
        msgs += pdata(1, 2 if i + 16000 >= len(body) else 0, chunk)
    s.sendall(msgs)
    rsp, _ = read_message(s)
    status = cmd_value(rsp, 0x0900)
    s.sendall(RELEASE_RQ)
    read_pdu(s)
    print("status 0x%04x" % status)
    return 0 if status == 0 else 1



if __name__ == "__main__":
    sys.exit(scenario(int(sys.argv[1]), sys.argv[2]))

