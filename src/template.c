/*
 * template: compiles Mustache sources (spec v1.3 core modules) into flat
 * node arrays and renders them over a stack of jansson values.
 *
 * A compiled template is a set of units: the root source and one per
 * partial name, each compiled once. A unit is an array of nodes in source
 * order; a section node records where its children end, so rendering is a
 * loop over a range that recurses only into sections and partials. Text
 * nodes point into the unit's own copy of its source. Names are split at
 * compile time into NUL-terminated keys for json_object_get.
 *
 * Partial indentation follows the spec's textual rule ("each line of a
 * standalone partial is indented") without copying partials per
 * indentation: a node that begins a source line carries a bol flag and
 * text nodes know their inner line starts, so the renderer writes the
 * current indentation (a chain on the C stack) exactly where the textual
 * rule would have put it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "template.h"
#include "util.h"

enum op {
	OP_TEXT,		/* s, len: literal bytes */
	OP_ESCAPED,		/* {{x}} in an HTML template */
	OP_RAW,			/* {{{x}}}, {{&x}}, or {{x}} in a text one */
	OP_SECTION,		/* {{#x}}: children up to end */
	OP_INVERTED,		/* {{^x}}: children up to end */
	OP_PARTIAL,		/* {{>x}}: s, len is its standalone indent */
	OP_INDENT,		/* only writes the indentation (see bol) */
};

/* A dotted name split into keys; nkeys 0 is the implicit iterator. */
struct name {
	size_t		 nkeys;
	const char	*keys[];	/* then the key bytes, NUL-separated */
};

struct unit;

struct node {
	unsigned char	 op;
	unsigned char	 bol;		/* starts a source line: indent first */
	unsigned char	 standalone;	/* OP_PARTIAL: alone on its line */
	unsigned	 line;		/* OP_PARTIAL: for render errors */
	size_t		 end;		/* sections: index after the children */
	const char	*s;		/* OP_TEXT bytes, OP_PARTIAL indent */
	size_t		 len;
	struct name	*name;		/* owned; variables and sections */
	const struct unit *partial;	/* OP_PARTIAL: borrowed from template */
};

struct unit {
	char		*pname;		/* {{>pname}}; NULL for the root */
	char		*display;	/* for errors */
	char		*from;		/* "file:line" first including it */
	char		*src;		/* owned, NUL-terminated */
	size_t		 len;
	struct node	*nodes;
	size_t		 nnodes;
	size_t		 cap;
};

struct template {
	int		 escape;
	struct unit	**units;	/* [0] is the root; each owned */
	size_t		 nunits;
};

/* ---- compiling ---- */

/* An open section while its children are being parsed. */
struct open {
	size_t		 node;
	size_t		 tag;		/* offset of its opening delimiter */
	size_t		 tag_len;
	const char	*key;		/* the trimmed name, for {{/key}} */
	size_t		 key_len;
};

struct parser {
	struct template	*t;
	struct unit	*u;
	template_loader_fn *loader;
	void		*loader_arg;
	const char	*src;
	size_t		 len;
	const char	*otag;		/* current delimiters */
	size_t		 olen;
	const char	*ctag;
	size_t		 clen;
	size_t		 text;		/* start of text not yet emitted */
	int		 text_bol;	/* text starts at a line start */
	int		 at_bol;	/* the next node starts a source line */
	size_t		 line_off;	/* line_no is the line at line_off */
	unsigned	 line_no;
	struct open	 open[TEMPLATE_MAX_DEPTH];
	size_t		 nopen;
	struct error	*err;
};

/* The 1-based line of offset off; offsets mostly grow, so count on. */
static unsigned
line_at(struct parser *p, size_t off)
{
	size_t i = p->line_off;

	if (off < i) {
		i = 0;
		p->line_no = 1;
	}
	for (; i < off; i++)
		if (p->src[i] == '\n')
			p->line_no++;
	p->line_off = off;
	return p->line_no;
}

