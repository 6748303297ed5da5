/*
 * template: logic-less Mustache templates for newsletter editions. It
 * implements the core modules of the Mustache spec (v1.3,
 * github.com/mustache/spec): interpolation, sections, inverted sections,
 * comments, partials and set delimiters, with the spec's standalone-line
 * and partial-indentation rules. Lambdas, inheritance and dynamic names
 * (optional in the spec) are left out: a template using them gets a
 * clear error.
 *
 * Compile once, render many: template_compile parses a source and every
 * partial it names into a read-only program; template_render walks that
 * program over a stack of jansson values and appends to a buffer without
 * allocating anything but the buffer's growth. A compiled template is
 * never modified after compile, so any number of threads may render the
 * same template at once (the jansson values must not change meanwhile).
 *
 * Data model (jansson):
 *   - {{name}} looks name up in the context stack from the top down and
 *     renders the first object member found, even a null one: a layer can
 *     hide a member of the layers below it. {{a.b.c}} looks up a that way
 *     and then b and c inside it only. {{.}} is the top of the stack.
 *   - Strings render as they are, integers in decimal, reals in the
 *     shortest form that reads back the same (1.21 -> "1.21"), true and
 *     false as "true" and "false"; null, missing names, objects and arrays
 *     render nothing.
 *   - A section {{#x}} is skipped when x is missing, null, false, an empty
 *     array or an empty string (so {{#first_name}}Hej {{first_name}}!
 *     {{/first_name}} works for subscribers without a name); an array
 *     renders it once per element with the element on top of the stack;
 *     anything else (numbers included, 0 too) renders it once with x on top.
 *     {{^x}} renders exactly when {{#x}} would not.
 *   - With escape_html, {{x}} escapes & < > " ' for HTML; {{{x}}} and
 *     {{&x}} never escape. Values are never parsed as templates.
 */
#ifndef TB_TEMPLATE_H
#define TB_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

struct buf;
struct error;
struct template;

/*
 * Returns the source of the partial called name, exactly as written
 * between {{> and }} (trimmed): the loader must refuse names it does not
 * want to open, such as ones with '/' or "..". On success it returns 0,
 * sets *text_r and *len_r to a malloc'd source (the template takes it over
 * and frees it) and *display_r to a malloc'd name for error messages
 * ("templates/header.mustache"), or to NULL to use name. It returns 1 when
 * there is no such partial (the compile then fails with EX_NOINPUT), or -1
 * after filling err (the compile fails with that code); on either, text
 * and display set before failing are freed. A loader that
 * wants the spec's "a missing partial renders nothing" returns 0 with an
 * empty source instead of 1.
 */
typedef int	template_loader_fn(void *arg, const char *name, char **text_r,
		    size_t *len_r, char **display_r, struct error *err);

/*
 * Compiles len bytes of text (borrowed for the call only) into *t_r, which
 * the caller frees with template_free. name names the source in errors
 * ("edition.html"; NULL: "template"). escape_html is 1 for HTML (variables
 * are escaped) and 0 for text/plain. Every partial the source or its
 * partials name is loaded through loader (NULL: any partial is unknown)
 * and compiled now, once per name, so recursive partials are fine and a
 * missing partial is an error even in a section that may never render.
 * Returns 0, or -1 with err set: EX_DATAERR for syntax
 * ("edition.html:12: unclosed section {{#items}}"), EX_NOINPUT for a
 * missing partial, or the loader's code; *t_r is then NULL. An error
 * in a partial names the partial and where it was first included. Sections
 * may nest TEMPLATE_MAX_DEPTH deep.
 */
int	template_compile(const char *text, size_t len, const char *name,
	    int escape_html, template_loader_fn *loader, void *loader_arg,
	    struct template **t_r, struct error *err);

/*
 * Renders t and appends the result to out. stack[0] .. stack[depth - 1]
 * are the context layers, bottom first (edition data at the bottom,
 * subscriber data on top); they are borrowed and only read. NULL layers
 * are skipped. Returns 0, or -1 with EX_DATAERR when partials recurse
 * deeper than TEMPLATE_MAX_DEPTH (out is then left as it was). Rendering
 * recurses on the C stack, a few hundred bytes per section or partial
 * level, and allocates nothing but out's growth: reuse out (buf_reset)
 * across renders.
 */
#define TEMPLATE_MAX_DEPTH	256
int	template_render(const struct template *t, json_t *const *stack,
	    size_t depth, struct buf *out, struct error *err);

/* Frees a compiled template; NULL is a no-op. */
void	template_free(struct template *t);

#endif
