/* The identity rules (docs/cases.md, "Patient identity"; migration 0022) against a real
 * PostgreSQL, through the intake's own call (store_pg_ingest) and the route job's
 * (store_cases_route): one test per row of the rules' table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "pg_test.h"
#include "store_cases.h"

/* What a sender sent: an instance of study `study` (series study.1 unless series). */
typedef struct sent {
    const char *sop, *study, *series, *pid, *issuer, *name, *birth, *calling, *called,
        *authority;
} sent_t;

static void ingest(store_pg_t *pg, const sent_t *s)
{
    char series[80];
    snprintf(series, sizeof series, "%s.1", s->study);
    store_instance_in_t in = {
        .sop_class_uid = "1.2.840.10008.5.1.4.1.1.2", .sop_instance_uid = s->sop,
        .study_uid = s->study, .series_uid = s->series ? s->series : series,
        .patient_id = s->pid ? s->pid : "", .issuer = s->issuer ? s->issuer : "",
        .patient_name = s->name ? s->name : "", .birth_date = s->birth ? s->birth : "",
        .sex = "", .charset = "", .study_date = "", .study_time = "", .accession = "",
        .study_desc = "", .series_desc = "", .modality = "CT", .series_number = "1",
        .instance_number = "1", .transfer_syntax = "1.2.840.10008.1.2.1",
        .calling_ae = s->calling ? s->calling : "PACS",
        .called_ae = s->called ? s->called : "CASEPORT", .peer_address = "127.0.0.1",
        .authority = s->authority ? s->authority : (s->calling ? s->calling : "PACS"),
        .size = 10, .key_id = "k1", .pixel_hash_note = "no pixel data", .keeps = true};
    /* a content address of its own per SOP Instance UID */
    for (size_t i = 0; i < sizeof in.addr.b; i++)
        in.addr.b[i] = (uint8_t)(s->sop[i % strlen(s->sop)] * 31 + i);
    store_ingest_result_t res;
    cp_errinfo_t ei = {0};
    if (store_pg_ingest(pg, &in, &res, &ei) != CP_OK)
        fail_msg("ingest %s: %s", s->sop, ei.msg);
}

static const char *q(const char *fmt, const char *a)
{
    char sql[1024];
    snprintf(sql, sizeof sql, fmt, a);
    return pg_test_value(sql);
}

/* The patient record an instance's study is filed under. */
static long long record_of(const char *sop)
{
    return atoll(q("SELECT s.patient_id FROM instances i JOIN series e ON e.id = i.series_id"
                   " JOIN studies s ON s.id = e.study_id WHERE i.sop_instance_uid = '%s'", sop));
}

static const char *route(store_pg_t *pg, const char *study)
{
    static char how[16];
    int64_t id = atoll(q("SELECT id FROM studies WHERE study_uid = '%s'", study));
    assert_true(id > 0);
    assert_int_equal(store_cases_route(pg, id, how, NULL), CP_OK);
    return how;
}

static const char *triage_reason(const char *study)
{
    return q("SELECT coalesce((SELECT t.reason FROM triage t JOIN studies s ON s.id = t.study_id"
             " WHERE s.study_uid = '%s'), 'none')", study);
}

/* The identity normalization gives an instance: Patient ID|issuer|name. */
static const char *target(const char *sop)
{
    return q("SELECT t.patient_id || '|' || t.issuer || '|' || t.name FROM instances i,"
             " cp_target_identity(i.id) t WHERE i.sop_instance_uid = '%s'", sop);
}

/* Row 1: an identifier without an issuer is its sender's. Two senders' MRN100 are two
 * patients; a [peer] issuer names the authority instead of the sender; an issuer sent
 * in the data set is the authority whoever sends it. */