/* Reports a syntax error at off, quoting the tag [off, off + n). */
static int
syntax_error(struct parser *p, size_t off, size_t n, const char *what)
{
	int shown = n > 80 ? 80 : (int)n;

	error_set(p->err, EX_DATAERR, "%s:%u: %s %.*s%s", p->u->display,
	    line_at(p, off), what, shown, p->src + off, n > 80 ? "..." : "");
	return -1;
}

static const char *
find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	const char *end = hay + hlen, *q;

	while (hlen >= nlen && (q = memchr(hay, needle[0],
	    hlen - nlen + 1)) != NULL) {
		if (memcmp(q, needle, nlen) == 0)
			return q;
		hay = q + 1;
		hlen = (size_t)(end - hay);
	}
	return NULL;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_space(char c)
{
	return is_blank(c) || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_space((*s)[*n - 1]))
		(*n)--;
}

static struct node *
add_node(struct parser *p, enum op op)
{
	struct unit *u = p->u;
	struct node *n;

	if (u->nnodes == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 16;
		u->nodes = xrealloc(u->nodes, u->cap * sizeof *u->nodes);
	}
	n = &u->nodes[u->nnodes++];
	memset(n, 0, sizeof *n);
	n->op = (unsigned char)op;
	n->bol = (unsigned char)p->at_bol;
	p->at_bol = 0;
	return n;
}

/* Emits the pending text [p->text, end) as a node. */
static void
flush_text(struct parser *p, size_t end)
{
	struct node *n;

	if (end <= p->text)
		return;
	n = add_node(p, OP_TEXT);
	n->s = p->src + p->text;
	n->len = end - p->text;
	p->at_bol = p->src[end - 1] == '\n';
}

/*
 * Splits a trimmed name into keys: "." is the implicit iterator, other
 * names are dot-separated non-empty keys without white space.
 */
static struct name *
parse_name(const char *s, size_t n)
{
	struct name *nm;
	size_t i, nkeys = 1;
	char *dst;

	if (n == 1 && s[0] == '.') {
		nm = xmalloc(sizeof *nm);
		nm->nkeys = 0;
		return nm;
	}
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return NULL;
	for (i = 0; i < n; i++) {
		if (is_space(s[i]) || (s[i] == '.' && s[i + 1] == '.'))
			return NULL;
		if (s[i] == '.')
			nkeys++;
	}
	nm = xmalloc(sizeof *nm + nkeys * sizeof nm->keys[0] + n + 1);
	dst = (char *)&nm->keys[nkeys];
	memcpy(dst, s, n);
	dst[n] = '\0';
	nm->nkeys = 0;
	nm->keys[nm->nkeys++] = dst;
	for (i = 0; i < n; i++) {
		if (dst[i] == '.') {
			dst[i] = '\0';
			nm->keys[nm->nkeys++] = dst + i + 1;
		}
	}
	return nm;
}

/*
 * {{=<% %>=}}: the body after the first '=' holds two delimiters, white
 * space between them and a closing '='. Delimiters contain neither white
 * space nor '='.
 */
static int
set_delimiters(struct parser *p, const char *s, size_t n)
{
	size_t i = 0, a;

	trim(&s, &n);
	if (n < 2 || s[n - 1] != '=')
		return -1;
	n--;
	trim(&s, &n);
	while (i < n && !is_space(s[i]))
		i++;
	a = i;
	while (i < n && is_space(s[i]))
		i++;
	if (a == 0 || i == a || i == n || memchr(s, '=', n) != NULL)
		return -1;
	for (size_t k = i; k < n; k++)
		if (is_space(s[k]))
			return -1;
	p->otag = s;
	p->olen = a;
	p->ctag = s + i;
	p->clen = n - i;
	return 0;
}

static struct unit *
unit_new(const char *pname, char *display, char *src, size_t len)
{
	struct unit *u = xcalloc(1, sizeof *u);

	u->pname = pname ? xstrdup(pname) : NULL;
	u->display = display;
	u->src = src;
	u->len = len;
	return u;
}

static void
unit_free(struct unit *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->nnodes; i++)
		free(u->nodes[i].name);
	free(u->nodes);
	free(u->pname);
	free(u->display);
	free(u->from);
	free(u->src);
	free(u);
}

