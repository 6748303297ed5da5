/*
 * Unit tests for template: what temabrev's editions rely on beyond the
 * spec tests (tests/mustache-spec.c): Swedish text, text/plain mode,
 * errors that name the file and line, partials from a loader, deep
 * nesting, big lists, the edition/subscriber context stack, data that
 * looks like markup, several threads on one template, and a benchmark
 * (TB_BENCH=N renders; the default is a short smoke run).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <jansson.h>

#include "tbtest.h"
#include "template.h"
#include "util.h"

/* ---- helpers ---- */

/* Partials by name; a name not in the table is missing. */
struct partial {
	const char	*name;
	const char	*text;
};

static const struct partial partials[] = {
	{ "footer", "-- \n{{org}}\n" },
	{ "item", "<li>{{title}}</li>\n" },
	{ "inline", "{{#l}}x\n{{/l}} y\n{{! c }}z\n" },
	{ "outer", "a\nb\n{{>nosuch}}" },
	{ "list", "<ul>\n{{#items}}\n  {{>item}}\n{{/items}}\n</ul>\n" },
	{ "broken", "ok\n\n{{#x}}\n" },
	{ "forever", "{{>forever}}" },
	{ "lines", "a\n{{#l}}\n- {{.}}\n{{/l}}\nb\n" },
	{ "ioerr", NULL },
	{ NULL, NULL },
};

static int
table_loader(void *arg, const char *name, char **text_r, size_t *len_r,
    char **display_r, struct error *err)
{
	const struct partial *p;

	(void)arg;
	for (p = partials; p->name != NULL; p++) {
		if (strcmp(p->name, name) != 0)
			continue;
		if (p->text == NULL) {
			error_set(err, EX_IOERR, "templates/%s: Permission "
			    "denied", name);
			return -1;
		}
		*text_r = xstrdup(p->text);
		*len_r = strlen(p->text);
		*display_r = xasprintf("templates/%s", name);
		return 0;
	}
	return 1;
}

static json_t *
parse_json(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, 0, &jerr);

	ck_assert_msg(j != NULL, "bad test JSON: %s: %s", jerr.text, s);
	return j;
}

static struct template *
compile(const char *src, int html)
{
	struct template *t = NULL;
	struct error err = { 0 };

	ck_assert_msg(template_compile(src, strlen(src), "t.html", html,
	    table_loader, NULL, &t, &err) == 0, "%s", err.msg);
	return t;
}

/* Renders src over the layers (JSON texts, bottom first); caller frees. */
static char *
render_layers(const char *src, int html, const char *const *layers,
    size_t n)
{
	struct template *t = compile(src, html);
	json_t *stack[8];
	struct error err = { 0 };
	struct buf out = { 0 };
	size_t i;

	ck_assert(n <= 8);
	for (i = 0; i < n; i++)
		stack[i] = parse_json(layers[i]);
	ck_assert_msg(template_render(t, stack, n, &out, &err) == 0, "%s",
	    err.msg);
	for (i = 0; i < n; i++)
		json_decref(stack[i]);
	template_free(t);
	return buf_steal(&out);
}

static void
check_render(const char *src, int html, const char *data,
    const char *expected)
{
	char *got = render_layers(src, html, &data, 1);

	ck_assert_str_eq(got, expected);
	free(got);
}

/* ---- content ---- */

START_TEST(test_swedish)
{
	check_render("<p>Hej {{namn}}! Välkommen till {{tema}} – åäö ÅÄÖ "
	    "«{{citat}}»</p>\n", 1,
	    "{\"namn\": \"Örjan Åström\", \"tema\": \"Fåglar & natur\", "
	    "\"citat\": \"Smörgåsbord\"}",
	    "<p>Hej Örjan Åström! Välkommen till Fåglar &amp; natur – åäö "
	    "ÅÄÖ «Smörgåsbord»</p>\n");
	/* Names may be UTF-8 too. */
	check_render("{{#ämnen}}{{rubrik}}; {{/ämnen}}", 1,
	    "{\"ämnen\": [{\"rubrik\": \"Sjöfåglar\"}, "
	    "{\"rubrik\": \"Tättingar\"}]}", "Sjöfåglar; Tättingar; ");
}
END_TEST

