/*
 * msg: an inbound message read with libetpan's RFC 5322 and MIME parsers
 * (RFC 2045-2049, RFC 2047 encoded words), every string handed out made
 * valid UTF-8. See msg.h for the contract.
 *
 * libetpan does the grammar: mailimf_optional_fields_parse() splits the
 * top-level header into fields, mailmime_parse() builds the part tree,
 * mailmime_part_parse() undoes quoted-printable and base64,
 * mailmime_encoded_phrase_parse() decodes encoded words and
 * mailimf_address_list_parse() reads address lists. What libetpan leaves
 * to us is the charset rules of real mail: raw 8-bit header text (UTF-8,
 * or windows-1252 when that is not valid UTF-8, which is what ISO-8859-1
 * labels mean in practice, as WHATWG's decoders assume), invalid bytes
 * and control characters.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "html.h"
#include "msg.h"
#include "util.h"

/* Header values longer than this are cut before decoding (junk). */
#define MSG_HEADER_MAX	(64 * 1024)
/*
 * A top-level header block longer than this is cut (at a line end)
 * before parsing: libetpan keeps a few hundred bytes per field, so
 * millions of tiny fields would cost gigabytes and seconds.
 */
#define MSG_HEADER_BLOCK_MAX	(256 * 1024)

/*
 * A top-level field. Most are never asked for (Received, DKIM-Signature,
 * ...), so its value is cleaned and decoded on the first msg_header*()
 * call for it: doing it for every field was a tenth of the inbox's time.
 */
struct msg_field {
	const char *name;	/* borrowed from msg.hdr */
	const char *value;	/* as parsed, borrowed from msg.hdr */
	char	*raw;		/* unfolded, sanitized; NULL until asked */
	char	*dec;		/* decoded, sanitized; NULL until asked */
};

/*
 * The type strings of a part (its type) are kept in one list owned by the
 * msg: types are small and the list is freed with it.
 */
struct msg_strings {
	char	**v;
	size_t	  n, cap;
};

struct msg {
	struct mailimf_fields	*hdr;	/* owns the fields' names and values */
	struct msg_field	*fields;
	size_t			 nfields;
	struct msg_part		*parts;
	size_t			 nparts, partcap;
	struct msg_strings	 strs;	/* the parts' type strings */
	struct mailmime		*mime;	/* owns the other strings of parts */
	char			*copy;	/* raw with its header cut, or NULL */
	char			*mime_copy; /* what mailmime_parse() read */
};

/* ---- UTF-8 ---- */

/* windows-1252's 0x80-0x9f; the holes map to the C1 code point. */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
};

static void
add_cp(struct buf *out, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp; n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f)); n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
	}
	buf_add(out, u, n);
}

/*
 * Length of the valid UTF-8 sequence at p (at most e - p bytes), or 0
 * when the byte at p does not start one (overlongs, surrogates and code
 * points above U+10FFFF are invalid).
 */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *e)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
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
	return n + 1;
}

/*
 * Appends s as UTF-8, each invalid byte and NUL replaced by U+FFFD, CRLF
 * as LF; with oneline, every other control character (CR and LF included) becomes a
 * space, so a header value cannot carry a line break onwards.
 */
static void
add_utf8(struct buf *out, const char *s, size_t len, int oneline)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len;

	buf_grow(out, len);
	out->data[out->len] = '\0';	/* terminated even when len is 0 */
	while (p < e) {
		const unsigned char *run = p;

		/* Copy plain ASCII runs in one go: the common case. */
		while (p < e && *p >= 0x20 && *p < 0x7f)
			p++;
		if (p > run)
			buf_add(out, run, (size_t)(p - run));
		if (p == e)
			break;
		if (*p < 0x80) {
			if (*p == 0)
				add_cp(out, 0xfffd);
			else if (*p == '\r' && !oneline && p + 1 < e &&
			    p[1] == '\n')
				;	/* CRLF becomes LF */
			else if (oneline || (*p < 0x20 && *p != '\n' &&
			    *p != '\t' && *p != '\r' && *p != '\f'))
				buf_addc(out, ' ');
			else
				buf_addc(out, (char)*p);
			p++;
			continue;
		}
		size_t n = utf8_seq(p, e);

		if (n == 0) {
			add_cp(out, 0xfffd);
			p++;
		} else {
			buf_add(out, p, n);
			p += n;
		}
	}
}

