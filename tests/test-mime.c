/*
 * Unit tests for mime: RFC 5322 headers and folding, RFC 2047
 * encoded-words (Swedish text, curly quotes, dashes, emoji), RFC 2045
 * quoted-printable and RFC 2046 multipart/alternative, header injection
 * through every entry point, fake boundaries, long lines, empty parts,
 * RFC 5322 dates. Every message built is checked on the wire (CRLF only,
 * lines of at most 998 octets, 7-bit) and, when python3 is there, read
 * back by Python's email package (tests/mime-check.py) and compared.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mime.h"
#include "tbtest.h"
#include "util.h"

static const char *python;	/* NULL: no round trip through Python */
static char *checker;		/* tests/mime-check.py */

/* ---- wire checks ---- */

struct wire {
	size_t	max_line;	/* longest line, CRLF not counted */
	size_t	max_head_line;	/* longest header line */
	size_t	head_len;	/* octets of the header section */
};

/*
 * Every line ends in CRLF, no line is over 998 octets, every octet is
 * 7-bit and not NUL, no CR or LF stands alone; the header section ends
 * at the first empty line. Every encoded-word in the header is at most
 * 75 characters.
 */
static struct wire
check_wire(const struct buf *msg)
{
	struct wire w = { 0, 0, 0 };
	size_t start = 0;
	int in_head = 1;

	ck_assert_msg(msg->len >= 2 && memcmp(msg->data + msg->len - 2,
	    "\r\n", 2) == 0, "message does not end in CRLF");
	for (size_t i = 0; i < msg->len; i++) {
		unsigned char c = (unsigned char)msg->data[i];

		ck_assert_msg(c != 0 && c < 0x80, "octet 0x%02x at %zu", c, i);
		if (c == '\r') {
			ck_assert_msg(i + 1 < msg->len &&
			    msg->data[i + 1] == '\n', "bare CR at %zu", i);
			continue;
		}
		if (c != '\n')
			continue;
		ck_assert_msg(i > 0 && msg->data[i - 1] == '\r',
		    "bare LF at %zu", i);
		size_t len = i - 1 - start;
		ck_assert_msg(len <= 998, "line of %zu octets at %zu", len,
		    start);
		if (len > w.max_line)
			w.max_line = len;
		if (in_head && len == 0) {
			in_head = 0;
			w.head_len = start;
		} else if (in_head && len > w.max_head_line)
			w.max_head_line = len;
		start = i + 1;
	}
	ck_assert_msg(!in_head, "no end of header");
	/* RFC 2047 2: encoded-words of at most 75 characters. */
	for (const char *p = msg->data; p < msg->data + w.head_len; p++) {
		if (p[0] != '=' || p[1] != '?')
			continue;
		const char *e = strstr(p + 10, "?=");
		ck_assert_ptr_nonnull(e);
		ck_assert_msg(e + 2 - p <= 75, "encoded-word of %d chars",
		    (int)(e + 2 - p));
		p = e + 1;
	}
	return w;
}

static int
hexv(int c)
{
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : c - '0';
}

static int
b64v(int c)
{
	const char *a =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(a, c);

	return p == NULL ? -1 : (int)(p - a);
}

/* Decodes the encoded-word [p, e) (=?UTF-8?Q|B?...?=) onto out. */
static void
ew_decode(const char *p, const char *e, struct buf *out)
{
	const char *s = p + 10, *end = e - 2;

	ck_assert_msg(e - p >= 12 && strncmp(p, "=?UTF-8?", 8) == 0 &&
	    (p[8] == 'Q' || p[8] == 'B') && p[9] == '?' &&
	    strncmp(end, "?=", 2) == 0, "bad encoded-word %.*s", (int)(e - p),
	    p);
	if (p[8] == 'Q') {
		for (; s < end; s++) {
			if (*s == '_')
				buf_addc(out, ' ');
			else if (*s == '=') {
				buf_addc(out, (char)(hexv(s[1]) << 4 |
				    hexv(s[2])));
				s += 2;
			} else
				buf_addc(out, *s);
		}
		return;
	}
	unsigned acc = 0;
	int bits = 0;

	for (; s < end && *s != '='; s++) {
		ck_assert_int_ge(b64v(*s), 0);
		acc = acc << 6 | (unsigned)b64v(*s);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)(acc >> bits));
		}
	}
}

/*
 * Each encoded-word on its own decodes to whole UTF-8 characters (no
 * word splits a sequence) and never to a control character.
 */
static void
check_encoded_words(const struct buf *msg, size_t head_len)
{
	const char *p = msg->data, *end = msg->data + head_len;

	while ((p = strstr(p, "=?UTF-8?")) != NULL && p < end) {
		const char *e = strstr(p + 10, "?=");
		struct buf dec = { 0 };

		ck_assert_ptr_nonnull(e);
		ew_decode(p, e + 2, &dec);
		ck_assert_msg(util_valid_utf8(dec.data ? dec.data : "",
		    dec.len), "encoded-word splits UTF-8: %.*s",
		    (int)(e + 2 - p), p);
		for (size_t i = 0; i < dec.len; i++)
			ck_assert_msg((unsigned char)dec.data[i] >= 0x20 ||
			    dec.data[i] == '\t', "control in encoded-word");
		buf_free(&dec);
		p = e + 2;
	}
}

/*
 * An independent RFC 2047 reader for what mime writes: the unfolded
 * value of header name (the first one), with encoded-words decoded and
 * the white space between adjacent encoded-words dropped (6.2). addr:
 * the value is a mailbox; return only its display name, unquoted.
 * Caller frees.
 */
static char *
decode_header(const struct buf *msg, const char *name, int addr)
{
	char *key = xasprintf("%s:", name);
	struct buf v = { 0 }, out = { 0 };
	const char *p = msg->data;
	size_t klen = strlen(key);
	int prev_ew = 0;

	while (strncasecmp(p, key, klen) != 0) {
		p = strstr(p, "\r\n");
		ck_assert_msg(p != NULL && p[2] != '\r', "no %s", key);
		p += 2;
	}
	p += klen;
	if (*p == ' ')
		p++;
	/* Unfold: a CRLF followed by white space goes. */
	for (; !(p[0] == '\r' && p[2] != ' ' && p[2] != '\t'); p++)
		if (*p != '\r' && *p != '\n')
			buf_addc(&v, *p);
	if (v.data == NULL)
		buf_addstr(&v, "");
	if (addr) {
		char *lt = strrchr(v.data, '<');

		ck_assert_ptr_nonnull(lt);
		v.len = (size_t)(lt - v.data);
		if (v.len > 0 && v.data[v.len - 1] == ' ')
			v.len--;
		v.data[v.len] = '\0';
		if (v.data[0] == '"') {
			for (size_t i = 1; i + 1 < v.len; i++) {
				if (v.data[i] == '\\')
					i++;
				buf_addc(&out, v.data[i]);
			}
			goto done;
		}
	}
	for (size_t i = 0; i < v.len;) {
		size_t ws = i, tok;

		while (i < v.len && (v.data[i] == ' ' || v.data[i] == '\t'))
			i++;
		tok = i;
		while (i < v.len && v.data[i] != ' ' && v.data[i] != '\t')
			i++;
		int ew = i - tok >= 12 && strncmp(v.data + tok, "=?", 2) == 0;
		if (!(ew && prev_ew) || tok == i)
			buf_add(&out, v.data + ws, tok - ws);
		if (ew)
			ew_decode(v.data + tok, v.data + i, &out);
		else
			buf_add(&out, v.data + tok, i - tok);
		prev_ew = ew;
	}
done:
	buf_free(&v);
	free(key);
	if (out.data == NULL)
		buf_addstr(&out, "");
	return buf_steal(&out);
}

/* ---- the Python round trip ---- */

/*
 * Runs mime-check.py on msg and returns its JSON (caller json_decrefs),
 * or NULL when python3 is not available. Any defect Python reports
 * fails the test.
 */
