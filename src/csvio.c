/*
 * csvio: RFC 4180 reading on libcsv's push parser, fed one input line at a
 * time. A row can only end at a line end, so each fed line completes at
 * most one row; that makes the row's first line easy to know.
 */
#include "config.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "csvio.h"
#include "util.h"

struct csvio_reader {
	FILE			*fp;
	int			 own_fp;
	char			*path;
	struct csv_parser	 parser;
	char			*line;
	size_t			 linecap;
	long			 lineno;	/* lines read so far */
	int			 at_row_start;	/* no partial row pending */
	int			 eof;
	struct csvio_row	 row;		/* being built */
	size_t			 cap;
	size_t			*fieldcap;	/* allocated size per field */
	int			 ready;		/* row complete */
};

#define CSV_OPTIONS (CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)

static int
reader_reset(struct csvio_reader *r, struct error *err)
{
	csv_free(&r->parser);
	if (csv_init(&r->parser, CSV_OPTIONS) != 0) {
		error_set(err, EX_SOFTWARE, "libcsv: cannot initialise");
		return -1;
	}
	return 0;
}

/* Field buffers are kept and reused: one malloc per column, not per cell. */
static void
row_clear(struct csvio_reader *r)
{
	r->row.nfields = 0;
	r->row.error = NULL;
	r->ready = 0;
}

static void
on_field(void *data, size_t len, void *arg)
{
	struct csvio_reader *r = arg;

	size_t i = r->row.nfields;

	if (i == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;

		r->row.fields = xrealloc(r->row.fields, cap * sizeof(char *));
		r->row.lens = xrealloc(r->row.lens, cap * sizeof(size_t));
		r->fieldcap = xrealloc(r->fieldcap, cap * sizeof(size_t));
		for (size_t j = r->cap; j < cap; j++) {
			r->row.fields[j] = NULL;
			r->fieldcap[j] = 0;
		}
		r->cap = cap;
	}
	if (r->fieldcap[i] < len + 1) {
		r->fieldcap[i] = len + 1 < 64 ? 64 : len + 1;
		r->row.fields[i] = xrealloc(r->row.fields[i], r->fieldcap[i]);
	}
	if (len)
		memcpy(r->row.fields[i], data, len);
	r->row.fields[i][len] = '\0';
	r->row.lens[i] = len;
	r->row.nfields++;
}

static void
on_row(int c, void *arg)
{
	struct csvio_reader *r = arg;

	(void)c;
	r->ready = 1;
	r->at_row_start = 1;
}

int
csvio_open(const char *path, struct csvio_reader **r_r, struct error *err)
{
	struct csvio_reader *r = xcalloc(1, sizeof *r);

	r->path = xstrdup(path);
	if (strcmp(path, "-") == 0)
		r->fp = stdin;
	else {
		if ((r->fp = fopen(path, "r")) == NULL) {
			error_set(err, EX_NOINPUT, "%s: %s", path,
			    strerror(errno));
			csvio_close(r);
			return -1;
		}
		r->own_fp = 1;
	}
	/* Strict: a stray quote makes the row malformed rather than data. */
	if (csv_init(&r->parser, CSV_OPTIONS) != 0) {
		error_set(err, EX_SOFTWARE, "libcsv: cannot initialise");
		free(r->path);
		if (r->own_fp)
			fclose(r->fp);
		free(r);
		return -1;
	}
	r->at_row_start = 1;
	*r_r = r;
	return 0;
}

void
csvio_close(struct csvio_reader *r)
{
	if (r == NULL)
		return;
	row_clear(r);
	if (r->own_fp)
		fclose(r->fp);
	csv_free(&r->parser);
	for (size_t i = 0; i < r->cap; i++)
		free(r->row.fields[i]);
	free(r->fieldcap);
	free(r->row.fields);
	free(r->row.lens);
	free(r->line);
	free(r->path);
	free(r);
}

const char *
csvio_path(const struct csvio_reader *r)
{
	return r->path;
}

static int
is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

int
csvio_next(struct csvio_reader *r, const struct csvio_row **row_r,
    struct error *err)
{
	ssize_t n;

	row_clear(r);
	while (!r->eof) {
		errno = 0;
		n = getline(&r->line, &r->linecap, r->fp);
		if (n == -1) {
			if (ferror(r->fp)) {
				error_set(err, EX_IOERR, "%s: %s", r->path,
				    strerror(errno));
				return -1;
			}
			r->eof = 1;
			if (csv_fini(&r->parser, on_field, on_row, r) != 0) {
				/* libcsv dropped the partial field. */
				r->row.error = "unterminated quoted field";
				r->ready = 1;
			}
			break;
		}
		r->lineno++;
		const char *p = r->line;
		size_t len = (size_t)n;
		if (r->lineno == 1 && len >= 3 &&
		    memcmp(p, "\xef\xbb\xbf", 3) == 0) {
			p += 3;
			len -= 3;
		}
		if (r->at_row_start) {
			if (is_blank(p, len))
				continue;	/* libcsv skips them too */
			r->row.line = r->lineno;
			r->at_row_start = 0;
		}
		if (csv_parse(&r->parser, p, len, on_field, on_row, r) != len) {
			/* Report the row as malformed and resynchronise at
			 * the next line with a fresh parser. */
			if (reader_reset(r, err) == -1)
				return -1;
			r->row.nfields = 0;
			r->row.error = "malformed quoting";
			r->ready = 1;
			r->at_row_start = 1;
			break;
		}
		if (r->ready)
			break;
	}
	if (!r->ready)
		return 0;
	*row_r = &r->row;
	return 1;
}

void
csvio_write_field(FILE *fp, const char *v, int safe)
{
	int quote = 0, prefix = 0;
	size_t n = strlen(v);

	if (safe && (v[0] == '=' || v[0] == '+' || v[0] == '-' ||
	    v[0] == '@' || v[0] == '\t' || v[0] == '\r'))
		prefix = 1;
	if (strpbrk(v, ",\"\r\n") != NULL || prefix ||
	    (n > 0 && (v[0] == ' ' || v[n - 1] == ' ')))
		quote = 1;
	if (!quote) {
		fputs(v, fp);
		return;
	}
	putc('"', fp);
	if (prefix)
		putc('\'', fp);
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			putc('"', fp);
		putc(*p, fp);
	}
	putc('"', fp);
}
