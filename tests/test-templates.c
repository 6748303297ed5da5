/*
 * Tests for the default edition templates in templates/ (edition.sv.html,
 * edition.sv.txt, edition.en.html, edition.en.txt): each is compiled from
 * $TB_SRCDIR/templates, with partials loaded from there by plain file name,
 * and rendered for realistic editions (Swedish feed items, one without an
 * author, with and without an intro) and subscribers (with a name, without
 * one, without an unsubscribe URL, with a name that is markup). The checks
 * are what a reader and a mail client need: greeting, every item, raw
 * summaries escaped nowhere twice, the unsubscribe link or address, no
 * leftover tags, text lines within 72 columns, the lang attribute, and
 * HTML that libxml2's HTML parser reads without errors.
 *
 * TB_TEMPLATES_OUT=DIR writes every rendering to DIR for a look by eye
 * (or for xmllint --html --noout on the .html files).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>

#include "html.h"
#include "tbtest.h"
#include "template.h"
#include "util.h"

#define TEXT_WIDTH	72

/* ---- loading ---- */

static char *
templates_dir(void)
{
	const char *src = getenv("TB_SRCDIR");

	return xasprintf("%s/templates", src != NULL ? src : ".");
}

/*
 * The partial loader the program is meant to have: plain file names in
 * the templates directory only, nothing with a '/' or a leading dot.
 */
static int
dir_loader(void *arg, const char *name, char **text_r, size_t *len_r,
    char **display_r, struct error *err)
{
	const char *dir = arg;
	char *path;
	FILE *fp;

	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL ||
	    strchr(name, '\\') != NULL) {
		error_set(err, EX_DATAERR, "partial '%s': not a plain file "
		    "name in %s", name, dir);
		return -1;
	}
	path = xasprintf("%s/%s", dir, name);
	if ((fp = fopen(path, "rb")) == NULL) {
		int e = errno;

		if (e == ENOENT) {
			free(path);
			return 1;
		}
		error_set(err, EX_IOERR, "%s: %s", path, strerror(e));
		free(path);
		return -1;
	}
	fclose(fp);
	*text_r = tbtest_read(path, len_r);
	*display_r = path;
	return 0;
}

static struct template *
load(const char *file, int html)
{
	char *dir = templates_dir();
	char *path = xasprintf("%s/%s", dir, file);
	struct template *t = NULL;
	struct error err = { 0 };
	size_t len;
	char *src = tbtest_read(path, &len);

	ck_assert_msg(src != NULL, "%s: cannot read (is TB_SRCDIR set?)",
	    path);
	ck_assert_msg(template_compile(src, len, file, html, dir_loader, dir,
	    &t, &err) == 0, "%s", err.msg);
	free(src);
	free(path);
	free(dir);
	return t;
}

/* ---- the data ---- */

struct item {
	const char	*title;
	const char	*title_html;	/* as {{title}} escapes it */
	const char	*link;
	const char	*link_html;
	const char	*author;
	const char	*date_sv, *date_en;
	const char	*html;		/* feed HTML, sanitized below */
};

static const struct item items[] = {
	{ "MSI lanserar nytt koncept för att främja sektorsövergripande "
	    "möten",
	    "MSI lanserar nytt koncept för att främja sektorsövergripande "
	    "möten",
	    "https://msi.example.org/samverkan-for-social-innovation/",
	    "https://msi.example.org/samverkan-for-social-innovation/",
	    "Mötesplats Social Innovation", "15 mars 2021", "15 March 2021",
	    "<p>Under hösten har restriktionerna hårdnat och den "
	    "efterlängtade uppöppningen av samhället skjutits på framtiden. "
	    "Detta har dock inte hindrat Mötesplats Social Innovation från att "
	    "hitta innovativa och kreativa former för att skapa möten över "
	    "sektorsgränser. Nu satsar MSI på ”digitala "
	    "koalitionsbildningar” för att främja sociala innovationer och "
	    "socialt entreprenörskap.</p>\n"
	    "<h2>Samverkan i digitalt format</h2>\n"
	    "<p>Först ut är en <a href=\"https://msi.example.org/"
	    "koalition-for-ung-innovationskraft/\">Koalition för ung "
	    "innovationskraft</a>, där aktörer från hela Sverige träffas "
	    "fyra gånger á två timmar.</p>" },
	{ "Barn & unga: ”Vi vill vara med och bestämma”",
	    "Barn &amp; unga: ”Vi vill vara med och bestämma”",
	    "https://msi.example.org/?p=1702&lang=sv",
	    "https://msi.example.org/?p=1702&amp;lang=sv",
	    "", "3 mars 2021", "3 March 2021",
	    "<p>Sedan barnkonventionen blev svensk lag 2020 har kommuner och "
	    "regioner ett tydligare ansvar att låta barn &amp; unga komma "
	    "till tals i frågor som rör dem.</p>"
	    "<ul><li>Fler än 40 % av deltagarna var under 25 år.</li>"
	    "<li>Mötena hölls på distans, i grupper om &lt;10 personer."
	    "</li></ul>"
	    "<blockquote><p>”Vi vet själva vad som fungerar i vår "
	    "skola.”</p></blockquote>" },
};
#define NITEMS (sizeof items / sizeof items[0])

