/* The configuration table: defaults, sizes, and "file:line: what" refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

static char *write_conf(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/cp-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

void conf_defaults_are_valid(void **state)
{
    (void)state;
    conf_t c;
    conf_defaults(&c);
    assert_string_equal(c.dicom.ae_title, "CASEPORT");
    assert_int_equal(c.dicom.port, 11112);
    assert_int_equal(c.dicom.max_pdu, 262144);
    assert_int_equal(c.dicom.max_instance_bytes, (uint64_t)4 << 30);
    assert_int_equal(c.database.pool_size, 4);
    assert_int_equal(c.log.level, CP_LOG_INFO);
    /* the sample generated from the table loads back to the same values */
    char *path = write_conf("");
    FILE *f = fopen(path, "w");
    conf_write_sample(f);
    fclose(f);
    conf_t back;
    cp_errinfo_t ei = {0};
    assert_int_equal(conf_load(path, &back, &ei), CP_OK);
    assert_memory_equal(&back, &c, sizeof c);
    unlink(path);
}

void conf_file_values_and_sizes(void **state)
{
    (void)state;
    char *path = write_conf("; comment\n[dicom]\nae_title = GW1\nport = 104\nmax_pdu = 64K\n"
                            "max_instance_bytes = 2G\n[log]\nformat = json\nlevel = warn\n");
    conf_t c;
    cp_errinfo_t ei = {0};
    assert_int_equal(conf_load(path, &c, &ei), CP_OK);
    assert_string_equal(c.dicom.ae_title, "GW1");
    assert_int_equal(c.dicom.port, 104);
    assert_int_equal(c.dicom.max_pdu, 65536);
    assert_int_equal(c.dicom.max_instance_bytes, (uint64_t)2 << 30);
    assert_int_equal(c.log.format, CP_LOG_JSON);
    assert_int_equal(c.log.level, CP_LOG_WARN);
    unlink(path);
}

static void expect_error(const char *text, const char *want)
{
    char *path = write_conf(text);
    conf_t c;
    memset(&c, 0x5a, sizeof c);
    conf_t before = c;
    cp_errinfo_t ei = {0};
    assert_int_equal(conf_load(path, &c, &ei), CP_ECONFIG);
    char expected[256];
    snprintf(expected, sizeof expected, "%s:%s", path, want);
    assert_string_equal(ei.msg, expected);
    assert_memory_equal(&c, &before, sizeof c); /* untouched on failure */
    unlink(path);
}

void conf_errors_name_line(void **state)
{
    (void)state;
    expect_error("[dicom]\nport = 1\nbogus = 2\n", "3: unknown key \"bogus\" in [dicom]");
    expect_error("\n\n[extra]\n", "3: unknown section [extra]");
    expect_error("[dicom]\nport = 70000\n", "2: port must be between 0 and 65535");
    expect_error("[dicom]\nport = 12x\n", "2: port: \"12x\" is not a number");
    expect_error("[dicom]\nmax_pdu = 1T\n", "2: max_pdu: \"1T\" is not a size (like 64K, 4M, 2G)");
    expect_error("[dicom]\nae_title = A\\B\n", "2: ae_title must be 1-16 printable characters, no backslash");
    expect_error("[log]\nlevel = loud\n", "2: level must be debug, info, warn, error or off");
    expect_error("[storage]\nblob_dir =\n", "2: blob_dir must not be empty");
    expect_error("[dicom]\nthis line is wrong\n", "2: syntax error (expected [section] or key = value)");
}

#include <arpa/inet.h>
#include <netinet/in.h>

static bool allows(const conf_peer_t *p, const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    }
    return conf_peer_allows(p, &ss);
}

