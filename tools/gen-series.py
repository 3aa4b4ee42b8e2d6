#!/usr/bin/python3
"""Generates a synthetic CT series as DICOM Part 10 files (Explicit VR Little Endian).

usage: gen-series.py OUT_DIR COUNT [--rows N] [--cols N] [--seed S] [--patient ID]
                     [--modify-pixel]

Every run with the same arguments writes the same files (UIDs derive from the seed), so a
second run re-creates the "same study" byte for byte. --modify-pixel changes one pixel of
every image but keeps the UIDs: the same instances with different content. Runs with
Debian's python3 (python3-pydicom, python3-numpy).
"""
import argparse
import hashlib
import os

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian


def uid(seed, *parts):
    digest = hashlib.sha256(("%s/" % seed + "/".join(map(str, parts))).encode()).digest()
    return "2.25.%d" % int.from_bytes(digest[:16], "big")


def make(i, args, study, series):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = uid(args.seed, "instance", i)
    ds.StudyDate = "20260115"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC%s" % args.seed
    ds.Modality = "CT"
    ds.StudyDescription = "CT HEAD W/O CONTRAST"
    ds.SeriesDescription = "AXIAL 5mm"
    ds.PatientName = args.patient_name or "TEST^SYNTHETIC^%s" % args.seed
    ds.PatientID = args.patient
    ds.IssuerOfPatientID = args.issuer
    ds.PatientBirthDate = args.birth_date
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.StudyID = "1"
    ds.SeriesNumber = 2
    ds.InstanceNumber = i + 1
    ds.ImagePositionPatient = [0.0, 0.0, float(i) * 5.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceThickness = 5.0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = args.rows
    ds.Columns = args.cols
    ds.PixelSpacing = [0.5, 0.5]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    rng = np.random.default_rng(int(hashlib.sha256(("%s/%d" % (args.seed, i)).encode()).hexdigest()[:8], 16))
    y, x = np.mgrid[0:args.rows, 0:args.cols]
    r = np.hypot(y - args.rows / 2, x - args.cols / 2)
    img = np.where(r < min(args.rows, args.cols) * 0.4, 1040 + (i % 50), 24).astype(np.uint16)
    img += rng.integers(0, 40, size=img.shape, dtype=np.uint16)
    if args.modify_pixel:
        img[0, 0] ^= 1
    ds.PixelData = img.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("count", type=int)
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--cols", type=int, default=512)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--patient", default="CP-TEST-1")
    ap.add_argument("--modify-pixel", action="store_true")
    ap.add_argument("--patient-name", default=None)
    ap.add_argument("--issuer", default="CASEPORT-TEST")
    ap.add_argument("--birth-date", default="19600101")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    study = uid(args.seed, "study")
    series = uid(args.seed, "series")
    for i in range(args.count):
        ds = make(i, args, study, series)
        path = os.path.join(args.out, "CT%05d.dcm" % (i + 1))
        try:
            ds.save_as(path, enforce_file_format=True)
        except TypeError:  # pydicom 2.x
            ds.is_little_endian = True
            ds.is_implicit_VR = False
            ds.save_as(path, write_like_original=False)


if __name__ == "__main__":
    main()
