/*
 * temabrev feed: a theme's article feeds: add, list, rm and fetch.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "conf.h"
#include "fetch.h"
#include "ingest.h"
#include "store.h"

#define U_ADD "temabrev feed add SLUG URL"
#define U_LIST "temabrev feed list [--theme SLUG] [--json]"
#define U_RM "temabrev feed rm ID"
#define U_FETCH "temabrev feed fetch [SLUG]"

struct feed_opts {
	const char	*theme;
	int		 json;
};

static const struct cli_opt feed_options[] = {
	CLI_OPT_STR("theme", struct feed_opts, theme),
	CLI_OPT_FLAG("json", struct feed_opts, json),
	CLI_OPT_END
};

static int
parse(int argc, char **argv, const char **theme, int *json,
    const char *usage, int *help)
{
	struct feed_opts o = { *theme, *json };
	int i = cli_parse(argc, argv, feed_options, &o, usage, help);

	*theme = o.theme;
	*json = o.json;
	return i;
}

static int
feed_add(struct cli *c, int argc, char **argv)
{
	const char *theme = NULL;
	int64_t tid, id;
	int i, help, json = 0, rc;
	char *url;

	if ((i = parse(argc, argv, &theme, &json, U_ADD, &help)) == -1)
		return help ? 0 : cli_usage(U_ADD);
	if (argc - i != 2)
		return cli_usage(U_ADD);
	if ((rc = cli_theme_id(c, argv[i], &tid)) != 0)
		return rc;
	if ((url = fetch_normalize_url(argv[i + 1], &c->err)) == NULL)
		return cli_fail(c);
	if (store_feed_add(c->store, tid, url, &id, &c->err) == -1) {
		free(url);
		return cli_fail(c);
	}
	printf("feed %lld added to %s: %s\n", (long long)id, argv[i], url);
	free(url);
	return 0;
}

static json_t *
feed_json(const struct store_feed *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(f->id));
	json_object_set_new(o, "theme", cli_json_str(f->slug));
	json_object_set_new(o, "url", cli_json_str(f->url));
	json_object_set_new(o, "title", cli_json_str(f->title));
	json_object_set_new(o, "active", json_boolean(f->active));
	json_object_set_new(o, "created", cli_json_time(f->created));
	json_object_set_new(o, "last_fetch", f->last_fetch ?
	    cli_json_time(f->last_fetch) : json_null());
	json_object_set_new(o, "last_status", json_integer(f->last_status));
	json_object_set_new(o, "last_error", cli_json_str(f->last_error));
	json_object_set_new(o, "last_new", json_integer(f->last_new));
	json_object_set_new(o, "last_updated", json_integer(f->last_updated));
	json_object_set_new(o, "failures", json_integer(f->failures));
	return o;
}

static int
list_cb(const struct store_feed *f, void *arg)
{
	char when[UTIL_ISO_LEN];
	int *json = arg;

	if (*json) {
		cli_json_line(feed_json(f));
		return 0;
	}
	printf("%-4lld %-24s %-8s %-20s %3ld %4lld new %4lld upd %2lld fail  %s\n",
	    (long long)f->id, f->slug, f->active ? "active" : "inactive",
	    f->last_fetch ? util_iso_time(f->last_fetch, when) : "never",
	    f->last_status, (long long)f->last_new,
	    (long long)f->last_updated, (long long)f->failures, f->url);
	if (f->last_error != NULL)
		printf("     last error: %s\n", f->last_error);
	return 0;
}

static int
feed_list(struct cli *c, int argc, char **argv)
{
	const char *theme = NULL;
	int64_t tid = 0;
	int i, help, json = 0, rc;

	if ((i = parse(argc, argv, &theme, &json, U_LIST, &help)) == -1)
		return help ? 0 : cli_usage(U_LIST);
	if (argc != i)
		return cli_usage(U_LIST);
	if ((rc = cli_theme_id(c, theme, &tid)) != 0)
		return rc;
	if (!json)
		printf("%-4s %-24s %-8s %-20s %3s %-28s  %s\n", "ID", "THEME",
		    "STATE", "LAST FETCH", "ST", "ITEMS", "URL");
	if (store_feed_foreach(cli_store(c), tid, 0, list_cb, &json,
	    &c->err) == -1)
		return cli_fail(c);
	return 0;
}

static int
feed_rm(struct cli *c, int argc, char **argv)
{
	const char *theme = NULL;
	int i, help, json = 0;
	long long id;
	char *end;

	if ((i = parse(argc, argv, &theme, &json, U_RM, &help)) == -1)
		return help ? 0 : cli_usage(U_RM);
	if (argc - i != 1)
		return cli_usage(U_RM);
	errno = 0;
	id = strtoll(argv[i], &end, 10);
	if (errno != 0 || *end != '\0' || id <= 0)
		return cli_error(EX_USAGE, "feed id must be a number: %s",
		    argv[i]);
	if (store_feed_rm(cli_store(c), id, &c->err) == -1)
		return cli_fail(c);
	printf("feed %lld removed with its items\n", id);
	return 0;
}

struct fetch_state {
	struct cli	*c;
	int		 failed;
	int		 dberror;
};

/* One feed: fetch, parse, store; one line of outcome. */
static int
fetch_cb(const struct store_feed *f, void *arg)
{
	struct fetch_state *fs = arg;
	struct ingest_report r;

	if (ingest_feed(fs->c->store, fs->c->conf, f, &r, &fs->c->err) == -1) {
		fs->dberror = 1;
		return 1;
	}
	if (r.gone) {
		fflush(stdout);
		fprintf(stderr, "temabrev: %s\n", r.error);
		return 0;
	}
	if (r.error[0] != '\0') {
		fs->failed++;
		fflush(stdout);
		fprintf(stderr, "temabrev: feed %lld (%s): %s\n",
		    (long long)f->id, f->slug, r.error);
		return 0;
	}
	if (r.moved)
		printf("feed %lld moved permanently: %s\n", (long long)f->id,
		    r.url);
	if (r.recovered) {
		fflush(stdout);
		fprintf(stderr, "temabrev: warning: %s is not well-formed XML; "
		    "read in recovery mode\n", r.url);
	}
	if (r.not_modified)
		printf("%s: feed %lld not modified\n", f->slug,
		    (long long)f->id);
	else
		printf("%s: feed %lld: %lld new, %lld updated, %lld items "
		    "(%s)\n", f->slug, (long long)f->id, (long long)r.nnew,
		    (long long)r.nupdated, (long long)r.nseen, r.url);
	return 0;
}