void conf_peers_and_networks(void **state)
{
    (void)state;
    char *path = write_conf("[dicom]\nunknown_peers = reject\n"
                            "[peer Main PACS]\nae_title = MAINPACS\n"
                            "hosts = 10.20.0.0/16, 192.168.7.12, fd00::/8\nmax_associations = 4\n"
                            "max_bytes = 2G\nissuer = MAIN-MRN\n[peer Clinic]\nae_title = CLINIC\n"
                            "cert_sha256 = 0A:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:"
                            "10:11:12:13:14:15:16:17:18:19:1a:1b:1c:1d:1e:FF\n");
    conf_t c;
    cp_errinfo_t ei = {0};
    assert_int_equal(conf_load(path, &c, &ei), CP_OK);
    unlink(path);
    assert_int_equal(c.dicom.reject_unknown_peers, 1);
    assert_int_equal(c.n_peers, 2);
    const conf_peer_t *p = conf_find_peer(&c, "MAINPACS");
    assert_non_null(p);
    assert_string_equal(p->name, "Main PACS");
    assert_int_equal(p->n_nets, 3);
    assert_int_equal(p->max_associations, 4);
    assert_int_equal(p->max_bytes, (uint64_t)2 << 30);
    assert_true(allows(p, "10.20.3.4"));
    assert_false(allows(p, "10.21.0.1"));
    assert_true(allows(p, "192.168.7.12"));
    assert_false(allows(p, "192.168.7.13"));
    assert_true(allows(p, "::ffff:10.20.9.9")); /* v4-mapped, as a v6 listener sees it */
    assert_true(allows(p, "fd12::1"));
    assert_false(allows(p, "fe80::1"));
    assert_true(allows(conf_find_peer(&c, "CLINIC"), "203.0.113.5")); /* no hosts: any */
    assert_null(conf_find_peer(&c, "STRANGER"));
    assert_false(p->has_cert);
    const conf_peer_t *clinic = conf_find_peer(&c, "CLINIC");
    assert_true(clinic->has_cert);
    assert_string_equal(p->issuer, "MAIN-MRN");
    assert_string_equal(clinic->issuer, ""); /* the section's name, at the intake */
    assert_int_equal(clinic->cert_sha256[0], 0x0A);
    assert_int_equal(clinic->cert_sha256[31], 0xFF);
    conf_net_t n;
    assert_false(conf_parse_net("10.0.0.0/33", &n));
    assert_false(conf_parse_net("10.0.0/8", &n));
    assert_false(conf_parse_net("10.0.0.0/", &n));
    assert_true(conf_parse_net("0.0.0.0/0", &n));
    assert_int_equal(n.prefix, 0);
}

void conf_peer_errors_name_line(void **state)
{
    (void)state;
    expect_error("[peer A]\nae_title = A\ncolour = red\n", "3: unknown key \"colour\" in [peer A]");
    expect_error("[peer A]\nae_title = A\nhosts = 10.0.0.0/8, nowhere\n",
                 "3: hosts: \"nowhere\" is not an address or network (a.b.c.d/n)");
    expect_error("[dicom]\nunknown_peers = maybe\n", "2: unknown_peers must be accept or reject");
    expect_error("[peer A]\nae_title = A\ncert_sha256 = AB:CD\n",
                 "3: cert_sha256 must be 32 hex bytes (colons allowed), as openssl x509 "
                 "-fingerprint -sha256 prints them");
    expect_error("[peer A]\nae_title = A\nissuer = a\\b\n",
                 "3: issuer must be 1-64 characters, no backslash");
    char *path = write_conf("[peer A]\nae_title = SAME\n[peer B]\nae_title = SAME\n");
    conf_t c;
    cp_errinfo_t ei = {0};
    assert_int_equal(conf_load(path, &c, &ei), CP_ECONFIG);
    assert_non_null(strstr(ei.msg, "[peer A] and [peer B] share ae_title SAME"));
    unlink(path);
    path = write_conf("[peer A]\nhosts = 10.0.0.1\n");
    assert_int_equal(conf_load(path, &c, &ei), CP_ECONFIG);
    assert_non_null(strstr(ei.msg, "[peer A] has no ae_title"));
    unlink(path);
}
