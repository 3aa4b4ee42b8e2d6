#!/usr/bin/python3
"""Reads caseport's log as an operator's tool would, logfmt and JSON lines alike (issue 17).

usage: logcheck.py LOG KEY VALUE FORBIDDEN
Every line must be one well-formed event: a JSON object (no duplicate keys) or strict
logfmt starting with ts= (quoted values may hold only \\" \\\\ \\n \\r \\t and \\xHH).
In each of the two formats, some line must have KEY equal to VALUE, and no line may have
the key FORBIDDEN. Exits 1 naming the first line that breaks a rule.
"""
import json
import re
import sys

ESCAPES = {b'"': b'"', b"\\": b"\\", b"n": b"\n", b"r": b"\r", b"t": b"\t"}
PLAIN = re.compile(rb'[!#-<>-\[\]-~]+')  # printable ASCII but for " = \


def quoted(line, i):
    """The value whose opening quote is at line[i - 1]; (decoded bytes, index past it)."""
    out = bytearray()
    while i < len(line) and line[i:i + 1] != b'"':
        c = line[i:i + 1]
        if c == b"\\":
            e = line[i + 1:i + 2]
            if e == b"x" and re.fullmatch(rb"[0-9a-fA-F]{2}", line[i + 2:i + 4]):
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
                continue
            if e not in ESCAPES or e == b"":
                raise ValueError("unknown escape at byte %d" % i)
            out += ESCAPES[e]
            i += 2
            continue
        if c[0] < 0x20 or c[0] == 0x7F:
            raise ValueError("raw control byte at %d" % i)
        out += c
        i += 1
    if i >= len(line):
        raise ValueError("unclosed quote")
    if i + 1 < len(line) and line[i + 1:i + 2] != b" ":
        raise ValueError("no space after the closing quote at %d" % i)
    return bytes(out), i + 1


def logfmt(line):
    """Strict logfmt: a list of (key, value) pairs, values decoded."""
    fields, i = [], 0
    while i < len(line):
        if line[i:i + 1] == b" ":
            i += 1
            continue
        m = PLAIN.match(line, i)
        if not m:
            raise ValueError("no key at byte %d" % i)
        key, i = m.group().decode(), m.end()
        if line[i:i + 1] != b"=":
            if i < len(line) and line[i:i + 1] != b" ":
                raise ValueError("bad byte after key %s" % key)
            fields.append((key, ""))
            continue
        i += 1
        if line[i:i + 1] == b'"':
            val, i = quoted(line, i + 1)
        else:
            m = PLAIN.match(line, i)
            val = m.group() if m else b""
            i = m.end() if m else i
            if i < len(line) and line[i:i + 1] != b" ":
                raise ValueError("bad byte in the value of %s" % key)
        fields.append((key, val.decode("utf-8", "replace")))
    return fields


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def main():
    path, key, value, forbidden = sys.argv[1:5]
    found = {"logfmt": 0, "json": 0}
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, line in enumerate(lines, 1):
        try:
            if line.startswith(b"{"):
                kind = "json"
                fields = list(json.loads(line.decode("utf-8"), object_pairs_hook=no_duplicates).items())
            elif line.startswith(b"ts="):
                kind = "logfmt"
                fields = logfmt(line)
                no_duplicates(fields)
            else:
                raise ValueError("not an event line")
        except ValueError as e:
            sys.exit("line %d of %s is broken (%s): %r" % (n, path, e, line[:300]))
        keys = [k for k, _ in fields]
        if forbidden in keys:
            sys.exit("line %d has a forged %s field: %r" % (n, forbidden, line[:300]))
        if (key, value) in fields:
            found[kind] += 1
    for kind, count in found.items():
        if count == 0:
            sys.exit("no %s line has %s=%r" % (kind, key, value))
    print("%d lines, %s=%r in %d logfmt and %d JSON lines" % (len(lines), key, value,
                                                             found["logfmt"], found["json"]))


if __name__ == "__main__":
    main()
