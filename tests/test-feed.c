/*
 * Unit tests for feed: RSS 2.0, Atom 1.0 and RSS 1.0 read into items;
 * encodings; CDATA, escaped and naked HTML; xml:base; attacks (billion
 * laughs, quadratic blow-up, external entities); recovery of ill-formed
 * feeds; identities; errors; memory on a large feed. Swedish content from
 * the seed posts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include <libxml/parser.h>

#include "feed.h"
#include "tbtest.h"
#include "util.h"

/* ---- collecting what the parser hands out ---- */

#define MAX_ITEMS 8

struct got {
	char	*id, *title, *link, *author, *categories, *summary, *content,
		*text, *enc_url, *enc_type, *identity;
	char	*content_base, *content_lang, *content_type, *title_type;
	int	 permalink;
	int64_t	 published, updated, enc_len;
	size_t	 nlinks;
	char	*link_rels;	/* "alternate,enclosure" */
};

struct seen {
	struct got	 items[MAX_ITEMS];
	int		 n;		/* stored */
	int		 calls;		/* callback calls */
	int		 stop_at;	/* return 7 on this call (1-based) */
};

static char *
dup0(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static int
collect(const struct feed_item *it, void *arg)
{
	struct seen *s = arg;
	struct got *g;
	struct buf rels = { 0 };

	s->calls++;
	if (s->stop_at == s->calls)
		return 7;
	if (s->n == MAX_ITEMS)
		return 0;
	g = &s->items[s->n++];
	g->id = dup0(it->id);
	g->title = dup0(it->title);
	g->link = dup0(it->link);
	g->author = dup0(it->author);
	g->categories = dup0(it->categories);
	g->summary = dup0(it->summary_html);
	g->content = dup0(it->content_html);
	g->text = dup0(it->text);
	g->enc_url = dup0(it->enclosure_url);
	g->enc_type = dup0(it->enclosure_type);
	g->identity = feed_item_identity(it);
	g->content_base = dup0(it->content_src.base);
	g->content_lang = dup0(it->content_src.lang);
	g->content_type = dup0(it->content_src.type);
	g->title_type = dup0(it->title_src.type);
	g->permalink = it->id_is_permalink;
	g->published = it->published;
	g->updated = it->updated;
	g->enc_len = it->enclosure_length;
	g->nlinks = it->nlinks;
	buf_addstr(&rels, "");
	for (size_t i = 0; i < it->nlinks; i++)
		buf_printf(&rels, "%s%s", i > 0 ? "," : "", it->links[i].rel);
	g->link_rels = buf_steal(&rels);
	return 0;
}

static void
seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++) {
		struct got *g = &s->items[i];

		free(g->id);
		free(g->title);
		free(g->link);
		free(g->author);
		free(g->categories);
		free(g->summary);
		free(g->content);
		free(g->text);
		free(g->enc_url);
		free(g->enc_type);
		free(g->identity);
		free(g->content_base);
		free(g->content_lang);
		free(g->content_type);
		free(g->title_type);
		free(g->link_rels);
	}
	memset(s, 0, sizeof *s);
}

static int
parse(const char *xml, struct seen *s, struct feed_info *info,
    struct error *err)
{
	return feed_parse_mem(xml, strlen(xml), "test.xml",
	    "https://example.se/feed/", 0, collect, s, info, err);
}

static const char *
iso(int64_t t)
{
	static char b[UTIL_ISO_LEN];

	return util_iso_time(t, b);
}

#define STR_EQ(got, want) do {						\
	const char *g_ = (got), *w_ = (want);				\
	ck_assert_msg((g_ == NULL && w_ == NULL) || (g_ != NULL &&	\
	    w_ != NULL && strcmp(g_, w_) == 0), "%s: got [%s] want [%s]",\
	    #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");		\
} while (0)

/* ---- RSS 2.0 ---- */