/*
 * Finds the unit for partial pname, loading its source the first time
 * (it is compiled later, from template_compile's loop). Errors name the
 * tag that referred to it.
 */
static const struct unit *
get_partial(struct parser *p, const char *pname, size_t tag, size_t tag_len)
{
	struct template *t = p->t;
	char *text = NULL, *display = NULL, *src;
	size_t i, len = 0;
	int r;

	for (i = 1; i < t->nunits; i++)
		if (strcmp(t->units[i]->pname, pname) == 0)
			return t->units[i];
	r = p->loader ? p->loader(p->loader_arg, pname, &text, &len,
	    &display, p->err) : 1;
	if (r != 0) {
		/* In case the loader set them before failing. */
		free(text);
		free(display);
	}
	if (r == 1) {
		syntax_error(p, tag, tag_len, "unknown partial");
		p->err->code = EX_NOINPUT;
		return NULL;
	}
	if (r != 0) {
		char msg[sizeof p->err->msg];

		memcpy(msg, p->err->msg, sizeof msg);
		error_set(p->err, p->err->code, "%s:%u: {{>%s}}: %s",
		    p->u->display, line_at(p, tag), pname, msg);
		return NULL;
	}
	if (text == NULL)
		len = 0;
	/* Our own NUL-terminated copy: the parser may read src[len]. */
	src = xmalloc(len + 1);
	if (len > 0)
		memcpy(src, text, len);
	src[len] = '\0';
	free(text);
	t->units = xrealloc(t->units, (t->nunits + 1) * sizeof *t->units);
	t->units[t->nunits] = unit_new(pname, display ? display :
	    xstrdup(pname), src, len);
	t->units[t->nunits]->from = xasprintf("%s:%u", p->u->display,
	    line_at(p, tag));
	return t->units[t->nunits++];
}

/* One parsed tag: [start, end) in the source, body trimmed, and sigil. */
struct tag {
	size_t		 start;
	size_t		 end;
	char		 sigil;		/* 0 for a plain variable */
	const char	*body;
	size_t		 body_len;
};

static int
takes_sigil(char c)
{
	return c != '\0' && strchr("{&#^/!>=<$", c) != NULL;
}

/* Finds the end of the tag that opens at start. */
static int
scan_tag(struct parser *p, size_t start, struct tag *tg)
{
	const char *s = p->src + start + p->olen;
	size_t left = p->len - start - p->olen;
	const char *q;

	tg->start = start;
	tg->sigil = left > 0 && takes_sigil(s[0]) ? s[0] : 0;
	if (tg->sigil == '{') {
		/* Needs "}" + ctag: search for ctag after a '}'. */
		q = s;
		while ((q = memchr(q, '}', left - (size_t)(q - s))) != NULL) {
			if ((size_t)(s + left - q - 1) >= p->clen &&
			    memcmp(q + 1, p->ctag, p->clen) == 0)
				break;
			q++;
		}
		if (q == NULL)
			goto unclosed;
		tg->end = (size_t)(q + 1 + p->clen - p->src);
	} else {
		q = find(s, left, p->ctag, p->clen);
		if (q == NULL)
			goto unclosed;
		tg->end = (size_t)(q + p->clen - p->src);
	}
	tg->body = s + (tg->sigil ? 1 : 0);
	tg->body_len = (size_t)(q - tg->body);
	if (tg->sigil != '=' && tg->sigil != '!')
		trim(&tg->body, &tg->body_len);
	return 0;
unclosed:
	{
		const char *nl = memchr(p->src + start, '\n', p->len - start);
		size_t n = nl ? (size_t)(nl - p->src) - start : p->len - start;

		return syntax_error(p, start, n < 40 ? n : 40,
		    "unclosed tag");
	}
}

/*
 * A standalone tag is alone on its line but for blanks; the whole line
 * then disappears. Returns 1 and sets the line start and the offset after
 * its line end, else 0.
 */