START_TEST(test_text_mode)
{
	const char *data = "{\"namn\": \"Anna & Björn <ab@example.org>\", "
	    "\"q\": \"\\\"citat\\\" 'x'\"}";

	check_render("Hej {{namn}}, {{q}} {{{namn}}} {{&q}}\n", 0, data,
	    "Hej Anna & Björn <ab@example.org>, \"citat\" 'x' "
	    "Anna & Björn <ab@example.org> \"citat\" 'x'\n");
	check_render("Hej {{namn}}, {{q}}\n", 1, data,
	    "Hej Anna &amp; Björn &lt;ab@example.org&gt;, "
	    "&quot;citat&quot; &#39;x&#39;\n");
}
END_TEST

/* Data is inserted as data: never parsed again, escaped in HTML. */
START_TEST(test_data_is_literal)
{
	const char *layers[] = {
		"{\"x\": \"EDITION\", \"url\": \"https://example.org/\"}",
		"{\"name\": \"{{x}} </a><script>alert('x')</script>\", "
		    "\"raw\": \"{{#x}}{{/x}}{{>footer}}{{=<% %>=}}\"}",
	};
	char *got;

	got = render_layers("<a href=\"{{url}}\">{{name}}</a>|{{{raw}}}", 1,
	    layers, 2);
	ck_assert_str_eq(got, "<a href=\"https://example.org/\">{{x}} "
	    "&lt;/a&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</a>|"
	    "{{#x}}{{/x}}{{>footer}}{{=<% %>=}}");
	free(got);
	got = render_layers("Hej {{name}}", 0, layers, 2);
	ck_assert_str_eq(got, "Hej {{x}} </a><script>alert('x')</script>");
	free(got);
}
END_TEST

START_TEST(test_values)
{
	check_render("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}} {{h}} "
	    "[{{i}}] [{{j}}] [{{k}}]", 1,
	    "{\"a\": 1.21, \"b\": 0.1, \"c\": 3.0, \"d\": -2.5, \"e\": -42, "
	    "\"f\": -9223372036854775808, \"g\": true, \"h\": false, "
	    "\"i\": null, \"j\": {\"x\": 1}, \"k\": [1, 2]}",
	    "1.21 0.1 3 -2.5 -42 -9223372036854775808 true false [] [] []");
	/* Empty strings are falsey, numbers (0 too) are not. */
	check_render("{{#s}}S{{/s}}{{^s}}no name{{/s}} "
	    "{{#z}}{{z}} articles{{/z}}", 1,
	    "{\"s\": \"\", \"z\": 0}", "no name 0 articles");
	/* A scalar section puts the value on top. */
	check_render("{{#first}}Hej {{.}}!{{/first}}", 1,
	    "{\"first\": \"Åsa\"}", "Hej Åsa!");
}
END_TEST

START_TEST(test_crlf)
{
	check_render("{{#a}}\r\n  x\r\n{{/a}}\r\n{{! c }}\r\ny\r\n", 1,
	    "{\"a\": [1, 2]}", "  x\r\n  x\r\ny\r\n");
}
END_TEST

/* jansson strings may hold NULs: they are bytes like any other. */
START_TEST(test_inner_nul)
{
	struct template *t = compile("[{{x}}]", 1);
	json_t *j = json_pack("{s:s%}", "x", "a\0<b'", (size_t)5);
	struct error err = { 0 };
	struct buf out = { 0 };

	ck_assert_int_eq(template_render(t, &j, 1, &out, &err), 0);
	ck_assert_uint_eq(out.len, 14);
	ck_assert_int_eq(memcmp(out.data, "[a\0&lt;b&#39;]", 15), 0);
	buf_free(&out);
	json_decref(j);
	template_free(t);
}
END_TEST

/* ---- the context stack ---- */

