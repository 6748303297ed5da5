/*
 * cli: shared plumbing of the temabrev commands. The store and the secret
 * are opened lazily, so "temabrev --help" or a usage error never creates a
 * database or a secret file.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "secret.h"
#include "store.h"
#include "subs.h"

int
cli_error(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("temabrev: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
cli_fail(struct cli *c)
{
	return cli_error(c->err.code ? c->err.code : EX_SOFTWARE, "%s",
	    c->err.msg[0] ? c->err.msg : "unknown error");
}

int
cli_theme_id(struct cli *c, const char *slug, int64_t *id_r)
{
	struct store_theme *t = NULL;
	int r;

	*id_r = 0;
	if (slug == NULL)
		return 0;
	/* Without the subscription counts: only the id is wanted. */
	if ((r = store_theme_by_slug(cli_store(c), slug, &t, &c->err)) == -1)
		return cli_fail(c);
	if (r == 0)
		return cli_error(EX_DATAERR, "no theme %s", slug);
	*id_r = t->id;
	store_theme_free(t);
	return 0;
}

/* Stores one option's value; -1 (said why) for a bad number. */
static int
opt_set(const struct cli_opt *opt, void *o, const char *arg)
{
	char *field = (char *)o + opt->off, *end;
	long long v;

	switch (opt->kind) {
	case CLI_FLAG:
		*(int *)(void *)field = 1;
		return 0;
	case CLI_STR:
		/* The field may be char * or const char *: the same bytes. */
		memcpy(field, &arg, sizeof arg);
		return 0;
	case CLI_NUM:
		errno = 0;
		v = strtoll(arg, &end, 10);
		if (errno != 0 || end == arg || *end != '\0' || v < opt->min ||
		    v > opt->max) {
			if (opt->max == LLONG_MAX)
				fprintf(stderr, "temabrev: --%s takes a whole "
				    "number of at least %lld, not %s\n",
				    opt->name, opt->min, arg);
			else
				fprintf(stderr, "temabrev: --%s takes a whole "
				    "number from %lld to %lld, not %s\n",
				    opt->name, opt->min, opt->max, arg);
			return -1;
		}
		*(long long *)(void *)field = v;
		return 0;
	}
	return -1;
}

int
cli_parse(int argc, char **argv, const struct cli_opt *opts, void *o,
    const char *usage, int *help)
{
	struct option lo[CLI_MAX_OPTS + 2];
	size_t n = 0;
	int ch;

	/* getopt_long hands back 256 + the option's index in opts. */
	for (; opts[n].name != NULL && n < CLI_MAX_OPTS; n++) {
		lo[n].name = opts[n].name;
		lo[n].has_arg = opts[n].kind == CLI_FLAG ? no_argument :
		    required_argument;
		lo[n].flag = NULL;
		lo[n].val = 256 + (int)n;
	}
	if (opts[n].name != NULL) {
		/* A table too long would drop options without a word. */
		fprintf(stderr, "temabrev: more than %d options in one "
		    "table\n", CLI_MAX_OPTS);
		abort();
	}
	lo[n] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n + 1] = (struct option){ NULL, 0, NULL, 0 };
	*help = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (ch == 'h') {
			printf("usage: %s\n", usage);
			*help = 1;
			return -1;
		}
		if (ch < 256 || opt_set(&opts[ch - 256], o, optarg) == -1)
			return -1;
	}
	return optind;
}

int
cli_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	return EX_USAGE;
}

int
cli_dispatch(struct cli *c, const char *prefix, const struct cli_cmd *table,
    size_t n, int argc, char **argv)
{
	FILE *out = stderr;
	int help = 0;

	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0)) {
		out = stdout;
		help = 1;
	} else if (argc >= 1) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(argv[0], table[i].name) == 0)
				return table[i].fn(c, argc, argv);
		fprintf(stderr, "temabrev: unknown command: %s %s\n", prefix,
		    argv[0]);
	}
	fprintf(out, "usage: %s COMMAND [ARGS]\n\ncommands:\n", prefix);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %s %s %s\n      %s\n", prefix, table[i].name,
		    table[i].usage, table[i].summary);
	return help ? 0 : EX_USAGE;
}

