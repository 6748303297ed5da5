/*
 * util: the few helpers every module needs: allocation that cannot fail
 * (it aborts the program instead, so callers stay simple), a growable byte
 * buffer, and UTC time formatting in the one form temabrev prints.
 */
#ifndef TB_UTIL_H
#define TB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * An error for the caller: a sysexits.h code (EX_DATAERR, EX_IOERR, ...)
 * and one line naming the input at fault. Functions that can fail take a
 * struct error * last, fill it and return -1; the CLI prints msg once and
 * exits with code.
 */
struct error {
	int	code;
	char	msg[512];
};

void	error_set(struct error *, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Allocation: on failure these print a message and exit(70); never NULL. */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * A growable NUL-terminated byte buffer. Zero-initialise (struct buf b = {0})
 * or call buf_init; the buffer owns .data until buf_free or buf_steal.
 */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addstr(struct buf *, const char *);
void	 buf_grow(struct buf *, size_t extra);
/* One byte: inline, since text renderers append a character at a time. */
static inline void
buf_addc(struct buf *b, char c)
{
	if (b->len + 2 > b->cap)
		buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Returns the data (caller frees) and leaves the buffer empty. */
char	*buf_steal(struct buf *);

/*
 * Formats t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out, which must hold
 * UTIL_ISO_LEN bytes. Returns out.
 */
#define UTIL_ISO_LEN 21
char	*util_iso_time(int64_t t, char *out);

/*
 * The current time in seconds. For tests, TEMABREV_NOW=T stops the clock
 * at T and TEMABREV_NOW=@T starts it at T and lets it run.
 */
int64_t	 util_now(void);

/* Creates dir and its parents with mode (like mkdir -p). 0 ok, -1 errno set. */
int	 util_mkdirs(const char *dir, int mode);

/* Returns the directory part of path (caller frees); "." when there is none. */
char	*util_dirname(const char *path);

/* Strips leading and trailing ASCII white space in place; returns s. */
char	*util_trim(char *s);

/*
 * Crash testing: when TEMABREV_CRASH is "NAME:N", the N-th call of
 * util_failpoint(NAME) kills the process with SIGKILL, as kill -9 would.
 * Costs one comparison when unset.
 */
void	 util_failpoint(const char *name);

/* 1 when s is valid UTF-8 (no overlongs, no surrogates), else 0. */
int	 util_valid_utf8(const char *s, size_t len);

#endif