START_TEST(test_stack)
{
	const char *layers[] = {
		"{\"title\": \"Veckans fåglar\", \"name\": \"Redaktionen\", "
		    "\"first_name\": \"Läsare\", "
		    "\"org\": {\"name\": \"Fågelklubben\"}, "
		    "\"items\": [{\"title\": \"Tranor\"}, {\"url\": \"/u\"}]}",
		"{\"name\": \"Anna\", \"first_name\": null, "
		    "\"token\": \"abc123\"}",
	};
	char *got;

	got = render_layers("{{title}}|{{name}}|{{first_name}}|{{org.name}}|"
	    "{{token}}|{{#items}}{{title}}/{{token}}{{url}};{{/items}}", 1,
	    layers, 2);
	/* The subscriber's null hides the edition's first_name. */
	ck_assert_str_eq(got, "Veckans fåglar|Anna||Fågelklubben|abc123|"
	    "Tranor/abc123;Veckans fåglar/abc123/u;");
	free(got);
	/* Swapped: the top layer wins. */
	const char *swapped[] = { layers[1], layers[0] };
	got = render_layers("{{name}}|{{first_name}}|{{token}}", 1, swapped,
	    2);
	ck_assert_str_eq(got, "Redaktionen|Läsare|abc123");
	free(got);
}
END_TEST

START_TEST(test_stack_edges)
{
	struct template *t = compile("[{{.}}{{x}}]", 1);
	struct error err = { 0 };
	struct buf out = { 0 };
	json_t *layers[3] = { json_string("bottom"), NULL, NULL };

	/* No layers at all, NULL layers, and appending to out. */
	ck_assert_int_eq(template_render(t, NULL, 0, &out, &err), 0);
	ck_assert_int_eq(template_render(t, layers, 3, &out, &err), 0);
	ck_assert_str_eq(out.data, "[][bottom]");
	buf_free(&out);
	json_decref(layers[0]);
	template_free(t);
	template_free(NULL);
}
END_TEST

/* ---- errors ---- */

struct err_case {
	const char	*src;
	int		 code;
	const char	*msg;
};

static const struct err_case err_cases[] = {
	{ "a\n{{#items}}\nb\n", EX_DATAERR,
	    "t.html:2: unclosed section {{#items}}" },
	{ "{{#a}}\n  {{^b}}\n{{/b}}\n{{#c}}", EX_DATAERR,
	    "t.html:4: unclosed section {{#c}}" },
	{ "a\n\n{{/x}}", EX_DATAERR, "t.html:3: unexpected {{/x}}" },
	{ "{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}", EX_DATAERR,
	    "t.html:3: unexpected {{/a}} ({{#b}} on line 2 is still open)" },
	{ "{{!\n\n}}\n{{/ z }}", EX_DATAERR, "t.html:4: unexpected {{/ z }}" },
	{ "x\n{{=<% =}}", EX_DATAERR, "t.html:2: bad set-delimiter tag "
	    "{{=<% =}}" },
	{ "{{=<%%>=}}", EX_DATAERR,
	    "t.html:1: bad set-delimiter tag {{=<%%>=}}" },
	{ "{{= a b c =}}", EX_DATAERR,
	    "t.html:1: bad set-delimiter tag {{= a b c =}}" },
	{ "{{= a= b =}}", EX_DATAERR,
	    "t.html:1: bad set-delimiter tag {{= a= b =}}" },
	{ "{{=<% %>}}", EX_DATAERR,
	    "t.html:1: bad set-delimiter tag {{=<% %>}}" },
	{ "{{=<% %>=}}\n\n<%#a%>\n", EX_DATAERR,
	    "t.html:3: unclosed section <%#a%>" },
	{ "x\ny {{name\nz", EX_DATAERR, "t.html:2: unclosed tag {{name" },
	{ "{{{x}}", EX_DATAERR, "t.html:1: unclosed tag {{{x}}" },
	{ "{{}}", EX_DATAERR, "t.html:1: empty tag {{}}" },
	{ "{{# }}{{/ }}", EX_DATAERR, "t.html:1: empty tag {{# }}" },
	{ "{{a..b}}", EX_DATAERR, "t.html:1: bad name in {{a..b}}" },
	{ "{{.a}}", EX_DATAERR, "t.html:1: bad name in {{.a}}" },
	{ "{{a b}}", EX_DATAERR, "t.html:1: bad name in {{a b}}" },
	{ "{{<base}}{{/base}}", EX_DATAERR,
	    "t.html:1: template inheritance is not supported: {{<base}}" },
	{ "a\n  {{>nosuch}}\n", EX_NOINPUT,
	    "t.html:2: unknown partial {{>nosuch}}" },
	{ "{{#never}}\n{{> nosuch }}{{/never}}", EX_NOINPUT,
	    "t.html:2: unknown partial {{> nosuch }}" },
	{ "x\n{{>broken}}", EX_DATAERR,
	    "templates/broken:3: unclosed section {{#x}} (included from "
	    "t.html:2)" },
	{ "{{#a}}\n\n{{>outer}}{{/a}}", EX_NOINPUT,
	    "templates/outer:3: unknown partial {{>nosuch}} (included from "
	    "t.html:3)" },
	{ "{{>ioerr}}", EX_IOERR,
	    "t.html:1: {{>ioerr}}: templates/ioerr: Permission denied" },
};

