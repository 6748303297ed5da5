/*
 * Unit tests for csvio: RFC 4180 reading with line numbers, writing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "tbtest.h"
#include "util.h"

/* Reads path and renders each row as "LINE:f1|f2|..." or "LINE!error". */
static char *
dump(const char *data)
{
	char *path = tbtest_path("in.csv");
	struct csvio_reader *r = NULL;
	const struct csvio_row *row;
	struct error err = { 0 };
	struct buf b = { 0 };
	int rc;

	tbtest_write(path, data, -1);
	ck_assert_int_eq(csvio_open(path, &r, &err), 0);
	while ((rc = csvio_next(r, &row, &err)) == 1) {
		buf_printf(&b, "%ld", row->line);
		if (row->error) {
			buf_printf(&b, "!%s;", row->error);
			continue;
		}
		buf_addc(&b, ':');
		for (size_t i = 0; i < row->nfields; i++)
			buf_printf(&b, "%s%s", i ? "|" : "", row->fields[i]);
		buf_addc(&b, ';');
	}
	ck_assert_int_eq(rc, 0);
	csvio_close(r);
	free(path);
	return buf_steal(&b);
}

struct csv_case {
	const char	*in;
	const char	*out;
};

static const struct csv_case cases[] = {
	{ "a,b\n1,2\n", "1:a|b;2:1|2;" },
	{ "a,b\r\n1,2\r\n", "1:a|b;2:1|2;" },
	{ "a,b\n1,2", "1:a|b;2:1|2;" },
	{ "\xef\xbb\xbf" "email,name\nx@y.se,Å\n", "1:email|name;2:x@y.se|Å;" },
	{ "a\n\n\nb\n", "1:a;4:b;" },
	{ "a,\"b,c\",d\n", "1:a|b,c|d;" },
	{ "a,\"say \"\"hej\"\"\",d\n", "1:a|say \"hej\"|d;" },
	/* A quoted newline: the next row still knows its line. */
	{ "h\n\"one\ntwo\",x\nz\n", "1:h;2:one\ntwo|x;4:z;" },
	{ "h\r\n\"one\r\ntwo\"\r\nz\r\n", "1:h;2:one\r\ntwo;4:z;" },
	{ "a,,c\n", "1:a||c;" },
	/* A stray quote is a malformed row; reading resumes on the next line. */
	{ "h\nx\"y,1\nok,2\n", "1:h;2!malformed quoting;3:ok|2;" },
	{ "h\n\"abc\"def,1\nok,2\n", "1:h;2!malformed quoting;3:ok|2;" },
	/* An unterminated quote runs to the end of the file. */
	{ "h\nok,1\n\"never closed,2\nmore\n",
	    "1:h;2:ok|1;3!unterminated quoted field;" },
};

START_TEST(test_read_table)
{
	char *got = dump(cases[_i].in);

	ck_assert_str_eq(got, cases[_i].out);
	free(got);
}
END_TEST

START_TEST(test_missing_file)
{
	struct csvio_reader *r = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(csvio_open("/nonexistent/x.csv", &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.csv"));
}
END_TEST

struct write_case {
	const char	*in;
	int		 safe;
	const char	*out;
};

static const struct write_case wcases[] = {
	{ "plain", 0, "plain" },
	{ "Åsa Öberg", 0, "Åsa Öberg" },
	{ "a,b", 0, "\"a,b\"" },
	{ "say \"hej\"", 0, "\"say \"\"hej\"\"\"" },
	{ "two\nlines", 0, "\"two\nlines\"" },
	{ " padded", 0, "\" padded\"" },
	{ "=HYPERLINK(\"x\")", 0, "\"=HYPERLINK(\"\"x\"\")\"" },
	{ "=HYPERLINK(\"x\")", 1, "\"'=HYPERLINK(\"\"x\"\")\"" },
	{ "+46 8 123", 1, "\"'+46 8 123\"" },
	{ "-1", 1, "\"'-1\"" },
	{ "@SUM(A1)", 1, "\"'@SUM(A1)\"" },
	{ "\tx", 1, "\"'\tx\"" },
	{ "\rx", 1, "\"'\rx\"" },
	{ "Anna", 1, "Anna" },
};

START_TEST(test_write_table)
{
	char *path = tbtest_path("out.csv"), *got;
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	csvio_write_field(fp, wcases[_i].in, wcases[_i].safe);
	fclose(fp);
	got = tbtest_read(path, NULL);
	ck_assert_str_eq(got, wcases[_i].out);
	free(got);
	free(path);
}
END_TEST

/* Whatever is written reads back as the same fields. */
START_TEST(test_round_trip)
{
	static const char *vals[] = { "a,b", "\"q\"", "x\r\ny", "Åäö", "",
	    " s " };
	char *path = tbtest_path("rt.csv");
	struct csvio_reader *r = NULL;
	const struct csvio_row *row;
	struct error err = { 0 };
	FILE *fp = fopen(path, "w");

	for (size_t i = 0; i < 6; i++) {
		if (i)
			putc(',', fp);
		csvio_write_field(fp, vals[i], 0);
	}
	fputs("\r\n", fp);
	fclose(fp);
	ck_assert_int_eq(csvio_open(path, &r, &err), 0);
	ck_assert_int_eq(csvio_next(r, &row, &err), 1);
	ck_assert_int_eq(row->nfields, 6);
	for (size_t i = 0; i < 6; i++)
		ck_assert_str_eq(row->fields[i], vals[i]);
	csvio_close(r);
	free(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("csvio");
	TCase *tc = tcase_create("csvio");

	tcase_add_loop_test(tc, test_read_table, 0,
	    sizeof cases / sizeof cases[0]);
	tcase_add_test(tc, test_missing_file);
	tcase_add_loop_test(tc, test_write_table, 0,
	    sizeof wcases / sizeof wcases[0]);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
