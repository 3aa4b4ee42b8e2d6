/* tools/bench.d/codec_bench.c -- caseport's pixel codecs timed on the frames tools/bench
 * gives it: 16-bit binary PGM files (P5, big endian, as opj_compress reads them). Every
 * frame is encoded in the transfer syntax, then every encoding decoded, and each decoded
 * frame compared with its original. Prints one line: "<ts> frames=N bytes=B encode_s=E
 * decode_s=D compressed=C", the byte counts being decoded pixels.
 *
 *   codec_bench TS_UID FILE.pgm...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec_pixels.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A 16-bit P5 PGM as little-endian values; NULL if it is not one. */
static uint8_t *read_pgm(const char *path, codec_image_t *img)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned w, h, max;
    uint8_t *px = NULL;
    if (fscanf(f, "P5 %u %u %u", &w, &h, &max) == 3 && fgetc(f) != EOF && max > 255 &&
        w > 0 && h > 0 && w < 65536 && h < 65536) {
        unsigned bits = 1;
        while (bits < 16 && (1u << bits) <= max)
            bits++; /* the precision the maximum value needs, as opj_compress takes it */
        *img = (codec_image_t){.rows = (uint16_t)h, .columns = (uint16_t)w, .bits_allocated = 16,
                               .bits_stored = (uint16_t)bits, .samples = 1, .frames = 1};
        snprintf(img->photometric, sizeof img->photometric, "MONOCHROME2");
        size_t n = (size_t)w * h * 2;
        px = malloc(n);
        if (px != NULL && fread(px, 1, n, f) == n) {
            for (size_t i = 0; i + 1 < n; i += 2) {
                uint8_t t = px[i];
                px[i] = px[i + 1];
                px[i + 1] = t;
            }
        } else {
            free(px);
            px = NULL;
        }
    }
    fclose(f);
    return px;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: codec_bench TS_UID FILE.pgm...\n");
        return 2;
    }
    int n = argc - 2;
    uint8_t **raw = calloc((size_t)n, sizeof *raw), **enc = calloc((size_t)n, sizeof *enc);
    size_t *enc_len = calloc((size_t)n, sizeof *enc_len);
    codec_image_t img = {0};
    for (int i = 0; i < n; i++)
        if ((raw[i] = read_pgm(argv[i + 2], &img)) == NULL) {
            fprintf(stderr, "codec_bench: %s is not a 16-bit PGM\n", argv[i + 2]);
            return 1;
        }
    size_t frame = codec_frame_size(&img);
    cp_errinfo_t ei = {0};
    double t0 = now();
    size_t compressed = 0;
    for (int i = 0; i < n; i++) {
        cp_err_t err = codec_encode_frame(argv[1], &img, raw[i], &enc[i], &enc_len[i], &ei);
        if (err != CP_OK) {
            fprintf(stderr, "codec_bench: encoding %s: %s\n", argv[i + 2], cp_errinfo_msg(&ei, err));
            return 1;
        }
        compressed += enc_len[i];
    }
    double t1 = now();
    uint8_t *out = malloc(frame);
    char pi[17];
    for (int i = 0; i < n; i++) {
        cp_err_t err = codec_decode_frame(argv[1], &img, enc[i], enc_len[i], out, pi, &ei);
        if (err != CP_OK || memcmp(out, raw[i], frame) != 0) {
            fprintf(stderr, "codec_bench: %s does not decode to itself: %s\n", argv[i + 2],
                    err != CP_OK ? cp_errinfo_msg(&ei, err) : "pixels differ");
            return 1;
        }
    }
    double t2 = now();
    printf("%s frames=%d bytes=%zu encode_s=%.3f decode_s=%.3f compressed=%zu\n", argv[1], n,
           frame * (size_t)n, t1 - t0, t2 - t1, compressed);
    for (int i = 0; i < n; i++) {
        free(raw[i]);
        free(enc[i]);
    }
    free(raw);
    free(enc);
    free(enc_len);
    free(out);
    return 0;
}
