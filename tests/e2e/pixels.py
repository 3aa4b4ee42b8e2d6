#!/usr/bin/python3
"""Decoded pixels, caseport against pydicom: for every stored instance whose file pydicom
(python3-pydicom with numpy, Pillow and GDCM from Debian) can decode, the pixel hash
caseport recorded (as the instance arrived, or by its pixel_hash job) must equal the
same hash over pydicom's decoding:
SHA-256 of "rows=R columns=C bits=B samples=S photometric=P frames=F\\n" followed by the
frames as little-endian values, samples interleaved (1-bit data packed).

usage: pixels.py CORPUS_DIR ROWS_FILE   (rows: sop|ts|hash hex|note|job state|job error)
"""
import glob
import hashlib
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom
from pydicom.encaps import defragment_data
from pydicom.pixel_data_handlers.util import convert_color_space

warnings.filterwarnings("ignore")
JPEG_LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
J2K = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}


def corpus(root):
    files = {}
    for f in sorted(glob.glob(os.path.join(root, "**", "*.dcm"), recursive=True)):
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
            key = (str(ds.SOPInstanceUID), str(ds.file_meta.TransferSyntaxUID))
            files.setdefault(key, []).append(f)  # variants of one sample share UIDs
        except Exception:
            continue
    return files


class Undecodable(Exception):
    """pydicom itself cannot decode the file's pixel data."""


def expected(f):
    """The hash of the file's decoded pixels; None if it has no pixel data."""
    ds = pydicom.dcmread(f)
    if "PixelData" not in ds:
        return None
    ts, pi = str(ds.file_meta.TransferSyntaxUID), str(ds.PhotometricInterpretation)
    try:
        arr = ds.pixel_array
    except Exception as e:  # only pydicom's decoding: anything else below is a test bug
        raise Undecodable(e)
    decoded_pi = pi
    if ts in JPEG_LOSSY and pi in ("YBR_FULL", "YBR_FULL_422"):
        decoded_pi = "RGB"  # DCMTK's decoder converts, as viewers show it
        if str(ds.PhotometricInterpretation).startswith("YBR"):
            arr = convert_color_space(arr, "YBR_FULL", "RGB")
    elif ts in J2K and pi in ("YBR_RCT", "YBR_ICT"):
        decoded_pi = "RGB"  # the colour transform is part of the codestream
    elif pi == "YBR_FULL_422" and not ds.file_meta.TransferSyntaxUID.is_compressed:
        decoded_pi = "YBR_FULL"  # native 4:2:2 given its full chroma, as pydicom does
    frames = str(ds["NumberOfFrames"].value) if "NumberOfFrames" in ds else "1"
    head = "rows=%d columns=%d bits=%d samples=%d photometric=%s frames=%s\n" % (
        ds.Rows, ds.Columns, ds.BitsAllocated, ds.SamplesPerPixel, decoded_pi, frames)
    if ds.BitsAllocated == 1:
        body = np.packbits(arr.astype(np.uint8).ravel(), bitorder="little").tobytes()
    else:
        body = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    return hashlib.sha256(head.encode() + body).hexdigest()


def openjpeg_refuses(f):
    """Whether OpenJPEG's own opj_decompress also refuses the file's codestream."""
    ds = pydicom.dcmread(f)
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "f.j2k"), os.path.join(d, "f.pgx")
        open(src, "wb").write(defragment_data(ds.PixelData))
        r = subprocess.run(["opj_decompress", "-i", src, "-o", dst], capture_output=True)
        return r.returncode != 0 or not os.path.exists(dst)


def main():
    files = corpus(sys.argv[1])
    same = refused_alike = undecodable = no_pixels = 0
    problems = []
    for line in open(sys.argv[2]):
        sop, ts, got, note, state, error = line.rstrip("\n").split("|", 5)
        candidates = files.get((sop, ts), [])
        if not candidates:
            continue
        wants = []
        for f in candidates:
            try:
                wants.append(expected(f))
            except Undecodable:
                pass  # pydicom cannot decode this one
        f = candidates[0]
        name = ", ".join(os.path.basename(c) for c in candidates)
        if None in wants:
            if got or note != "no pixel data":
                problems.append("%s: no pixel data, but caseport says %s %s" % (name, got or "-", note))
            else:
                no_pixels += 1
            continue
        if not wants:
            undecodable += 1  # pydicom cannot decode it: nothing to compare with
            continue
        want = got if got in wants else wants[0]
        if got == want:
            same += 1
        elif (not got and note.startswith("the pixels cannot be decoded: JPEG 2000:")
              and state == "done" and openjpeg_refuses(f)):
            refused_alike += 1  # noted, not a dead job: another attempt would repeat it
            print("%s: refused as opj_decompress refuses it: %s" % (name, note))
        else:
            problems.append("%s (%s): caseport %s %s %s %s" % (name, ts, got or "-", note, state, error))
    print("pixels: %d equal to pydicom's, %d refused as OpenJPEG refuses them, %d not "
          "decodable by pydicom, %d without pixel data (noted so)"
          % (same, refused_alike, undecodable, no_pixels))
    for p in problems:
        print("MISMATCH " + p)
    if problems or same < 40:
        sys.exit(1)


main()