struct sub {
	const char	*key;
	const char	*name, *first_name, *email;
	int		 has_url;
};

static const struct sub subs[] = {
	{ "anna", "Anna Svensson", "Anna", "anna@example.org", 1 },
	{ "noname", "", "", "kalle.karlsson@example.org", 1 },
	{ "nourl", "Åsa Öberg", "Åsa", "asa.oberg@example.se", 0 },
	{ "script", "<script>alert(1)</script>", "<script>alert(1)</script>",
	    "x@example.org", 1 },
};
#define NSUBS (sizeof subs / sizeof subs[0])

#define TOKEN	"k3v9q2m7x4t8w1z6c5b0n2d"

struct lang {
	const char	*file;
	int		 html;
	const char	*lang;
	const char	*date;
	const char	*intro;		/* HTML */
	const char	*hello_fmt;	/* greeting with first_name, escaped */
	const char	*hello;		/* without a name */
	const char	*lead;		/* instead of a missing intro */
	const char	*by;		/* before the author */
	const char	*more;
	const char	*follows;	/* why they get it */
	const char	*reply_word;
};

#define INTRO_SV "<p>Hej allihop! I det här numret berättar vi om MSI:s " \
	"nya koncept för digitala koalitionsbildningar och om vad unga " \
	"själva säger om sin rätt att vara med och bestämma.</p>"
#define INTRO_EN "<p>Hello everyone! In this edition: MSI's new concept " \
	"for digital coalitions, and what young people themselves say " \
	"about their right to have a say.</p>"

static const struct lang langs[] = {
	{ "edition.sv.html", 1, "sv", "23 november 2026", INTRO_SV,
	    ">Hej %s!<", ">Hej!<",
	    "Här är det senaste från Mötesplats Social Innovation inom "
	    "temat Barnets rätt.",
	    ">Av ", ">Läs mer<",
	    "du följer temat Barnets rätt hos Mötesplats Social Innovation.",
	    "”avsluta”" },
	{ "edition.sv.txt", 0, "sv", "23 november 2026", INTRO_SV,
	    "\nHej %s!\n", "\nHej!\n",
	    "Här är det senaste från Mötesplats Social Innovation\n"
	    "inom temat Barnets rätt.",
	    "\nAv ", "\nLäs mer: ",
	    "du följer temat\nBarnets rätt hos Mötesplats Social Innovation.",
	    "”avsluta”" },
	{ "edition.en.html", 1, "en", "23 November 2026", INTRO_EN,
	    ">Hi %s,<", ">Hello,<",
	    "Here is the latest from Mötesplats Social Innovation on the "
	    "theme “Barnets rätt”.",
	    ">By ", ">Read more<",
	    "you follow the theme “Barnets rätt” from Mötesplats Social "
	    "Innovation.",
	    "“unsubscribe”" },
	{ "edition.en.txt", 0, "en", "23 November 2026", INTRO_EN,
	    "\nHi %s,\n", "\nHello,\n",
	    "Here is the latest from Mötesplats Social Innovation\n"
	    "on the theme “Barnets rätt”.",
	    "\nBy ", "\nRead more: ",
	    "you follow the theme\n“Barnets rätt” from Mötesplats Social "
	    "Innovation.",
	    "“unsubscribe”" },
};
#define NLANGS (sizeof langs / sizeof langs[0])