static const char rss_msi[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"\n"
	"     xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
	"<channel>\n"
	"  <title>Mötesplats Social Innovation</title>\n"
	"  <link>https://example.se/</link>\n"
	"  <description>Nyheter om social innovation</description>\n"
	"  <lastBuildDate>Fri, 01 Mar 2024 10:00:00 +0100</lastBuildDate>\n"
	"  <image><title>Fel titel</title><link>https://example.se/bild</link></image>\n"
	"  <item>\n"
	"    <title>MSI lanserar nytt koncept för att främja sektorsövergripande möten</title>\n"
	"    <link>https://example.se/2020/12/msi-lanserar-nytt-koncept/</link>\n"
	"    <guid isPermaLink=\"false\">https://example.se/?p=4711</guid>\n"
	"    <dc:creator><![CDATA[Hanna Sigsjö]]></dc:creator>\n"
	"    <pubDate>Tue, 15 Dec 2020 09:30:00 +0100</pubDate>\n"
	"    <category><![CDATA[Koalitioner]]></category>\n"
	"    <category>Digital inkludering</category>\n"
	"    <description><![CDATA[Nu satsar MSI på ”digitala koalitionsbildningar” [&#8230;]]]></description>\n"
	"    <content:encoded><![CDATA[<p>Under hösten har restriktionerna hårdnat.</p>\n"
	"<p>Läs mer om <a href=\"/koalitioner/\" onclick=\"track()\">koalitionerna</a>.</p>\n"
	"<script>alert('x')</script><img src=\"bild.jpg\" alt=\"Koalition\">]]></content:encoded>\n"
	"    <enclosure url=\"https://example.se/podd/avsnitt1.mp3\" length=\"12345678\" type=\"audio/mpeg\"/>\n"
	"  </item>\n"
	"  <item>\n"
	"    <title>Mötesplats Social Innovation satsar på nya koncept &amp; arenor</title>\n"
	"    <guid>https://example.se/2021/02/nya-koncept/</guid>\n"
	"    <description>&lt;p&gt;Samtidigt vidareutvecklar MSI det &lt;b&gt;tematiska&lt;/b&gt; arbetet.&lt;/p&gt;</description>\n"
	"  </item>\n"
	"</channel>\n"
	"</rss>\n";

START_TEST(test_rss2)
{
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };
	struct got *g;

	ck_assert_int_eq(parse(rss_msi, &s, &info, &err), 0);
	STR_EQ(info.title, "Mötesplats Social Innovation");
	STR_EQ(info.link, "https://example.se/");
	STR_EQ(info.format, "rss");
	STR_EQ(info.version, "rss20");
	STR_EQ(info.encoding, "utf-8");
	STR_EQ(info.description, "Nyheter om social innovation");
	STR_EQ(iso(info.updated), "2024-03-01T09:00:00Z");
	ck_assert_int_eq(info.recovered, 0);
	ck_assert_uint_eq(info.nlinks, 1);
	ck_assert_int_eq(s.n, 2);

	g = &s.items[0];
	STR_EQ(g->id, "https://example.se/?p=4711");
	ck_assert_int_eq(g->permalink, 0);
	STR_EQ(g->title, "MSI lanserar nytt koncept för att främja "
	    "sektorsövergripande möten");
	STR_EQ(g->link, "https://example.se/2020/12/msi-lanserar-nytt-koncept/");
	STR_EQ(g->author, "Hanna Sigsjö");
	STR_EQ(iso(g->published), "2020-12-15T08:30:00Z");
	ck_assert_int_eq(g->updated, 0);
	STR_EQ(g->categories, "Koalitioner, Digital inkludering");
	STR_EQ(g->summary, "Nu satsar MSI på ”digitala koalitionsbildningar” "
	    "[…]");
	/* sanitized; relative URLs against the item's link */
	STR_EQ(g->content, "<p>Under hösten har restriktionerna hårdnat.</p>\n"
	    "<p>Läs mer om <a href=\"https://example.se/koalitioner/\">"
	    "koalitionerna</a>.</p>\n<img src=\"https://example.se/2020/12/"
	    "msi-lanserar-nytt-koncept/bild.jpg\" alt=\"Koalition\" />");
	STR_EQ(g->text, "Under hösten har restriktionerna hårdnat.\n\n"
	    "Läs mer om koalitionerna[1].\n\n[Koalition]\n\n"
	    "[1] https://example.se/koalitioner/\n");
	STR_EQ(g->enc_url, "https://example.se/podd/avsnitt1.mp3");
	STR_EQ(g->enc_type, "audio/mpeg");
	ck_assert_int_eq(g->enc_len, 12345678);
	STR_EQ(g->link_rels, "alternate,enclosure");
	STR_EQ(g->identity, "https://example.se/?p=4711");
	STR_EQ(g->content_base,
	    "https://example.se/2020/12/msi-lanserar-nytt-koncept/");
	STR_EQ(g->content_type, "text/html");

	/* A permalink guid is the link when there is none; escaped HTML
	 * in the description; &amp; in a title. */
	g = &s.items[1];
	STR_EQ(g->title, "Mötesplats Social Innovation satsar på nya "
	    "koncept & arenor");
	STR_EQ(g->id, "https://example.se/2021/02/nya-koncept/");
	ck_assert_int_eq(g->permalink, 1);
	STR_EQ(g->link, "https://example.se/2021/02/nya-koncept/");
	STR_EQ(g->summary, "<p>Samtidigt vidareutvecklar MSI det <b>tematiska"
	    "</b> arbetet.</p>");
	ck_assert_ptr_null(g->content);
	STR_EQ(g->text, "Samtidigt vidareutvecklar MSI det tematiska "
	    "arbetet.\n");
	seen_free(&s);
	feed_info_clear(&info);
}
END_TEST

