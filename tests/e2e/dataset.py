#!/usr/bin/python3
"""Part 10 helpers for the e2e tests, in plain Python (no pydicom): the data-set bytes
after the File Meta Information, so that two files can be compared byte for byte.

usage: dataset.py sha FILE      sha256 of the data set
       dataset.py uid FILE      the Media Storage SOP Instance UID (0002,0003)
       dataset.py ts FILE       the Transfer Syntax UID (0002,0010)
       dataset.py class FILE    the Media Storage SOP Class UID (0002,0002)
"""
import hashlib
import struct
import sys


def meta(data):
    if data[128:132] != b"DICM":
        raise SystemExit("not a Part 10 file")
    off, items = 132, {}
    while off + 8 <= len(data):
        group, elem = struct.unpack_from("<HH", data, off)
        if group != 2:
            break
        vr = data[off + 4:off + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            (n,) = struct.unpack_from("<I", data, off + 8)
            head = 12
        else:
            (n,) = struct.unpack_from("<H", data, off + 6)
            head = 8
        items[elem] = data[off + head:off + head + n]
        off += head + n
    return items, off


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    items, off = meta(data)
    if cmd == "sha":
        print(hashlib.sha256(data[off:]).hexdigest())
    elif cmd == "uid":
        print(items[3].rstrip(b"\0 ").decode())
    elif cmd == "ts":
        print(items[0x10].rstrip(b"\0 ").decode())
    elif cmd == "class":
        print(items[2].rstrip(b"\0 ").decode())


if __name__ == "__main__":
    main()