static json_t *
py_parse(const struct buf *msg)
{
	char *in = tbtest_path("msg.eml"), *outp = tbtest_path("msg.json");
	json_error_t jerr;
	json_t *j = NULL;
	int status, fd;
	pid_t pid;

	if (python == NULL)
		goto done;
	tbtest_write(in, msg->data, (long)msg->len);
	if ((pid = fork()) == 0) {
		fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || dup2(fd, 1) == -1)
			_exit(126);
		execl(python, python, checker, in, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "mime-check.py failed (status %d)", status);
	j = json_load_file(outp, JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(j != NULL, "mime-check.py output: %s", jerr.text);
	json_t *defects = json_object_get(j, "defects");
	ck_assert_msg(json_array_size(defects) == 0, "Python found defects: "
	    "%s", json_string_value(json_array_get(defects, 0)));
done:
	free(in);
	free(outp);
	return j;
}

/* The decoded value of header name as Python read it; NULL if absent. */
static const char *
py_header(json_t *j, const char *name)
{
	json_t *h = json_object_get(j, "headers");
	size_t i;
	json_t *kv;

	json_array_foreach(h, i, kv) {
		if (strcasecmp(json_string_value(json_array_get(kv, 0)),
		    name) == 0)
			return json_string_value(json_array_get(kv, 1));
	}
	return NULL;
}

/* The header names Python saw, comma-separated, for exact comparison. */
static char *
py_header_names(json_t *j)
{
	json_t *h = json_object_get(j, "headers");
	struct buf b = { 0 };
	size_t i;
	json_t *kv;

	json_array_foreach(h, i, kv) {
		if (b.len > 0)
			buf_addc(&b, ',');
		buf_addstr(&b, json_string_value(json_array_get(kv, 0)));
	}
	return buf_steal(&b);
}

static void
py_address(json_t *j, const char *lname, const char **dn, const char **a)
{
	json_t *list = json_object_get(json_object_get(j, "addresses"), lname);

	ck_assert_int_eq(json_array_size(list), 1);
	*dn = json_string_value(json_array_get(json_array_get(list, 0), 0));
	*a = json_string_value(json_array_get(json_array_get(list, 0), 1));
}

static const char *
py_part(json_t *j, size_t i, const char *field)
{
	json_t *p = json_array_get(json_object_get(j, "parts"), i);

	ck_assert_ptr_nonnull(p);
	return json_string_value(json_object_get(p, field));
}

/*
 * Input text as Python gives it back: LF for line ends (CRLF or LF).
 * Caller frees; *len_r counts NULs inside.
 */
static char *
lf_text(const char *s, size_t len, size_t *len_r)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		buf_addc(&b, s[i]);
	}
	if (len_r != NULL)
		*len_r = b.len;
	return buf_steal(&b);
}

/* Part i's decoded content equals want (len octets, NULs included). */
static void
py_part_is(json_t *j, size_t i, const char *want, size_t len)
{
	json_t *p = json_array_get(json_object_get(j, "parts"), i);
	json_t *c = json_object_get(p, "content");

	ck_assert_ptr_nonnull(c);
	ck_assert_msg(json_string_length(c) == len &&
	    memcmp(json_string_value(c), want, len) == 0,
	    "part %zu: '%s', want '%s'", i, json_string_value(c), want);
}

/*
 * s with every run of spaces made one: Python's phrase parser puts a
 * space between adjacent encoded-words where RFC 2047 6.2 drops the
 * white space, so a name split across encoded-words at a space comes
 * back from Python with two. Caller frees.
 */
static char *
squeeze(const char *s)
{
	struct buf b = { 0 };

	for (; *s != '\0'; s++)
		if (*s != ' ' || b.len == 0 || b.data[b.len - 1] != ' ')
			buf_addc(&b, *s);
	return buf_steal(&b);
}

/* s without spaces and tabs. Caller frees. */
static char *
nospace(const char *s)
{
	struct buf b = { 0 };

	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t')
			buf_addc(&b, *s);
	return buf_steal(&b);
}

static void
names_match(const char *got, const char *want)
{
	char *g = squeeze(got), *w = squeeze(want);

	/* A long word split inside: compare without the spaces added. */
	if (strchr(want, ' ') == NULL && strlen(want) > 60) {
		free(g);
		g = xstrdup(got);
		size_t o = 0;
		for (size_t i = 0; g[i] != '\0'; i++)
			if (g[i] != ' ')
				g[o++] = g[i];
		g[o] = '\0';
	}
	ck_assert_msg(strcmp(g, w) == 0, "display name '%s', want '%s'", got,
	    want);
	free(g);
	free(w);
}

/* ---- building ---- */

static void
must(int r, const struct error *err)
{
	ck_assert_msg(r == 0, "refused: %s", err->msg);
}

/* Date, From, To: what every test message has. */
static void
base_headers(struct mime *m)
{
	struct error err = { 0 };
	char date[MIME_DATE_LEN];

	mime_date(1700000000, date);
	must(mime_add_raw_header(m, "Date", date, &err), &err);
	must(mime_add_addr_header(m, "From", "Temabrev", "news@example.org",
	    &err), &err);
	must(mime_add_addr_header(m, "To", NULL, "anna@example.org", &err),
	    &err);
}

static void
finish(struct mime *m, struct buf *out)
{
	struct error err = { 0 };

	buf_reset(out);
	must(mime_finish(m, out, &err), &err);
}

/* ---- subjects ---- */

struct subject_case {
	const char	*subject;
	int		 encoded;	/* 1: must use encoded-words */
	const char	*python;	/* what a reader sees; NULL: subject */
};

static const struct subject_case subjects[] = {
	{ "Veckans nyheter", 0, NULL },
	{ "Räksmörgås på fredag", 1, NULL },
	{ "ÅÄÖ åäö", 1, NULL },
	{ "“Citat” – med tankstreck", 1, NULL },
	{ "Fest 🎉 i Göteborg 🎈", 1, NULL },
	{ "🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉", 1, NULL },
	/* Long: must fold, and every piece still decodes. */
	{ "Veckans nyheter från Göteborgs stadsbibliotek: räksmörgåsar, "
	    "“citat” och – tankstreck – i en rubrik som är mycket längre än "
	    "sjuttioåtta tecken och därför måste vikas flera gånger 🎉", 1,
	    NULL },
	{ "A long ASCII subject that has to be folded at spaces because it "
	    "is longer than seventy-eight columns, and then some more words "
	    "to be sure", 0, NULL },
	{ "åäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäö"
	    "åäöåäöåäöåäöåäöåäöåäö", 1, NULL },
	/* Looks like an encoded-word: must read literally. */
	{ "=?utf-8?q?fake?= ok", 1, NULL },
	{ "price=?", 1, NULL },
	{ "1+1=2? ja", 0, NULL },
	/* A word no line can hold is encoded so it folds. */
	{ "https://example.org/a/very/long/path/that/goes/on/for/more/than/"
	    "seventy-seven/chars?x=1 slut", 1, NULL },
	{ "a    b", 0, NULL },
	{ "tab\there", 0, NULL },
	{ "x                                        y", 1, NULL },
	{ "  leading", 0, "leading" },		/* readers drop it */
	{ "trailing  ", 0, NULL },
	{ "", 0, NULL },
	{ "ö", 1, NULL },
	{ "a ö b ö c", 1, NULL },
	{ "Special chars: (a) <b> \"c\" [d] ; e, f: g@h \\ ok?", 0, NULL },
	{ "Kvällens ämne: a_b=c?d", 1, NULL },
	{ "中文主题测试：日本語の件名もテストします、とても長い件名です。"
	    "これは折り返されなければなりません", 1, NULL },
};