/* CDATA, escaped HTML and naked markup give the same description. */
START_TEST(test_rss_html_forms)
{
	static const char *const forms[] = {
		"<description><![CDATA[<p>Jämlik <em>folkhälsa</em> &amp; "
		"barnets rätt</p>]]></description>",
		"<description>&lt;p&gt;Jämlik &lt;em&gt;folkhälsa&lt;/em&gt; "
		"&amp;amp; barnets rätt&lt;/p&gt;</description>",
		"<description><p>Jämlik <em>folkhälsa</em> &amp; barnets "
		"rätt</p></description>",
		"<description><p xmlns=\"http://www.w3.org/1999/xhtml\">Jämlik "
		"<em>folkhälsa</em> &amp; barnets rätt</p></description>",
	};

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		struct seen s = { 0 };
		struct feed_info info = { 0 };
		struct error err = { 0 };
		char *xml = xasprintf("<rss version=\"2.0\"><channel><item>"
		    "<title>t</title>%s</item></channel></rss>", forms[i]);

		ck_assert_int_eq(parse(xml, &s, &info, &err), 0);
		ck_assert_int_eq(s.n, 1);
		STR_EQ(s.items[0].summary, "<p>Jämlik <em>folkhälsa</em> "
		    "&amp; barnets rätt</p>");
		STR_EQ(s.items[0].text, "Jämlik folkhälsa & barnets rätt\n");
		seen_free(&s);
		feed_info_clear(&info);
		free(xml);
	}
}
END_TEST