void identity_issuer_qualified_by_sender(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    ingest(pg, &(sent_t){"1.1", "9.1", .pid = "MRN100", .name = "Smith^Alice", .calling = "HOSPA"});
    ingest(pg, &(sent_t){"1.2", "9.2", .pid = "MRN100", .name = "Jones^Bob", .calling = "HOSPB"});
    assert_true(record_of("1.1") != record_of("1.2"));
    assert_string_equal(q("SELECT string_agg(issuer || ':' || issuer_from || ':' ||"
                          " (conflict_with IS NULL), ',' ORDER BY id) FROM patients%s", ""),
                        "HOSPA:sender:true,HOSPB:sender:true");
    /* the same sender's MRN100 again, another study: the same record */
    ingest(pg, &(sent_t){"1.3", "9.3", .pid = "MRN100", .name = "SMITH^ALICE", .calling = "HOSPA"});
    assert_true(record_of("1.3") == record_of("1.1"));
    /* a configured authority: the record is the authority's, whichever AE title sent it */
    ingest(pg, &(sent_t){"1.4", "9.4", .pid = "MRN7", .calling = "CT1", .authority = "MAIN"});
    ingest(pg, &(sent_t){"1.5", "9.5", .pid = "MRN7", .calling = "CT2", .authority = "MAIN"});
    assert_true(record_of("1.4") == record_of("1.5"));
    /* an issuer in the data set wins over the sender */
    ingest(pg, &(sent_t){"1.6", "9.6", .pid = "X1", .issuer = "NHS", .calling = "HOSPA"});
    ingest(pg, &(sent_t){"1.7", "9.7", .pid = "X1", .issuer = "NHS", .calling = "HOSPB"});
    assert_true(record_of("1.6") == record_of("1.7"));
    assert_string_equal(q("SELECT issuer_from FROM patients WHERE patient_id = '%s'", "X1"), "sent");
    /* a qualifying issuer is not written into the normalized data set; a sent one is kept */
    assert_string_equal(target("1.1"), "MRN100||Smith^Alice");
    assert_string_equal(target("1.6"), "X1|NHS|");
    store_pg_close(pg);
}

/* Row 2: an empty Patient ID is no key: each such study is a record of its own, and a
 * second series of it stays under it (no record made for the series). */
void identity_empty_id_is_no_key(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    ingest(pg, &(sent_t){"2.1", "8.1", .name = "Anon^One"});
    ingest(pg, &(sent_t){"2.2", "8.2", .pid = "  ", .name = "^^^^"});
    ingest(pg, &(sent_t){"2.3", "8.1", .series = "8.1.2", .name = "Anon^One"});
    assert_true(record_of("2.1") != record_of("2.2"));
    assert_true(record_of("2.3") == record_of("2.1"));
    assert_string_equal(q("SELECT count(*) FROM patients%s", ""), "2");
    assert_string_equal(route(pg, "8.1"), "triage");
    assert_string_equal(triage_reason("8.1"), "no case token, and no open records request matches");
    /* normalization gives each its own name, and never a name of empty components */
    assert_string_equal(target("2.1"), "||Anon^One");
    assert_string_equal(target("2.2"), "||^^^^"); /* coerce.c writes no blank name */
    store_pg_close(pg);
}

/* Row 3: the same identifier with another name or birth date is another person: a record
 * of their own, in conflict with the first, and their study waits in triage beside it.
 * Case, spacing and empty components are not a difference; a value missing on one side
 * is none either, and fills the record in. */
void identity_conflict_kept_apart(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    ingest(pg, &(sent_t){"3.1", "7.1", .pid = "M1", .issuer = "H", .name = "Smith^Alice",
                         .birth = "19600101"});
    ingest(pg, &(sent_t){"3.2", "7.2", .pid = "M1", .issuer = "H", .name = " smith ^ alice ^^",
                         .birth = "19600101"});
    ingest(pg, &(sent_t){"3.3", "7.3", .pid = "M1", .issuer = "H", .name = "Jones^Bob",
                         .birth = "19600101"});
    ingest(pg, &(sent_t){"3.4", "7.4", .pid = "M1", .issuer = "H", .name = "Smith^Alice",
                         .birth = "19610101"});
    ingest(pg, &(sent_t){"3.5", "7.5", .pid = "M1", .issuer = "H", .name = "JONES^BOB"});
    long long first = record_of("3.1");
    assert_true(record_of("3.2") == first);
    assert_true(record_of("3.3") != first && record_of("3.4") != first);
    assert_true(record_of("3.3") != record_of("3.4"));
    assert_true(record_of("3.5") == record_of("3.3")); /* Bob again: Bob's record */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM patients WHERE conflict_with = %lld", first);
    assert_string_equal(pg_test_value(sql), "2");
    /* nothing merged or coerced: Bob's images keep Bob's name */
    assert_string_equal(target("3.3"), "M1|H|Jones^Bob");
    assert_string_equal(target("3.1"), "M1|H|Smith^Alice");
    /* Alice's study routes as usual; Bob's waits in triage, naming Alice's record */
    assert_string_equal(route(pg, "7.1"), "triage");
    assert_string_equal(triage_reason("7.1"), "no case token, and no open records request matches");
    assert_string_equal(route(pg, "7.3"), "triage");
    assert_string_equal(triage_reason("7.3"),
                        "identity conflict: its patient ID and issuer already name a patient"
                        " with another name or birth date");
    snprintf(sql, sizeof sql, "SELECT other_patient = %lld FROM triage t JOIN studies s"
                              " ON s.id = t.study_id WHERE s.study_uid = '7.3'", first);
    assert_string_equal(pg_test_value(sql), "t");
    /* a record without a name takes the first one sent, and then holds it */
    ingest(pg, &(sent_t){"3.6", "7.6", .pid = "M2", .issuer = "H"});
    ingest(pg, &(sent_t){"3.7", "7.7", .pid = "M2", .issuer = "H", .name = "Roe^Rita"});
    ingest(pg, &(sent_t){"3.8", "7.8", .pid = "M2", .issuer = "H", .name = "Roe^Ron"});
    assert_true(record_of("3.7") == record_of("3.6"));
    assert_true(record_of("3.8") != record_of("3.6"));
    assert_string_equal(q("SELECT name FROM patients WHERE id = %s",
                          q("SELECT patient_id FROM studies WHERE study_uid = '%s'", "7.6")),
                        "Roe^Rita");
    store_pg_close(pg);
}