START_TEST(test_subjects)
{
	const struct subject_case *c = &subjects[_i];
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct error err = { 0 };
	struct wire w;
	json_t *j;

	base_headers(m);
	must(mime_add_text_header(m, "Subject", c->subject, &err), &err);
	must(mime_set_alternative(m, "t", 1, "<p>h</p>", 8, &err), &err);
	finish(m, &out);
	w = check_wire(&out);
	check_encoded_words(&out, w.head_len);
	ck_assert_msg(w.max_head_line <= 78, "%s: header line of %zu",
	    c->subject, w.max_head_line);
	const char *subj = strstr(out.data, "\r\nSubject:");
	const char *subj_end = strstr(subj + 2, "\r\nMIME-Version");
	char *line = xstrndup(subj, (size_t)(subj_end - subj));
	int enc = strstr(line, "=?UTF-8?") != NULL;

	free(line);
	ck_assert_msg(enc == c->encoded, "%s: encoded %d", c->subject, enc);
	/* An RFC 2047 reader gets the exact text back. */
	line = decode_header(&out, "Subject", 0);
	ck_assert_str_eq(line, c->subject);
	free(line);
	if ((j = py_parse(&out)) != NULL) {
		const char *want = c->python ? c->python : c->subject;

		ck_assert_str_eq(py_header(j, "Subject"), want);
		json_decref(j);
	}
	buf_free(&out);
	mime_free(m);
}
END_TEST

/* ---- display names ---- */

struct name_case {
	const char	*name;
	const char	*raw;		/* expected header line; NULL: skip */
	const char	*python;	/* display name read back; NULL: name */
};

static const struct name_case names[] = {
	{ "Anna Svensson", "To: Anna Svensson <anna@example.org>", NULL },
	{ NULL, "To: <anna@example.org>", "" },
	{ "", "To: <anna@example.org>", "" },
	{ "Svensson, Anna", "To: \"Svensson, Anna\" <anna@example.org>", NULL },
	{ "Anna \"Kalla\" Svensson",
	    "To: \"Anna \\\"Kalla\\\" Svensson\" <anna@example.org>", NULL },
	{ "back\\slash", "To: \"back\\\\slash\" <anna@example.org>", NULL },
	{ "Dr. Anna", "To: \"Dr. Anna\" <anna@example.org>", NULL },
	{ "Åsa Öberg", NULL, NULL },
	{ "Åsa Öberg-Ärlig", NULL, NULL },
	{ "Zoë “Zo” Lindqvist – MSI", NULL, NULL },
	{ "Anna 🎉", NULL, NULL },
	{ "=?utf-8?q?Bo?=", NULL, NULL },
	{ "Anna  two  spaces", NULL, NULL },
	/* Python reads a TAB in a phrase as a space. */
	{ "Tab\tName", NULL, "Tab Name" },
	{ "Dr. Åsa Öberg", NULL, NULL },
	{ "Åsa Öberg-Ärlig, MSI (Göteborg)", NULL, NULL },
	/*
	 * One word longer than an encoded-word must be split inside; Python
	 * then reads the pieces as words, adding spaces: see names_match.
	 */
	{ "ÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖÅÄÖ", NULL, NULL },
	{ "A very long display name of many words that cannot fit on one "
	    "line of seventy-eight columns at all", NULL, NULL },
	{ "Väldigt långt visningsnamn med många svenska ord som inte får "
	    "plats på en rad av sjuttioåtta kolumner över huvud taget", NULL,
	    NULL },
	{ "(comment)", "To: \"(comment)\" <anna@example.org>", NULL },
	{ "<x@evil.example>", NULL, NULL },
	{ "a@b.c, evil@example.org", NULL, NULL },
};

START_TEST(test_names)
{
	const struct name_case *c = &names[_i];
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct error err = { 0 };
	char date[MIME_DATE_LEN];
	const char *dn, *addr;
	struct wire w;
	json_t *j;

	mime_date(0, date);
	must(mime_add_raw_header(m, "Date", date, &err), &err);
	must(mime_add_addr_header(m, "From", c->name, "news@example.org",
	    &err), &err);
	must(mime_add_addr_header(m, "To", c->name, "anna@example.org", &err),
	    &err);
	must(mime_set_text(m, "x\n", 2, &err), &err);
	finish(m, &out);
	w = check_wire(&out);
	check_encoded_words(&out, w.head_len);
	ck_assert_msg(w.max_head_line <= 78, "header line of %zu",
	    w.max_head_line);
	char *mine = decode_header(&out, "To", 1);
	ck_assert_str_eq(mine, c->name != NULL ? c->name : "");
	free(mine);
	if (c->raw != NULL) {
		char *want = xasprintf("\r\n%s\r\n", c->raw);

		ck_assert_msg(strstr(out.data, want) != NULL, "want %s in %s",
		    c->raw, out.data);
		free(want);
	}
	if ((j = py_parse(&out)) != NULL) {
		const char *want = c->python ? c->python : c->name;

		py_address(j, "to", &dn, &addr);
		names_match(dn, want);
		ck_assert_str_eq(addr, "anna@example.org");
		py_address(j, "from", &dn, &addr);
		names_match(dn, want);
		ck_assert_str_eq(addr, "news@example.org");
		json_decref(j);
	}
	buf_free(&out);
	mime_free(m);
}
END_TEST

/* ---- injection and refusals ---- */

enum entry { TEXT, ADDR_NAME, ADDR, RAW };

struct refusal {
	enum entry	 entry;
	const char	*name;
	const char	*value;		/* text, display name, addr or raw */
	int		 code;
	const char	*why;		/* a word the message must contain */
};