static int
standalone(const struct parser *p, const struct tag *tg, size_t *ls_r,
    size_t *next_r)
{
	size_t i = tg->start, e = tg->end;

	switch (tg->sigil) {
	case '#': case '^': case '/': case '!': case '>': case '=':
		break;
	default:
		return 0;
	}
	while (i > p->text && is_blank(p->src[i - 1]))
		i--;
	if (i > p->text ? p->src[i - 1] != '\n' : !p->text_bol)
		return 0;
	while (e < p->len && is_blank(p->src[e]))
		e++;
	if (e < p->len && p->src[e] == '\n')
		e++;
	else if (e + 1 < p->len && p->src[e] == '\r' && p->src[e + 1] == '\n')
		e += 2;
	else if (e < p->len)
		return 0;
	*ls_r = i;
	*next_r = e;
	return 1;
}

static int
open_section(struct parser *p, const struct tag *tg, struct node *n)
{
	struct open *o;

	if (p->nopen == TEMPLATE_MAX_DEPTH)
		return syntax_error(p, tg->start, tg->end - tg->start,
		    "sections nested too deeply at");
	o = &p->open[p->nopen++];
	o->node = (size_t)(n - p->u->nodes);
	o->tag = tg->start;
	o->tag_len = tg->end - tg->start;
	o->key = tg->body;
	o->key_len = tg->body_len;
	return 0;
}

static int
close_section(struct parser *p, const struct tag *tg)
{
	const struct open *o;

	if (p->nopen == 0)
		return syntax_error(p, tg->start, tg->end - tg->start,
		    "unexpected");
	o = &p->open[p->nopen - 1];
	if (o->key_len != tg->body_len ||
	    memcmp(o->key, tg->body, tg->body_len) != 0) {
		unsigned oline = line_at(p, o->tag);
		int on = o->tag_len > 80 ? 80 : (int)o->tag_len;
		int cn = tg->end - tg->start > 80 ? 80 :
		    (int)(tg->end - tg->start);

		error_set(p->err, EX_DATAERR, "%s:%u: unexpected %.*s "
		    "(%.*s on line %u is still open)", p->u->display,
		    line_at(p, tg->start), cn, p->src + tg->start, on,
		    p->src + o->tag, oline);
		return -1;
	}
	p->u->nodes[o->node].end = p->u->nnodes;
	p->nopen--;
	return 0;
}

/* Adds the node for a tag; standalone ones have had their line removed. */
static int
emit_tag(struct parser *p, const struct tag *tg, int alone, size_t ls)
{
	struct node *n;
	size_t tlen = tg->end - tg->start;
	char *pname;

	switch (tg->sigil) {
	case '!':
		return 0;
	case '=':
		if (set_delimiters(p, tg->body, tg->body_len) == -1)
			return syntax_error(p, tg->start, tlen,
			    "bad set-delimiter tag");
		return 0;
	case '/':
		return close_section(p, tg);
	case '<':
	case '$':
		return syntax_error(p, tg->start, tlen,
		    "template inheritance is not supported:");
	case '>':
		if (tg->body_len == 0)
			return syntax_error(p, tg->start, tlen, "empty tag");
		pname = xstrndup(tg->body, tg->body_len);
		n = add_node(p, OP_PARTIAL);
		n->partial = get_partial(p, pname, tg->start, tlen);
		free(pname);
		if (n->partial == NULL)
			return -1;
		n->line = line_at(p, tg->start);
		n->standalone = (unsigned char)alone;
		if (alone) {
			n->s = p->src + ls;
			n->len = tg->start - ls;
		}
		return 0;
	}
	n = add_node(p, tg->sigil == '#' ? OP_SECTION :
	    tg->sigil == '^' ? OP_INVERTED :
	    tg->sigil == '{' || tg->sigil == '&' || !p->t->escape ? OP_RAW :
	    OP_ESCAPED);
	n->name = parse_name(tg->body, tg->body_len);
	if (n->name == NULL)
		return syntax_error(p, tg->start, tlen, tg->body_len == 0 ?
		    "empty tag" : "bad name in");
	if (n->op == OP_SECTION || n->op == OP_INVERTED)
		return open_section(p, tg, n);
	return 0;
}