static int
feed_fetch(struct cli *c, int argc, char **argv)
{
	struct fetch_state fs = { c, 0, 0 };
	const char *theme = NULL;
	int64_t tid = 0;
	int i, help, json = 0, rc;

	if ((i = parse(argc, argv, &theme, &json, U_FETCH, &help)) == -1)
		return help ? 0 : cli_usage(U_FETCH);
	if (argc - i > 1)
		return cli_usage(U_FETCH);
	if (argc - i == 1 && (rc = cli_theme_id(c, argv[i], &tid)) != 0)
		return rc;
	cli_job_start(c, "feeds");
	if (store_feed_foreach(cli_store(c), tid, 1, fetch_cb, &fs,
	    &c->err) == -1 || fs.dberror)
		return cli_job_end(c, "feeds", cli_fail(c));
	if (fs.failed > 0) {
		error_set(&c->err, EX_TEMPFAIL, "%d feed%s failed; the others "
		    "were fetched", fs.failed, fs.failed == 1 ? "" : "s");
		return cli_job_end(c, "feeds", cli_fail(c));
	}
	return cli_job_end(c, "feeds", 0);
}

static const struct cli_cmd verbs[] = {
	{ "add", feed_add, "SLUG URL",
	    "add a feed (http://, https://, file:// or a path) to a theme" },
	{ "list", feed_list, "[--theme SLUG] [--json]",
	    "list feeds with the outcome of their last fetch" },
	{ "rm", feed_rm, "ID", "remove a feed and its items" },
	{ "fetch", feed_fetch, "[SLUG]",
	    "fetch every active feed (of one theme) and store new items" },
};

int
cmd_feed(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev feed", verbs,
	    sizeof verbs / sizeof verbs[0], argc - 1, argv + 1);
}
