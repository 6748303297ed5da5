/*
 * fetch: libcurl easy transfers for feeds. RFC 9110 (status codes,
 * redirects), RFC 9111 section 4.3 (conditional requests with ETag and
 * Last-Modified), RFC 8089 (file URLs). The body goes to a temporary file
 * in TMPDIR; the header callback follows the redirect chain to tell
 * permanent moves from temporary ones.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "fetch.h"
#include "util.h"

#define FETCH_MAX_SIZE (10 * 1024 * 1024)
#define USER_AGENT "temabrev/" PACKAGE_VERSION \
	" (feed reader of a newsletter; +https://github.com/temabrev/temabrev)"

struct transfer {
	FILE		*fp;
	size_t		 len;
	size_t		 max;
	int		 too_big;
	long		 last_status;	/* of the response being read */
	int		 permanent;	/* every redirect so far was 301/308 */
	int		 redirects;
	char		*etag;
	char		*last_modified;
};

int
fetch_init(struct error *err)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		error_set(err, EX_SOFTWARE, "libcurl: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n;

	/* The cap holds even when the server sends no Content-Length. */
	if (t->len + len > t->max) {
		t->too_big = 1;
		return 0;
	}
	if (fwrite(data, 1, len, t->fp) != len)
		return 0;
	t->len += len;
	return len;
}

/* A header value without its name and surrounding white space. */
static char *
header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *v, *e;

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	v = line + n + 1;
	e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		e--;
	return xstrndup(v, (size_t)(e - v));
}

/*
 * Sees the headers of every response in a redirect chain: a status line
 * starts a new response. Validators are kept from the last one only.
 */
static size_t
on_header(char *line, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n;
	char *v;

	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		const char *sp = memchr(line, ' ', len);

		if (t->last_status >= 300 && t->last_status < 400) {
			t->redirects++;
			if (t->last_status != 301 && t->last_status != 308)
				t->permanent = 0;
		}
		t->last_status = sp ? strtol(sp + 1, NULL, 10) : 0;
		free(t->etag);
		free(t->last_modified);
		t->etag = t->last_modified = NULL;
		return len;
	}
	if ((v = header_value(line, len, "ETag")) != NULL) {
		free(t->etag);
		t->etag = v;
	} else if ((v = header_value(line, len, "Last-Modified")) != NULL) {
		free(t->last_modified);
		t->last_modified = v;
	}
	return len;
}

static FILE *
spool_open(char **path_r, struct error *err)
{
	const char *dir = getenv("TMPDIR");
	char *path = xasprintf("%s/temabrev-feed.XXXXXX",
	    dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	FILE *fp;

	if (fd == -1 || (fp = fdopen(fd, "w+")) == NULL) {
		error_set(err, EX_CANTCREAT, "%s: %s", path, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(path);
		}
		free(path);
		return NULL;
	}
	*path_r = path;
	return fp;
}

static void
set_headers(CURL *c, const struct fetch_request *req,
    struct curl_slist **list)
{
	char *h;

	if (req->etag != NULL) {
		h = xasprintf("If-None-Match: %s", req->etag);
		*list = curl_slist_append(*list, h);
		free(h);
	}
	if (req->last_modified != NULL) {
		h = xasprintf("If-Modified-Since: %s", req->last_modified);
		*list = curl_slist_append(*list, h);
		free(h);
	}
	if (*list != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, *list);
}

static void
configure(CURL *c, const struct fetch_request *req, struct transfer *t,
    char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    req->connect_timeout_ms ? req->connect_timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    req->timeout_ms ? req->timeout_ms : 60000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);	/* threads */
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");	/* gzip, deflate */
	curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)t->max);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

static char *
info_str(CURL *c, CURLINFO what)
{
	char *v = NULL;

	if (curl_easy_getinfo(c, what, &v) != CURLE_OK || v == NULL)
		return NULL;
	return xstrdup(v);
}

/* Errors on the network side are worth retrying; others are not. */
static int
curl_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_TOO_MANY_REDIRECTS:
		return EX_DATAERR;
	case CURLE_FILE_COULDNT_READ_FILE:
		return EX_NOINPUT;
	default:
		return EX_TEMPFAIL;
	}
}

