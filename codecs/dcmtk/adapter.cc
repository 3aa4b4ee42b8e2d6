// codecs/dcmtk/adapter.cc -- the one C++ file: JPEG baseline/extended/lossless, JPEG-LS
// and RLE frames decoded, and JPEG-LS lossless frames encoded, by DCMTK's codecs behind
// the C interface of codec_pixels.h.
// A frame is put into a minimal in-memory data set (the image attributes and a pixel
// sequence of one fragment) whose representation DCMTK is asked to change to Explicit
// VR Little Endian; the decoded pixel data are then copied out, interleaved.
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdatset.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/dcmjpls/djencode.h"
#include "dcmtk/dcmjpls/djrparam.h"
#include "dcmtk/oflog/oflog.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

extern "C" {
#include "codec_pixels.h"
}

namespace {

std::once_flag registered;

void register_codecs()
{
    // DCMTK logs to stderr by default; caseport reports through its own errors
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation, EUC_never,
                                          EPC_colorByPixel);
    DJLSDecoderRegistration::registerCodecs(EJLSUC_never, EJLSPC_colorByPixel);
    DcmRLEDecoderRegistration::registerCodecs();
    // one fragment per frame; the UID is caseport's to keep (EJLSUC_never)
    DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, OFTrue, 0, OFTrue, EJLSUC_never);
}

cp_err_t fail(char *why, size_t cap, cp_err_t err, const char *what, const char *detail)
{
    std::snprintf(why, cap, "%s%s%s", what, detail[0] ? ": " : "", detail);
    return err;
}

void put_attributes(DcmDataset &ds, const codec_image_t *img)
{
    ds.putAndInsertUint16(DCM_Rows, img->rows);
    ds.putAndInsertUint16(DCM_Columns, img->columns);
    ds.putAndInsertUint16(DCM_BitsAllocated, img->bits_allocated);
    ds.putAndInsertUint16(DCM_BitsStored, img->bits_stored ? img->bits_stored : img->bits_allocated);
    ds.putAndInsertUint16(DCM_HighBit, (img->bits_stored ? img->bits_stored : img->bits_allocated) - 1);
    ds.putAndInsertUint16(DCM_PixelRepresentation, img->pixel_representation);
    ds.putAndInsertUint16(DCM_SamplesPerPixel, img->samples);
    ds.putAndInsertString(DCM_PhotometricInterpretation, img->photometric);
    if (img->samples > 1)
        ds.putAndInsertUint16(DCM_PlanarConfiguration, img->planar);
    ds.putAndInsertString(DCM_NumberOfFrames, "1");
}

// Color-by-plane (RLE's own layout) to color-by-pixel.
void interleave(const Uint8 *planes, Uint8 *out, size_t pixels, size_t samples, size_t bytes)
{
    for (size_t s = 0; s < samples; s++)
        for (size_t i = 0; i < pixels; i++)
            std::memcpy(out + (i * samples + s) * bytes, planes + (s * pixels + i) * bytes, bytes);
}

// Whether DCMTK 3.6.7's scan of a JPEG stream for its bit depth
// (DJCodecDecoder::scanJpegDataForBitDepth) would never end: it walks the markers as
// below and does not move past a TEM marker (FF01), so a crafted frame would hold a
// worker thread forever (DCMTK bug #1190, fixed after 3.6.7, which Debian 12 ships). The
// walk is DCMTK's, step for step, up to where DCMTK stops.
bool jpeg_scan_never_ends(const Uint8 *d, size_t len)
{
    for (size_t at = 0; at + 4 < len;) {
        unsigned m = (unsigned)d[at] << 8 | d[at + 1];
        bool sof = m >= 0xffc0 && m <= 0xffcf && m != 0xffc4 && m != 0xffc8 && m != 0xffcc;
        bool bare = (m >= 0xffd0 && m <= 0xffd9) || (d[at] == 0xff && d[at + 1] > 2 &&
                                                     d[at + 1] <= 0xbf);
        if (m == 0xff01)
            return true;
        if (sof || d[at] != 0xff || d[at + 1] == 0x00 || d[at + 1] == 0x02)
            return false; // DCMTK stops here: a frame header, or not a marker
        if (m == 0xffff)
            at += 1; // a fill byte
        else if (bare)
            at += 2;
        else // a segment with its length: C4, C8, CC, DA-DF, E0-FE
            at += ((size_t)d[at + 2] << 8 | d[at + 3]) + 2;
    }
    return false;
}