/* Character references, HTML in titles, and titles that only look so. */
START_TEST(test_rss_titles)
{
	static const struct {
		const char *xml, *title;
	} cases[] = {
		{ "R&#228;ksm&#246;rg&#xE5;s &#8211; &#8220;god&#8221;",
		    "Räksmörgås – “god”" },
		{ "&lt;b&gt;Fet&lt;/b&gt; rubrik", "Fet rubrik" },
		{ "<![CDATA[Arbete i framtiden &amp; trygghet]]>",
		    "Arbete i framtiden & trygghet" },
		{ "1 &lt; 2", "1 < 2" },
		{ "AT&amp;T", "AT&T" },
		{ "  radbruten\n   titel  ", "radbruten titel" },
		{ "don&#146;t", "don’t" },
		{ "Ã¥ret runt", "året runt" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct seen s = { 0 };
		struct feed_info info = { 0 };
		struct error err = { 0 };
		char *xml = xasprintf("<rss version=\"2.0\"><channel><item>"
		    "<title>%s</title></item></channel></rss>", cases[i].xml);

		ck_assert_int_eq(parse(xml, &s, &info, &err), 0);
		ck_assert_int_eq(s.n, 1);
		STR_EQ(s.items[0].title, cases[i].title);
		seen_free(&s);
		feed_info_clear(&info);
		free(xml);
	}
}
END_TEST

/* ---- Atom 1.0 ---- */

static const char atom_msi[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"sv\"\n"
	"      xml:base=\"https://example.se/\">\n"
	"  <title type=\"html\">MSI &amp;lt;nyheter&amp;gt;</title>\n"
	"  <subtitle>Social innovation &lt;i&gt;i Sverige&lt;/i&gt;</subtitle>\n"
	"  <link rel=\"self\" href=\"/feed.atom\"/>\n"
	"  <link href=\"/\"/>\n"
	"  <id>tag:example.se,2020:msi</id>\n"
	"  <updated>2024-03-01T10:00:00+01:00</updated>\n"
	"  <entry xml:base=\"/2021/\">\n"
	"    <title type=\"text\">Koalition för &lt;ung&gt; innovationskraft</title>\n"
	"    <link rel=\"edit\" href=\"/wp/edit/1\"/>\n"
	"    <link rel=\"alternate\" type=\"text/html\" href=\"koalition/\"/>\n"
	"    <link rel=\"enclosure\" type=\"audio/mpeg\" length=\"42\" href=\"podd.mp3\"/>\n"
	"    <id>tag:example.se,2021:koalition</id>\n"
	"    <published>2021-01-15T09:00:00Z</published>\n"
	"    <updated>2021-01-16T10:30:00.123+01:00</updated>\n"
	"    <author><name>Helene Norberg</name><email>h@example.se</email></author>\n"
	"    <category term=\"koalitioner\" label=\"Koalitioner\"/>\n"
	"    <category term=\"msi-syd\"/>\n"
	"    <summary type=\"text\">Först ut är en &lt;Koalition&gt;.</summary>\n"
	"    <content type=\"xhtml\" xml:lang=\"en\"><div xmlns=\"http://www.w3.org/1999/xhtml\">"
	"<p>Se <a href=\"program.html\">programmet</a> &amp; <b>anmäl</b> dig.</p>"
	"<script>alert(1)</script></div></content>\n"
	"  </entry>\n"
	"  <entry>\n"
	"    <title>Utan länk</title>\n"
	"    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>\n"
	"    <updated>2003-12-13T18:30:02Z</updated>\n"
	"    <content type=\"html\">&lt;p&gt;Escaped &amp;amp; sanitized&lt;iframe src=x&gt;&lt;/iframe&gt;&lt;/p&gt;</content>\n"
	"  </entry>\n"
	"</feed>\n";

START_TEST(test_atom)
{
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };
	struct got *g;

	ck_assert_int_eq(parse(atom_msi, &s, &info, &err), 0);
	STR_EQ(info.format, "atom");
	STR_EQ(info.version, "atom10");
	STR_EQ(info.title, "MSI <nyheter>");
	STR_EQ(info.link, "https://example.se/");
	STR_EQ(info.id, "tag:example.se,2020:msi");
	STR_EQ(info.description, "Social innovation &lt;i&gt;i Sverige&lt;/i&gt;");
	STR_EQ(iso(info.updated), "2024-03-01T09:00:00Z");
	ck_assert_uint_eq(info.nlinks, 2);
	STR_EQ(info.links[0].rel, "self");
	STR_EQ(info.links[0].href, "https://example.se/feed.atom");
	STR_EQ(info.title_src.lang, "sv");
	ck_assert_int_eq(s.n, 2);

	g = &s.items[0];
	STR_EQ(g->id, "tag:example.se,2021:koalition");
	STR_EQ(g->title, "Koalition för <ung> innovationskraft");
	STR_EQ(g->title_type, "text/plain");
	/* rel=alternate preferred; xml:base honoured */
	STR_EQ(g->link, "https://example.se/2021/koalition/");
	STR_EQ(g->link_rels, "edit,alternate,enclosure");
	STR_EQ(g->enc_url, "https://example.se/2021/podd.mp3");
	STR_EQ(g->enc_type, "audio/mpeg");
	ck_assert_int_eq(g->enc_len, 42);
	STR_EQ(g->author, "Helene Norberg");
	STR_EQ(g->categories, "Koalitioner, msi-syd");
	STR_EQ(iso(g->published), "2021-01-15T09:00:00Z");
	STR_EQ(iso(g->updated), "2021-01-16T09:30:00Z");
	/* type=text is text: escaped when given as HTML */
	STR_EQ(g->summary, "Först ut är en &lt;Koalition&gt;.");
	/* type=xhtml: the div's children, sanitized, against xml:base */
	STR_EQ(g->content, "<p>Se <a href=\"https://example.se/2021/"
	    "program.html\">programmet</a> &amp; <b>anmäl</b> dig.</p>");
	STR_EQ(g->content_type, "application/xhtml+xml");
	STR_EQ(g->content_base, "https://example.se/2021/");
	STR_EQ(g->content_lang, "en");
	STR_EQ(g->text, "Se programmet[1] & anmäl dig.\n\n"
	    "[1] https://example.se/2021/program.html\n");
	STR_EQ(g->identity, "tag:example.se,2021:koalition");

	g = &s.items[1];
	ck_assert_ptr_null(g->link);
	ck_assert_int_eq(g->published, 0);
	STR_EQ(iso(g->updated), "2003-12-13T18:30:02Z");
	STR_EQ(g->content, "<p>Escaped &amp; sanitized</p>");
	seen_free(&s);
	feed_info_clear(&info);
}
END_TEST

/* ---- RSS 1.0 (RDF) ---- */

static const char rdf_msi[] =
	"<?xml version=\"1.0\"?>\n"
	"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"\n"
	"  xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
	"  xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n"
	"  <channel rdf:about=\"https://example.se/rss\">\n"
	"    <title>MSI Syd</title>\n"
	"    <link>https://example.se/syd/</link>\n"
	"    <description>Malmö stad och MSI</description>\n"
	"    <items><rdf:Seq><rdf:li rdf:resource=\"https://example.se/syd/1\"/></rdf:Seq></items>\n"
	"  </channel>\n"
	"  <item rdf:about=\"https://example.se/syd/1\">\n"
	"    <title>Tematiska arenor i Malmö</title>\n"
	"    <link>https://example.se/syd/1</link>\n"
	"    <dc:creator>Helene Norberg</dc:creator>\n"
	"    <dc:date>2021-02-01T08:00:00+01:00</dc:date>\n"
	"    <dc:subject>Trygghet i det offentliga rummet</dc:subject>\n"
	"    <description>Kort.</description>\n"
	"    <content:encoded>&lt;p&gt;Långt.&lt;/p&gt;</content:encoded>\n"
	"  </item>\n"
	"</rdf:RDF>\n";

START_TEST(test_rdf)
{
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };
	struct got *g;

	ck_assert_int_eq(parse(rdf_msi, &s, &info, &err), 0);
	STR_EQ(info.format, "rdf");
	STR_EQ(info.version, "rss10");
	STR_EQ(info.title, "MSI Syd");
	STR_EQ(info.link, "https://example.se/syd/");
	ck_assert_int_eq(s.n, 1);
	g = &s.items[0];
	STR_EQ(g->id, "https://example.se/syd/1");
	ck_assert_int_eq(g->permalink, 0);
	STR_EQ(g->title, "Tematiska arenor i Malmö");
	STR_EQ(g->author, "Helene Norberg");
	STR_EQ(iso(g->published), "2021-02-01T07:00:00Z");
	STR_EQ(g->categories, "Trygghet i det offentliga rummet");
	STR_EQ(g->summary, "Kort.");
	STR_EQ(g->content, "<p>Långt.</p>");
	STR_EQ(g->text, "Långt.\n");
	seen_free(&s);
	feed_info_clear(&info);
}
END_TEST

/* ---- encodings ---- */

struct enc_case {
	const char	*bytes;
	size_t		 len;
	const char	*content_type;	/* feed_parse_http */
	const char	*encoding;
	const char	*title;
};