static void
add_cp1252(struct buf *out, const char *s, size_t len, int oneline)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len;

	for (; p < e; p++) {
		if (*p >= 0x80 && *p < 0xa0)
			add_cp(out, cp1252_c1[*p - 0x80]);
		else if (*p >= 0x80)
			add_cp(out, *p);
		else if (*p == 0)
			add_cp(out, 0xfffd);
		else if (*p == '\r' && !oneline && p + 1 < e && p[1] == '\n')
			;	/* CRLF becomes LF */
		else if (*p < 0x20 && (oneline || (*p != '\n' && *p != '\t' &&
		    *p != '\r' && *p != '\f')))
			buf_addc(out, ' ');
		else
			buf_addc(out, (char)*p);
	}
}

static int
has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* Labels that mean windows-1252 in practice (WHATWG Encoding). */
static int
is_latin1(const char *cs)
{
	static const char *const names[] = {
		"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1",
		"l1", "windows-1252", "cp1252", "x-cp1252", "cp819",
		"ibm819", "iso-ir-100", "csisolatin1", "ansi_x3.110-1983",
		NULL,
	};

	for (size_t i = 0; names[i] != NULL; i++)
		if (strcasecmp(cs, names[i]) == 0)
			return 1;
	return 0;
}

static int
is_utf8_label(const char *cs)
{
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0;
}

static int
is_ascii_label(const char *cs)
{
	return strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") ==
	    0 || strcasecmp(cs, "ansi_x3.4-1968") == 0 ||
	    strcasecmp(cs, "iso-646-us") == 0;
}

void
msg_to_utf8(const char *charset, const char *raw, size_t len,
    struct buf *out)
{
	char *conv = NULL;
	size_t convlen = 0;

	if (!has_8bit(raw, len) && (charset == NULL ||
	    is_utf8_label(charset) || is_ascii_label(charset) ||
	    is_latin1(charset))) {
		add_utf8(out, raw, len, 0);
		return;
	}
	if (charset != NULL && is_utf8_label(charset)) {
		add_utf8(out, raw, len, 0);
		return;
	}
	if (charset != NULL && is_latin1(charset)) {
		add_cp1252(out, raw, len, 0);
		return;
	}
	if (charset != NULL && !is_ascii_label(charset) &&
	    charconv_buffer("UTF-8", charset, raw, len, &conv, &convlen) ==
	    MAIL_CHARCONV_NO_ERROR) {
		add_utf8(out, conv, convlen, 0);
		charconv_buffer_free(conv);
		return;
	}
	/* Unknown or wrong label: UTF-8 if it is, else windows-1252. */
	if (util_valid_utf8(raw, len))
		add_utf8(out, raw, len, 0);
	else
		add_cp1252(out, raw, len, 0);
}

/* ---- header fields ---- */

/* Unfolds (drops CR and LF) and makes one safe line of UTF-8. */
static char *
field_raw(const char *v)
{
	size_t len = strlen(v);
	struct buf b = { 0 }, u = { 0 };

	if (len > MSG_HEADER_MAX)
		len = MSG_HEADER_MAX;
	for (size_t i = 0; i < len; i++)
		if (v[i] != '\r' && v[i] != '\n')
			buf_addc(&u, v[i]);
	buf_addc(&u, '\0');
	u.len--;
	if (util_valid_utf8(u.data, u.len))
		add_utf8(&b, u.data, u.len, 1);
	else
		add_cp1252(&b, u.data, u.len, 1);
	buf_free(&u);
	buf_addc(&b, '\0');
	return util_trim(buf_steal(&b));
}

/*
 * Decodes RFC 2047 encoded words with libetpan; text outside them is
 * raw 8-bit read as UTF-8 when valid, else as windows-1252.
 */