static const struct refusal refusals[] = {
	/* Header names. */
	{ TEXT, "Bcc: victim@example.org\r\nX", "v", EX_DATAERR, "ftext" },
	{ TEXT, "X Foo", "v", EX_DATAERR, "ftext" },
	{ TEXT, "X:Foo", "v", EX_DATAERR, "ftext" },
	{ TEXT, "Subject\n", "v", EX_DATAERR, "ftext" },
	{ TEXT, "", "v", EX_DATAERR, "1-76" },
	{ TEXT, "Ämne", "v", EX_DATAERR, "ftext" },
	{ RAW, "X-\x7f", "v", EX_DATAERR, "ftext" },
	{ ADDR, "To\r\nBcc", "a@example.org", EX_DATAERR, "ftext" },
	{ TEXT, "X-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaa", "v", EX_DATAERR, "1-76" },
	/* Written by mime_finish; once-only fields. */
	{ RAW, "Content-Type", "text/html", EX_SOFTWARE, "mime_finish" },
	{ RAW, "content-transfer-encoding", "8bit", EX_SOFTWARE,
	    "mime_finish" },
	{ RAW, "MIME-Version", "1.0", EX_SOFTWARE, "mime_finish" },
	{ RAW, "Date", "Mon, 01 Jan 2024 00:00:00 +0000", EX_SOFTWARE,
	    "once" },
	{ ADDR, "FROM", "x@example.org", EX_SOFTWARE, "once" },
	/* Subjects (unstructured text). */
	{ TEXT, "Subject", "Hi\r\nBcc: victim@example.org", EX_DATAERR,
	    "CR/LF" },
	{ TEXT, "Subject", "Hi\nBcc: victim@example.org", EX_DATAERR,
	    "Subject" },
	{ TEXT, "Subject", "Hi\rBcc: victim@example.org", EX_DATAERR,
	    "control" },
	{ TEXT, "Subject", "Hi\r\n\r\n<html>", EX_DATAERR, "control" },
	{ TEXT, "Subject", "esc \x1b[31m", EX_DATAERR, "control" },
	{ TEXT, "Subject", "del \x7f", EX_DATAERR, "control" },
	{ TEXT, "Subject", "nel \xc2\x85 x", EX_DATAERR, "control" },
	{ TEXT, "Subject", "ls \xe2\x80\xa8 x", EX_DATAERR, "control" },
	{ TEXT, "Subject", "ps \xe2\x80\xa9 x", EX_DATAERR, "control" },
	{ TEXT, "Subject", "bad \xff utf", EX_DATAERR, "UTF-8" },
	{ TEXT, "Subject", "overlong \xc0\xaf", EX_DATAERR, "UTF-8" },
	{ TEXT, "Subject", "cut \xc3", EX_DATAERR, "UTF-8" },
	{ TEXT, "X-Feed-Title", "a\vb", EX_DATAERR, "X-Feed-Title" },
	/* Display names. */
	{ ADDR_NAME, "Reply-To", "Anna\r\nBcc: victim@example.org", EX_DATAERR,
	    "display name" },
	{ ADDR_NAME, "Reply-To", "Anna\n", EX_DATAERR, "control" },
	{ ADDR_NAME, "Reply-To", "\xc2\x85", EX_DATAERR, "Reply-To" },
	{ ADDR_NAME, "Reply-To", "\xfe\xff", EX_DATAERR, "UTF-8" },
	/* Addresses. */
	{ ADDR, "Reply-To", "anna@example.org\r\nBcc: victim@example.org",
	    EX_DATAERR, "control" },
	{ ADDR, "Reply-To", "anna@example.org>, victim@example.org", EX_DATAERR,
	    "local@domain" },
	{ ADDR, "Reply-To", "anna@example.org>, victim", EX_DATAERR,
	    "not allowed" },
	{ ADDR, "Reply-To", "<anna@example.org>", EX_DATAERR, "not allowed" },
	{ ADDR, "Reply-To", "anna svensson@example.org", EX_DATAERR, "not allowed" },
	{ ADDR, "Reply-To", "anna,bo@example.org", EX_DATAERR, "not allowed" },
	{ ADDR, "Reply-To", "\"anna\"@example.org", EX_DATAERR, "not allowed" },
	{ ADDR, "Reply-To", "anna@exa(mple).org", EX_DATAERR, "not allowed" },
	{ ADDR, "Reply-To", "åsa@example.org", EX_DATAERR, "non-ASCII" },
	{ ADDR, "Reply-To", "kalle@räksmörgås.se", EX_DATAERR, "non-ASCII" },
	{ ADDR, "Reply-To", "anna@b@example.org", EX_DATAERR, "local@domain" },
	{ ADDR, "Reply-To", "anna.example.org", EX_DATAERR, "local@domain" },
	{ ADDR, "Reply-To", "@example.org", EX_DATAERR, "local@domain" },
	{ ADDR, "Reply-To", "anna@", EX_DATAERR, "local@domain" },
	{ ADDR, "Reply-To", "", EX_DATAERR, "1-254" },
	{ ADDR, "Reply-To", "anna@ex_ample.org", EX_DATAERR, "not allowed" },
	{ ADDR, "Reply-To", "anna\t@example.org", EX_DATAERR, "not allowed" },
	/* Raw (structured) values. */
	{ RAW, "Message-ID", "<a@example.org>\r\nBcc: victim@example.org",
	    EX_DATAERR, "Message-ID" },
	{ RAW, "List-Id", "x\ny", EX_DATAERR, "control" },
	{ RAW, "List-Unsubscribe", "<https://example.org/\x01>", EX_DATAERR,
	    "control" },
	{ RAW, "List-Id", "Nyheter <å.example.org>", EX_DATAERR, "non-ASCII" },
	{ RAW, "List-Id", "", EX_DATAERR, "empty" },
};

static int
call(struct mime *m, const struct refusal *c, struct error *err)
{
	switch (c->entry) {
	case TEXT:
		return mime_add_text_header(m, c->name, c->value, err);
	case ADDR_NAME:
		return mime_add_addr_header(m, c->name, c->value,
		    "anna@example.org", err);
	case ADDR:
		return mime_add_addr_header(m, c->name, "Anna", c->value, err);
	case RAW:
		return mime_add_raw_header(m, c->name, c->value, err);
	}
	return 0;
}

/*
 * Each attempt is refused with its code and a message naming the fault;
 * the message built afterwards has exactly the headers it had before.
 */
START_TEST(test_refusals)
{
	const struct refusal *c = &refusals[_i];
	struct mime *m = mime_new();
	struct buf out = { 0 }, before = { 0 };
	struct error err = { 0 };
	json_t *j;

	base_headers(m);
	must(mime_set_text(m, "body\n", 5, &err), &err);
	finish(m, &before);
	ck_assert_msg(call(m, c, &err) == -1, "accepted %s: %s", c->name,
	    c->value);
	ck_assert_int_eq(err.code, c->code);
	ck_assert_msg(strstr(err.msg, c->why) != NULL, "%s: '%s' lacks '%s'",
	    c->value, err.msg, c->why);
	/* The message names the header (or the bad name, made printable). */
	ck_assert_msg(strstr(err.msg, "header") != NULL, "%s", err.msg);
	finish(m, &out);
	ck_assert_str_eq(out.data, before.data);
	check_wire(&out);
	if ((j = py_parse(&out)) != NULL) {
		char *seen = py_header_names(j);

		ck_assert_str_eq(seen, "Date,From,To,MIME-Version,"
		    "Content-Type,Content-Transfer-Encoding");
		free(seen);
		json_decref(j);
	}
	buf_free(&out);
	buf_free(&before);
	mime_free(m);
}
END_TEST

/* An error message never echoes control characters. */
START_TEST(test_error_printable)
{
	struct mime *m = mime_new();
	struct error err = { 0 };

	ck_assert_int_eq(mime_add_text_header(m, "X\r\nBcc: v@e.org\x1b[2J",
	    "v", &err), -1);
	for (const char *p = err.msg; *p != '\0'; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f, "control in '%s'", err.msg);
	mime_free(m);
}
END_TEST

/* ---- generated headers ---- */

static const char *const vocab[] = {
	"Veckans", "nyheter", "från", "Göteborg", "räksmörgås", "“citat”",
	"–", "🎉", "ÅÄÖ", "a", "=?x?=", "Dr.", "(kommentar)", "\"quoted\"",
	"Svensson,", "ö", "中文", "Ωμέγα", "x_y", "a=b", "?", "<b>", "\\",
	"https://example.org/a/very/long/path/that/keeps/going/past/seventy-"
	    "seven/characters", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	"ååååååååååååååååååååååååååååååååååååå", "🎈🎈🎈🎈🎈🎈🎈🎈🎈🎈🎈🎈🎈🎈🎈🎈🎈",
	"stadsbiblioteket", "och", "i", "på",
};
static const char *const seps[] = { " ", " ", " ", " ", "  ", "\t",
	"                    " };

/* A deterministic pseudo-random text of 1-24 words. */
static char *
gen_text(unsigned *seed)
{
	struct buf b = { 0 };
	int n;

	*seed = *seed * 1103515245u + 12345u;
	n = 1 + (int)(*seed >> 16) % 24;
	for (int i = 0; i < n; i++) {
		if (i > 0) {
			*seed = *seed * 1103515245u + 12345u;
			buf_addstr(&b, seps[(*seed >> 16) % (sizeof seps /
			    sizeof *seps)]);
		}
		*seed = *seed * 1103515245u + 12345u;
		buf_addstr(&b, vocab[(*seed >> 16) % (sizeof vocab /
		    sizeof *vocab)]);
	}
	return buf_steal(&b);
}

/*
 * 400 generated subjects in 20 messages of 20 headers each: every one
 * folds within 78 columns and reads back exactly, in our RFC 2047
 * reader and in Python's.
 */
