/*
 * temabrev item: the items the feeds brought, newest first.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "store.h"

#define U_LIST "temabrev item list [--theme SLUG] [--unsent] [--json]"

struct item_opts {
	const char	*theme;
	int		 unsent;
	int		 json;
};

static json_t *
item_json(const struct store_item *it, const struct store_feed *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(it->id));
	json_object_set_new(o, "feed", json_integer(it->feed_id));
	json_object_set_new(o, "theme", cli_json_str(f->slug));
	json_object_set_new(o, "guid", cli_json_str(it->guid));
	json_object_set_new(o, "title", cli_json_str(it->title));
	json_object_set_new(o, "link", cli_json_str(it->link));
	json_object_set_new(o, "author", cli_json_str(it->author));
	json_object_set_new(o, "published", it->published ?
	    cli_json_time(it->published) : json_null());
	json_object_set_new(o, "updated", it->updated ?
	    cli_json_time(it->updated) : json_null());
	json_object_set_new(o, "categories", cli_json_str(it->categories));
	json_object_set_new(o, "first_seen", cli_json_time(it->first_seen));
	json_object_set_new(o, "sent", json_boolean(it->sent));
	return o;
}

static int
list_cb(const struct store_item *it, const struct store_feed *f, void *arg)
{
	const struct item_opts *o = arg;
	char when[UTIL_ISO_LEN];
	int64_t t = it->published ? it->published :
	    it->updated ? it->updated : it->first_seen;

	if (o->json) {
		cli_json_line(item_json(it, f));
		return 0;
	}
	printf("%-6lld %.10s  %-24s %s%s\n       %s\n", (long long)it->id,
	    util_iso_time(t, when), f->slug, it->sent ? "(sent) " : "",
	    it->title, it->link ? it->link : "");
	return 0;
}

static const struct cli_opt item_options[] = {
	CLI_OPT_STR("theme", struct item_opts, theme),
	CLI_OPT_FLAG("unsent", struct item_opts, unsent),
	CLI_OPT_FLAG("json", struct item_opts, json),
	CLI_OPT_END
};

static int
item_list(struct cli *c, int argc, char **argv)
{
	struct item_opts o = { 0 };
	int64_t tid = 0;
	int i, r, help;

	if ((i = cli_parse(argc, argv, item_options, &o, U_LIST, &help)) == -1)
		return help ? 0 : cli_usage(U_LIST);
	if (i != argc)
		return cli_usage(U_LIST);
	if ((r = cli_theme_id(c, o.theme, &tid)) != 0)
		return r;
	if (store_item_foreach(cli_store(c), tid, o.unsent, list_cb, &o,
	    &c->err) == -1)
		return cli_fail(c);
	return 0;
}

static const struct cli_cmd verbs[] = {
	{ "list", item_list, "[--theme SLUG] [--unsent] [--json]",
	    "list stored items, newest first" },
};

int
cmd_item(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev item", verbs,
	    sizeof verbs / sizeof verbs[0], argc - 1, argv + 1);
}
