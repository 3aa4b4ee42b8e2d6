/* gateway/cli_tag.c -- `caseport tag`: one value of a stored instance by path, read from
 * the encrypted store up to Pixel Data (never the pixels), through the data set
 * re-encoder into memory, where the path is followed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_int.h"
#include "codec_ds.h"
#include "codec_xcode.h"
#include "cp_mem.h"
#include "jobs_int.h"
#include "store_blob.h"

/* The header of the instance's data set as Explicit VR LE in memory. */
static cp_err_t read_header(const conf_t *conf, store_pg_t *pg, const store_instance_info_t *inst,
                            gw_membuf_t *m, cp_errinfo_t *ei)
{
    const codec_ts_t *ts = codec_ts_find(inst->transfer_syntax);
    if (ts == NULL)
        return cp_fail(ei, CP_EUNSUPPORTED, 0, "transfer syntax %s unknown", inst->transfer_syntax);
    store_blob_t *blobs = NULL;
    cp_err_t err = store_blob_open_shared(conf->storage.blob_dir, conf->storage.key_file, &blobs, ei);
    if (err == CP_OK)
        store_blob_set_locator(blobs, store_pg_blob_locate, pg);
    codec_xcode_opts_t o = {.in = ts->enc};
    if (err == CP_OK)
        err = gw_xcode_header_to_memory(blobs, &inst->addr, &o, m, ei);
    store_blob_close(blobs);
    return err;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* One binary number of VR vr at p (Explicit VR LE, as the re-encoder writes it). */
static void print_number(const char *vr, const uint8_t *p)
{
    if (memcmp(vr, "US", 2) == 0 || memcmp(vr, "UL", 2) == 0 || memcmp(vr, "UV", 2) == 0)
        printf("%llu", (unsigned long long)le(p, vr[1] == 'S' ? 2 : vr[1] == 'L' ? 4 : 8));
    else if (memcmp(vr, "SS", 2) == 0)
        printf("%d", (int16_t)le(p, 2));
    else if (memcmp(vr, "SL", 2) == 0)
        printf("%ld", (long)(int32_t)le(p, 4));
    else if (memcmp(vr, "SV", 2) == 0)
        printf("%lld", (long long)(int64_t)le(p, 8));
    else if (memcmp(vr, "FL", 2) == 0) {
        uint32_t u = (uint32_t)le(p, 4);
        float f;
        memcpy(&f, &u, sizeof f);
        printf("%.9g", f);
    } else if (memcmp(vr, "FD", 2) == 0) {
        uint64_t u = le(p, 8);
        double d;
        memcpy(&d, &u, sizeof d);
        printf("%.17g", d);
    } else { /* AT: a tag, group then element */
        printf("(%04X,%04X)", (unsigned)le(p, 2), (unsigned)le(p + 2, 2));
    }
}

/* Binary numbers and tags as people read them, several values backslash-separated as
 * DICOM writes text values: false when vr is not one of them. */
static bool print_numbers(const codec_elem_t *e)
{
    static const struct { const char *vr; int size; } numeric[] = {
        {"US", 2}, {"SS", 2}, {"UL", 4}, {"SL", 4}, {"FL", 4},
        {"FD", 8}, {"AT", 4}, {"UV", 8}, {"SV", 8}};
    for (size_t i = 0; i < CP_ARRAY_LEN(numeric); i++) {
        if (memcmp(e->vr, numeric[i].vr, 2) != 0)
            continue;
        uint32_t size = (uint32_t)numeric[i].size;
        if (e->len % size != 0)
            return false; /* malformed: shown as bytes */
        for (uint32_t at = 0; at < e->len; at += size) {
            printf("%s", at ? "\\" : "");
            print_number(e->vr, e->value + at);
        }
        printf("\n");
        return true;
    }
    return false;
}

static void print_value(const codec_elem_t *e)
{
    if (print_numbers(e))
        return;
    if (memcmp(e->vr, "SQ", 2) == 0) {
        printf("SQ\n");
        return;
    }
    bool text = codec_vr_text(e->vr) || memcmp(e->vr, "UI", 2) == 0;
    if (text) {
        char *v = malloc((size_t)e->len + 1);
        if (v != NULL) {
            codec_elem_t copy = *e;
            codec_elem_text(&copy, v, (size_t)e->len + 1);
            printf("%s\n", v);
            free(v);
        }
        return;
    }
    for (uint32_t i = 0; i < e->len && i < 1024; i++)
        printf("%02x", e->value[i]);
    printf("%s\n", e->len > 1024 ? "..." : "");
}

int cli_tag(int argc, char **argv)
{
    const char *config = CLI_DEFAULT_CONFIG, *sop = NULL, *path = NULL;
    bool normalized = false;
    const cli_opt_t opts[] = {
        {"config", &config, NULL, "configuration file"},
        {"sop", &sop, NULL, "SOP Instance UID (required; the newest version)"},
        {"path", &path, NULL, "GGGG,EEEE or GGGG,EEEE[i].GGGG,EEEE... (items from 0; required)"},
        {"normalized", NULL, &normalized, "from the normalized data set"},
        {0}};
    int rc = cli_parse(argc, argv,
                       "Print one value of a stored instance (text as text, binary as hex),\n"
                       "read up to Pixel Data from the encrypted store.",
                       opts);
    if (rc >= 0)
        return rc;
    if (sop == NULL || path == NULL) {
        fprintf(stderr, "caseport tag: %s is required\n", sop == NULL ? "--sop" : "--path");
        return 2;
    }
    conf_t conf;
    store_pg_t *pg = NULL;
    if ((rc = cli_open(argv[0], config, &conf, &pg)) != 0)
        return rc;
    store_instance_info_t inst;
    cp_errinfo_t ei = {0};
    cp_err_t err = normalized ? store_pg_find_normalized(pg, sop, 0, &inst, &ei)
                              : store_pg_find_instance(pg, sop, 0, &inst, &ei);
    gw_membuf_t m = {0};
    codec_elem_t e;
    if (err == CP_OK)
        err = read_header(&conf, pg, &inst, &m, &ei);
    store_pg_close(pg);
    if (err == CP_OK)
        err = codec_ds_find(CODEC_ENC_EXPLICIT_LE, m.p, m.len, path, &e, &ei);
    if (err == CP_OK)
        print_value(&e);
    free(m.p);
    if (err != CP_OK) {
        fprintf(stderr, "caseport tag: %s\n", cp_errinfo_msg(&ei, err));
        return err == CP_EINVAL ? 2 : 1;
    }
    return 0;
}