START_TEST(test_generated_text)
{
	unsigned seed = 2024 + (unsigned)_i;
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct error err = { 0 };
	char *texts[20], hname[16];
	struct wire w;
	json_t *j;

	base_headers(m);
	for (int i = 0; i < 20; i++) {
		texts[i] = gen_text(&seed);
		snprintf(hname, sizeof hname, "X-T%d", i);
		must(mime_add_text_header(m, hname, texts[i], &err), &err);
	}
	must(mime_set_text(m, "x", 1, &err), &err);
	finish(m, &out);
	w = check_wire(&out);
	check_encoded_words(&out, w.head_len);
	ck_assert_int_le(w.max_head_line, 78);
	j = py_parse(&out);
	for (int i = 0; i < 20; i++) {
		snprintf(hname, sizeof hname, "X-T%d", i);
		char *mine = decode_header(&out, hname, 0);
		ck_assert_str_eq(mine, texts[i]);
		free(mine);
		if (j != NULL)
			ck_assert_str_eq(py_header(j, hname), texts[i]);
		free(texts[i]);
	}
	json_decref(j);
	buf_free(&out);
	mime_free(m);
}
END_TEST

/*
 * Generated display names (at most 200 octets, like addr's limit) in
 * the five address headers of a message: exact in our reader; Python
 * reads each encoded-word of a phrase as a word (see names_match), so
 * its view is compared without white space.
 */
START_TEST(test_generated_names)
{
	static const char *const hdrs[] = { "From", "To", "Reply-To", "Cc",
	    "Sender" };
	unsigned seed = 77 + (unsigned)_i;
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct error err = { 0 };
	char date[MIME_DATE_LEN], *names_[5];
	struct wire w;
	json_t *j;

	mime_date(0, date);
	must(mime_add_raw_header(m, "Date", date, &err), &err);
	for (int i = 0; i < 5; i++) {
		names_[i] = gen_text(&seed);
		if (strlen(names_[i]) > 200)
			names_[i][200] = '\0';
		while (!util_valid_utf8(names_[i], strlen(names_[i])))
			names_[i][strlen(names_[i]) - 1] = '\0';
		must(mime_add_addr_header(m, hdrs[i], names_[i],
		    "anna@example.org", &err), &err);
	}
	must(mime_set_text(m, "x", 1, &err), &err);
	finish(m, &out);
	w = check_wire(&out);
	check_encoded_words(&out, w.head_len);
	j = py_parse(&out);
	for (int i = 0; i < 5; i++) {
		char *mine = decode_header(&out, hdrs[i], 1);

		ck_assert_str_eq(mine, names_[i]);
		free(mine);
		if (j != NULL) {
			char lname[16];
			const char *dn, *addr;
			size_t k;

			for (k = 0; hdrs[i][k] != '\0'; k++)
				lname[k] = (char)(hdrs[i][k] | 0x20);
			lname[k] = '\0';
			py_address(j, lname, &dn, &addr);
			char *a = nospace(dn), *b = nospace(names_[i]);
			ck_assert_str_eq(a, b);
			ck_assert_str_eq(addr, "anna@example.org");
			free(a);
			free(b);
		}
		free(names_[i]);
	}
	json_decref(j);
	buf_free(&out);
	mime_free(m);
}
END_TEST

/* ---- raw headers ---- */

START_TEST(test_raw_headers)
{
	static const char *const raw[][2] = {
		{ "Message-ID", "<aeaqcaibaeaqcaibaeaqcaibaeaqcaibaea@list."
		    "example.org>" },
		{ "List-Id", "Veckans nyheter <nyheter.list.example.org>" },
		{ "List-Unsubscribe", "<https://list.example.org/u/aeaqcaibae"
		    "aqcaibaeaqcaibaea>, <mailto:unsubscribe+aeaqcaibaeaqcaiba"
		    "eaqcaibaea@list.example.org>" },
		{ "List-Unsubscribe-Post", "List-Unsubscribe=One-Click" },
		{ "X-Tab", "a\tb" },
		{ "References", "<a@example.org> <b@example.org> <c@example.org>"
		    " <d@example.org> <e@example.org> <f@example.org>" },
	};
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct error err = { 0 };
	struct wire w;
	json_t *j;

	base_headers(m);
	for (size_t i = 0; i < sizeof raw / sizeof *raw; i++)
		must(mime_add_raw_header(m, raw[i][0], raw[i][1], &err), &err);
	must(mime_set_alternative(m, "", 0, "", 0, &err), &err);
	finish(m, &out);
	w = check_wire(&out);
	/* The List-Unsubscribe URL is one word of 80: its line may pass 78. */
	ck_assert_int_le(w.max_head_line, 100);
	ck_assert_ptr_nonnull(strstr(out.data, "\r\nMessage-ID: <aeaqcaibae"
	    "aqcaibaeaqcaibaeaqcaibaea@list.example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, ">,\r\n <mailto:"));
	if ((j = py_parse(&out)) != NULL) {
		for (size_t i = 0; i < sizeof raw / sizeof *raw; i++)
			ck_assert_str_eq(py_header(j, raw[i][0]), raw[i][1]);
		json_decref(j);
	}
	buf_free(&out);
	mime_free(m);
}
END_TEST

/* A word too long for any line is refused, and nothing is left behind. */
START_TEST(test_raw_too_long)
{
	struct mime *m = mime_new();
	struct buf out = { 0 }, before = { 0 };
	struct error err = { 0 };
	char *word = xmalloc(1200);

	base_headers(m);
	must(mime_set_text(m, "", 0, &err), &err);
	finish(m, &before);
	memset(word, 'a', 1199);
	word[1199] = '\0';
	ck_assert_int_eq(mime_add_raw_header(m, "X-Long", word, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "998"));
	/* 990 octets fit a folded line of their own. */
	word[0] = ' ';
	word[991] = '\0';
	ck_assert_int_eq(mime_add_raw_header(m, "X-Long", "x", &err), 0);
	ck_assert_int_eq(mime_add_raw_header(m, "X-Long", word, &err), 0);
	finish(m, &out);
	check_wire(&out);
	ck_assert_int_gt(out.len, before.len);
	free(word);
	buf_free(&out);
	buf_free(&before);
	mime_free(m);
}
END_TEST

/* ---- bodies ---- */

struct body_case {
	const char	*text;
	size_t		 len;
	const char	*html;
	size_t		 hlen;
};

/* A string literal and its length, NULs inside included. */
#define S(x) x, sizeof x - 1

static char fake_boundary_text[] =
    "Före\n--=_temabrev_alt_0\nContent-Type: text/html\n\n<script>x</script>"
    "\n--=_temabrev_alt_0--\nEfter\n";
static char fake_boundary_html[] =
    "<p>--=_temabrev_alt_0</p>\r\n--=_temabrev_alt_0--\r\n"
    "--=_temabrev_alt_0\r\n";

START_TEST(test_bodies)
{
	char *long998 = xmalloc(6000), *longutf = xmalloc(9000);
	struct body_case cases[] = {
		{ S("Hej!\n"), S("<p>Hej!</p>\n") },
		{ S(""), S("") },
		{ S(""), S("<p>bara html</p>") },
		{ S("bara text"), S("") },
		{ fake_boundary_text, sizeof fake_boundary_text - 1,
		    fake_boundary_html, sizeof fake_boundary_html - 1 },
		{ S("a=b =3D =_ =?x?= ==\n"), S("=_=_=_") },
		{ S(".\n.\r\n..\nFrom me\nFrom\nfrom x\n"), S(".") },
		{ S("trailing space \ntrailing tab\t\n  \n\t"), S("x  ") },
		{ S("bare\rcr\r\r\nend\r"), S("\r\n\r\n") },
		{ S("nul\0byte and \x01\x7f"), S("å") },
		{ S("åäö “citat” – 🎉\n"), S("<p>åäö</p>") },
		{ long998, 998, long998, 998 },
		{ long998, 5000, long998, 5000 },
		{ longutf, 0, longutf, 0 },
	};
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct error err = { 0 };

	/* A 998-octet line of HTML, then a 5000-octet one. */
	memset(long998, 'x', 6000);
	memcpy(long998, "<p>", 3);
	for (size_t i = 50; i < 6000; i += 97)
		long998[i] = ' ';
	/* Multi-octet characters across every soft-break position. */
	struct buf u = { 0 };
	for (int i = 0; u.len + 10 < 9000; i++)
		buf_addstr(&u, i % 3 == 0 ? "å" : i % 3 == 1 ? "🎉" : "a–");
	memcpy(longutf, u.data, u.len);
	cases[13].len = cases[13].hlen = u.len;
	buf_free(&u);
	ck_assert_ptr_nonnull(memchr(fake_boundary_text, '\n', 10));
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct body_case *c = &cases[i];
		struct wire w;
		json_t *j;

		mime_reset(m);
		base_headers(m);
		must(mime_set_alternative(m, c->text, c->len, c->html, c->hlen,
		    &err), &err);
		finish(m, &out);
		w = check_wire(&out);
		/* RFC 2045 6.7: encoded lines of at most 76 characters. */
		ck_assert_int_le(w.max_line, 76);
		/* The boundary occurs exactly three times. */
		int n = 0;
		for (const char *p = out.data; (p = strstr(p,
		    "\r\n--=_temabrev_alt_0")) != NULL; p++)
			n++;
		ck_assert_int_eq(n, 3);
		if ((j = py_parse(&out)) == NULL)
			continue;
		size_t tl, hl;
		char *t = lf_text(c->text, c->len, &tl);
		char *h = lf_text(c->html, c->hlen, &hl);

		ck_assert_str_eq(json_string_value(json_object_get(j,
		    "content_type")), "multipart/alternative");
		ck_assert_int_eq(json_array_size(json_object_get(j, "parts")),
		    2);
		ck_assert_str_eq(py_part(j, 0, "type"), "text/plain");
		ck_assert_str_eq(py_part(j, 1, "type"), "text/html");
		ck_assert_str_eq(py_part(j, 0, "charset"), "utf-8");
		ck_assert_str_eq(py_part(j, 1, "cte"), "quoted-printable");
		py_part_is(j, 0, t, tl);
		py_part_is(j, 1, h, hl);
		free(t);
		free(h);
		json_decref(j);
	}
	free(long998);
	free(longutf);
	buf_free(&out);
	mime_free(m);
}
END_TEST

/* Exact quoted-printable output for the rules RFC 2045 6.7 sets. */
struct qp_case {
	const char	*in;
	const char	*out;	/* the body of a text-only message */
};

static const struct qp_case qps[] = {
	{ "a=b\n", "a=3Db\r\n" },
	{ "no newline", "no newline=\r\n" },
	{ "trailing  \n", "trailing =20\r\n" },
	{ "tab\t\n", "tab=09\r\n" },
	{ "end ", "end=20=\r\n" },
	{ ".dot\n", "=2Edot\r\n" },
	{ "a\n.\n", "a\r\n=2E\r\n" },
	{ "From me\nFromage\n", "=46rom me\r\nFromage\r\n" },
	{ "åä\n", "=C3=A5=C3=A4\r\n" },
	{ "cr\rlf\r\n", "cr=0Dlf\r\n" },
	{ "\n\n", "\r\n\r\n" },
	{ "~!\"#$%&'()*+,-./:;<>?@[\\]^_`{|}\n",
	    "~!\"#$%&'()*+,-./:;<>?@[\\]^_`{|}\r\n" },
	/* 80 x 'a': a soft break after 75. */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaa\n",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa=\r\naaaaa\r\n" },
	/* 74 x 'a' then 'å': the character moves whole to the next line. */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaå\n",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaa=\r\n=C3=A5\r\n" },
	/* 75 x 'a' then ".": the '.' starting a line is encoded. */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa.x",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa=\r\n=2Ex=\r\n" },
	/* 60 x 'a', for the cases at a line's edge. */
