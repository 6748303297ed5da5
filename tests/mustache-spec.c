/*
 * mustache-spec: runs the official Mustache spec tests (the JSON form of
 * github.com/mustache/spec, core modules) against template.c, one TAP line
 * per test. The tests live in $TB_CORPUS/mustache-spec; without them the
 * program reports a skip.
 *
 * Partials come from each test's "partials" object. The spec wants a
 * partial that is not there to render as nothing ("Failed Lookup"), which
 * in temabrev is the loader's choice, so this loader returns an empty
 * source for it; temabrev's own loader reports it as an error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "template.h"
#include "util.h"

static const char *const files[] = {
	"interpolation", "sections", "inverted", "comments", "partials",
	"delimiters",
};
#define NFILES (sizeof files / sizeof files[0])

static int
spec_loader(void *arg, const char *name, char **text_r, size_t *len_r,
    char **display_r, struct error *err)
{
	json_t *partials = arg;
	json_t *p = partials ? json_object_get(partials, name) : NULL;

	(void)err;
	if (!json_is_string(p)) {
		*text_r = xstrdup("");
		*len_r = 0;
	} else {
		*len_r = json_string_length(p);
		*text_r = xmalloc(*len_r + 1);
		memcpy(*text_r, json_string_value(p), *len_r + 1);
	}
	*display_r = xasprintf("partial %s", name);
	return 0;
}

/* Prints s as a TAP comment, showing control characters. */
static void
diag(const char *label, const char *s)
{
	printf("#   %s: \"", label);
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\r')
			fputs("\\r", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else
			putchar(*s);
	}
	puts("\"");
}

/* Runs one test; returns 1 when it passes. */
static int
run_test(json_t *test, int n, const char *file)
{
	const char *name = json_string_value(json_object_get(test, "name"));
	json_t *tmpl = json_object_get(test, "template");
	json_t *data = json_object_get(test, "data");
	const char *expected = json_string_value(json_object_get(test,
	    "expected"));
	struct template *t = NULL;
	struct error err = { 0 };
	struct buf out = { 0 };
	int ok = 0;

	if (template_compile(json_string_value(tmpl), json_string_length(tmpl),
	    name, 1, spec_loader, json_object_get(test, "partials"), &t,
	    &err) == -1 ||
	    template_render(t, &data, 1, &out, &err) == -1) {
		printf("not ok %d - %s: %s\n# error: %s\n", n, file, name,
		    err.msg);
		goto done;
	}
	ok = expected != NULL && strcmp(out.data, expected) == 0;
	printf("%sok %d - %s: %s\n", ok ? "" : "not ", n, file, name);
	if (!ok) {
		diag("template", json_string_value(tmpl));
		diag("expected", expected ? expected : "(none)");
		diag("got", out.data);
	}
done:
	buf_free(&out);
	template_free(t);
	return ok;
}

int
main(void)
{
	const char *corpus = getenv("TB_CORPUS");
	json_t *specs[NFILES] = { NULL };
	json_error_t jerr;
	struct stat st;
	char *dir = NULL, *path = NULL;
	size_t i, k, total = 0;
	int n = 0, failed = 0, rc = 1;

	if (corpus != NULL && *corpus != '\0')
		dir = xasprintf("%s/mustache-spec", corpus);
	if (dir == NULL || stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		puts("1..0 # SKIP corpus not found");
		rc = 0;
		goto done;
	}
	for (i = 0; i < NFILES; i++) {
		path = xasprintf("%s/%s.json", dir, files[i]);
		specs[i] = json_load_file(path, 0, &jerr);
		if (!json_is_array(json_object_get(specs[i], "tests"))) {
			printf("Bail out! %s: %s\n", path, specs[i] ?
			    "no tests array" : jerr.text);
			goto done;
		}
		free(path);
		path = NULL;
		total += json_array_size(json_object_get(specs[i], "tests"));
	}
	printf("1..%zu\n", total);
	for (i = 0; i < NFILES; i++) {
		json_t *tests = json_object_get(specs[i], "tests");

		for (k = 0; k < json_array_size(tests); k++)
			failed += !run_test(json_array_get(tests, k), ++n,
			    files[i]);
	}
	rc = failed ? 1 : 0;
done:
	for (i = 0; i < NFILES; i++)
		json_decref(specs[i]);
	free(path);
	free(dir);
	return rc;
}