START_TEST(test_errors)
{
	const struct err_case *c = &err_cases[_i];
	struct template *t = (struct template *)&t;
	struct error err = { 0 };

	ck_assert_int_eq(template_compile(c->src, strlen(c->src), "t.html", 1,
	    table_loader, NULL, &t, &err), -1);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(err.code, c->code);
	ck_assert_msg(strcmp(err.msg, c->msg) == 0,
	    "'%s': got '%s', expected '%s'", c->src, err.msg, c->msg);
}
END_TEST

START_TEST(test_no_loader)
{
	struct template *t = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(template_compile("{{>footer}}", 11, NULL, 1, NULL,
	    NULL, &t, &err), -1);
	ck_assert_int_eq(err.code, EX_NOINPUT);
	ck_assert_str_eq(err.msg, "template:1: unknown partial {{>footer}}");
	/* A NUL byte is just a byte; len rules, not strlen. */
	ck_assert_int_eq(template_compile("a\0{{b}}", 7, NULL, 1, NULL, NULL,
	    &t, &err), 0);
	template_free(t);
}
END_TEST

/* ---- partials ---- */

START_TEST(test_partials)
{
	const char *data = "{\"org\": \"Fågelklubben\", \"items\": "
	    "[{\"title\": \"Tranor & hägrar\"}, {\"title\": \"Ugglor\"}], "
	    "\"l\": [1, 2]}";

	check_render("<div>\n  {{>list}}\n</div>\n{{>footer}}", 1, data,
	    "<div>\n  <ul>\n    <li>Tranor &amp; hägrar</li>\n"
	    "    <li>Ugglor</li>\n  </ul>\n</div>\n-- \nFågelklubben\n");
	/* Every template line of a standalone partial is indented. */
	check_render("x\n  {{>lines}}\ny\n", 1, data,
	    "x\n  a\n  - 1\n  - 2\n  b\ny\n");
	/* As if indented in the source: also before inline tags. */
	check_render("  {{>inline}}\n", 1, data,
	    "  x\n  x\n   y\n  z\n");
	/* Inline partials are not. */
	check_render("x {{>lines}}y\n", 1, data, "x a\n- 1\n- 2\nb\ny\n");
}
END_TEST

START_TEST(test_partial_recursion_limit)
{
	struct template *t = compile("before\n{{>forever}}", 1);
	struct error err = { 0 };
	struct buf out = { 0 };

	buf_addstr(&out, "kept");
	ck_assert_int_eq(template_render(t, NULL, 0, &out, &err), -1);
	ck_assert_int_eq(err.code, EX_DATAERR);
	ck_assert_msg(strstr(err.msg, "templates/forever:1: sections and "
	    "partials nested deeper than") != NULL, "%s", err.msg);
	ck_assert_str_eq(out.data, "kept");
	buf_free(&out);
	template_free(t);
}
END_TEST

/* ---- size ---- */

START_TEST(test_deep_nesting)
{
	const int levels = 200;
	struct buf src = { 0 }, data = { 0 };
	struct template *t = NULL;
	struct error err = { 0 };
	struct buf out = { 0 };
	json_t *j;
	int i;

	for (i = 0; i < levels; i++) {
		buf_printf(&src, "{{#a}}%d", i % 10);
		buf_addstr(&data, "{\"a\": ");
	}
	buf_addstr(&src, "{{v}}");
	buf_addstr(&data, "{\"v\": \"botten\"}");
	for (i = 0; i < levels; i++) {
		buf_addstr(&src, "{{/a}}");
		buf_addc(&data, '}');
	}
	j = parse_json(data.data);
	t = compile(src.data, 1);
	ck_assert_int_eq(template_render(t, &j, 1, &out, &err), 0);
	ck_assert_int_eq(out.len, (size_t)levels + 6);
	ck_assert_str_eq(out.data + levels, "botten");
	template_free(t);
	t = NULL;

	/* Past TEMPLATE_MAX_DEPTH it is a compile error, not a crash. */
	buf_reset(&src);
	for (i = 0; i < TEMPLATE_MAX_DEPTH + 1; i++)
		buf_addstr(&src, "{{#a}}");
	ck_assert_int_eq(template_compile(src.data, src.len, "deep.html", 1,
	    NULL, NULL, &t, &err), -1);
	ck_assert_msg(strstr(err.msg, "nested too deeply") != NULL, "%s",
	    err.msg);
	json_decref(j);
	buf_free(&src);
	buf_free(&data);
	buf_free(&out);
}
END_TEST