static void
set(json_t *o, const char *key, const char *value)
{
	json_object_set_new(o, key, json_string(value));
}

static char *
sanitized(const char *html)
{
	struct buf b = { 0 };

	ck_assert_int_eq(html_sanitize(html, strlen(html), NULL, &b), 0);
	return buf_steal(&b);
}

static char *
as_text(const char *html)
{
	struct buf b = { 0 };

	ck_assert_int_eq(html_to_text(html, strlen(html), HTML_TEXT_WIDTH,
	    &b), 0);
	return buf_steal(&b);
}

/* The edition layer, as the composer builds it; caller decrefs. */
static json_t *
edition_new(const struct lang *lg, int with_intro)
{
	json_t *ed = json_object(), *theme = json_object();
	json_t *arr = json_array();
	char *s;
	size_t i;

	set(ed, "lang", lg->lang);
	set(theme, "slug", "barnets-ratt");
	set(theme, "name", "Barnets rätt");
	set(theme, "description", "Innovation och samverkan för barnets "
	    "rätt enligt barnkonventionen.");
	json_object_set_new(ed, "theme", theme);
	set(ed, "org", "Mötesplats Social Innovation");
	set(ed, "subject", "Barnets rätt: MSI lanserar nytt koncept för att "
	    "främja sektorsövergripande möten");
	set(ed, "date", lg->date);
	s = with_intro ? sanitized(lg->intro) : xstrdup("");
	set(ed, "intro_html", s);
	free(s);
	s = with_intro ? as_text(lg->intro) : xstrdup("");
	set(ed, "intro_text", s);
	free(s);
	for (i = 0; i < NITEMS; i++) {
		json_t *it = json_object();
		char *h = sanitized(items[i].html);
		char *t = as_text(h);

		set(it, "title", items[i].title);
		set(it, "link", items[i].link);
		set(it, "author", items[i].author);
		set(it, "date", strcmp(lg->lang, "sv") == 0 ?
		    items[i].date_sv : items[i].date_en);
		set(it, "summary_html", h);
		set(it, "summary_text", t);
		json_array_append_new(arr, it);
		free(h);
		free(t);
	}
	json_object_set_new(ed, "items", arr);
	json_object_set_new(ed, "item_count", json_integer(NITEMS));
	return ed;
}

/* The subscriber layer; caller decrefs. */
static json_t *
subscriber_new(const struct sub *sb)
{
	json_t *s = json_object();

	set(s, "name", sb->name);
	set(s, "first_name", sb->first_name);
	set(s, "email", sb->email);
	set(s, "unsubscribe_url", sb->has_url ?
	    "https://lists.example.org/u/" TOKEN : "");
	set(s, "unsubscribe_mailto", "mailto:unsubscribe+" TOKEN
	    "@lists.example.org?subject=unsubscribe");
	set(s, "unsubscribe_address", "unsubscribe+" TOKEN
	    "@lists.example.org");
	set(s, "reply_address", "barnets-ratt+" TOKEN "@lists.example.org");
	return s;
}

/* ---- checks ---- */

static void
has(const char *out, const char *needle, const char *what)
{
	ck_assert_msg(strstr(out, needle) != NULL, "%s: no '%s' (set "
	    "TB_TEMPLATES_OUT=DIR to see the rendering)", what, needle);
	(void)out;
}

static void
hasnt(const char *out, const char *needle, const char *what)
{
	const char *at = strstr(out, needle);

	ck_assert_msg(at == NULL, "%s: unexpected '%s' at: %.200s", what,
	    needle, at);
}

