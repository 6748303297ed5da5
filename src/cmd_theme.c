/*
 * temabrev theme: add, edit, list, show and remove themes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "conf.h"
#include "schedule.h"
#include "store.h"
#include "theme.h"

#define U_ADD "temabrev theme add SLUG --name NAME [--description TEXT] " \
	"[--lang sv|en]"
#define U_EDIT "temabrev theme edit SLUG [--name NAME] [--description TEXT] " \
	"[--lang sv|en] [--from 'NAME <ADDR>'] [--schedule SPEC]"
#define U_LIST "temabrev theme list [--json]"
#define U_SHOW "temabrev theme show SLUG [--json]"
#define U_RM "temabrev theme rm SLUG [--force]"

struct theme_opts {
	const char	*name;
	const char	*description;
	const char	*lang;
	const char	*from;
	const char	*schedule;
	int		 json;
	int		 force;
};

static const struct cli_opt theme_options[] = {
	CLI_OPT_STR("name", struct theme_opts, name),
	CLI_OPT_STR("description", struct theme_opts, description),
	CLI_OPT_STR("lang", struct theme_opts, lang),
	CLI_OPT_STR("from", struct theme_opts, from),
	CLI_OPT_STR("schedule", struct theme_opts, schedule),
	CLI_OPT_FLAG("json", struct theme_opts, json),
	CLI_OPT_FLAG("force", struct theme_opts, force),
	CLI_OPT_END
};

/* Parses the options every theme verb shares; returns argv index or -1. */
static int
parse(int argc, char **argv, struct theme_opts *o, const char *usage,
    int *help)
{
	memset(o, 0, sizeof *o);
	return cli_parse(argc, argv, theme_options, o, usage, help);
}

static int
check(struct cli *c, const struct theme_opts *o, int adding)
{
	if (adding && o->name == NULL) {
		error_set(&c->err, EX_USAGE, "theme add needs --name");
		return -1;
	}
	if (o->name && theme_check_text("name", o->name, 1, &c->err) == -1)
		return -1;
	if (o->description &&
	    theme_check_text("description", o->description, 0, &c->err) == -1)
		return -1;
	if (o->lang && theme_check_lang(o->lang, &c->err) == -1)
		return -1;
	if (o->from && *o->from && theme_check_from(o->from, &c->err) == -1)
		return -1;
	return 0;
}

static int
theme_add(struct cli *c, int argc, char **argv)
{
	struct theme_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_ADD, &help)) == -1)
		return help ? 0 : cli_usage(U_ADD);
	if (argc - i != 1)
		return cli_usage(U_ADD);
	if (theme_check_slug(argv[i], &c->err) == -1 || check(c, &o, 1) == -1)
		return cli_fail(c);
	if (store_theme_add(cli_store(c), argv[i], o.name, o.description,
	    o.lang, &c->err) == -1)
		return cli_fail(c);
	printf("theme %s added\n", argv[i]);
	return 0;
}

static int
theme_edit(struct cli *c, int argc, char **argv)
{
	struct theme_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_EDIT, &help)) == -1)
		return help ? 0 : cli_usage(U_EDIT);
	if (argc - i != 1)
		return cli_usage(U_EDIT);
	if (!o.name && !o.description && !o.lang && !o.from && !o.schedule)
		return cli_error(EX_USAGE, "theme edit: nothing to change");
	if (check(c, &o, 0) == -1)
		return cli_fail(c);
	if (o.schedule != NULL) {
		struct schedule sch;
		char spec[SCHEDULE_SPEC_MAX];

		/* Stored in canonical form; "none" clears it. */
		if (schedule_parse(o.schedule, &sch, &c->err) == -1)
			return cli_fail(c);
		schedule_format(&sch, spec, sizeof spec);
		if (store_theme_set_schedule(cli_store(c), argv[i],
		    sch.kind == SCHEDULE_NONE ? NULL : spec, &c->err) == -1)
			return cli_fail(c);
	}
	if ((o.name || o.description || o.lang || o.from) &&
	    store_theme_edit(cli_store(c), argv[i], o.name, o.description,
	    o.lang, o.from, &c->err) == -1)
		return cli_fail(c);
	printf("theme %s changed\n", argv[i]);
	return 0;
}

/*
 * When the theme's next digest is due ([general] timezone), or 0 with no
 * schedule; -1 with err for a bad zone.
 */
static int
next_digest(struct cli *c, const struct store_theme *t, int64_t *next_r)
{
	struct schedule sch;

	*next_r = 0;
	if (t->schedule == NULL)
		return 0;
	if (schedule_parse(t->schedule, &sch, &c->err) == -1 ||
	    schedule_next(&sch, c->conf->timezone, util_now(), next_r,
	    &c->err) == -1)
		return -1;
	if (*next_r == SCHEDULE_NEVER)
		*next_r = 0;
	return 0;
}