bool dcmjpeg_syntax(E_TransferSyntax x)
{
    return x == EXS_JPEGProcess1 || x == EXS_JPEGProcess2_4 || x == EXS_JPEGProcess14 ||
           x == EXS_JPEGProcess14SV1 || x == EXS_JPEGProcess3_5 || x == EXS_JPEGProcess6_8 ||
           x == EXS_JPEGProcess7_9 || x == EXS_JPEGProcess10_12 || x == EXS_JPEGProcess11_13 ||
           x == EXS_JPEGProcess15 || x == EXS_JPEGProcess16_18 || x == EXS_JPEGProcess17_19 ||
           x == EXS_JPEGProcess20_22 || x == EXS_JPEGProcess21_23 ||
           x == EXS_JPEGProcess24_26 || x == EXS_JPEGProcess25_27 || x == EXS_JPEGProcess28 ||
           x == EXS_JPEGProcess29;
}

} // namespace

static cp_err_t decode_frame(const char *ts_uid, const codec_image_t *img, const uint8_t *data,
                             size_t len, uint8_t *out, char photometric[17], char *why,
                             size_t why_cap)
{
    std::call_once(registered, register_codecs);
    DcmXfer xfer(ts_uid);
    if (xfer.getXfer() == EXS_Unknown || !xfer.isEncapsulated())
        return fail(why, why_cap, CP_EUNSUPPORTED, "not a compressed transfer syntax", ts_uid);
    if (len == 0 || len > 0xFFFFFFF0u)
        return fail(why, why_cap, CP_EPARSE, "empty or oversized frame", "");
    DcmDataset ds;
    put_attributes(ds, img);
    DcmPixelSequence *seq = new DcmPixelSequence(DCM_PixelSequenceTag);
    seq->insert(new DcmPixelItem(DCM_PixelItemTag)); // an empty offset table
    DcmPixelItem *frag = new DcmPixelItem(DCM_PixelItemTag);
    size_t even = len + (len & 1);
    Uint8 *copy = new Uint8[even];
    std::memcpy(copy, data, len);
    if (even != len)
        copy[len] = 0;
    bool endless = dcmjpeg_syntax(xfer.getXfer()) && jpeg_scan_never_ends(copy, even);
    frag->putUint8Array(copy, (Uint32)even);
    delete[] copy;
    if (endless) {
        delete frag;
        delete seq;
        return fail(why, why_cap, CP_EPARSE, "the JPEG stream has a TEM marker before its frame header", "");
    }
    seq->insert(frag);
    DcmPixelData *px = new DcmPixelData(DCM_PixelData);
    px->putOriginalRepresentation(xfer.getXfer(), NULL, seq);
    ds.insert(px);
    OFCondition c = ds.chooseRepresentation(EXS_LittleEndianExplicit, NULL);
    if (c.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit))
        return fail(why, why_cap, CP_EPARSE, "DCMTK could not decode the frame", c.text());
    const Uint8 *p = NULL;
    unsigned long n = 0;
    if (ds.findAndGetUint8Array(DCM_PixelData, p, &n).bad() || p == NULL)
        return fail(why, why_cap, CP_EPARSE, "DCMTK decoded no pixel data", "");
    size_t size = codec_frame_size(img);
    if (n < size)
        return fail(why, why_cap, CP_EPARSE, "the decoded frame is shorter than the image", "");
    Uint16 planar = 0;
    ds.findAndGetUint16(DCM_PlanarConfiguration, planar);
    if (img->samples > 1 && planar == 1)
        interleave(p, out, (size_t)img->rows * img->columns, img->samples, img->bits_allocated / 8);
    else
        std::memcpy(out, p, size);
    const char *pi = NULL;
    ds.findAndGetString(DCM_PhotometricInterpretation, pi);
    std::snprintf(photometric, 17, "%s", pi != NULL ? pi : img->photometric);
    return CP_OK;
}

