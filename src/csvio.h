/*
 * csvio: RFC 4180 CSV in and out. Reading goes through libcsv (quoted
 * fields, embedded commas, quotes and newlines; CRLF or LF; a UTF-8 BOM is
 * skipped) one row at a time, so memory stays at the size of one row, and
 * every row knows the line it starts on for error messages.
 */
#ifndef TB_CSVIO_H
#define TB_CSVIO_H

#include <stddef.h>
#include <stdio.h>

struct error;
struct csvio_reader;

struct csvio_row {
	long		 line;		/* line the row starts on (1-based) */
	size_t		 nfields;
	char		**fields;	/* NUL-terminated */
	size_t		*lens;		/* may be less than strlen: NUL bytes */
	const char	*error;		/* non-NULL: the row is malformed */
};

/* Opens path ("-" for standard input). Caller closes with csvio_close. */
int	csvio_open(const char *path, struct csvio_reader **r_r, struct error *);
void	csvio_close(struct csvio_reader *);
/* The path given to csvio_open, for messages. */
const char *csvio_path(const struct csvio_reader *);

/*
 * Reads the next row: 1 with *row_r borrowed until the next call, 0 at end
 * of input, -1 on a read error. A malformed row (an unterminated quote at
 * the end of the file) comes back with row->error set.
 */
int	csvio_next(struct csvio_reader *, const struct csvio_row **row_r,
	    struct error *);

/*
 * Writes one field to fp, quoted when it contains a comma, quote, CR or
 * LF, or starts or ends with white space. With safe set, a value that
 * starts with = + - @, tab or CR is prefixed with ' so a spreadsheet does
 * not run it as a formula (OWASP's CSV injection advice).
 */
void	csvio_write_field(FILE *fp, const char *value, int safe);

#endif