static void
die(struct cli *c)
{
	exit(cli_fail(c));
}

static int
is_default_db(struct cli *c)
{
	const char *env = getenv("TEMABREV_DB");

	return c->opt_db == NULL && (env == NULL || *env == '\0') &&
	    c->conf->database == NULL;
}

static void
load_conf(struct cli *c)
{
	char *path;

	if (c->conf != NULL)
		return;
	path = conf_locate(c->opt_config);
	if (conf_load(path, &c->conf, &c->err) == -1) {
		free(path);
		die(c);
	}
	free(path);
}

struct config *
cli_conf(struct cli *c)
{
	load_conf(c);
	return c->conf;
}

struct store *
cli_store(struct cli *c)
{
	if (c->store != NULL)
		return c->store;
	load_conf(c);
	if ((c->db_path = conf_db_path(c->conf, c->opt_db, &c->err)) == NULL)
		die(c);
	/* The default location is ours to create; a path the user gave
	 * must already have its directory. */
	if (is_default_db(c)) {
		char *dir = util_dirname(c->db_path);

		if (util_mkdirs(dir, 0700) == -1) {
			error_set(&c->err, EX_CANTCREAT, "%s: %s", dir,
			    strerror(errno));
			free(dir);
			die(c);
		}
		free(dir);
	}
	if (store_open(c->db_path, &c->store, &c->err) == -1)
		die(c);
	return c->store;
}

struct secret *
cli_secret(struct cli *c)
{
	char *path;

	if (c->secret != NULL)
		return c->secret;
	cli_store(c);
	path = conf_secret_path(c->conf, c->db_path);
	if (secret_open(path, &c->secret, &c->err) == -1) {
		free(path);
		die(c);
	}
	free(path);
	return c->secret;
}

struct subs *
cli_subs(struct cli *c)
{
	if (c->subs == NULL)
		c->subs = subs_new(cli_store(c), cli_secret(c));
	return c->subs;
}

void
cli_json_line(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(v);
}

json_t *
cli_json_str(const char *s)
{
	json_t *v;

	if (s == NULL)
		return json_null();
	/* Everything stored was validated UTF-8; be safe regardless. */
	if ((v = json_string(s)) == NULL)
		v = json_string("\xef\xbf\xbd");
	return v;
}

json_t *
cli_json_time(int64_t t)
{
	char buf[UTIL_ISO_LEN];

	return json_string(util_iso_time(t, buf));
}

void
cli_job_start(struct cli *c, const char *name)
{
	struct error e = { 0 };

	memset(&c->err, 0, sizeof c->err);
	if (store_job_start(cli_store(c), name, util_now(), &e) == -1)
		fprintf(stderr, "temabrev: warning: job %s not recorded: %s\n",
		    name, e.msg);
}

int
cli_job_end(struct cli *c, const char *name, int rc)
{
	struct error e = { 0 };
	char status[64];
	const char *why = NULL;

	if (rc != 0 && c->err.msg[0] != '\0')
		why = c->err.msg;
	else if (rc != 0) {
		snprintf(status, sizeof status, "exit status %d", rc);
		why = status;
	}
	if (store_job_end(cli_store(c), name, util_now(), why, 0, &e) == -1)
		fprintf(stderr, "temabrev: warning: job %s not recorded: %s\n",
		    name, e.msg);
	return rc;
}

void
cli_close(struct cli *c)
{
	subs_free(c->subs);
	secret_free(c->secret);
	store_close(c->store);
	conf_free(c->conf);
	free(c->db_path);
	c->subs = NULL;
	c->secret = NULL;
	c->store = NULL;
	c->conf = NULL;
	c->db_path = NULL;
}