#define A60 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	/*
	 * The fast path for runs of plain ASCII (eight octets at a time from
	 * the second octet of a line, then by table) at its edges.
	 */
	/* A line of exactly 75: no soft break; of exactly 76: one. */
	{ A60 "aaaaaaaaaaaaaaa\n", A60 "aaaaaaaaaaaaaaa\r\n" },
	{ A60 "aaaaaaaaaaaaaaab\n", A60 "aaaaaaaaaaaaaaa=\r\nb\r\n" },
	/* 74 then a space ending the line: "=20" moves to the next. */
	{ A60 "aaaaaaaaaaaaaa \n", A60 "aaaaaaaaaaaaaa=\r\n=20\r\n" },
	/* '=' first and last in a word; a space last in a word. */
	{ "abcdefg=ijklmnopq=\n", "abcdefg=3Dijklmnopq=3D\r\n" },
	{ "abcdefgh=j\n", "abcdefgh=3Dj\r\n" },
	{ "abcdefgh \n", "abcdefgh=20\r\n" },
	{ "abcdefgh x\n", "abcdefgh x\r\n" },
	{ "abcdefgh \r\nx", "abcdefgh=20\r\nx=\r\n" },
	{ "abcdefghijklmno  \n", "abcdefghijklmno =20\r\n" },
	{ "abcdefghijklmnop\t\tq\n", "abcdefghijklmnop\t\tq\r\n" },
	{ "abcdefghijklmnop\t\t\n", "abcdefghijklmnop\t=09\r\n" },
	{ "abcdefgh", "abcdefgh=\r\n" },
	{ "abcdefgh ", "abcdefgh=20=\r\n" },
	/* A UTF-8 character across a word, and at the end of a line. */
	{ "abcdefghåbcdefghij\n", "abcdefgh=C3=A5bcdefghij\r\n" },
	{ A60 "aaaaaaaaaå\n", A60 "aaaaaaaaa=C3=A5\r\n" },
	{ A60 "aaaaaaaaaaåb\n", A60 "aaaaaaaaaa=\r\n=C3=A5b\r\n" },
	{ A60 "aaa🎉\n", A60 "aaa=F0=9F=8E=89\r\n" },
	{ A60 "aaaa🎉\n", A60 "aaaa=\r\n=F0=9F=8E=89\r\n" },
	/* A full line then "From " and '.' at the start of the next. */
	{ A60 "aaaaaaaaaaaaaaaFrom x\n", A60 "aaaaaaaaaaaaaaa=\r\n=46rom x\r\n" },
	{ A60 "aaaaaaaaaaaaaaa.\n", A60 "aaaaaaaaaaaaaaa=\r\n=2E\r\n" },
	/* Controls and DEL inside a run. */
	{ "abcdefghi\x01j\x7fk\n", "abcdefghi=01j=7Fk\r\n" },
	{ "", "" },
#undef A60
};

START_TEST(test_qp)
{
	const struct qp_case *c = &qps[_i];
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct error err = { 0 };
	json_t *j;

	base_headers(m);
	must(mime_set_text(m, c->in, strlen(c->in), &err), &err);
	finish(m, &out);
	check_wire(&out);
	ck_assert_ptr_nonnull(strstr(out.data, "\r\nContent-Type: text/plain;"
	    " charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable"
	    "\r\n\r\n"));
	const char *body = strstr(out.data, "\r\n\r\n") + 4;
	ck_assert_str_eq(body, c->out);
	if ((j = py_parse(&out)) != NULL) {
		size_t wl;
		char *want = lf_text(c->in, strlen(c->in), &wl);

		py_part_is(j, 0, want, wl);
		free(want);
		json_decref(j);
	}
	buf_free(&out);
	mime_free(m);
}
END_TEST

/* Pieces of generated bodies: runs of every length around 8 and 75. */
static const char *const qp_pieces[] = {
	"a", "abcdefg", "abcdefgh", "abcdefghi", " ", "  ", "\t", "=", ".",
	"From ", "F", "å", "€", "🎉", "\n", "\r\n", "\r", "\x7f", "x y z",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa",
	"<a href=\"https://example.org/\">länk</a>",
};