/* Columns of a UTF-8 line: code points (the text has no wide ones). */
static size_t
columns(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

static void
check_widths(const char *out, const char *what)
{
	const char *p = out, *nl;
	unsigned line = 1;

	for (; *p != '\0'; p = nl + 1, line++) {
		char *l;
		size_t len;

		nl = strchr(p, '\n');
		ck_assert_msg(nl != NULL, "%s: does not end in a newline",
		    what);
		len = (size_t)(nl - p);
		if (columns(p, len) <= TEXT_WIDTH)
			continue;
		l = xstrndup(p, len);
		ck_assert_msg(strstr(l, "://") != NULL ||
		    strstr(l, "mailto:") != NULL,
		    "%s:%u: %zu columns: %s", what, line, columns(p, len), l);
		free(l);
	}
}

static int html_errors;
static char html_error[512];

static void
count_html_error(void *arg, xmlErrorPtr e)
{
	(void)arg;
	if (e->level < XML_ERR_ERROR)
		return;
	if (html_errors++ == 0)
		snprintf(html_error, sizeof html_error, "line %d: %s", e->line,
		    e->message != NULL ? e->message : "?");
}

/* libxml2's HTML parser must read the whole page without an error. */
static void
check_html_parses(const char *out, const char *what)
{
	htmlDocPtr doc;

	html_errors = 0;
	html_error[0] = '\0';
	xmlSetStructuredErrorFunc(NULL, count_html_error);
	doc = htmlReadMemory(out, (int)strlen(out), what, "UTF-8",
	    HTML_PARSE_NONET);
	xmlSetStructuredErrorFunc(NULL, NULL);
	ck_assert_msg(doc != NULL, "%s: libxml2 read no document", what);
	xmlFreeDoc(doc);
	ck_assert_msg(html_errors == 0, "%s: %d HTML errors, first %s", what,
	    html_errors, html_error);
}

static void
dump(const char *what, const char *out)
{
	const char *dir = getenv("TB_TEMPLATES_OUT");
	char *path;

	if (dir == NULL || *dir == '\0')
		return;
	path = xasprintf("%s/%s", dir, what);
	tbtest_write(path, out, -1);
	free(path);
}

static const char *const escaped_twice[] = {
	"&amp;amp;", "&amp;lt;", "&amp;gt;", "&amp;quot;", "&amp;#",
	"&amp;nbsp;", "&amp;zwnj;", "&lt;p&gt;", "&lt;a ", NULL,
};
static const char *const escaped_in_text[] = {
	"&amp;", "&lt;", "&gt;", "&quot;", "&#", "&nbsp;", NULL,
};

START_TEST(test_render)
{
	const struct lang *lg = &langs[_i / (NSUBS * 2)];
	const struct sub *sb = &subs[_i / 2 % NSUBS];
	int with_intro = _i % 2;
	struct template *t = load(lg->file, lg->html);
	json_t *stack[2];
	struct error err = { 0 };
	struct buf b = { 0 };
	char what[128], *greet, *s;
	const char *const *e;
	json_t *its;
	size_t i;

	snprintf(what, sizeof what, "%s-%s%s", lg->file, sb->key,
	    with_intro ? "-intro" : "");
	stack[0] = edition_new(lg, with_intro);
	stack[1] = subscriber_new(sb);
	ck_assert_msg(template_render(t, stack, 2, &b, &err) == 0, "%s: %s",
	    what, err.msg);
	dump(what, b.data);

	/* No tag left over, nothing escaped twice. */
	hasnt(b.data, "{{", what);
	hasnt(b.data, "}}", what);
	for (e = escaped_twice; *e != NULL; e++)
		hasnt(b.data, *e, what);
	if (!lg->html)
		for (e = escaped_in_text; *e != NULL; e++)
			hasnt(b.data, *e, what);

	/* The greeting, with the name escaped in HTML only. */
	if (*sb->first_name != '\0') {
		struct buf name = { 0 };

		if (lg->html)
			html_escape(sb->first_name, strlen(sb->first_name),
			    &name);
		else
			buf_addstr(&name, sb->first_name);
		greet = xasprintf(lg->hello_fmt, name.data);
		buf_free(&name);
	} else
		greet = xstrdup(lg->hello);
	has(b.data, greet, what);
	free(greet);
	if (lg->html) {
		hasnt(b.data, "<script", what);
		hasnt(b.data, "alert(1)</", what);
	}

	/* The heading: org, theme, date. */
	has(b.data, "Mötesplats Social Innovation", what);
	has(b.data, "Barnets rätt", what);
	has(b.data, lg->date, what);

	/* The intro, or the fixed lead instead. */
	s = xstrdup(json_string_value(json_object_get(stack[0],
	    lg->html ? "intro_html" : "intro_text")));
	if (with_intro) {
		has(b.data, s, what);
		hasnt(b.data, lg->lead, what);
	} else
		has(b.data, lg->lead, what);
	free(s);

	/* Every item: title, link, summary, read more; author when set. */
	its = json_object_get(stack[0], "items");
	for (i = 0; i < NITEMS; i++) {
		json_t *it = json_array_get(its, i);
		const char *date = json_string_value(json_object_get(it,
		    "date"));

		has(b.data, lg->html ? items[i].title_html : items[i].title,
		    what);
		s = xasprintf(lg->html ? "href=\"%s\"" : ": %s\n",
		    lg->html ? items[i].link_html : items[i].link);
		has(b.data, s, what);
		free(s);
		has(b.data, json_string_value(json_object_get(it,
		    lg->html ? "summary_html" : "summary_text")), what);
		has(b.data, date, what);
		if (*items[i].author != '\0') {
			s = xasprintf("%s%s%s%s", lg->by, items[i].author,
			    lg->html ? " · " : ", ", date);
			has(b.data, s, what);
			free(s);
		} else {
			/* The date alone on its line, no "Av"/"By". */
			s = xasprintf(lg->html ? ">%s</p>" : "\n%s\n", date);
			has(b.data, s, what);
			free(s);
		}
	}
	/* One "Av"/"By": the second item has no author. */
	s = strstr(b.data, lg->by);
	ck_assert_msg(s != NULL && strstr(s + 1, lg->by) == NULL,
	    "%s: expected one '%s'", what, lg->by);
	s = strstr(b.data, lg->more);
	ck_assert_msg(s != NULL && strstr(s + 1, lg->more) != NULL,
	    "%s: expected '%s' per item", what, lg->more);

	/* The footer: why, how to leave, where replies go. */
	has(b.data, lg->follows, what);
	has(b.data, sb->email, what);
	has(b.data, lg->reply_word, what);
	has(b.data, "barnets-ratt+" TOKEN "@lists.example.org", what);
	if (sb->has_url) {
		has(b.data, lg->html ?
		    "href=\"https://lists.example.org/u/" TOKEN "\"" :
		    "\nhttps://lists.example.org/u/" TOKEN "\n", what);
		hasnt(b.data, "unsubscribe+" TOKEN, what);
	} else {
		has(b.data, lg->html ?
		    "href=\"mailto:unsubscribe+" TOKEN "@lists.example.org"
		    "?subject=unsubscribe\"" :
		    "unsubscribe+" TOKEN "@lists.example.org\n", what);
		hasnt(b.data, "/u/" TOKEN, what);
	}

	if (lg->html) {
		s = xasprintf("<html lang=\"%s\"", lg->lang);
		ck_assert_msg(strncmp(b.data, "<!DOCTYPE html>\n", 16) == 0,
		    "%s: does not start with the doctype", what);
		has(b.data, s, what);
		free(s);
		has(b.data, "<meta charset=\"utf-8\">", what);
		has(b.data, "role=\"presentation\"", what);
		has(b.data, "max-width:600px", what);
		has(b.data, "@media screen and (max-width", what);
		/* The preheader: the intro, else the titles. */
		has(b.data, with_intro ? (lg->lang[0] == 's' ?
		    "mso-hide:all;font-size:1px;line-height:1px;"
		    "color:#f4f1ea;\">Hej allihop!" :
		    "color:#f4f1ea;\">Hello everyone!") :
		    "color:#f4f1ea;\">Barnets rätt · MSI lanserar", what);
		check_html_parses(b.data, what);
	} else {
		/* The header comes first, the footer after "-- ". */
		static const char head[] = "Mötesplats Social Innovation\n";

		ck_assert_msg(strncmp(b.data, head, strlen(head)) == 0,
		    "%s: header", what);
		has(b.data, "\n-- \n", what);
		check_widths(b.data, what);
	}

	json_decref(stack[0]);
	json_decref(stack[1]);
	buf_free(&b);
	template_free(t);
}
END_TEST

/* ---- the template files themselves ---- */

static char *
read_template(const char *file)
{
	char *dir = templates_dir();
	char *path = xasprintf("%s/%s", dir, file);
	char *src = tbtest_read(path, NULL);

	ck_assert_msg(src != NULL, "%s: cannot read", path);
	free(path);
	free(dir);
	return src;
}

/* The tags of a template in order, comments left out, one per line. */
static char *
tags(const char *src)
{
	struct buf b = { 0 };
	const char *p = src, *end;

	buf_addstr(&b, "");
	while ((p = strstr(p, "{{")) != NULL) {
		end = strstr(p, "}}");
		ck_assert(end != NULL);
		if (p[2] != '!') {
			buf_add(&b, p, (size_t)(end - p) + 2);
			buf_addc(&b, '\n');
		}
		p = end + 2;
	}
	return buf_steal(&b);
}

/* sv and en are translations: the same tags in the same order. */
START_TEST(test_in_step)
{
	static const char *const pairs[][2] = {
		{ "edition.sv.html", "edition.en.html" },
		{ "edition.sv.txt", "edition.en.txt" },
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		char *a = read_template(pairs[i][0]);
		char *b = read_template(pairs[i][1]);
		char *ta = tags(a), *tb = tags(b);

		ck_assert_msg(strcmp(ta, tb) == 0, "%s and %s use different "
		    "tags:\n%s\n--\n%s", pairs[i][0], pairs[i][1], ta, tb);
		free(ta);
		free(tb);
		free(a);
		free(b);
	}
}
END_TEST

/* No images, scripts, fonts or other resources from outside the mail. */
START_TEST(test_self_contained)
{
	static const char *const banned[] = {
		"<img", "<script", "<link", "<iframe", "<object", "src=",
		"url(", "@import", "@font-face", "http:", "https:",
		"javascript:", NULL,
	};
	size_t i;

	for (i = 0; i < NLANGS; i++) {
		char *src = read_template(langs[i].file);
		const char *const *b;

		for (b = banned; *b != NULL; b++)
			ck_assert_msg(strstr(src, *b) == NULL, "%s has '%s'",
			    langs[i].file, *b);
		free(src);
	}
}
END_TEST

/* make install and make dist must carry every file in templates/. */
START_TEST(test_all_installed)
{
	const char *srcdir = getenv("TB_SRCDIR");
	char *dir = templates_dir();
	char *am_path = xasprintf("%s/mk/templates-files.am",
	    srcdir != NULL ? srcdir : ".");
	char *am = tbtest_read(am_path, NULL);
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_msg(am != NULL, "%s: cannot read", am_path);
	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *entry;

		if (de->d_name[0] == '.')
			continue;
		entry = xasprintf("templates/%s", de->d_name);
		ck_assert_msg(strstr(am, entry) != NULL, "%s is not in "
		    "templates_DATA in %s", entry, am_path);
		free(entry);
		n++;
	}
	closedir(d);
	ck_assert_int_ge(n, (int)NLANGS);
	free(am);
	free(am_path);
	free(dir);
}
END_TEST