static json_t *
theme_json(struct cli *c, const struct store_theme *t)
{
	int64_t next = 0;
	json_t *counts = json_object(), *o = json_object();

	for (int s = 0; s < STORE_NSTATUS; s++)
		json_object_set_new(counts, store_status_name(s),
		    json_integer(t->counts[s]));
	json_object_set_new(o, "slug", cli_json_str(t->slug));
	json_object_set_new(o, "name", cli_json_str(t->name));
	json_object_set_new(o, "description", cli_json_str(t->description));
	json_object_set_new(o, "lang", cli_json_str(t->lang));
	json_object_set_new(o, "created", cli_json_time(t->created));
	json_object_set_new(o, "from", cli_json_str(t->from_addr));
	json_object_set_new(o, "schedule", cli_json_str(t->schedule));
	if (next_digest(c, t, &next) == -1)
		next = 0;	/* a bad zone shows as no time here */
	json_object_set_new(o, "next_digest", next ? cli_json_time(next) :
	    json_null());
	json_object_set_new(o, "counts", counts);
	return o;
}

struct list_state {
	struct cli	*c;
	int		 json;
};

static int
list_cb(const struct store_theme *t, void *arg)
{
	struct list_state *ls = arg;

	if (ls->json) {
		cli_json_line(theme_json(ls->c, t));
		return 0;
	}
	printf("%-28s %-4s %8lld %8lld %8lld %8lld  %s\n", t->slug, t->lang,
	    (long long)t->counts[STORE_ACTIVE],
	    (long long)t->counts[STORE_PENDING],
	    (long long)t->counts[STORE_UNSUBSCRIBED],
	    (long long)t->counts[STORE_BOUNCED], t->name);
	return 0;
}

static int
theme_list(struct cli *c, int argc, char **argv)
{
	struct theme_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_LIST, &help)) == -1)
		return help ? 0 : cli_usage(U_LIST);
	if (argc != i)
		return cli_usage(U_LIST);
	if (!o.json)
		printf("%-28s %-4s %8s %8s %8s %8s  %s\n", "SLUG", "LANG",
		    "ACTIVE", "PENDING", "UNSUB", "BOUNCED", "NAME");
	struct list_state ls = { c, o.json };

	if (store_theme_foreach(cli_store(c), list_cb, &ls, &c->err) == -1)
		return cli_fail(c);
	return 0;
}

static int
theme_show(struct cli *c, int argc, char **argv)
{
	struct store_theme *t = NULL;
	char created[UTIL_ISO_LEN];
	struct theme_opts o;
	int i, help, r;

	if ((i = parse(argc, argv, &o, U_SHOW, &help)) == -1)
		return help ? 0 : cli_usage(U_SHOW);
	if (argc - i != 1)
		return cli_usage(U_SHOW);
	if ((r = store_theme_get(cli_store(c), argv[i], &t, &c->err)) == -1)
		return cli_fail(c);
	if (r == 0)
		return cli_error(EX_DATAERR, "no theme %s", argv[i]);
	if (o.json)
		cli_json_line(theme_json(c, t));
	else {
		int64_t next;
		char when[UTIL_ISO_LEN];

		printf("slug:         %s\nname:         %s\n"
		    "description:  %s\nlanguage:     %s\ncreated:      %s\n",
		    t->slug, t->name, t->description, t->lang,
		    util_iso_time(t->created, created));
		if (next_digest(c, t, &next) == -1) {
			store_theme_free(t);
			return cli_fail(c);
		}
		printf("schedule:     %s\n", t->schedule ? t->schedule : "none");
		if (next)
			printf("next digest:  %s\n", util_iso_time(next, when));
		for (int s = 0; s < STORE_NSTATUS; s++)
			printf("%-13s %lld\n", store_status_name(s),
			    (long long)t->counts[s]);
	}
	store_theme_free(t);
	return 0;
}

static int
theme_rm(struct cli *c, int argc, char **argv)
{
	struct store_theme *t = NULL;
	struct theme_opts o;
	int i, help, r;

	if ((i = parse(argc, argv, &o, U_RM, &help)) == -1)
		return help ? 0 : cli_usage(U_RM);
	if (argc - i != 1)
		return cli_usage(U_RM);
	if ((r = store_theme_get(cli_store(c), argv[i], &t, &c->err)) == -1)
		return cli_fail(c);
	if (r == 0)
		return cli_error(EX_DATAERR, "no theme %s", argv[i]);
	if (t->counts[STORE_ACTIVE] > 0 && !o.force) {
		r = cli_error(EX_DATAERR, "theme %s has %lld active "
		    "subscribers: use --force to remove it anyway", t->slug,
		    (long long)t->counts[STORE_ACTIVE]);
		store_theme_free(t);
		return r;
	}
	if (store_theme_rm(c->store, t->id, &c->err) == -1) {
		store_theme_free(t);
		return cli_fail(c);
	}
	printf("theme %s removed\n", t->slug);
	store_theme_free(t);
	return 0;
}

static const struct cli_cmd verbs[] = {
	{ "add", theme_add, "SLUG --name NAME [--description TEXT] "
	    "[--lang sv|en]", "add a theme" },
	{ "edit", theme_edit, "SLUG [--name NAME] [--description TEXT] "
	    "[--lang sv|en] [--from 'NAME <ADDR>']", "change a theme" },
	{ "list", theme_list, "[--json]", "list themes with their counts" },
	{ "show", theme_show, "SLUG [--json]", "show one theme" },
	{ "rm", theme_rm, "SLUG [--force]",
	    "remove a theme (refused while it has active subscribers)" },
};

int
cmd_theme(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev theme", verbs,
	    sizeof verbs / sizeof verbs[0], argc - 1, argv + 1);
}
