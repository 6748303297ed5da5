/*
 * Unit tests for secret: creation with mode 0600, stability, refusal of
 * unsafe files, per-purpose keys.
 */
#include "config.h"

#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "secret.h"
#include "tbtest.h"
#include "util.h"

START_TEST(test_create_and_reopen)
{
	char *path = tbtest_path("secret"), h1[65], h2[65];
	struct secret *s = NULL;
	struct secret_mac *m;
	struct error err = { 0 };
	struct stat sb;

	unlink(path);
	ck_assert_int_eq(secret_open(path, &s, &err), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	m = secret_mac_new(s, SECRET_PURPOSE_SUPPRESSION);
	secret_mac_hex(m, "anna@example.org", h1);
	secret_mac_free(m);
	secret_free(s);
	ck_assert_int_eq(secret_open(path, &s, &err), 0);
	m = secret_mac_new(s, SECRET_PURPOSE_SUPPRESSION);
	secret_mac_hex(m, "anna@example.org", h2);
	ck_assert_str_eq(h1, h2);
	/* The MAC is reusable and depends on the input. */
	secret_mac_hex(m, "bo@example.org", h2);
	ck_assert_str_ne(h1, h2);
	secret_mac_free(m);
	/* Another purpose never gives the same value. */
	m = secret_mac_new(s, "unsubscribe");
	secret_mac_hex(m, "anna@example.org", h2);
	ck_assert_str_ne(h1, h2);
	secret_mac_free(m);
	secret_free(s);
	free(path);
}
END_TEST

START_TEST(test_other_secret_other_hash)
{
	char *p1 = tbtest_path("s1"), *p2 = tbtest_path("s2"), h1[65], h2[65];
	struct secret *a = NULL, *b = NULL;
	struct secret_mac *m;
	struct error err = { 0 };

	ck_assert_int_eq(secret_open(p1, &a, &err), 0);
	ck_assert_int_eq(secret_open(p2, &b, &err), 0);
	m = secret_mac_new(a, "x");
	secret_mac_hex(m, "same", h1);
	secret_mac_free(m);
	m = secret_mac_new(b, "x");
	secret_mac_hex(m, "same", h2);
	secret_mac_free(m);
	ck_assert_str_ne(h1, h2);
	secret_free(a);
	secret_free(b);
	free(p1);
	free(p2);
}
END_TEST

START_TEST(test_refuses_unsafe)
{
	char *path = tbtest_path("open-secret");
	struct secret *s = NULL;
	struct error err = { 0 };

	tbtest_write(path, "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\n", -1);
	chmod(path, 0644);
	ck_assert_int_eq(secret_open(path, &s, &err), -1);
	ck_assert_int_eq(err.code, EX_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "0644"));
	chmod(path, 0640);	/* a shared group is fine */
	ck_assert_int_eq(secret_open(path, &s, &err), 0);
	secret_free(s);
	tbtest_write(path, "short\n", -1);
	ck_assert_int_eq(secret_open(path, &s, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "too short"));
	tbtest_write(path, "zz112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\n", -1);
	ck_assert_int_eq(secret_open(path, &s, &err), -1);
	ck_assert_int_eq(secret_open("/nonexistent-dir/secret", &s, &err), -1);
	free(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("secret");

	tcase_add_test(tc, test_create_and_reopen);
	tcase_add_test(tc, test_other_secret_other_hash);
	tcase_add_test(tc, test_refuses_unsafe);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
