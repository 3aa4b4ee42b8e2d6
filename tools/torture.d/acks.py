#!/usr/bin/python3
"""tools/torture: what storescu was told about each file it sent.

usage: acks.py STORESCU_LOG...

Reads storescu logs written at INFO ("Sending file: F" ... "Received Store Response
(STATUS...)") or DEBUG (-d: "Received Store Response", then "DIMSE Status : 0xNNNN: TEXT")
and prints one line per file sent: "STATUS SOP_INSTANCE_UID FILE", where
STATUS is Success, another response's first word (Refused:, Error:, Warning), or None
when no response came (the association broke first). The SOP Instance UID is read from
the file (Debian's pydicom), so a line can be checked against the index.
"""
import re
import sys

import pydicom


def uid_of(path):
    try:
        return str(pydicom.dcmread(path, stop_before_pixels=True,
                                   specific_tags=["SOPInstanceUID"]).SOPInstanceUID)
    except Exception:  # a file that cannot be read was not sent as an instance
        return "?"


def responses(lines):
    """(file, status) per file sent, in order; status None when no response came."""
    current = None
    waiting = False  # -d: the status follows on a line of its own
    for line in lines:
        m = re.search(r"Sending file: (.+?)\s*$", line)
        if m:
            if current:
                yield current, None
            current, waiting = m.group(1), False
            continue
        if current is None:
            continue
        m = re.search(r"Received Store Response(?: \(([^)]*)\))?", line)
        if m and m.group(1) is None:
            waiting = True
        elif m:
            yield current, m.group(1).split()[0].rstrip(":,")
            current = None
        elif waiting:
            m = re.search(r"DIMSE Status\s*: (0x[0-9a-fA-F]+): (\S+)", line)
            if m:
                yield current, "Success" if int(m.group(1), 16) == 0 else m.group(2).rstrip(":,")
                current, waiting = None, False
    if current:
        yield current, None


def main():
    for log in sys.argv[1:]:
        with open(log, errors="replace") as f:
            for path, status in responses(f):
                print(status or "None", uid_of(path), path)


if __name__ == "__main__":
    main()
