/* gateway/cases/questionnaire.c -- answers against a questionnaire's schema
 * (questionnaire.h). */
#include "questionnaire.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

/* where += "/name" (JSON Pointer: ~ and / escaped), truncated at cap */
static void push(char *where, size_t cap, const char *name)
{
    size_t n = strlen(where);
    if (n + 1 < cap)
        where[n++] = '/';
    for (const char *p = name; *p && n + 2 < cap; p++) {
        if (*p == '~' || *p == '/') {
            where[n++] = '~';
            where[n++] = *p == '~' ? '0' : '1';
        } else {
            where[n++] = *p;
        }
    }
    where[n] = '\0';
}

static void push_index(char *where, size_t cap, size_t i)
{
    char k[24];
    snprintf(k, sizeof k, "%zu", i);
    push(where, cap, k);
}

static const char *const known_types[] = {"object", "string", "integer", "number", "boolean",
                                          "array", NULL};

static bool type_known(const char *t)
{
    for (int i = 0; known_types[i]; i++)
        if (strcmp(t, known_types[i]) == 0)
            return true;
    return false;
}

static bool pattern_ok(const char *p)
{
    regex_t re;
    if (regcomp(&re, p, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    regfree(&re);
    return true;
}

/* One keyword's value is of the form it must have. */
static bool keyword_ok(const char *k, const json_t *v, char *where, size_t cap, int depth,
                       const char **why);

static bool schema_ok(const json_t *s, char *where, size_t cap, int depth, const char **why)
{
    if (!json_is_object(s) || depth > QUESTIONNAIRE_MAX_DEPTH) {
        *why = depth > QUESTIONNAIRE_MAX_DEPTH ? "nested too deeply" : "a schema is an object";
        return false;
    }
    const char *k;
    json_t *v;
    size_t len = strlen(where);
    json_object_foreach((json_t *)s, k, v) {
        push(where, cap, k);
        if (!keyword_ok(k, v, where, cap, depth, why))
            return false;
        where[len] = '\0';
    }
    return true;
}

static bool keyword_ok(const char *k, const json_t *v, char *where, size_t cap, int depth,
                       const char **why)
{
    *why = "a keyword's value has the wrong form";
    if (strcmp(k, "title") == 0 || strcmp(k, "description") == 0 || strcmp(k, "$schema") == 0)
        return json_is_string(v);
    if (strcmp(k, "type") == 0)
        return json_is_string(v) && type_known(json_string_value(v));
    if (strcmp(k, "required") == 0 || strcmp(k, "enum") == 0) {
        bool ok = json_is_array(v) && json_array_size(v) > 0;
        for (size_t i = 0; ok && i < json_array_size(v); i++)
            ok = k[0] == 'e' || json_is_string(json_array_get(v, i));
        return ok;
    }
    if (strcmp(k, "additionalProperties") == 0)
        return json_is_false(v);
    if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0)
        return json_is_number(v);
    if (strcmp(k, "minLength") == 0 || strcmp(k, "maxLength") == 0 || strcmp(k, "maxItems") == 0)
        return json_is_integer(v) && json_integer_value(v) >= 0;
    if (strcmp(k, "pattern") == 0)
        return json_is_string(v) && pattern_ok(json_string_value(v));
    if (strcmp(k, "items") == 0)
        return schema_ok(v, where, cap, depth + 1, why);
    if (strcmp(k, "properties") == 0) {
        if (!json_is_object(v))
            return false;
        const char *name;
        json_t *sub;
        size_t len = strlen(where);
        json_object_foreach((json_t *)v, name, sub) {
            push(where, cap, name);
            if (!schema_ok(sub, where, cap, depth + 1, why))
                return false;
            where[len] = '\0';
        }
        return true;
    }
    *why = "a keyword this checker does not understand";
    return false;
}

bool questionnaire_schema_ok(const json_t *schema, char *where, size_t cap, const char **why)
{
    where[0] = '\0';
    return schema_ok(schema, where, cap, 0, why);
}

/* ---- answers ---- */

static bool check(const json_t *s, const json_t *a, char *where, size_t cap, const char **why);

static bool type_matches(const char *t, const json_t *a)
{
    return strcmp(t, "object") == 0    ? json_is_object(a)
           : strcmp(t, "string") == 0  ? json_is_string(a)
           : strcmp(t, "integer") == 0 ? json_is_integer(a) || (json_is_real(a) &&
                                         floor(json_real_value(a)) == json_real_value(a))
           : strcmp(t, "number") == 0  ? json_is_number(a)
           : strcmp(t, "boolean") == 0 ? json_is_boolean(a)
           : strcmp(t, "array") == 0   ? json_is_array(a)
                                       : false;
}

static bool in_enum(const json_t *e, const json_t *a)
{
    for (size_t i = 0; i < json_array_size(e); i++) {
        json_t *x = json_array_get(e, i);
        if (json_is_number(x) && json_is_number(a) ? json_number_value(x) == json_number_value(a)
                                                   : json_equal(x, (json_t *)a))
            return true; /* numbers by value: 2.0 is 2 */
    }
    return false;
}

static bool check_string(const json_t *s, const char *v, const char **why)
{
    size_t chars = 0;
    for (const char *p = v; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80; /* code points (jansson: valid UTF-8) */
    json_t *min = json_object_get(s, "minLength"), *max = json_object_get(s, "maxLength");
    json_t *pat = json_object_get(s, "pattern");
    if (min && chars < (size_t)json_integer_value(min))
        return *why = "too short", false;
    if (max && chars > (size_t)json_integer_value(max))
        return *why = "too long", false;
    if (pat) {
        regex_t re;
        if (regcomp(&re, json_string_value(pat), REG_EXTENDED | REG_NOSUB) != 0)
            return *why = "the schema's pattern does not compile", false;
        int rc = regexec(&re, v, 0, NULL, 0);
        regfree(&re);
        if (rc != 0)
            return *why = "not in the form asked for", false;
    }
    return true;
}

static bool check_object(const json_t *s, const json_t *a, char *where, size_t cap,
                         const char **why)
{
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    size_t len = strlen(where);
    for (size_t i = 0; i < json_array_size(req); i++) {
        const char *name = json_string_value(json_array_get(req, i));
        if (json_object_get(a, name) == NULL) {
            push(where, cap, name);
            return *why = "required, and missing", false;
        }
    }
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)a, name, v) {
        json_t *sub = json_object_get(props, name);
        push(where, cap, name);
        if (sub == NULL && json_is_false(json_object_get(s, "additionalProperties")))
            return *why = "not a question of this questionnaire", false;
        if (sub != NULL && !check(sub, v, where, cap, why))
            return false;
        where[len] = '\0';
    }
    return true;
}