static cp_err_t encode_frame(const char *ts_uid, const codec_image_t *img, const uint8_t *frame,
                             uint8_t **out, size_t *out_len, char *why, size_t why_cap)
{
    std::call_once(registered, register_codecs);
    DcmXfer xfer(ts_uid);
    if (xfer.getXfer() != EXS_JPEGLSLossless)
        return fail(why, why_cap, CP_EUNSUPPORTED, "no lossless encoder for", ts_uid);
    size_t size = codec_frame_size(img);
    if (size == 0 || size > 0xFFFFFFF0u)
        return fail(why, why_cap, CP_EUNSUPPORTED, "image attributes not encodable", "");
    DcmDataset ds;
    codec_image_t flat = *img;
    flat.planar = 0; // the frame is interleaved
    put_attributes(ds, &flat);
    DcmPixelData *px = new DcmPixelData(DCM_PixelData);
    px->setVR(img->bits_allocated > 8 ? EVR_OW : EVR_OB);
    if (img->bits_allocated > 8)
        px->putUint16Array(reinterpret_cast<const Uint16 *>(frame), (unsigned long)(size / 2));
    else
        px->putUint8Array(frame, (unsigned long)size);
    ds.insert(px);
    DJLSRepresentationParameter lossless(0, OFTrue);
    OFCondition c = ds.chooseRepresentation(EXS_JPEGLSLossless, &lossless);
    if (c.bad() || !ds.canWriteXfer(EXS_JPEGLSLossless))
        return fail(why, why_cap, CP_EIO, "DCMTK could not encode the frame", c.text());
    DcmPixelSequence *seq = NULL;
    E_TransferSyntax repr = EXS_Unknown;
    const DcmRepresentationParameter *rp = NULL;
    px->getCurrentRepresentationKey(repr, rp);
    if (px->getEncapsulatedRepresentation(repr, rp, seq).bad() || seq == NULL)
        return fail(why, why_cap, CP_EIO, "DCMTK gave no encoded fragments", "");
    size_t total = 0;
    for (unsigned long i = 1; i < seq->card(); i++) { // item 0 is the offset table
        DcmPixelItem *item = NULL;
        if (seq->getItem(item, i).good())
            total += item->getLength();
    }
    uint8_t *buf = static_cast<uint8_t *>(std::malloc(total ? total : 1));
    if (buf == NULL)
        return fail(why, why_cap, CP_ENOMEM, "out of memory for the encoded frame", "");
    size_t at = 0;
    for (unsigned long i = 1; i < seq->card(); i++) {
        DcmPixelItem *item = NULL;
        Uint8 *bytes = NULL;
        if (seq->getItem(item, i).good() && item->getUint8Array(bytes).good() && bytes) {
            std::memcpy(buf + at, bytes, item->getLength());
            at += item->getLength();
        }
    }
    *out = buf;
    *out_len = at;
    return CP_OK;
}

// Nothing C++ may throw crosses into C: an exception (DCMTK's, or std::bad_alloc) is an
// error of the frame alone.
extern "C" cp_err_t codec_dcmtk_decode_frame(const char *ts_uid, const codec_image_t *img,
                                             const uint8_t *data, size_t len, uint8_t *out,
                                             char photometric[17], char *why, size_t why_cap)
{
    try {
        return decode_frame(ts_uid, img, data, len, out, photometric, why, why_cap);
    } catch (...) {
        return fail(why, why_cap, CP_ENOMEM, "DCMTK failed decoding the frame", "");
    }
}

extern "C" cp_err_t codec_dcmtk_encode_frame(const char *ts_uid, const codec_image_t *img,
                                             const uint8_t *frame, uint8_t **out,
                                             size_t *out_len, char *why, size_t why_cap)
{
    try {
        return encode_frame(ts_uid, img, frame, out, out_len, why, why_cap);
    } catch (...) {
        return fail(why, why_cap, CP_ENOMEM, "DCMTK failed encoding the frame", "");
    }
}