START_TEST(test_big_list)
{
	const size_t n = 10000;
	json_t *items = json_array(), *data = json_object();
	struct template *t = compile("<ul>\n{{#items}}\n  <li><a href=\""
	    "{{url}}\">{{title}}</a> {{n}}</li>\n{{/items}}\n</ul>\n", 1);
	struct error err = { 0 };
	struct buf out = { 0 };
	char *url, *title;
	size_t i;

	for (i = 0; i < n; i++) {
		url = xasprintf("https://example.org/a/%zu?x=1&y=2", i);
		title = xasprintf("Artikel %zu <ny>", i);
		json_array_append_new(items, json_pack("{s:s, s:s, s:I}",
		    "url", url, "title", title, "n", (json_int_t)i));
		free(url);
		free(title);
	}
	json_object_set_new(data, "items", items);
	ck_assert_int_eq(template_render(t, &data, 1, &out, &err), 0);
	ck_assert_msg(strncmp(out.data, "<ul>\n  <li><a href=\"https://"
	    "example.org/a/0?x=1&amp;y=2\">Artikel 0 &lt;ny&gt;</a> 0</li>\n",
	    60) == 0, "%.100s", out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "\">Artikel 9999 &lt;ny&gt;"
	    "</a> 9999</li>\n</ul>\n"));
	size_t lines = 0;
	for (i = 0; i < out.len; i++)
		lines += out.data[i] == '\n';
	ck_assert_uint_eq(lines, n + 2);
	buf_free(&out);
	json_decref(data);
	template_free(t);
}
END_TEST

/* ---- threads ---- */

struct job {
	const struct template	*t;
	json_t			*layers[2];
	const char		*expected;
	int			 ok;
};

static void *
render_many(void *arg)
{
	struct job *job = arg;
	struct buf out = { 0 };
	struct error err;
	int i;

	job->ok = 1;
	for (i = 0; i < 500 && job->ok; i++) {
		buf_reset(&out);
		if (template_render(job->t, job->layers, 2, &out, &err) == -1 ||
		    strcmp(out.data, job->expected) != 0)
			job->ok = 0;
	}
	buf_free(&out);
	return NULL;
}