static char *
field_decode(const char *v)
{
	size_t len = strlen(v), idx = 0;
	char *unfolded = NULL, *dec = NULL, *res;
	struct buf b = { 0 };
	const char *from;

	if (strstr(v, "=?") == NULL)
		return field_raw(v);
	if (len > MSG_HEADER_MAX)
		len = MSG_HEADER_MAX;
	unfolded = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (v[i] != '\r' && v[i] != '\n')
			unfolded[n++] = v[i];
	unfolded[n] = '\0';
	from = !has_8bit(unfolded, n) ? "us-ascii" :
	    util_valid_utf8(unfolded, n) ? "utf-8" : "windows-1252";
	if (mailmime_encoded_phrase_parse(from, unfolded, n, &idx, "UTF-8",
	    &dec) != MAILIMF_NO_ERROR || dec == NULL) {
		free(unfolded);
		return field_raw(v);
	}
	add_utf8(&b, dec, strlen(dec), 1);
	free(dec);
	free(unfolded);
	buf_addc(&b, '\0');
	res = util_trim(buf_steal(&b));
	return res;
}

static void
fields_read(struct msg *m, const char *raw, size_t len, size_t *end_r)
{
	struct mailimf_fields *f = NULL;
	size_t idx = 0;

	*end_r = 0;
	if (mailimf_optional_fields_parse(raw, len, &idx, &f) !=
	    MAILIMF_NO_ERROR || f == NULL)
		return;
	*end_r = idx;
	m->fields = xcalloc((size_t)clist_count(f->fld_list) + 1,
	    sizeof *m->fields);
	for (clistiter *c = clist_begin(f->fld_list); c != NULL;
	    c = clist_next(c)) {
		struct mailimf_field *fld = clist_content(c);
		struct mailimf_optional_field *o;

		if (fld->fld_type != MAILIMF_FIELD_OPTIONAL_FIELD)
			continue;
		o = fld->fld_data.fld_optional_field;
		struct msg_field *mf = &m->fields[m->nfields++];

		mf->name = o->fld_name;
		mf->value = o->fld_value;
	}
	m->hdr = f;
}

/* The names are libetpan's: field characters only (RFC 5322 ftext), so
 * comparing them as they are is comparing them cleaned. */
static struct msg_field *
field_nth(const struct msg *m, const char *name, size_t n)
{
	for (size_t i = 0; i < m->nfields; i++)
		if (strcasecmp(m->fields[i].name, name) == 0 && n-- == 0)
			return &m->fields[i];
	return NULL;
}

/* The field's decoded or raw form, made on the first call for it. */
static const char *
field_form(const struct msg *m, const char *name, size_t n, int decoded)
{
	struct msg_field *f = field_nth(m, name, n);
	char **form;

	if (f == NULL)
		return NULL;
	form = decoded ? &f->dec : &f->raw;
	if (*form == NULL)
		*form = decoded ? field_decode(f->value) : field_raw(f->value);
	return *form;
}

const char *
msg_header(const struct msg *m, const char *name, size_t n)
{
	return field_form(m, name, n, 1);
}

const char *
msg_header_raw(const struct msg *m, const char *name, size_t n)
{
	return field_form(m, name, n, 0);
}

size_t
msg_nheaders(const struct msg *m)
{
	return m->nfields;
}

/* ---- the part tree ---- */

static const char *
discrete_name(int t)
{
	switch (t) {
	case MAILMIME_DISCRETE_TYPE_TEXT:	return "text";
	case MAILMIME_DISCRETE_TYPE_IMAGE:	return "image";
	case MAILMIME_DISCRETE_TYPE_AUDIO:	return "audio";
	case MAILMIME_DISCRETE_TYPE_VIDEO:	return "video";
	case MAILMIME_DISCRETE_TYPE_APPLICATION: return "application";
	default:				return NULL;
	}
}

