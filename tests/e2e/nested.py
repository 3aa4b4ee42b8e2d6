#!/usr/bin/python3
"""A Part 10 file (Explicit VR LE, CT Image Storage) whose data set holds sequences of
defined length nested DEPTH deep, the innermost item holding a Patient ID, after a
Patient Name at top level. For the intake's nesting limit (tests/e2e/test_hostile.sh).

usage: nested.py DEPTH SOP_INSTANCE_UID OUT
"""
import struct
import sys


def el(group, elem, vr, value):
    if len(value) % 2:
        value += b"\0" if vr == b"UI" else b" "
    if vr in (b"OB", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH", group, elem) + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value


def main():
    depth, sop, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
    ct = b"1.2.840.10008.5.1.4.1.1.2"
    inner = el(0x0010, 0x0020, b"LO", b"DEEP")
    for _ in range(depth):  # SQ (0009,1010) > item > ...
        inner = el(0x0009, 0x1010, b"SQ", struct.pack("<HHI", 0xFFFE, 0xE000, len(inner)) + inner)
    ds = el(0x0008, 0x0016, b"UI", ct) + el(0x0008, 0x0018, b"UI", sop) + inner
    ds += el(0x0010, 0x0010, b"PN", b"Deep^Nest") + el(0x0020, 0x000D, b"UI", sop + b".1")
    ds += el(0x0020, 0x000E, b"UI", sop + b".2")
    meta = el(0x0002, 0x0001, b"OB", b"\0\1") + el(0x0002, 0x0002, b"UI", ct)
    meta += el(0x0002, 0x0003, b"UI", sop) + el(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1")
    meta = el(0x0002, 0x0000, b"UL", struct.pack("<I", len(meta))) + meta
    with open(out, "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + meta + ds)


main()