static bool check(const json_t *s, const json_t *a, char *where, size_t cap, const char **why)
{
    json_t *t = json_object_get(s, "type"), *e = json_object_get(s, "enum");
    if (t && !type_matches(json_string_value(t), a))
        return *why = "of the wrong type", false;
    if (e && !in_enum(e, a))
        return *why = "not one of the choices", false;
    json_t *min = json_object_get(s, "minimum"), *max = json_object_get(s, "maximum");
    if (json_is_number(a) && ((min && json_number_value(a) < json_number_value(min)) ||
                              (max && json_number_value(a) > json_number_value(max))))
        return *why = "out of range", false;
    if (json_is_string(a) && !check_string(s, json_string_value(a), why))
        return false;
    if (json_is_object(a))
        return check_object(s, a, where, cap, why);
    if (json_is_array(a)) {
        json_t *items = json_object_get(s, "items"), *most = json_object_get(s, "maxItems");
        if (most && json_array_size(a) > (size_t)json_integer_value(most))
            return *why = "too many items", false;
        size_t len = strlen(where);
        for (size_t i = 0; items && i < json_array_size(a); i++) {
            push_index(where, cap, i);
            if (!check(items, json_array_get(a, i), where, cap, why))
                return false;
            where[len] = '\0';
        }
    }
    return true;
}

bool questionnaire_check(const json_t *schema, const json_t *answers, char *where, size_t cap,
                         const char **why)
{
    where[0] = '\0';
    return check(schema, answers, where, cap, why);
}