/* Row 4: an instance naming another patient than its study's record is marked, keeps its
 * own identity in normalization, and puts its study in triage. */
void identity_instance_of_another_patient(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    ingest(pg, &(sent_t){"4.1", "6.1", .pid = "M4", .issuer = "H", .name = "Smith^Alice"});
    ingest(pg, &(sent_t){"4.2", "6.1", .pid = "M4", .issuer = "H", .name = "Jones^Bob"});
    ingest(pg, &(sent_t){"4.3", "6.1", .series = "6.1.9", .pid = "M5", .issuer = "H",
                         .name = "Smith^Alice"});
    ingest(pg, &(sent_t){"4.4", "6.1", .pid = "M4", .issuer = "H", .name = "SMITH^ALICE"});
    assert_string_equal(q("SELECT coalesce(identity_note, 'none') FROM instances"
                          " WHERE sop_instance_uid = '%s'", "4.2"),
                        "its patient name or birth date differs from its study's");
    assert_string_equal(q("SELECT coalesce(identity_note, 'none') FROM instances"
                          " WHERE sop_instance_uid = '%s'", "4.3"),
                        "its patient identifier differs from its study's");
    assert_string_equal(q("SELECT coalesce(identity_note, 'none') FROM instances"
                          " WHERE sop_instance_uid = '%s'", "4.4"), "none");
    assert_string_equal(target("4.2"), "||");
    assert_string_equal(target("4.4"), "M4|H|Smith^Alice");
    /* in triage from the instance's ingest: its route job finds it there */
    assert_string_equal(triage_reason("6.1"),
                        "identity conflict: the study's instances name more than one patient");
    assert_string_equal(route(pg, "6.1"), "already");
    store_pg_close(pg);
}

static void new_case(const char *token, const char *name, const char *birth)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO cases (token, patient_name, birth_date, condition, subspecialty,"
             " first_opinion) VALUES ('%s', '%s', '%s', 'c',"
             " (SELECT min(code) FROM subspecialties), 'f')",
             token, name, birth);
    pg_test_sql(sql, false);
}

/* Row 5: a study sent to a case's AE title is attached only when its patient does not
 * disagree with the case's; otherwise it waits in triage with that case as candidate. */
void identity_token_needs_the_case_patient(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    new_case("CP-0000-00", "Doe^Jane", "19700312");
    ingest(pg, &(sent_t){"5.1", "5.1", .pid = "A", .name = "DOE^JANE", .birth = "19700312",
                         .called = "CP-0000-00"});
    ingest(pg, &(sent_t){"5.2", "5.2", .pid = "B", .name = "Doe^Jane", .birth = "19700313",
                         .called = "CP-0000-00"});
    ingest(pg, &(sent_t){"5.3", "5.3", .pid = "C", .name = "Roe^Rick", .called = "CP-0000-00"});
    ingest(pg, &(sent_t){"5.4", "5.4", .pid = "D", .called = "CP-0000-00"});
    assert_string_equal(route(pg, "5.1"), "token");
    assert_string_equal(route(pg, "5.2"), "triage");
    assert_string_equal(triage_reason("5.2"), "sent to CP-0000-00 but the patient differs");
    assert_string_equal(q("SELECT t.candidates = ARRAY[c.id] FROM triage t, cases c, studies s"
                          " WHERE s.id = t.study_id AND s.study_uid = '%s'", "5.2"), "t");
    assert_string_equal(route(pg, "5.3"), "triage");
    assert_string_equal(route(pg, "5.4"), "token"); /* nothing to disagree with */
    store_pg_close(pg);
}