/*
 * Generated bodies, encoded and read back by the rules themselves: every
 * line at most 76 octets (the soft break's '=' included), only printable
 * ASCII, no literal space or tab before a line end, no literal '.' or
 * "From " opening a line, every line decoding to whole UTF-8 characters,
 * and the decoded text equal to the input with its LF line ends as CRLF.
 */
START_TEST(test_qp_generated)
{
	unsigned seed = 7 + (unsigned)_i;
	struct mime *m = mime_new();
	struct buf in = { 0 }, want = { 0 }, got = { 0 }, ln = { 0 };
	struct buf out = { 0 };
	struct error err = { 0 };
	const char *body, *p, *e;
	int n;

	seed = seed * 1103515245u + 12345u;
	n = 1 + (int)(seed >> 16) % 400;
	for (int i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		buf_addstr(&in, qp_pieces[(seed >> 16) % (sizeof qp_pieces /
		    sizeof qp_pieces[0])]);
	}
	for (size_t i = 0; i < in.len; i++) {
		if (in.data[i] == '\n' && (i == 0 || in.data[i - 1] != '\r'))
			buf_addc(&want, '\r');
		buf_addc(&want, in.data[i]);
	}
	base_headers(m);
	must(mime_set_text(m, in.data, in.len, &err), &err);
	finish(m, &out);
	check_wire(&out);
	body = strstr(out.data, "\r\n\r\n") + 4;
	for (p = body; *p != '\0'; p = e + 2) {
		size_t len;
		int soft;

		e = strstr(p, "\r\n");
		ck_assert_ptr_nonnull(e);
		len = (size_t)(e - p);
		soft = len > 0 && p[len - 1] == '=';
		ck_assert_msg(len <= 76, "line of %zu: %.*s", len, (int)len, p);
		if (len > 0) {
			ck_assert_msg(p[len - 1] != ' ' && p[len - 1] != '\t',
			    "white space ends a line: %.*s", (int)len, p);
			ck_assert_msg(p[0] != '.' && strncmp(p, "From ", 5) != 0,
			    "line opens with '.' or From: %.*s", (int)len, p);
		}
		buf_reset(&ln);
		for (size_t i = 0; i < len - (size_t)soft; i++) {
			ck_assert_msg(p[i] == '\t' || (p[i] >= ' ' && p[i] < 127),
			    "octet 0x%02x", (unsigned char)p[i]);
			if (p[i] != '=') {
				buf_addc(&ln, p[i]);
				continue;
			}
			ck_assert(i + 2 < len && isxdigit((unsigned char)p[i + 1])
			    && isxdigit((unsigned char)p[i + 2]));
			buf_addc(&ln, (char)(hexv(p[i + 1]) * 16 +
			    hexv(p[i + 2])));
			i += 2;
		}
		ck_assert_msg(util_valid_utf8(ln.data ? ln.data : "", ln.len),
		    "a character split across lines: %.*s", (int)len, p);
		buf_add(&got, ln.data ? ln.data : "", ln.len);
		if (!soft)
			buf_add(&got, "\r\n", 2);
	}
	/* (A text without a final line end ends in a soft break.) */
	ck_assert_uint_eq(got.len, want.len);
	ck_assert(memcmp(got.data, want.data, want.len) == 0);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
	buf_free(&ln);
	buf_free(&out);
	mime_free(m);
}
END_TEST

START_TEST(test_bad_bodies)
{
	struct mime *m = mime_new();
	struct error err = { 0 };

	base_headers(m);
	ck_assert_int_eq(mime_set_alternative(m, "\xff", 1, "", 0, &err), -1);
	ck_assert_int_eq(err.code, EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err.msg, "text part"));
	ck_assert_int_eq(mime_set_alternative(m, "", 0, "a\xc3", 2, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "HTML part"));
	ck_assert_int_eq(mime_set_text(m, "\xed\xa0\x80", 3, &err), -1);
	ck_assert_int_eq(mime_set_text(m, NULL, 3, &err), -1);
	ck_assert_int_eq(err.code, EX_SOFTWARE);
	ck_assert_int_eq(mime_set_alternative(m, NULL, 0, NULL, 0, &err), 0);
	mime_free(m);
}
END_TEST

/* ---- finishing, reuse ---- */

START_TEST(test_finish_needs)
{
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct error err = { 0 };
	char date[MIME_DATE_LEN];

	buf_addstr(&out, "kept");
	ck_assert_int_eq(mime_finish(m, &out, &err), -1);
	ck_assert_int_eq(err.code, EX_SOFTWARE);
	ck_assert_ptr_nonnull(strstr(err.msg, "no body"));
	must(mime_set_text(m, "x", 1, &err), &err);
	ck_assert_int_eq(mime_finish(m, &out, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "Date"));
	mime_date(1, date);
	must(mime_add_raw_header(m, "Date", date, &err), &err);
	ck_assert_int_eq(mime_finish(m, &out, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "From"));
	ck_assert_str_eq(out.data, "kept");
	must(mime_add_addr_header(m, "From", NULL, "a@example.org", &err),
	    &err);
	must(mime_finish(m, &out, &err), &err);
	ck_assert_int_eq(strncmp(out.data, "keptDate: ", 10), 0);
	buf_free(&out);
	mime_free(m);
	mime_free(NULL);
}
END_TEST

/* After mime_reset nothing of the last message remains. */
START_TEST(test_reset)
{
	struct mime *m = mime_new();
	struct buf a = { 0 }, b = { 0 }, c = { 0 };
	struct error err = { 0 };

	base_headers(m);
	must(mime_add_text_header(m, "Subject", "Första", &err), &err);
	must(mime_set_alternative(m, "one", 3, "<p>one</p>", 10, &err), &err);
	finish(m, &a);
	mime_reset(m);
	base_headers(m);
	must(mime_add_text_header(m, "Subject", "Andra", &err), &err);
	must(mime_set_text(m, "two", 3, &err), &err);
	finish(m, &b);
	ck_assert_ptr_null(strstr(b.data, "one"));
	ck_assert_ptr_null(strstr(b.data, "=C3=B6"));
	ck_assert_ptr_null(strstr(b.data, "multipart"));
	/* The same message again is byte-identical. */
	mime_reset(m);
	base_headers(m);
	must(mime_add_text_header(m, "Subject", "Första", &err), &err);
	must(mime_set_alternative(m, "one", 3, "<p>one</p>", 10, &err), &err);
	finish(m, &c);
	ck_assert_str_eq(a.data, c.data);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	mime_free(m);
}
END_TEST

/* ---- dates ---- */

struct date_case {
	long long	 t;
	const char	*out;
};

static const struct date_case dates[] = {
	{ 0, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ 1700000000, "Tue, 14 Nov 2023 22:13:20 +0000" },
	{ 951782400, "Tue, 29 Feb 2000 00:00:00 +0000" },
	{ 1719792000, "Mon, 01 Jul 2024 00:00:00 +0000" },
	{ 4102444799LL, "Thu, 31 Dec 2099 23:59:59 +0000" },
	{ -1, "Wed, 31 Dec 1969 23:59:59 +0000" },
	{ 253402300799LL, "Fri, 31 Dec 9999 23:59:59 +0000" },
	{ 253402300800LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ -2208988801LL, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ -2208988800LL, "Mon, 01 Jan 1900 00:00:00 +0000" },
};

START_TEST(test_dates)
{
	char out[MIME_DATE_LEN];

	mime_date((time_t)dates[_i].t, out);
	ck_assert_str_eq(out, dates[_i].out);
}
END_TEST

/* ---- a whole newsletter, and the speed of building many ---- */

static const char *
html_body(void)
{
	static char html[10001];

	if (html[0] == '\0') {
		struct buf b = { 0 };

		buf_addstr(&b, "<!DOCTYPE html><html><body>\n");
		while (b.len < 9500)
			buf_addstr(&b, "<p>Veckans nyheter från Göteborg: "
			    "räksmörgåsar, “citat” och – tankstreck. "
			    "<a href=\"https://example.org/a?b=c&amp;d=e\">"
			    "Läs mer</a></p>\n");
		buf_addstr(&b, "</body></html>\n");
		memcpy(html, b.data, b.len < 10000 ? b.len : 10000);
		buf_free(&b);
	}
	return html;
}