#define B(s) s, sizeof s - 1
static const struct enc_case enc_cases[] = {
	{ B("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\">"
	    "<channel><title>R\xe4ksm\xf6rg\xe5s \xc5\xc4\xd6</title></channel></rss>"),
	    NULL, "iso-8859-1", "Räksmörgås ÅÄÖ" },
	/* "ISO-8859-1" with windows-1252 quotes, as Windows writes it */
	{ B("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss version=\"2.0\">"
	    "<channel><title>\x93Hej\x94 \x96 s\xe4ger hon</title></channel></rss>"),
	    NULL, "iso-8859-1", "“Hej” – säger hon" },
	{ B("<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss version=\"2.0\">"
	    "<channel><title>\x84V\xe5r\x93 \x85</title></channel></rss>"),
	    NULL, "windows-1252", "„Vår“ …" },
	{ B("\xef\xbb\xbf<rss version=\"2.0\"><channel><title>Bom \xc3\xa5"
	    "</title></channel></rss>"), NULL, "utf-8", "Bom å" },
	{ B("\xff\xfe<\0r\0s\0s\0>\0<\0c\0h\0a\0n\0n\0e\0l\0>\0<\0t\0i\0t\0l\0e\0>\0"
	    "\xe5\0\xe4\0\xf6\0<\0/\0t\0i\0t\0l\0e\0>\0<\0/\0c\0h\0a\0n\0n\0e\0l\0>\0"
	    "<\0/\0r\0s\0s\0>\0"), NULL, "utf-16le", "åäö" },
	{ B("\0\0\0<\0\0\0r\0\0\0s\0\0\0s\0\0\0>\0\0\0<\0\0\0c\0\0\0h\0\0\0a"
	    "\0\0\0n\0\0\0n\0\0\0e\0\0\0l\0\0\0>\0\0\0<\0\0\0t\0\0\0i\0\0\0t"
	    "\0\0\0l\0\0\0e\0\0\0>\0\0\0\xe5\0\0\x20\x13\0\0\0<\0\0\0/\0\0\0t"
	    "\0\0\0i\0\0\0t\0\0\0l\0\0\0e\0\0\0>\0\0\0<\0\0\0/\0\0\0c\0\0\0h"
	    "\0\0\0a\0\0\0n\0\0\0n\0\0\0e\0\0\0l\0\0\0>\0\0\0<\0\0\0/\0\0\0r"
	    "\0\0\0s\0\0\0s\0\0\0>"), NULL, "utf-32be", "å–" },
	/* RFC 7303: the HTTP charset overrides the declaration */
	{ B("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\">"
	    "<channel><title>\xe5\xe4\xf6</title></channel></rss>"),
	    "application/rss+xml; charset=ISO-8859-1", "iso-8859-1", "åäö" },
	{ B("<rss version=\"2.0\"><channel><title>\xc3\xa5</title></channel>"
	    "</rss>"), "text/xml", "utf-8", "å" },
};

START_TEST(test_encodings)
{
	const struct enc_case *c = &enc_cases[_i];
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };

	ck_assert_msg(feed_parse_http(c->bytes, c->len, c->content_type,
	    "enc.xml", NULL, 0, collect, &s, &info, &err) == 0, "%s", err.msg);
	STR_EQ(info.encoding, c->encoding);
	STR_EQ(info.title, c->title);
	ck_assert_int_eq(info.recovered, 0);
	seen_free(&s);
	feed_info_clear(&info);
}
END_TEST

/* ---- attacks ---- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
assert_refused(const char *xml, size_t len)
{
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };
	double t0 = now_s();
	int r = feed_parse_mem(xml, len, "attack.xml", NULL, 0, collect,
	    &s, &info, &err);

	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err.code, EX_DATAERR);
	ck_assert_msg(strstr(err.msg, "attack.xml:") == err.msg &&
	    strstr(err.msg, "entities") != NULL, "message: %s", err.msg);
	ck_assert_int_eq(s.calls, 0);
	ck_assert_msg(now_s() - t0 < 1.0, "took %.2f s", now_s() - t0);
	feed_info_clear(&info);
}

START_TEST(test_billion_laughs)
{
	static const char xml[] =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n<rss version=\"2.0\"><channel><item><title>&lol9;</title>"
	    "<description>&lol9;&lol9;</description></item></channel></rss>\n";

	assert_refused(xml, sizeof xml - 1);
}
END_TEST

/* One 50 kB entity referenced 50,000 times: 2.5 GB if expanded. */
START_TEST(test_quadratic_blowup)
{
	struct buf b = { 0 };

	buf_addstr(&b, "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY a \"");
	for (int i = 0; i < 50000; i++)
		buf_addc(&b, 'a');
	buf_addstr(&b, "\">]>\n<rss version=\"2.0\"><channel><item><title>");
	for (int i = 0; i < 50000; i++)
		buf_addstr(&b, "&a;");
	buf_addstr(&b, "</title></item></channel></rss>\n");
	assert_refused(b.data, b.len);
	buf_free(&b);
}
END_TEST

#ifdef __linux__
/* Watches path for any open or read; returns the inotify descriptor. */
static int
watch(const char *path)
{
	int fd = inotify_init1(IN_NONBLOCK);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(inotify_add_watch(fd, path, IN_OPEN | IN_ACCESS), 0);
	return fd;
}