/* "type/subtype" in lower case; owned by the caller. */
static char *
content_type(const struct mailmime_content *ct, const char *dflt)
{
	const char *major = NULL;
	char *s;

	if (ct == NULL || ct->ct_type == NULL || ct->ct_subtype == NULL)
		return xstrdup(dflt);
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		struct mailmime_discrete_type *d =
		    ct->ct_type->tp_data.tp_discrete_type;

		major = discrete_name(d->dt_type);
		if (major == NULL)
			major = d->dt_extension;
	} else if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE) {
		struct mailmime_composite_type *c =
		    ct->ct_type->tp_data.tp_composite_type;

		major = c->ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE ?
		    "message" : c->ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART
		    ? "multipart" : c->ct_token;
	}
	if (major == NULL)
		return xstrdup(dflt);
	s = xasprintf("%s/%s", major, ct->ct_subtype);
	for (char *p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static int
is_attachment(const struct mailmime_fields *f)
{
	if (f == NULL)
		return 0;
	for (clistiter *c = clist_begin(f->fld_list); c != NULL;
	    c = clist_next(c)) {
		struct mailmime_field *fld = clist_content(c);

		if (fld->fld_type == MAILMIME_FIELD_DISPOSITION &&
		    fld->fld_data.fld_disposition != NULL &&
		    fld->fld_data.fld_disposition->dsp_type != NULL &&
		    fld->fld_data.fld_disposition->dsp_type->dsp_type ==
		    MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
			return 1;
	}
	return 0;
}

/* A parameter of the content type, lower-cased in place (libetpan owns
 * the string, and nobody else reads it). */
static const char *
param_lower(struct mailmime_content *ct, const char *name)
{
	char *v;

	if (ct == NULL || ct->ct_parameters == NULL)
		return NULL;
	v = mailmime_content_param_get(ct, (char *)name);
	if (v == NULL)
		return NULL;
	for (char *p = v; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return v;
}

static struct msg_part *
part_add(struct msg *m)
{
	if (m->nparts == m->partcap) {
		m->partcap = m->partcap ? m->partcap * 2 : 8;
		m->parts = xrealloc(m->parts, m->partcap * sizeof *m->parts);
	}
	memset(&m->parts[m->nparts], 0, sizeof m->parts[0]);
	return &m->parts[m->nparts++];
}

static const char *
keep(struct msg_strings *s, char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = str;
	return str;
}

/* Recursion is bounded: msg_parse refuses trees deeper than
 * MSG_MAX_DEPTH before libetpan builds them. */
static void
walk(struct msg *m, struct msg_strings *strs, struct mailmime *mm, int depth,
    int enclosed)
{
	struct msg_part *p = part_add(m);
	const char *dflt = mm->mm_type == MAILMIME_MESSAGE ? "message/rfc822" :
	    mm->mm_type == MAILMIME_MULTIPLE ? "multipart/mixed" : "text/plain";

	p->type = keep(strs, content_type(mm->mm_content_type, dflt));
	p->charset = param_lower(mm->mm_content_type, "charset");
	p->report_type = param_lower(mm->mm_content_type, "report-type");
	p->depth = depth;
	p->enclosed = enclosed;
	p->attachment = is_attachment(mm->mm_mime_fields);
	p->encoding = MAILMIME_MECHANISM_8BIT;
	if (mm->mm_type == MAILMIME_SINGLE && mm->mm_data.mm_single != NULL) {
		struct mailmime_data *d = mm->mm_data.mm_single;

		p->encoding = d->dt_encoding;
		if (d->dt_type == MAILMIME_DATA_TEXT) {
			p->body = d->dt_data.dt_text.dt_data;
			p->bodylen = d->dt_data.dt_text.dt_length;
		}
	} else if (mm->mm_body != NULL &&
	    mm->mm_body->dt_type == MAILMIME_DATA_TEXT) {
		p->body = mm->mm_body->dt_data.dt_text.dt_data;
		p->bodylen = mm->mm_body->dt_data.dt_text.dt_length;
	}
	if (mm->mm_type == MAILMIME_MULTIPLE) {
		for (clistiter *c = clist_begin(mm->mm_data.mm_multipart.
		    mm_mp_list); c != NULL; c = clist_next(c))
			walk(m, strs, clist_content(c), depth + 1, enclosed);
	} else if (mm->mm_type == MAILMIME_MESSAGE &&
	    mm->mm_data.mm_message.mm_msg_mime != NULL)
		walk(m, strs, mm->mm_data.mm_message.mm_msg_mime, depth + 1,
		    1);
}

/* Lines starting "Content-Type:": an upper bound on the nesting depth. */
static size_t
count_content_types(const char *raw, size_t len)
{
	size_t n = 0;
	const char *p = raw, *e = raw + len;

	while (p < e) {
		if (*p == 'c' || *p == 'C') {
			if ((size_t)(e - p) >= 13 &&
			    strncasecmp(p, "content-type:", 13) == 0)
				n++;
		}
		const char *nl = memchr(p, '\n', (size_t)(e - p));

		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nfields; i++) {
		free(m->fields[i].raw);
		free(m->fields[i].dec);
	}
	free(m->fields);
	if (m->hdr != NULL)
		mailimf_fields_free(m->hdr);
	for (size_t i = 0; i < m->strs.n; i++)
		free(m->strs.v[i]);
	free(m->strs.v);
	free(m->parts);
	if (m->mime != NULL)
		mailmime_free(m->mime);
	free(m->copy);
	free(m->mime_copy);
	free(m);
}

/*
 * Returns raw, or a copy owned by m whose header block keeps its first
 * MSG_HEADER_BLOCK_MAX bytes (whole lines) followed by the body.
 */
static const char *
cut_header(struct msg *m, const char *raw, size_t *len)
{
	const char *p = raw, *e = raw + *len, *cut = NULL;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));

		if (nl == NULL)
			return raw;
		if (nl == p || (nl == p + 1 && *p == '\r'))
			break;	/* the blank line: the body starts after it */
		if (cut == NULL && (size_t)(nl + 1 - raw) > MSG_HEADER_BLOCK_MAX)
			cut = p;
		p = nl + 1;
	}
	if (cut == NULL || p >= e)
		return raw;
	size_t head = (size_t)(cut - raw), rest = (size_t)(e - p);

	m->copy = xmalloc(head + rest + 1);
	memcpy(m->copy, raw, head);
	memcpy(m->copy + head, p, rest);
	*len = head + rest;
	return m->copy;
}