/* Row 6: a request's MRN matches with its issuer, or, naming none, when it names the
 * sender that qualified the MRN; an MRN alone, from anyone, matches nothing. */
void identity_request_mrn_with_its_authority(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    new_case("CP-0000-00", "Doe^Jane", "");
    new_case("CP-0000-11", "Roe^Rita", "");
    pg_test_sql("INSERT INTO records_requests (case_id, provider, ae_title, patient_id)"
                " SELECT id, 'St Mary', 'STMARY', 'M6' FROM cases WHERE token = 'CP-0000-00';"
                "INSERT INTO records_requests (case_id, provider, patient_id)"
                " SELECT id, 'Anyone', 'M7' FROM cases WHERE token = 'CP-0000-11'",
                false);
    ingest(pg, &(sent_t){"6.1", "4.1", .pid = "M6", .calling = "STMARY"});
    ingest(pg, &(sent_t){"6.2", "4.2", .pid = "M7", .calling = "ELSEWHERE"});
    assert_string_equal(route(pg, "4.1"), "request");
    assert_string_equal(route(pg, "4.2"), "triage");
    store_pg_close(pg);
}

/* cp_name_key, which every rule above compares names with. */
void identity_name_key(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    static const char *const cases[][2] = {
        {"Doe^Jane", "DOE^JANE"},         {" doe ^ jane ^^", "DOE^JANE"},
        {"Doe^Jane=", "DOE^JANE"},        {"Doe^Mary  Jane", "DOE^MARY JANE"},
        {"^^^^", ""},                     {"", ""},
        {"Doe^Jane^M", "DOE^JANE^M"},     {"^Jane", "^JANE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(q("SELECT cp_name_key('%s')", cases[i][0]), cases[i][1]);
    assert_string_equal(pg_test_value("SELECT cp_people_differ('Doe^Jane', '', 'Doe^John', '')"), "t");
    assert_string_equal(pg_test_value("SELECT cp_people_differ('Doe^Jane', '1970', '', '1970')"), "f");
    assert_string_equal(pg_test_value("SELECT cp_people_differ('^^', '1970', 'X', '')"), "f");
    store_pg_close(pg);
}

/* Row 4, after routing: another patient's instance in a study attached to a case already
 * sends the study back to triage; the navigator's decision moves it to the right case,
 * and its instances are normalized again (to that case's patient). */
void identity_conflict_after_routing(void **state)
{
    (void)state;
    store_pg_t *pg = pg_test_open(1);
    new_case("CP-0000-00", "Smith^Alice", "");
    new_case("CP-0000-11", "Jones^Bob", "");
    ingest(pg, &(sent_t){"8.1", "3.1", .pid = "M8", .name = "Smith^Alice", .called = "CP-0000-00"});
    assert_string_equal(route(pg, "3.1"), "token");
    assert_string_equal(triage_reason("3.1"), "none");
    ingest(pg, &(sent_t){"8.2", "3.1", .pid = "M8", .name = "Jones^Bob", .called = "CP-0000-00"});
    assert_string_equal(triage_reason("3.1"),
                        "identity conflict: the study's instances name more than one patient");
    int64_t item = atoll(q("SELECT t.id FROM triage t JOIN studies s ON s.id = t.study_id"
                           " WHERE s.study_uid = '%s' AND t.state = 'open'", "3.1"));
    int64_t bob = atoll(q("SELECT id FROM cases WHERE token = '%s'", "CP-0000-11"));
    long jobs_before = strtol(q("SELECT count(*) FROM jobs WHERE kind = 'normalize'%s", ""), NULL, 10);
    store_actor_t nav = {0, "navigator", "test"};
    assert_int_equal(store_cases_triage_decide(pg, item, bob, "the study is Bob's", &nav, NULL),
                     CP_OK);
    assert_string_equal(q("SELECT c.token || '|' || r.matched_by FROM case_records r"
                          " JOIN cases c ON c.id = r.case_id JOIN studies s ON s.id = r.study_id"
                          " WHERE s.study_uid = '%s'", "3.1"),
                        "CP-0000-11|navigator");
    assert_true(strtol(q("SELECT count(*) FROM jobs WHERE kind = 'normalize'%s", ""), NULL, 10) >
                jobs_before);
    store_pg_close(pg);
}