/* Handles the tag opening at off; returns -1 on a syntax error. */
static int
parse_tag(struct parser *p, size_t off)
{
	struct tag tg = { 0 };
	size_t ls = 0, next = 0;
	int alone;

	if (scan_tag(p, off, &tg) == -1)
		return -1;
	alone = standalone(p, &tg, &ls, &next);
	if (alone) {
		/* The line disappears: its nodes own no indentation. */
		flush_text(p, ls);
		p->at_bol = 0;
	} else {
		flush_text(p, off);
		next = tg.end;
		/*
		 * A tag that writes nothing at a line start still owns the
		 * indentation there (it may close a section).
		 */
		if (p->at_bol && (tg.sigil == '!' || tg.sigil == '=' ||
		    tg.sigil == '/'))
			add_node(p, OP_INDENT);
	}
	if (emit_tag(p, &tg, alone, ls) == -1)
		return -1;
	if (alone)
		p->at_bol = 1;
	p->text = next;
	p->text_bol = alone;
	return 0;
}

static int
compile_unit(struct template *t, struct unit *u, template_loader_fn *loader,
    void *loader_arg, struct error *err)
{
	struct parser *p = xcalloc(1, sizeof *p);
	const char *q;
	size_t pos = 0;
	int rc = -1;

	p->t = t;
	p->u = u;
	p->loader = loader;
	p->loader_arg = loader_arg;
	p->src = u->src;
	p->len = u->len;
	p->otag = "{{";
	p->olen = 2;
	p->ctag = "}}";
	p->clen = 2;
	p->text_bol = 1;
	p->at_bol = 1;
	p->line_no = 1;
	p->err = err;
	while ((q = find(p->src + pos, p->len - pos, p->otag, p->olen))
	    != NULL) {
		if (parse_tag(p, (size_t)(q - p->src)) == -1)
			goto fail;
		pos = p->text;
	}
	flush_text(p, p->len);
	if (p->nopen > 0) {
		const struct open *o = &p->open[p->nopen - 1];

		syntax_error(p, o->tag, o->tag_len, "unclosed section");
		goto fail;
	}
	rc = 0;
fail:
	free(p);
	return rc;
}

int
template_compile(const char *text, size_t len, const char *name,
    int escape_html, template_loader_fn *loader, void *loader_arg,
    struct template **t_r, struct error *err)
{
	struct template *t = xcalloc(1, sizeof *t);
	char *src = xmalloc(len + 1);
	struct error ignored;
	size_t i;

	*t_r = NULL;
	if (err == NULL)
		err = &ignored;
	if (len > 0)
		memcpy(src, text, len);
	src[len] = '\0';
	t->escape = escape_html != 0;
	t->units = xmalloc(sizeof *t->units);
	t->units[0] = unit_new(NULL, xstrdup(name ? name : "template"), src,
	    len);
	t->nunits = 1;
	/* Compiling a unit may append partials; they are compiled in turn. */
	for (i = 0; i < t->nunits; i++) {
		struct unit *u = t->units[i];

		if (compile_unit(t, u, loader, loader_arg, err) == 0)
			continue;
		if (u->from != NULL) {
			size_t n = strlen(err->msg);

			snprintf(err->msg + n, sizeof err->msg - n,
			    " (included from %s)", u->from);
		}
		goto fail;
	}
	*t_r = t;
	return 0;
fail:
	template_free(t);
	return -1;
}

void
template_free(struct template *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nunits; i++)
		unit_free(t->units[i]);
	free(t->units);
	free(t);
}

/* ---- rendering ---- */

/* A context pushed by a section, on the C stack above its parent. */
struct frame {
	json_t			*v;
	const struct frame	*up;
};

/* One level of standalone-partial indentation, outermost last. */
struct indent {
	const char		*s;
	size_t			 len;
	const struct indent	*up;
};

struct render {
	struct buf		*out;
	json_t *const		*base;	/* the caller's stack */
	size_t			 nbase;
	unsigned		 depth;
	struct error		*err;
};