static int
was_touched(int fd)
{
	char ev[4096];
	ssize_t n = read(fd, ev, sizeof ev);

	close(fd);
	return n > 0;
}
#endif

/*
 * External entities (general and parameter, by path and by file: URL) and
 * an external DTD: refused or ignored, and the file they name is never
 * even opened.
 */
START_TEST(test_external_entities)
{
	char *secret = tbtest_path("secret.txt");
	static const char *const forms[] = {
		"<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file://%s\">]>"
		"<rss version=\"2.0\"><channel><title>&xxe;</title></channel></rss>",
		"<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"%s\">]>"
		"<rss version=\"2.0\"><channel><title>&xxe;</title></channel></rss>",
		"<!DOCTYPE rss [<!ENTITY %% pe SYSTEM \"file://%s\"> %%pe;]>"
		"<rss version=\"2.0\"><channel><title>x</title></channel></rss>",
		"<!DOCTYPE rss [<!ENTITY xxe PUBLIC \"-//X//Y\" \"%s\">]>"
		"<rss version=\"2.0\"><channel><title>&xxe;</title></channel></rss>",
	};

	tbtest_write(secret, "<title>HEMLIGT</title>", -1);
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char *xml = xasprintf(forms[i], secret);
#ifdef __linux__
		int fd = watch(secret);
#endif
		assert_refused(xml, strlen(xml));
#ifdef __linux__
		ck_assert_msg(!was_touched(fd), "form %zu opened the file", i);
#endif
		free(xml);
	}
	free(secret);
}
END_TEST

START_TEST(test_external_dtd_not_loaded)
{
	char *dtd = tbtest_path("rss.dtd");
	char *xml;
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };

	tbtest_write(dtd, "<!ENTITY eacute \"HEMLIGT\">", -1);
	xml = xasprintf("<!DOCTYPE rss SYSTEM \"%s\">\n<rss version=\"0.91\">"
	    "<channel><title>Caf&eacute; &amp; kaka</title></channel></rss>",
	    dtd);
#ifdef __linux__
	int fd = watch(dtd);
#endif
	ck_assert_int_eq(parse(xml, &s, &info, &err), 0);
#ifdef __linux__
	ck_assert_msg(!was_touched(fd), "the external DTD was opened");
#endif
	/* The entity the unread DTD would define is read as HTML's. */
	STR_EQ(info.title, "Café & kaka");
	ck_assert_int_eq(info.recovered, 0);
	feed_info_clear(&info);
	free(xml);
	free(dtd);
}
END_TEST

/* libxml2 must not write to stderr, whatever the input. */
START_TEST(test_silent)
{
	static const char *const bad[] = {
		"<rss version=\"2.0\"><channel><title>a & b</title></rss>",
		"<rss><channel><item><title>\xff\xfe</title></item>",
		"<?xml version=\"1.0\" encoding=\"bogus-8\"?><rss/>",
		"<!DOCTYPE rss [<!ENTITY a \"b\">]><rss/>",
		"<rss><x:y>undeclared prefix</x:y></rss>",
		"not xml at all",
		"",
	};
	char *path = tbtest_path("stderr.txt");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved = dup(2);
	struct stat st;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	dup2(fd, 2);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct seen s = { 0 };
		struct feed_info info = { 0 };
		struct error err = { 0 };

		parse(bad[i], &s, &info, &err);
		seen_free(&s);
		feed_info_clear(&info);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg(st.st_size == 0, "%lld bytes on stderr",
	    (long long)st.st_size);
	free(path);
}
END_TEST

/* ---- recovery ---- */

START_TEST(test_recover_ampersand)
{
	struct buf xml = { 0 };
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };

	/* Long enough items that the strict pass delivers two before it
	 * meets the bare '&'. */
	buf_addstr(&xml, "<rss version=\"2.0\"><channel><title>Recover</title>\n"
	    "<item><title>Ett</title><link>https://example.se/1</link>"
	    "<description>");
	for (int i = 0; i < 400; i++)
		buf_addstr(&xml, "Social innovation som samhällskraft. ");
	buf_addstr(&xml, "</description></item>\n"
	    "<item><title>Två &amp; tre</title><link>https://example.se/2</link>"
	    "<description>");
	for (int i = 0; i < 400; i++)
		buf_addstr(&xml, "Digital inkludering för alla. ");
	buf_addstr(&xml, "</description></item>\n"
	    "<item><title>Fika & bulle&nbsp;nu</title>"
	    "<link>https://example.se/s?a=1&b=2</link></item>\n"
	    "<item><description>bara beskrivning</description></item>\n"
	    "</channel></rss>\n");
	ck_assert_int_eq(parse(xml.data, &s, &info, &err), 0);
	buf_free(&xml);
	ck_assert_int_eq(info.recovered, 1);
	/* The strict pass gave the first item or two before it met the
	 * error, then all came again; the description-only item is skipped
	 * in recovery. */
	int k = s.calls - 3;

	ck_assert_int_ge(k, 1);
	ck_assert_int_le(k, 2);
	STR_EQ(s.items[0].identity, "https://example.se/1");
	STR_EQ(s.items[k].identity, "https://example.se/1");
	STR_EQ(s.items[k + 1].title, "Två & tre");
	STR_EQ(s.items[k + 2].title, "Fika & bulle nu");
	STR_EQ(s.items[k + 2].link, "https://example.se/s?a=1&b=2");
	seen_free(&s);
	feed_info_clear(&info);
}
END_TEST

