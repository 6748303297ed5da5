/*
 * util: allocation, growable buffers, time and path helpers shared by every
 * module. Allocation failure is fatal by design (see STYLE.md): the paths
 * that matter are the ones where a library or the input fails.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static void
oom(void)
{
	fputs("temabrev: out of memory\n", stderr);
	exit(70);
}

void
error_set(struct error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	b.data = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return b.data;
}

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Grows geometrically so appending n bytes one at a time stays linear. */
static void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (need < b->len)
		oom();
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap)
		buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_grow(struct buf *b, size_t extra)
{
	buf_reserve(b, extra);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	buf_init(b);
	return p;
}

char *
util_iso_time(int64_t t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, UTIL_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, UTIL_ISO_LEN, "1970-01-01T00:00:00Z");
	return out;
}

/*
 * TEMABREV_NOW is read once: the environment does not change under a
 * running program, and a million-row import asks for the time millions of
 * times. "T" stops the clock at T; "@T" starts it at T and lets it run,
 * which is what a test of the daemon needs to reach a digest time in
 * seconds rather than hours.
 */
static int64_t	fixed_now = -1, clock_offset;
static pthread_once_t now_once = PTHREAD_ONCE_INIT;

static void
now_init(void)
{
	const char *s = getenv("TEMABREV_NOW");
	char *end;
	long long v;
	int running;

	fixed_now = 0;
	if (s == NULL || *s == '\0')
		return;
	if ((running = *s == '@'))
		s++;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return;
	if (running)
		clock_offset = (int64_t)v - (int64_t)time(NULL);
	else
		fixed_now = (int64_t)v;
}

int64_t
util_now(void)
{
	pthread_once(&now_once, now_init);
	if (fixed_now > 0)
		return fixed_now;
	return (int64_t)time(NULL) + clock_offset;
}

static pthread_once_t crash_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t crash_mu = PTHREAD_MUTEX_INITIALIZER;
static char crash_name[64];
static long crash_left;

static void
crash_init(void)
{
	const char *s = getenv("TEMABREV_CRASH"), *colon;

	if (s == NULL || (colon = strrchr(s, ':')) == NULL ||
	    (size_t)(colon - s) >= sizeof crash_name)
		return;
	memcpy(crash_name, s, (size_t)(colon - s));
	crash_name[colon - s] = '\0';
	crash_left = strtol(colon + 1, NULL, 10);
}

void
util_failpoint(const char *name)
{
	int die = 0;

	pthread_once(&crash_once, crash_init);
	if (crash_name[0] == '\0' || strcmp(name, crash_name) != 0)
		return;
	pthread_mutex_lock(&crash_mu);
	die = --crash_left == 0;
	pthread_mutex_unlock(&crash_mu);
	if (die)
		raise(SIGKILL);
}

int
util_mkdirs(const char *dir, int mode)
{
	char *p = xstrdup(dir), *s;
	int rc = -1;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) == -1 && errno != EEXIST)
			goto fail;
		*s = c;
		if (c == '\0')
			break;
	}
	rc = 0;
fail:
	free(p);
	return rc;
}

char *
util_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *
util_trim(char *s)
{
	char *start = s, *end;

	while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r' || end[-1] == '\n'))
		end--;
	memmove(s, start, (size_t)(end - start));
	s[end - start] = '\0';
	return s;
}

int
util_valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len;

	while (p < e) {
		unsigned c = *p;
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			p++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07;
		} else
			return 0;
		if ((size_t)(e - p) <= n)
			return 0;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}