/* Whether the field starting at p (n bytes to the end of the header) is
 * one mailmime_parse() uses: Content-* or MIME-Version. */
static int
mime_field(const char *p, size_t n)
{
	return (n >= 8 && strncasecmp(p, "content-", 8) == 0) ||
	    (n >= 12 && strncasecmp(p, "mime-version", 12) == 0);
}

/*
 * What mailmime_parse() is given: the header's MIME fields, whole lines
 * as written, then everything from the end of the header on. Given the
 * whole header it would parse every address, date and trace field again
 * (fields_read has them): an eighth of the inbox's time. The part bodies
 * point into the copy, which m keeps. Without a header read (hdr_end 0)
 * it is raw itself.
 */
static const char *
mime_view(struct msg *m, const char *raw, size_t hdr_end, size_t *len)
{
	const char *p = raw, *e = raw + hdr_end;
	size_t off = 0;
	int keep = 0;

	if (hdr_end == 0)
		return raw;
	m->mime_copy = xmalloc(*len + 1);
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl != NULL ? (size_t)(nl + 1 - p) : (size_t)(e - p);

		if (*p != ' ' && *p != '\t')
			keep = mime_field(p, n);
		if (keep) {
			memcpy(m->mime_copy + off, p, n);
			off += n;
		}
		p += n;
	}
	memcpy(m->mime_copy + off, e, *len - hdr_end);
	*len = off + (*len - hdr_end);
	m->mime_copy[*len] = '\0';
	return m->mime_copy;
}