START_TEST(test_threads)
{
	struct template *t = compile("Hej {{name}}!\n  {{>list}}\n{{>footer}}",
	    1);
	json_t *edition = parse_json("{\"org\": \"Klubben\", \"items\": "
	    "[{\"title\": \"A\"}, {\"title\": \"B\"}]}");
	struct job jobs[4];
	pthread_t tid[4];
	char *expected[4];
	int i;

	for (i = 0; i < 4; i++) {
		jobs[i].t = t;
		jobs[i].layers[0] = edition;
		jobs[i].layers[1] = json_pack("{s:i}", "name", i);
		expected[i] = xasprintf("Hej %d!\n  <ul>\n    <li>A</li>\n"
		    "    <li>B</li>\n  </ul>\n-- \nKlubben\n", i);
		jobs[i].expected = expected[i];
		ck_assert_int_eq(pthread_create(&tid[i], NULL, render_many,
		    &jobs[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_msg(jobs[i].ok, "thread %d rendered wrongly", i);
		json_decref(jobs[i].layers[1]);
		free(expected[i]);
	}
	json_decref(edition);
	template_free(t);
}
END_TEST

/* ---- benchmark ---- */

/*
 * A ~10 KB edition: a header, 12 articles with escaped fields, a
 * personal greeting and footer from the subscriber layer. TB_BENCH=100000
 * times 100,000 renders; the default run is a smoke test.
 */
START_TEST(test_bench)
{
	struct buf src = { 0 }, out = { 0 };
	struct template *t;
	struct error err;
	json_t *items = json_array(), *stack[2];
	struct timespec t0, t1;
	const char *env = getenv("TB_BENCH");
	long n = env ? strtol(env, NULL, 10) : 200, i;
	size_t size = 0;
	double secs;

	buf_addstr(&src, "<!DOCTYPE html>\n<html lang=\"sv\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>{{theme.name}} – {{date}}"
	    "</title>\n<style>body{font-family:sans-serif;margin:0;"
	    "padding:0}h1{font-size:24px}.art{margin:16px 0}</style>\n"
	    "</head>\n<body>\n{{#first_name}}<p>Hej {{first_name}}!</p>"
	    "{{/first_name}}{{^first_name}}<p>Hej!</p>{{/first_name}}\n"
	    "<h1>{{theme.name}}</h1>\n");
	buf_addstr(&src, "{{#items}}\n<div class=\"art\">\n  <h2><a href=\""
	    "{{url}}\">{{title}}</a></h2>\n  <p class=\"meta\">{{source}} · "
	    "{{published}}</p>\n  <p>{{summary}}</p>\n</div>\n{{/items}}\n");
	for (i = 0; i < 125; i++)
		buf_addstr(&src, i % 5 ? "<p class=\"filler\">Lorem ipsum "
		    "dolor sit amet, consectetur adipiscing elit.</p>\n" :
		    "<p class=\"filler\">Mer om {{theme.name}}: sed do "
		    "eiusmod tempor.</p>\n");
	buf_addstr(&src, "<hr>\n<p>Du får det här brevet eftersom "
	    "{{email}} prenumererar på {{theme.name}}.</p>\n<p><a href=\""
	    "{{unsubscribe_url}}\">Avsluta prenumerationen</a></p>\n"
	    "</body>\n</html>\n");
	ck_assert_int_eq(template_compile(src.data, src.len, "bench.html", 1,
	    NULL, NULL, &t, &err), 0);
	for (i = 0; i < 12; i++)
		json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:s}", "url", "https://example.org/artiklar/2024/"
		    "tranorna-har-kommit-tillbaka?utm=nyhetsbrev&id=1",
		    "title", "Tranorna har kommit tillbaka till Hornborgasjön",
		    "source", "Fågelklubbens blogg", "published", "2024-04-01",
		    "summary", "Över 20 000 tranor dansade vid sjön i helgen. "
		    "Vi var där & räknade – läs om \"dansen\" och se bilderna "
		    "från <Trandansen>."));
	stack[0] = json_pack("{s:{s:s}, s:s, s:o}", "theme", "name",
	    "Fåglar i Sverige", "date", "2024-04-05", "items", items);
	stack[1] = json_pack("{s:s, s:s, s:s}", "first_name", "Örjan",
	    "email", "orjan@example.org", "unsubscribe_url",
	    "https://example.org/u/abcdefghijklmnopqrstuvwxyz012345");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		buf_reset(&out);
		ck_assert_int_eq(template_render(t, stack, 2, &out, &err), 0);
		size = out.len;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "# bench: %ld renders of a %zu-byte template "
	    "(%zu bytes out) in %.3f s: %.0f renders/s\n", n, src.len, size,
	    secs, secs > 0 ? (double)n / secs : 0.0);
	ck_assert_uint_gt(src.len, 8000);
	ck_assert_ptr_nonnull(strstr(out.data, "<p>Hej Örjan!</p>"));
	ck_assert_ptr_nonnull(strstr(out.data, "Vi var där &amp; räknade"));
	buf_free(&out);
	buf_free(&src);
	json_decref(stack[0]);
	json_decref(stack[1]);
	template_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("template");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_swedish);
	tcase_add_test(tc, test_text_mode);
	tcase_add_test(tc, test_data_is_literal);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_inner_nul);
	tcase_add_test(tc, test_stack);
	tcase_add_test(tc, test_stack_edges);
	tcase_add_loop_test(tc, test_errors, 0,
	    sizeof err_cases / sizeof err_cases[0]);
	tcase_add_test(tc, test_no_loader);
	tcase_add_test(tc, test_partials);
	tcase_add_test(tc, test_partial_recursion_limit);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_big_list);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_bench);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