/* The loader opens plain names in templates/ and nothing else. */
START_TEST(test_loader)
{
	static const char *const refused[] = {
		"../Makefile.am", "/etc/passwd", ".hidden", "sub/x.html", "",
	};
	char *dir = templates_dir();
	struct template *t = NULL;
	struct error err = { 0 };
	struct buf b = { 0 };
	json_t *ctx = json_pack("{s:s, s:s, s:s}", "org", "MSI",
	    "date", "1 maj", "email", "a@example.org");
	size_t i;

	/* A template can include another one by plain name. */
	ck_assert_msg(template_compile("{{>edition.sv.txt}}", 19, "t.txt", 0,
	    dir_loader, dir, &t, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(template_render(t, &ctx, 1, &b, &err), 0);
	has(b.data, "Hej!\n", "partial");
	template_free(t);
	buf_free(&b);
	for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char *src = xasprintf("{{>%s}}", refused[i]);

		t = NULL;
		ck_assert_msg(template_compile(src, strlen(src), "t.txt", 0,
		    dir_loader, dir, &t, &err) == -1, "loaded '%s'",
		    refused[i]);
		ck_assert_ptr_null(t);
		free(src);
	}
	ck_assert_int_eq(template_compile("{{>no-such.html}}", 17, "t.html",
	    1, dir_loader, dir, &t, &err), -1);
	ck_assert_int_eq(err.code, EX_NOINPUT);
	json_decref(ctx);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("templates");
	TCase *tc = tcase_create("templates");

	tcase_add_loop_test(tc, test_render, 0, (int)(NLANGS * NSUBS * 2));
	tcase_add_test(tc, test_in_step);
	tcase_add_test(tc, test_self_contained);
	tcase_add_test(tc, test_all_installed);
	tcase_add_test(tc, test_loader);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