struct msg *
msg_parse(const char *raw, size_t len)
{
	struct msg *m = xcalloc(1, sizeof *m);
	size_t hdr_end = 0;

	/* An mbox "From " line is not a header. */
	if (len >= 5 && memcmp(raw, "From ", 5) == 0) {
		const char *nl = memchr(raw, '\n', len);
		size_t skip = nl != NULL ? (size_t)(nl - raw) + 1 : len;

		raw += skip;
		len -= skip;
	}
	raw = cut_header(m, raw, &len);
	fields_read(m, raw, len, &hdr_end);
	if (count_content_types(raw, len) <= MSG_MAX_DEPTH) {
		size_t idx = 0, vlen = len;
		const char *view = mime_view(m, raw, hdr_end, &vlen);
		struct mailmime *mm = NULL;

		if (mailmime_parse(view, vlen, &idx, &mm) ==
		    MAILIMF_NO_ERROR && mm != NULL) {
			m->mime = mm;
			if (mm->mm_type == MAILMIME_MESSAGE &&
			    mm->mm_data.mm_message.mm_msg_mime != NULL)
				walk(m, &m->strs,
				    mm->mm_data.mm_message.mm_msg_mime, 0, 0);
		}
	}
	if (m->nparts == 0) {
		/* No tree (junk, or nested too deep): the body as text. */
		struct msg_part *p = part_add(m);
		const char *b = raw + hdr_end, *e = raw + len;

		if (b < e && *b == '\r')
			b++;
		if (b < e && *b == '\n')
			b++;
		p->type = keep(&m->strs, xstrdup("text/plain"));
		p->encoding = MAILMIME_MECHANISM_8BIT;
		p->body = b;
		p->bodylen = (size_t)(e - b);
	}
	return m;
}

size_t
msg_nparts(const struct msg *m)
{
	return m->nparts;
}

const struct msg_part *
msg_part(const struct msg *m, size_t i)
{
	return i < m->nparts ? &m->parts[i] : NULL;
}

/* ---- text ---- */

void
msg_part_text(const struct msg_part *p, size_t max, struct buf *out)
{
	size_t len = p->bodylen, idx = 0, declen = 0;
	char *dec = NULL;

	if (p->body == NULL)
		return;
	if (max != 0 && len > max)
		len = max;
	if ((p->encoding == MAILMIME_MECHANISM_BASE64 ||
	    p->encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE) &&
	    mailmime_part_parse(p->body, len, &idx, p->encoding, &dec,
	    &declen) == MAILIMF_NO_ERROR) {
		msg_to_utf8(p->charset, dec, declen, out);
		mailmime_decoded_part_free(dec);
		return;
	}
	msg_to_utf8(p->charset, p->body, len, out);
}

int
msg_main_text(const struct msg *m, size_t max, struct buf *out)
{
	const struct msg_part *html = NULL;

	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];

		if (p->enclosed || p->attachment)
			continue;
		if (strcmp(p->type, "text/plain") == 0) {
			msg_part_text(p, max, out);
			return 1;
		}
		if (html == NULL && strcmp(p->type, "text/html") == 0)
			html = p;
	}
	if (html != NULL) {
		struct buf h = { 0 };

		msg_part_text(html, max, &h);
		if (h.len > 0 && html_to_text(h.data, h.len, 0, out) == -1)
			add_utf8(out, h.data, h.len, 0);
		buf_free(&h);
		return 1;
	}
	return 0;
}

/* ---- addresses and ids ---- */

static int
atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c) !=
	    NULL;
}

int
msg_valid_addr(const char *s, size_t len)
{
	const char *at = NULL;

	if (len == 0 || len > 254)
		return 0;
	for (size_t i = len; i-- > 0;)
		if (s[i] == '@') {
			at = s + i;
			break;
		}
	if (at == NULL || at == s || at - s > 64)
		return 0;
	size_t llen = (size_t)(at - s);

	if (s[0] == '"') {
		if (llen < 2 || s[llen - 1] != '"')
			return 0;
		for (size_t i = 1; i + 1 < llen; i++)
			if ((unsigned char)s[i] < 0x20)
				return 0;
	} else {
		if (s[0] == '.' || s[llen - 1] == '.')
			return 0;
		for (size_t i = 0; i < llen; i++) {
			if (s[i] == '.' && s[i + 1] == '.')
				return 0;
			if (s[i] != '.' && !atext((unsigned char)s[i]))
				return 0;
		}
	}
	const char *d = at + 1, *e = s + len;
	int dots = 0;

	if (d == e || *d == '.' || *d == '-' || e[-1] == '.' || e[-1] == '-')
		return 0;
	for (const char *p = d; p < e; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (p[1] == '.' || p + 1 == e)
				return 0;
			dots++;
		} else if (!isalnum(c) && c != '-' && c < 0x80)
			return 0;
	}
	return dots > 0;
}