/* A stray windows-1252 byte in a UTF-8 feed. */
START_TEST(test_recover_bad_byte)
{
	static const char xml[] =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\">"
	    "<channel><item><title>Kaffe p\xe5 ”jobbet”</title>"
	    "<guid>g1</guid></item></channel></rss>";
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };

	ck_assert_int_eq(parse(xml, &s, &info, &err), 0);
	ck_assert_int_eq(info.recovered, 1);
	ck_assert_int_eq(s.n, 1);
	STR_EQ(s.items[0].title, "Kaffe på ”jobbet”");
	seen_free(&s);
	feed_info_clear(&info);
}
END_TEST

START_TEST(test_recover_truncated)
{
	static const char xml[] =
	    "<rss version=\"2.0\"><channel><title>Avbruten</title>"
	    "<item><title>Hel</title><guid>a</guid></item>"
	    "<item><title>Halv</title><guid>b</gu";
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };

	ck_assert_int_eq(parse(xml, &s, &info, &err), 0);
	ck_assert_int_eq(info.recovered, 1);
	STR_EQ(info.title, "Avbruten");
	ck_assert_int_ge(s.n, 2);
	STR_EQ(s.items[0].identity, "a");
	STR_EQ(s.items[s.n - 1].id, "a");
	seen_free(&s);
	feed_info_clear(&info);
}
END_TEST

struct err_case {
	const char	*xml;
	int		 code;
	const char	*msg;	/* the error must start with it */
};

static const struct err_case err_cases[] = {
	{ "", EX_DATAERR, "bad.xml:1: " },
	{ "Det här är ingen feed.", EX_DATAERR, "bad.xml:1: " },
	{ "<html><body>Hej</body></html>", EX_DATAERR,
	    "bad.xml:1: not an RSS, RDF or Atom feed (root element <html>)" },
	{ "<?xml version=\"1.0\"?>\n\n<opml/>", EX_DATAERR,
	    "bad.xml:3: not an RSS" },
	{ "<!DOCTYPE rss [\n<!ENTITY a \"b\">]><rss/>", EX_DATAERR,
	    "bad.xml:2: the DOCTYPE declares entities" },
};

START_TEST(test_errors)
{
	const struct err_case *c = &err_cases[_i];
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };

	ck_assert_int_eq(feed_parse_mem(c->xml, strlen(c->xml), "bad.xml",
	    NULL, 0, collect, &s, &info, &err), -1);
	ck_assert_int_eq(err.code, c->code);
	ck_assert_msg(strncmp(err.msg, c->msg, strlen(c->msg)) == 0,
	    "got '%s', want '%s...'", err.msg, c->msg);
	seen_free(&s);
	feed_info_clear(&info);
}
END_TEST

START_TEST(test_file_errors)
{
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };
	char *path = tbtest_path("finns-inte.xml");

	ck_assert_int_eq(feed_parse_file(path, "finns-inte.xml", NULL, 0,
	    collect, &s, &info, &err), -1);
	ck_assert_int_eq(err.code, EX_NOINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "finns-inte.xml: "));
	free(path);
}
END_TEST

START_TEST(test_file_and_stop)
{
	char *path = tbtest_path("msi.xml");
	struct seen s = { .stop_at = 2 };
	struct feed_info info = { 0 };
	struct error err = { 0 };

	tbtest_write(path, rss_msi, -1);
	ck_assert_int_eq(feed_parse_file(path, NULL, NULL, 0, collect, &s,
	    &info, &err), 7);
	ck_assert_int_eq(s.calls, 2);
	ck_assert_int_eq(s.n, 1);
	/* Without a base URL, relative URLs resolve against the item link. */
	ck_assert_ptr_nonnull(strstr(s.items[0].content,
	    "https://example.se/koalitioner/"));
	seen_free(&s);
	feed_info_clear(&info);
	free(path);
}
END_TEST

/* ---- identity ---- */

struct id_case {
	const char	*id, *link, *title;
	const char	*identity;
};

static const struct id_case id_cases[] = {
	{ "tag:example.se,2021:1", "https://example.se/a", "T",
	    "tag:example.se,2021:1" },
	{ "HTTP://Example.SE/A#x", NULL, NULL, "HTTP://Example.SE/A#x" },
	{ NULL, "HTTPS://Example.SE/Nyheter/Ett?Sida=2#kommentarer", "T",
	    "https://example.se/Nyheter/Ett?Sida=2" },
	{ "", "https://example.se/a", "T", "https://example.se/a" },
	{ NULL, NULL, "Bara en titel", "title:Bara en titel" },
	{ NULL, NULL, NULL, NULL },
};

START_TEST(test_identity)
{
	const struct id_case *c = &id_cases[_i];
	struct feed_item it = { 0 };
	char *k;

	it.id = c->id;
	it.link = c->link;
	it.title = c->title;
	it.summary_html = "<p>Innehållet ändras, identiteten inte.</p>";
	k = feed_item_identity(&it);
	STR_EQ(k, c->identity);
	free(k);
}
END_TEST

