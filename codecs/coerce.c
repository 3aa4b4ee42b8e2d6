/* codecs/coerce.c -- patient identity coercion (codec_coerce.h). */
#include "codec_coerce.h"

#include <stdio.h>
#include <string.h>

#include "cp_mem.h"

typedef struct attr {
    uint32_t tag;
    const char *vr, *name;
    size_t field; /* offset of the value in codec_identity_t */
} attr_t;

/* In ascending tag order, as the edits must be. */
static const attr_t attrs[] = {
    {CODEC_TAG(0x0010, 0x0010), "PN", "PatientName", offsetof(codec_identity_t, name)},
    {CODEC_TAG(0x0010, 0x0020), "LO", "PatientID", offsetof(codec_identity_t, patient_id)},
    {CODEC_TAG(0x0010, 0x0021), "LO", "IssuerOfPatientID", offsetof(codec_identity_t, issuer)},
    {CODEC_TAG(0x0010, 0x0030), "DA", "PatientBirthDate", offsetof(codec_identity_t, birth_date)},
    {CODEC_TAG(0x0010, 0x0040), "CS", "PatientSex", offsetof(codec_identity_t, sex)},
};

static const char *field(const codec_identity_t *id, const attr_t *a)
{
    const char *v = *(const char *const *)((const char *)id + a->field);
    return v != NULL ? v : "";
}

/* A person name of empty components only ("^^^^", " = ") names nobody: it is never
 * written over a name that was sent (rule 7). */
static bool blank_name(const char *v)
{
    return v[strspn(v, "^= ")] == '\0';
}

/* The target's value for a, or "" when it has none to give. */
static const char *target_value(const codec_identity_t *target, const attr_t *a)
{
    const char *t = field(target, a);
    return strcmp(a->vr, "PN") == 0 && blank_name(t) ? "" : t;
}

void codec_coerce_identity(const codec_identity_t *sent, const codec_identity_t *target,
                           const char *now, const char *source, codec_coercion_t *out)
{
    memset(out, 0, sizeof *out);
    codec_ds_buf_init(&out->oas, CODEC_ENC_EXPLICIT_LE);
    bool changed[CP_ARRAY_LEN(attrs)] = {false};
    for (size_t i = 0; i < CP_ARRAY_LEN(attrs); i++) {
        const char *t = target_value(target, &attrs[i]);
        changed[i] = t[0] != '\0' && strcmp(t, field(sent, &attrs[i])) != 0;
        if (!changed[i])
            continue;
        codec_edit_t *e = &out->edits[out->n_edits++];
        e->tag = attrs[i].tag;
        memcpy(e->vr, attrs[i].vr, 3);
        e->value = t;
        e->len = strlen(t);
        snprintf(out->what + strlen(out->what), sizeof out->what - strlen(out->what), "%s%s",
                 out->n_changed++ ? "," : "", attrs[i].name);
    }
    if (out->n_changed == 0)
        return;
    codec_ds_buf_t *b = &out->oas;
    codec_ds_item_begin(b);
    codec_ds_seq_begin(b, CODEC_TAG(0x0400, 0x0550)); /* Modified Attributes Sequence */
    codec_ds_item_begin(b);
    for (size_t i = 0; i < CP_ARRAY_LEN(attrs); i++)
        if (changed[i])
            codec_ds_put_text(b, attrs[i].tag, field(sent, &attrs[i]));
    codec_ds_item_end(b);
    codec_ds_seq_end(b);
    codec_ds_put_text(b, CODEC_TAG(0x0400, 0x0562), now);        /* Modification DateTime */
    codec_ds_put_text(b, CODEC_TAG(0x0400, 0x0563), "caseport"); /* Modifying System */
    codec_ds_put_text(b, CODEC_TAG(0x0400, 0x0564), source);     /* Source of Previous Values */
    codec_ds_put_text(b, CODEC_TAG(0x0400, 0x0565), "COERCE");   /* Reason */
    codec_ds_item_end(b);
    codec_edit_t *e = &out->edits[out->n_edits++];
    e->tag = CODEC_TAG(0x0400, 0x0561); /* Original Attributes Sequence */
    memcpy(e->vr, "SQ", 3);
    e->value = b->data;
    e->len = b->len;
    e->append = true;
}

void codec_coerce_free(codec_coercion_t *c)
{
    codec_ds_buf_free(&c->oas);
}