static void
vec_add(char ***v, size_t *n, char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0) {
			free(s);
			return;
		}
	*v = xrealloc(*v, (*n + 2) * sizeof **v);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* local@domain with the domain in lower case. */
static char *
addr_norm(const char *s, size_t len)
{
	char *a = xstrndup(s, len);
	char *at = strrchr(a, '@');

	for (char *p = at != NULL ? at : a + len; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return a;
}

static void
add_mailbox(char ***v, size_t *n, const struct mailimf_mailbox *mb)
{
	if (mb != NULL && mb->mb_addr_spec != NULL &&
	    strchr(mb->mb_addr_spec, '@') != NULL)
		vec_add(v, n, addr_norm(mb->mb_addr_spec,
		    strlen(mb->mb_addr_spec)));
}

/* Anything shaped local@domain in s, for values libetpan refuses. */
static void
scan_addrs(char ***v, size_t *n, const char *s)
{
	static const char stop[] = " \t<>()[],;:\"'";

	for (const char *at = strchr(s, '@'); at != NULL;
	    at = strchr(at + 1, '@')) {
		const char *b = at, *e = at + 1;

		while (b > s && strchr(stop, b[-1]) == NULL)
			b--;
		while (*e != '\0' && strchr(stop, *e) == NULL)
			e++;
		while (e > at + 1 && e[-1] == '.')
			e--;
		if (msg_valid_addr(b, (size_t)(e - b)))
			vec_add(v, n, addr_norm(b, (size_t)(e - b)));
	}
}

char **
msg_addrs(const char *value)
{
	char **v = xcalloc(1, sizeof *v);
	size_t n = 0, idx = 0;
	struct mailimf_address_list *al = NULL;

	if (value == NULL)
		return v;
	if (mailimf_address_list_parse(value, strlen(value), &idx, &al) ==
	    MAILIMF_NO_ERROR && al != NULL) {
		for (clistiter *c = clist_begin(al->ad_list); c != NULL;
		    c = clist_next(c)) {
			struct mailimf_address *a = clist_content(c);

			if (a->ad_type == MAILIMF_ADDRESS_MAILBOX)
				add_mailbox(&v, &n, a->ad_data.ad_mailbox);
			else if (a->ad_type == MAILIMF_ADDRESS_GROUP &&
			    a->ad_data.ad_group->grp_mb_list != NULL) {
				clist *l = a->ad_data.ad_group->grp_mb_list->
				    mb_list;

				for (clistiter *g = clist_begin(l); g != NULL;
				    g = clist_next(g))
					add_mailbox(&v, &n, clist_content(g));
			}
		}
		mailimf_address_list_free(al);
	}
	if (n == 0)
		scan_addrs(&v, &n, value);
	return v;
}

void
msg_addrs_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
msg_ids_free(char **v)
{
	msg_addrs_free(v);
}

char **
msg_ids(const char *value)
{
	char **v = xcalloc(1, sizeof *v);
	size_t n = 0;
	const char *p = value;

	if (value == NULL)
		return v;
	while ((p = strchr(p, '<')) != NULL) {
		const char *e = strchr(p + 1, '>');

		if (e == NULL)
			break;
		if (e > p + 1 && memchr(p + 1, '@', (size_t)(e - p - 1)))
			vec_add(&v, &n, xstrndup(p + 1, (size_t)(e - p - 1)));
		p = e + 1;
	}
	if (n == 0) {
		/* No brackets: white-space separated words with an @. */
		for (p = value; *p != '\0';) {
			while (*p == ' ' || *p == '\t')
				p++;
			const char *e = p;

			while (*e != '\0' && *e != ' ' && *e != '\t')
				e++;
			if (e > p && memchr(p, '@', (size_t)(e - p)))
				vec_add(&v, &n, xstrndup(p, (size_t)(e - p)));
			p = e;
		}
	}
	return v;
}