/* ---- memory ---- */

/* A 16 MB feed streams: memory stays near one item, not the file size. */
START_TEST(test_large_feed_streams)
{
	char *path = tbtest_path("stor.xml");
	FILE *fp = fopen(path, "w");
	struct seen s = { 0 };
	struct feed_info info = { 0 };
	struct error err = { 0 };
	struct rusage before, after;
	struct stat st;

	ck_assert_ptr_nonnull(fp);
	fputs("<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:content="
	    "\"http://purl.org/rss/1.0/modules/content/\"><channel>"
	    "<title>Stor</title>\n", fp);
	for (int i = 0; i < 8000; i++) {
		fprintf(fp, "<item><title>Nyhet %d</title><guid>g%d</guid>"
		    "<content:encoded><![CDATA[", i, i);
		for (int k = 0; k < 12; k++)
			fputs("<p>Från webbinarier som ger mer kunskap inom "
			    "aktuella områden, till koalitioner där aktörer "
			    "från olika sektorer identifierar gemensamma "
			    "frågeställningar.</p>", fp);
		fputs("]]></content:encoded></item>\n", fp);
	}
	fputs("</channel></rss>\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_gt(st.st_size, 16 * 1000 * 1000);
	getrusage(RUSAGE_SELF, &before);
	ck_assert_int_eq(feed_parse_file(path, NULL, NULL, 0, collect, &s,
	    &info, &err), 0);
	getrusage(RUSAGE_SELF, &after);
	ck_assert_int_eq(s.calls, 8000);
#if !defined(__SANITIZE_ADDRESS__)
	/* ru_maxrss is in kB; the sanitizers' shadow memory would blur it */
	ck_assert_msg(after.ru_maxrss - before.ru_maxrss < 32 * 1024,
	    "grew by %ld kB", after.ru_maxrss - before.ru_maxrss);
#endif
	seen_free(&s);
	feed_info_clear(&info);
	free(path);
}
END_TEST

/*
 * FEED_NO_TEXT leaves feed_item.text out; feed_item_text() renders from
 * the item's sanitized HTML exactly what the parser would have (the
 * ingest renders on either thread and stores one or the other).
 */
START_TEST(test_no_text)
{
	const char *feeds[] = { rss_msi, atom_msi, rdf_msi };

	for (size_t f = 0; f < sizeof feeds / sizeof feeds[0]; f++) {
		struct seen a = { 0 }, b = { 0 };
		struct feed_info info = { 0 };
		struct error err = { 0 };

		ck_assert_int_eq(parse(feeds[f], &a, &info, &err), 0);
		ck_assert_int_eq(feed_parse_mem(feeds[f], strlen(feeds[f]),
		    "test.xml", "https://example.se/feed/", FEED_NO_TEXT,
		    collect, &b, &info, &err), 0);
		ck_assert_int_gt(a.n, 0);
		ck_assert_int_eq(a.n, b.n);
		for (int i = 0; i < a.n; i++) {
			struct buf t = { 0 };
			int rc = feed_item_text(b.items[i].content,
			    b.items[i].summary, &t);

			ck_assert_ptr_null(b.items[i].text);
			STR_EQ(b.items[i].content, a.items[i].content);
			if (a.items[i].text == NULL)
				ck_assert_int_eq(rc, -1);
			else {
				ck_assert_int_eq(rc, 0);
				STR_EQ(t.data != NULL ? t.data : "",
				    a.items[i].text);
			}
			buf_free(&t);
		}
		seen_free(&a);
		seen_free(&b);
		feed_info_clear(&info);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("feed");

	/* Item HTML read by html.c's quick reader is checked against
	 * libxml2's reading (html.c aborts on a difference). */
	setenv("TEMABREV_HTML_CROSSCHECK", "1", 1);
	xmlInitParser();
	tbtest_dir();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_rss2);
	tcase_add_test(tc, test_no_text);
	tcase_add_test(tc, test_rss_html_forms);
	tcase_add_test(tc, test_rss_titles);
	tcase_add_test(tc, test_atom);
	tcase_add_test(tc, test_rdf);
	tcase_add_loop_test(tc, test_encodings, 0,
	    sizeof enc_cases / sizeof enc_cases[0]);
	tcase_add_test(tc, test_billion_laughs);
	tcase_add_test(tc, test_quadratic_blowup);
	tcase_add_test(tc, test_external_entities);
	tcase_add_test(tc, test_external_dtd_not_loaded);
	tcase_add_test(tc, test_silent);
	tcase_add_test(tc, test_recover_ampersand);
	tcase_add_test(tc, test_recover_bad_byte);
	tcase_add_test(tc, test_recover_truncated);
	tcase_add_loop_test(tc, test_errors, 0,
	    sizeof err_cases / sizeof err_cases[0]);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_file_and_stop);
	tcase_add_loop_test(tc, test_identity, 0,
	    sizeof id_cases / sizeof id_cases[0]);
	tcase_add_test(tc, test_large_feed_streams);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