static json_t *
lookup_first(const struct render *r, const struct frame *f, const char *key)
{
	json_t *v;
	size_t i;

	for (; f != NULL; f = f->up)
		if (json_is_object(f->v) &&
		    (v = json_object_get(f->v, key)) != NULL)
			return v;
	for (i = r->nbase; i-- > 0;)
		if (json_is_object(r->base[i]) &&
		    (v = json_object_get(r->base[i], key)) != NULL)
			return v;
	return NULL;
}

/*
 * The spec's lookup: the first key anywhere on the stack, top down; the
 * rest only inside what that found.
 */
static json_t *
lookup(const struct render *r, const struct frame *top,
    const struct name *nm)
{
	json_t *v;
	size_t i;

	if (nm->nkeys == 0) {
		if (top != NULL)
			return top->v;
		for (i = r->nbase; i-- > 0;)
			if (r->base[i] != NULL)
				return r->base[i];
		return NULL;
	}
	v = lookup_first(r, top, nm->keys[0]);
	for (i = 1; v != NULL && i < nm->nkeys; i++)
		v = json_is_object(v) ? json_object_get(v, nm->keys[i]) : NULL;
	return v;
}

static int
truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	default:
		return 1;
	}
}

/*
 * buf_add without the call when the bytes fit, which they almost always
 * do once a caller reuses its buffer across renders.
 */
static inline void
put(struct buf *b, const char *s, size_t n)
{
	if (b->cap - b->len > n) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
		b->data[b->len] = '\0';
	} else
		buf_add(b, s, n);
}

static void
emit_indent(struct buf *out, const struct indent *ind)
{
	if (ind->up != NULL)
		emit_indent(out, ind->up);
	put(out, ind->s, ind->len);
}

/* Text with the indentation after each inner newline (not a final one). */
static void
emit_text(struct buf *out, const char *s, size_t n, const struct indent *ind)
{
	const char *nl;

	if (ind == NULL) {
		put(out, s, n);
		return;
	}
	while ((nl = memchr(s, '\n', n)) != NULL && nl + 1 < s + n) {
		put(out, s, (size_t)(nl + 1 - s));
		emit_indent(out, ind);
		n -= (size_t)(nl + 1 - s);
		s = nl + 1;
	}
	put(out, s, n);
}

/*
 * HTML-escapes s, which is NUL-terminated at n (jansson strings are) but
 * may hold NULs before that. strcspn finds the next special byte fast.
 */
static void
emit_escaped(struct buf *out, const char *s, size_t n)
{
	const char *end = s + n;
	size_t k;

	while (s < end) {
		k = strcspn(s, "&<>\"'");
		put(out, s, k);
		s += k;
		if (s == end)
			break;
		switch (*s) {
		case '&':
			put(out, "&amp;", 5);
			break;
		case '<':
			put(out, "&lt;", 4);
			break;
		case '>':
			put(out, "&gt;", 4);
			break;
		case '"':
			put(out, "&quot;", 6);
			break;
		case '\'':
			put(out, "&#39;", 5);
			break;
		default:	/* an inner NUL */
			put(out, s, 1);
			break;
		}
		s++;
	}
}

/* Decimal digits of v into the end of b; returns the first digit. */
static char *
fmt_int(json_int_t v, char *b, size_t size)
{
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;
	char *p = b + size;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	return p;
}

/*
 * The shortest %g form that reads back as d, as JSON writers print reals.
 * snprintf and strtod share the locale's radix character; whatever it is,
 * it becomes '.'.
 */
static size_t
fmt_real(double d, char *b, size_t size)
{
	char tmp[64];
	size_t i, n = 0;
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	for (i = 0; tmp[i] != '\0' && n + 1 < size; i++) {
		char c = tmp[i];

		if ((c >= '0' && c <= '9') || c == '-' || c == '+' ||
		    c == 'e')
			b[n++] = c;
		else if (n == 0 || b[n - 1] != '.')
			b[n++] = '.';
	}
	return n;
}