/* One personalised newsletter: what the queue builds per subscriber. */
static void
build_newsletter(struct mime *m, struct buf *out, int i, const char *html,
    size_t hlen, const char *text, size_t tlen)
{
	struct error err = { 0 };
	char date[MIME_DATE_LEN], a[128], v[256];

	mime_reset(m);
	mime_date(1700000000, date);
	must(mime_add_raw_header(m, "Date", date, &err), &err);
	must(mime_add_addr_header(m, "From", "Göteborgs nyheter",
	    "nyheter@list.example.org", &err), &err);
	snprintf(a, sizeof a, "prenumerant%d@example.org", i);
	must(mime_add_addr_header(m, "To", "Åsa Öberg", a, &err), &err);
	must(mime_add_addr_header(m, "Reply-To", NULL,
	    "nyheter+aeaqcaibaeaqcaibaea@list.example.org", &err), &err);
	must(mime_add_text_header(m, "Subject", "Veckans nyheter: räksmörgås "
	    "och “citat” – vecka 12", &err), &err);
	snprintf(v, sizeof v, "<aeaqcaibaeaqcaibaeaqcaibaea%d@list.example."
	    "org>", i);
	must(mime_add_raw_header(m, "Message-ID", v, &err), &err);
	must(mime_add_raw_header(m, "List-Id", "Nyheter <nyheter.list."
	    "example.org>", &err), &err);
	must(mime_add_raw_header(m, "List-Unsubscribe", "<https://list."
	    "example.org/u/aeaqcaibaeaqcaibaeaqcaiba>, <mailto:unsubscribe+"
	    "aeaqcaibaeaqcaibaeaqcaiba@list.example.org>", &err), &err);
	must(mime_add_raw_header(m, "List-Unsubscribe-Post",
	    "List-Unsubscribe=One-Click", &err), &err);
	must(mime_set_alternative(m, text, tlen, html, hlen, &err), &err);
	buf_reset(out);
	must(mime_finish(m, out, &err), &err);
}

START_TEST(test_newsletter)
{
	const char *html = html_body();
	const char *text = "Veckans nyheter från Göteborg.\n\nLäs mer: "
	    "https://example.org/a?b=c&d=e\n";
	struct mime *m = mime_new();
	struct buf out = { 0 };
	const char *dn, *addr;
	json_t *j;

	build_newsletter(m, &out, 7, html, strlen(html), text, strlen(text));
	check_wire(&out);
	if ((j = py_parse(&out)) != NULL) {
		size_t tl;
		char *seen = py_header_names(j);
		char *t = lf_text(text, strlen(text), &tl);

		ck_assert_str_eq(seen, "Date,From,To,Reply-To,Subject,"
		    "Message-ID,List-Id,List-Unsubscribe,List-Unsubscribe-Post,"
		    "MIME-Version,Content-Type");
		py_address(j, "to", &dn, &addr);
		ck_assert_str_eq(dn, "Åsa Öberg");
		ck_assert_str_eq(addr, "prenumerant7@example.org");
		py_address(j, "reply-to", &dn, &addr);
		ck_assert_str_eq(dn, "");
		ck_assert_str_eq(py_header(j, "Subject"), "Veckans nyheter: "
		    "räksmörgås och “citat” – vecka 12");
		py_part_is(j, 0, t, tl);
		py_part_is(j, 1, html, strlen(html));
		free(seen);
		free(t);
		json_decref(j);
	}
	buf_free(&out);
	mime_free(m);
}
END_TEST

/*
 * Builds many ~10 KB personalised messages with one struct mime and
 * prints the rate as a TAP comment. TB_MIME_BENCH=N sets the count.
 */
START_TEST(test_speed)
{
	const char *html = html_body(), *env = getenv("TB_MIME_BENCH");
	long n = env != NULL ? strtol(env, NULL, 10) : 300;
	const char *text = "Veckans nyheter från Göteborg.\n";
	struct mime *m = mime_new();
	struct buf out = { 0 };
	struct timespec t0, t1;
	size_t total = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		build_newsletter(m, &out, (int)i, html, strlen(html), text,
		    strlen(text));
		total += out.len;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# mime: %ld messages of %zu octets in %.3f s: %.0f "
	    "messages/s\n", n, n > 0 ? total / (size_t)n : 0, s,
	    s > 0 ? (double)n / s : 0.0);
	fflush(stdout);
	buf_free(&out);
	mime_free(m);
}
END_TEST

/*
 * Check prints its TAP plan last, so a skip line is added by running the
 * suite into a file and copying it with one more result before the plan.
 */
static int
run_with_skip(Suite *s, const char *reason)
{
	char *path = tbtest_path("check.tap");
	SRunner *sr = srunner_create(s);
	char line[4096];
	FILE *fp;
	int failed, n;

	unsetenv("CK_TAP_LOG_FILE_NAME");
	srunner_set_tap(sr, path);
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	n = srunner_ntests_run(sr);
	srunner_free(sr);
	if ((fp = fopen(path, "r")) == NULL) {
		perror(path);
		return 99;
	}
	while (fgets(line, sizeof line, fp) != NULL)
		if (strncmp(line, "1..", 3) != 0)
			fputs(line, stdout);
	fclose(fp);
	printf("ok %d # SKIP %s\n1..%d\n", n + 1, reason, n + 1);
	free(path);
	return failed == 0 ? 0 : 1;
}

/* python3 from TB_PYTHON3, else /usr/bin/python3; the checker beside us. */
static void
find_python(void)
{
	const char *py = getenv("TB_PYTHON3"), *src = getenv("TB_SRCDIR");

	if (py == NULL || *py == '\0')
		py = "/usr/bin/python3";
	if (src != NULL && *src != '\0')
		checker = xasprintf("%s/tests/mime-check.py", src);
	else {
		char *dir = util_dirname(__FILE__);

		checker = xasprintf("%s/mime-check.py", dir);
		free(dir);
	}
	if (access(py, X_OK) == 0 && access(checker, R_OK) == 0)
		python = py;
}

int
main(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("mime");
	int rc;

	find_python();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_subjects, 0,
	    sizeof subjects / sizeof subjects[0]);
	tcase_add_loop_test(tc, test_names, 0, sizeof names / sizeof names[0]);
	tcase_add_loop_test(tc, test_refusals, 0,
	    sizeof refusals / sizeof refusals[0]);
	tcase_add_test(tc, test_error_printable);
	tcase_add_loop_test(tc, test_generated_text, 0, 20);
	tcase_add_loop_test(tc, test_generated_names, 0, 40);
	tcase_add_test(tc, test_raw_headers);
	tcase_add_test(tc, test_raw_too_long);
	tcase_add_test(tc, test_bodies);
	tcase_add_loop_test(tc, test_qp, 0, sizeof qps / sizeof qps[0]);
	tcase_add_loop_test(tc, test_qp_generated, 0, 300);
	tcase_add_test(tc, test_bad_bodies);
	tcase_add_test(tc, test_finish_needs);
	tcase_add_test(tc, test_reset);
	tcase_add_loop_test(tc, test_dates, 0, sizeof dates / sizeof dates[0]);
	tcase_add_test(tc, test_newsletter);
	tcase_add_test(tc, test_speed);
	suite_add_tcase(s, tc);
	if (python == NULL) {
		char *why = xasprintf("no python3 (%s) or %s: Python round "
		    "trips not run", getenv("TB_PYTHON3") ? getenv("TB_PYTHON3")
		    : "/usr/bin/python3", checker);

		rc = run_with_skip(s, why);
		free(why);
	} else
		rc = tbtest_run(s);
	free(checker);
	return rc;
}
