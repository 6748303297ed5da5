/*
 * Unit tests for conf: parsing, unknown keys with line numbers, relative
 * paths, the order in which the database path is chosen, and conf_dup.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "conf.h"
#include "tbtest.h"
#include "util.h"

START_TEST(test_defaults)
{
	struct config *c = NULL;
	struct error err = { 0 };
	char *p;

	ck_assert_int_eq(conf_load(NULL, &c, &err), 0);
	unsetenv("TEMABREV_DB");
	setenv("XDG_DATA_HOME", "/xdg", 1);
	p = conf_db_path(c, NULL, &err);
	ck_assert_str_eq(p, "/xdg/temabrev/temabrev.db");
	free(p);
	unsetenv("XDG_DATA_HOME");
	setenv("HOME", "/home/anna", 1);
	p = conf_db_path(c, NULL, &err);
	ck_assert_str_eq(p, "/home/anna/.local/share/temabrev/temabrev.db");
	free(p);
	p = conf_secret_path(c, "/var/lib/temabrev/temabrev.db");
	ck_assert_str_eq(p, "/var/lib/temabrev/secret");
	free(p);
	conf_free(c);
}
END_TEST

START_TEST(test_file_and_precedence)
{
	char *path = tbtest_path("t.conf"), *p, *want;
	struct config *c = NULL;
	struct error err = { 0 };

	tbtest_write(path, "; comment\n[general]\ndatabase = data/t.db\n"
	    "secret_file = /etc/temabrev/secret\n", -1);
	ck_assert_msg(conf_load(path, &c, &err) == 0, "%s", err.msg);
	want = xasprintf("%s/data/t.db", tbtest_dir());
	ck_assert_str_eq(c->database, want);
	ck_assert_str_eq(c->secret_file, "/etc/temabrev/secret");
	unsetenv("TEMABREV_DB");
	p = conf_db_path(c, NULL, &err);
	ck_assert_str_eq(p, want);
	free(p);
	setenv("TEMABREV_DB", "/env.db", 1);
	p = conf_db_path(c, NULL, &err);
	ck_assert_str_eq(p, "/env.db");
	free(p);
	p = conf_db_path(c, "/opt.db", &err);
	ck_assert_str_eq(p, "/opt.db");
	free(p);
	unsetenv("TEMABREV_DB");
	free(want);
	conf_free(c);
	free(path);
}
END_TEST

struct bad_case {
	const char	*text;
	const char	*want;
};

static const struct bad_case bad[] = {
	{ "[general]\ndatabse = x\n", ":2: unknown key databse in [general]" },
	{ "[general]\n\n[smtpp]\nhost = x\n", ":4: unknown section [smtpp]" },
	{ "[general]\nthis is not ini\n", ":2: syntax error" },
	{ "[feeds]\nmax_size = lots\n", ":2: bad value 'lots' for max_size" },
	{ "[feeds]\ntimeout = 0\n", ":2: bad value '0' for timeout" },
	{ "[http]\nthreads = 0\n", ":2: bad value '0' for threads" },
	{ "[http]\nthreads = 65\n", ":2: bad value '65' for threads" },
	{ "[http]\ntrust_proxy = maybe\n", ":2: bad value 'maybe' for trust_proxy" },
	{ "[http]\nport = 80\n", ":2: unknown key port in [http]" },
};

START_TEST(test_bad_files)
{
	char *path = tbtest_path("bad.conf");
	struct config *c = NULL;
	struct error err = { 0 };

	tbtest_write(path, bad[_i].text, -1);
	ck_assert_int_eq(conf_load(path, &c, &err), -1);
	ck_assert_int_eq(err.code, EX_CONFIG);
	ck_assert_msg(strstr(err.msg, bad[_i].want) != NULL, "%s", err.msg);
	ck_assert_int_eq(conf_load("/nonexistent.conf", &c, &err), -1);
	free(path);
}
END_TEST

START_TEST(test_numbers)
{
	char *path = tbtest_path("n.conf");
	struct config *c = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(conf_load(NULL, &c, &err), 0);
	ck_assert_int_eq(c->feeds_max_size, 10 * 1024 * 1024);
	ck_assert_int_eq(c->feeds_timeout, 60);
	ck_assert_str_eq(c->http_listen, "127.0.0.1:8025");
	ck_assert_int_eq(c->http_trust_proxy, 0);
	ck_assert_int_eq(c->http_timeout, 30);
	ck_assert_int_eq(c->http_max_connections, 256);
	ck_assert_int_eq(c->http_threads, 2);
	conf_free(c);
	tbtest_write(path, "[feeds]\nmax_size = 512K\ntimeout = 2m\n"
	    "connect_timeout =\n", -1);
	ck_assert_msg(conf_load(path, &c, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(c->feeds_max_size, 512 * 1024);
	ck_assert_int_eq(c->feeds_timeout, 120);
	ck_assert_int_eq(c->feeds_connect_timeout, 10);
	conf_free(c);
	tbtest_write(path, "[http]\nlisten = [::1]:0\ntrust_proxy = yes\n"
	    "timeout = 1m\nthreads = 4\n", -1);
	ck_assert_msg(conf_load(path, &c, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(c->http_listen, "[::1]:0");
	ck_assert_int_eq(c->http_trust_proxy, 1);
	ck_assert_int_eq(c->http_timeout, 60);
	ck_assert_int_eq(c->http_threads, 4);
	conf_free(c);
	free(path);
}
END_TEST

START_TEST(test_locate)
{
	char *p;

	p = conf_locate("/given.conf");
	ck_assert_str_eq(p, "/given.conf");
	free(p);
	setenv("TEMABREV_CONFIG", "/env.conf", 1);
	p = conf_locate(NULL);
	ck_assert_str_eq(p, "/env.conf");
	free(p);
	unsetenv("TEMABREV_CONFIG");
}
END_TEST

/* A copy shares no memory with its original: both free cleanly. */
START_TEST(test_dup)
{
	char *path = tbtest_path("dup.conf");
	struct config *c = NULL, *d;
	struct error err = { 0 };

	tbtest_write(path, "[general]\nfrom = A <a@example.org>\n"
	    "[http]\nsubscribe_per_client_hour = 7\n"
	    "[dkim example.org]\nselector = s1\nkey_file = k1.pem\n"
	    "[dkim example.net]\nselector = s2\nkey_file = k2.pem\n", -1);
	ck_assert_msg(conf_load(path, &c, &err) == 0, "%s", err.msg);
	d = conf_dup(c);
	ck_assert_ptr_ne(d->from, c->from);
	ck_assert_str_eq(d->from, "A <a@example.org>");
	ck_assert_str_eq(d->path, c->path);
	ck_assert_str_eq(d->templates, c->templates);
	ck_assert_ptr_null(d->database);
	ck_assert_int_eq(d->http_subscribe_per_client_hour, 7);
	ck_assert_int_eq(d->http_subscribe_per_address_day, 3);
	ck_assert_ptr_ne(d->dkim_domains, c->dkim_domains);
	ck_assert_str_eq(d->dkim_domains->domain, c->dkim_domains->domain);
	ck_assert_str_eq(d->dkim_domains->next->key_file,
	    c->dkim_domains->next->key_file);
	ck_assert_ptr_null(d->dkim_domains->next->next);
	conf_free(c);
	ck_assert_str_eq(d->from, "A <a@example.org>");
	conf_free(d);
	free(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_and_precedence);
	tcase_add_loop_test(tc, test_bad_files, 0, sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_locate);
	tcase_add_test(tc, test_dup);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