static void
emit_value(struct buf *out, const json_t *v, int escape)
{
	char num[64], *p;
	size_t n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (escape)
			emit_escaped(out, json_string_value(v),
			    json_string_length(v));
		else
			put(out, json_string_value(v),
			    json_string_length(v));
		break;
	case JSON_INTEGER:
		p = fmt_int(json_integer_value(v), num, sizeof num);
		put(out, p, (size_t)(num + sizeof num - p));
		break;
	case JSON_REAL:
		n = fmt_real(json_real_value(v), num, sizeof num);
		put(out, num, n);
		break;
	case JSON_TRUE:
		put(out, "true", 4);
		break;
	case JSON_FALSE:
		put(out, "false", 5);
		break;
	default:
		break;
	}
}

static int render_nodes(struct render *, const struct unit *, size_t,
    size_t, const struct frame *, const struct indent *);

static int
render_section(struct render *r, const struct unit *u, size_t i,
    const struct frame *top, const struct indent *ind)
{
	const struct node *n = &u->nodes[i];
	json_t *v = lookup(r, top, n->name);
	struct frame f = { NULL, top };
	size_t k;

	if (n->op == OP_INVERTED)
		return v != NULL && truthy(v) ? 0 :
		    render_nodes(r, u, i + 1, n->end, top, ind);
	if (v == NULL || !truthy(v))
		return 0;
	if (!json_is_array(v)) {
		f.v = v;
		return render_nodes(r, u, i + 1, n->end, &f, ind);
	}
	for (k = 0; k < json_array_size(v); k++) {
		f.v = json_array_get(v, k);
		if (render_nodes(r, u, i + 1, n->end, &f, ind) == -1)
			return -1;
	}
	return 0;
}

static int
render_partial(struct render *r, const struct unit *u, const struct node *n,
    const struct frame *top, const struct indent *ind)
{
	struct indent mine = { n->s, n->len, ind };
	const struct indent *pind = NULL;

	/* Only a standalone partial is indented, by all enclosing levels. */
	if (n->standalone)
		pind = n->len > 0 ? &mine : ind;
	if (r->depth >= TEMPLATE_MAX_DEPTH) {
		error_set(r->err, EX_DATAERR, "%s:%u: sections and partials "
		    "nested deeper than %d (a partial including itself "
		    "without end?)", u->display, n->line, TEMPLATE_MAX_DEPTH);
		return -1;
	}
	return render_nodes(r, n->partial, 0, n->partial->nnodes, top, pind);
}

static int
render_nodes(struct render *r, const struct unit *u, size_t i, size_t end,
    const struct frame *top, const struct indent *ind)
{
	const struct node *n;
	json_t *v;
	int rc = 0;

	r->depth++;
	while (i < end && rc == 0) {
		n = &u->nodes[i];
		if (n->bol && ind != NULL)
			emit_indent(r->out, ind);
		switch (n->op) {
		case OP_TEXT:
			emit_text(r->out, n->s, n->len, ind);
			break;
		case OP_ESCAPED:
		case OP_RAW:
			if ((v = lookup(r, top, n->name)) != NULL)
				emit_value(r->out, v, n->op == OP_ESCAPED);
			break;
		case OP_SECTION:
		case OP_INVERTED:
			rc = render_section(r, u, i, top, ind);
			i = n->end;
			continue;
		case OP_PARTIAL:
			rc = render_partial(r, u, n, top, ind);
			break;
		default:
			break;
		}
		i++;
	}
	r->depth--;
	return rc;
}

int
template_render(const struct template *t, json_t *const *stack,
    size_t depth, struct buf *out, struct error *err)
{
	struct error ignored;
	struct render r = { out, stack, depth, 0, err ? err : &ignored };
	const struct unit *root = t->units[0];
	size_t start = out->len;

	buf_add(out, "", 0);	/* out->data is never NULL after this */
	if (render_nodes(&r, root, 0, root->nnodes, NULL, NULL) == -1) {
		out->len = start;
		out->data[start] = '\0';
		return -1;
	}
	return 0;
}