int
fetch_url(const struct fetch_request *req, struct fetch_result *res,
    struct error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct transfer t = { 0 };
	CURL *c = NULL;
	CURLcode rc;
	char *scheme = NULL;
	int ret = -1;

	memset(res, 0, sizeof *res);
	t.max = req->max_size ? req->max_size : FETCH_MAX_SIZE;
	t.permanent = 1;
	if ((t.fp = spool_open(&res->body_path, err)) == NULL)
		return -1;
	if ((c = curl_easy_init()) == NULL) {
		error_set(err, EX_SOFTWARE, "%s: libcurl cannot start", req->url);
		goto done;
	}
	configure(c, req, &t, errbuf);
	set_headers(c, req, &headers);
	rc = curl_easy_perform(c);
	if (t.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		error_set(err, EX_DATAERR, "%s: larger than the %zu-byte limit "
		    "([feeds] max_size)", req->url, t.max);
		goto done;
	}
	if (rc != CURLE_OK) {
		error_set(err, curl_code(rc), "%s: %s", req->url,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
	res->final_url = info_str(c, CURLINFO_EFFECTIVE_URL);
	res->content_type = info_str(c, CURLINFO_CONTENT_TYPE);
	scheme = info_str(c, CURLINFO_SCHEME);
	if (scheme != NULL && strcasecmp(scheme, "file") == 0)
		res->status = 200;
	if (t.redirects > 0 && t.permanent && res->final_url != NULL)
		res->moved_to = xstrdup(res->final_url);
	if (res->status == 304) {
		res->not_modified = 1;
		ret = 0;
		goto done;
	}
	if (res->status == 410) {
		res->gone = 1;
		ret = 0;
		goto done;
	}
	if (res->status < 200 || res->status > 299) {
		error_set(err, res->status >= 500 || res->status == 429 ?
		    EX_TEMPFAIL : EX_UNAVAILABLE, "%s: HTTP %ld", req->url,
		    res->status);
		goto done;
	}
	if (fflush(t.fp) == EOF) {
		error_set(err, EX_IOERR, "%s: %s", res->body_path,
		    strerror(errno));
		goto done;
	}
	res->body_len = t.len;
	res->etag = t.etag;
	res->last_modified = t.last_modified;
	t.etag = t.last_modified = NULL;
	ret = 0;
done:
	if (t.fp != NULL)
		fclose(t.fp);
	free(t.etag);
	free(t.last_modified);
	free(scheme);
	curl_slist_free_all(headers);
	if (c != NULL)
		curl_easy_cleanup(c);
	if (ret == -1 || res->not_modified || res->gone) {
		unlink(res->body_path);
		free(res->body_path);
		res->body_path = NULL;
	}
	return ret;
}

void
fetch_result_clear(struct fetch_result *res)
{
	if (res->body_path != NULL)
		unlink(res->body_path);
	free(res->body_path);
	free(res->moved_to);
	free(res->final_url);
	free(res->etag);
	free(res->last_modified);
	free(res->content_type);
	memset(res, 0, sizeof *res);
}

/* An absolute path as a file URL, percent-encoded by libcurl's URL API. */
static char *
file_url(const char *path, struct error *err)
{
	CURLU *u = curl_url();
	char *url = NULL, *copy = NULL;

	if (u == NULL ||
	    curl_url_set(u, CURLUPART_SCHEME, "file", 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PATH, path, CURLU_URLENCODE) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		error_set(err, EX_DATAERR, "%s: cannot make a file URL", path);
		goto done;
	}
	copy = xstrdup(url);
done:
	curl_free(url);
	curl_url_cleanup(u);
	return copy;
}

char *
fetch_normalize_url(const char *input, struct error *err)
{
	char real[PATH_MAX];
	const char *colon = strstr(input, "://");

	if (colon != NULL) {
		size_t n = (size_t)(colon - input);

		if ((n == 4 && strncasecmp(input, "http", 4) == 0) ||
		    (n == 5 && strncasecmp(input, "https", 5) == 0) ||
		    (n == 4 && strncasecmp(input, "file", 4) == 0))
			return xstrdup(input);
		error_set(err, EX_DATAERR, "%s: only http, https and file URLs "
		    "are supported", input);
		return NULL;
	}
	if (realpath(input, real) == NULL) {
		error_set(err, EX_NOINPUT, "%s: %s", input, strerror(errno));
		return NULL;
	}
	return file_url(real, err);
}
