/*
 * temabrev sub: subscribers and their subscriptions: add, rm, list, show,
 * import, export and forget.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "cli.h"
#include "conf.h"
#include "store.h"
#include "subs.h"

#define U_ADD "temabrev sub add EMAIL [--name NAME] --theme SLUG[,SLUG...] " \
	"[--force | --confirm [--no-send]]"
#define U_CONFIRM "temabrev sub confirm TOKEN"
#define U_EXPIRE "temabrev sub expire"
#define U_RM "temabrev sub rm EMAIL [--theme SLUG]"
#define U_LIST "temabrev sub list [--theme SLUG] [--status STATUS] [--json]"
#define U_SHOW "temabrev sub show EMAIL [--json]"
#define U_IMPORT "temabrev sub import FILE.csv [--theme SLUG[,SLUG...]]"
#define U_EXPORT "temabrev sub export [--theme SLUG] [--all] " \
	"[--spreadsheet-safe]"
#define U_FORGET "temabrev sub forget EMAIL"

struct sub_opts {
	const char	*name;
	char		*themes;	/* as given: "a,b" */
	const char	*status;
	int		 force, json, all, safe, confirm, no_send;
};

static const struct cli_opt sub_options[] = {
	CLI_OPT_STR("name", struct sub_opts, name),
	CLI_OPT_STR("theme", struct sub_opts, themes),
	CLI_OPT_STR("status", struct sub_opts, status),
	CLI_OPT_FLAG("force", struct sub_opts, force),
	CLI_OPT_FLAG("json", struct sub_opts, json),
	CLI_OPT_FLAG("all", struct sub_opts, all),
	CLI_OPT_FLAG("spreadsheet-safe", struct sub_opts, safe),
	CLI_OPT_FLAG("confirm", struct sub_opts, confirm),
	CLI_OPT_FLAG("no-send", struct sub_opts, no_send),
	CLI_OPT_END
};

static int
parse(int argc, char **argv, struct sub_opts *o, const char *usage,
    int *help)
{
	memset(o, 0, sizeof *o);
	return cli_parse(argc, argv, sub_options, o, usage, help);
}

/* Splits "a,b;c" into slugs (pointers into list, which it modifies). */
static size_t
split_slugs(char *list, char **out, size_t max)
{
	char *save = NULL, *tok;
	size_t n = 0;

	for (tok = list ? strtok_r(list, ",;", &save) : NULL; tok != NULL;
	    tok = strtok_r(NULL, ",;", &save)) {
		util_trim(tok);
		if (*tok != '\0' && n < max)
			out[n++] = tok;
	}
	return n;
}

#define MAX_THEMES 64

static void
report_stdout(void *arg, const char *line)
{
	(void)arg;
	puts(line);
}

static void
report_stderr(void *arg, const char *line)
{
	(void)arg;
	fflush(stdout);
	fprintf(stderr, "%s\n", line);
}

/* What one --confirm request came to, for the communicator. */
static void
print_request(struct cli *c, const char *slug,
    const struct subs_request_result *r)
{
	const struct config *cfg = cli_conf(c);

	switch (r->outcome) {
	case SUBS_REQ_MAILED:
		printf("%s: pending in %s; confirmation mail sent\n", r->email,
		    slug);
		break;
	case SUBS_REQ_NOT_SENT:
		printf("%s: pending in %s; no mail sent (--no-send)\n",
		    r->email, slug);
		if (cfg->base_url != NULL && *cfg->base_url != '\0')
			printf("confirm link: %s/c/%s\n", cfg->base_url,
			    r->token);
		printf("confirm address: confirm+%s@%s\n", r->token,
		    cfg->list_domain ? cfg->list_domain : "LIST_DOMAIN");
		printf("token: %s\n", r->token);
		break;
	case SUBS_REQ_THROTTLED:
		printf("%s: pending in %s; no mail: one went to this address "
		    "less than 24 hours ago\n", r->email, slug);
		break;
	case SUBS_REQ_ACTIVE:
		printf("%s: already active in %s; nothing sent\n", r->email,
		    slug);
		break;
	case SUBS_REQ_SUPPRESSED:
		printf("%s: on the suppression list; nothing stored or sent\n",
		    r->email);
		break;
	}
}

/* sub add --confirm: double opt-in, one request per theme. */
static int
add_confirm(struct cli *c, const char *email, const struct sub_opts *o,
    char **slugs, size_t n)
{
	struct subs_request_result r;
	struct subs *s = cli_subs(c);

	if (o->force)
		return cli_error(EX_USAGE, "--force and --confirm exclude "
		    "each other");
	subs_set_config(s, cli_conf(c));
	for (size_t k = 0; k < n; k++) {
		if (subs_request(s, email, o->name, slugs[k], "cli",
		    util_now(), o->no_send ? SUBS_NO_SEND : 0, &r,
		    &c->err) == -1)
			return cli_fail(c);
		print_request(c, slugs[k], &r);
	}
	return 0;
}

static int
sub_add(struct cli *c, int argc, char **argv)
{
	char *slugs[MAX_THEMES];
	struct sub_opts o;
	size_t n;
	int i, help;

	if ((i = parse(argc, argv, &o, U_ADD, &help)) == -1)
		return help ? 0 : cli_usage(U_ADD);
	if (argc - i != 1 || o.themes == NULL || (o.no_send && !o.confirm))
		return cli_usage(U_ADD);
	if ((n = split_slugs(o.themes, slugs, MAX_THEMES)) == 0)
		return cli_usage(U_ADD);
	if (o.confirm)
		return add_confirm(c, argv[i], &o, slugs, n);
	if (subs_add(cli_subs(c), argv[i], o.name, slugs, n, o.force,
	    o.force ? "cli --force" : "cli", report_stdout, NULL,
	    &c->err) == -1)
		return cli_fail(c);
	return 0;
}

static int
sub_rm(struct cli *c, int argc, char **argv)
{
	struct sub_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_RM, &help)) == -1)
		return help ? 0 : cli_usage(U_RM);
	if (argc - i != 1)
		return cli_usage(U_RM);
	if (subs_remove(cli_subs(c), argv[i], o.themes, "cli", report_stdout,
	    NULL, &c->err) == -1)
		return cli_fail(c);
	return 0;
}

static json_t *
subscriber_json(const struct store_subscriber *s)
{
	json_t *o = json_object(), *themes = json_array();

	for (size_t i = 0; i < s->nsubs; i++) {
		json_t *t = json_object();

		json_object_set_new(t, "slug", cli_json_str(s->subs[i].slug));
		json_object_set_new(t, "status",
		    json_string(store_status_name(s->subs[i].status)));
		json_object_set_new(t, "since", cli_json_time(s->subs[i].since));
		json_object_set_new(t, "reason",
		    cli_json_str(s->subs[i].reason));
		json_array_append_new(themes, t);
	}
	json_object_set_new(o, "email", cli_json_str(s->email));
	json_object_set_new(o, "name", cli_json_str(s->name));
	json_object_set_new(o, "created", cli_json_time(s->created));
	json_object_set_new(o, "themes", themes);
	return o;
}

static int
list_cb(const struct store_subscriber *s, void *arg)
{
	const struct sub_opts *o = arg;

	if (o->json) {
		cli_json_line(subscriber_json(s));
		return 0;
	}
	printf("%s\t%s\t", s->email, s->name);
	for (size_t i = 0; i < s->nsubs; i++)
		printf("%s%s:%s", i ? "," : "", s->subs[i].slug,
		    store_status_name(s->subs[i].status));
	putchar('\n');
	return 0;
}

static int
sub_list(struct cli *c, int argc, char **argv)
{
	struct sub_opts o;
	int64_t theme_id = 0;
	int i, help, status = -1, r;

	if ((i = parse(argc, argv, &o, U_LIST, &help)) == -1)
		return help ? 0 : cli_usage(U_LIST);
	if (argc != i)
		return cli_usage(U_LIST);
	if (o.status != NULL && (status = store_status_parse(o.status)) < 0)
		return cli_error(EX_USAGE, "unknown status %s (pending, active, "
		    "unsubscribed, bounced)", o.status);
	if ((r = cli_theme_id(c, o.themes, &theme_id)) != 0)
		return r;
	if (store_subscriber_foreach(cli_store(c), NULL, theme_id, status,
	    list_cb, &o, &c->err) == -1)
		return cli_fail(c);
	return 0;
}

struct show_state {
	const struct sub_opts	*o;
	struct cli		*c;
	json_t			*events;	/* with --json */
};

static int
event_cb(const struct store_event_row *e, void *arg)
{
	struct show_state *ss = arg;
	char buf[UTIL_ISO_LEN];

	if (ss->events != NULL) {
		json_t *j = json_object();

		json_object_set_new(j, "at", cli_json_time(e->at));
		json_object_set_new(j, "kind", cli_json_str(e->kind));
		json_object_set_new(j, "theme", cli_json_str(e->slug));
		json_object_set_new(j, "source", cli_json_str(e->source));
		json_object_set_new(j, "detail", cli_json_str(e->detail));
		json_array_append_new(ss->events, j);
		return 0;
	}
	printf("  %s  %-11s %-24s %s%s%s\n", util_iso_time(e->at, buf),
	    e->kind, e->slug ? e->slug : "-", e->source,
	    e->detail ? ": " : "", e->detail ? e->detail : "");
	return 0;
}

static int
show_cb(const struct store_subscriber *s, void *arg)
{
	struct show_state *ss = arg;
	const struct sub_opts *o = ss->o;
	char buf[UTIL_ISO_LEN];

	if (o->json) {
		json_t *j = subscriber_json(s);

		ss->events = json_array();
		if (store_event_foreach(ss->c->store, s->id, event_cb, ss,
		    &ss->c->err) == -1) {
			json_decref(j);
			json_decref(ss->events);
			return -1;
		}
		json_object_set_new(j, "events", ss->events);
		cli_json_line(j);
		return 0;
	}
	printf("email:    %s\nname:     %s\ncreated:  %s\n", s->email,
	    s->name, util_iso_time(s->created, buf));
	for (size_t i = 0; i < s->nsubs; i++) {
		printf("theme:    %-24s %-12s since %s (%s)\n", s->subs[i].slug,
		    store_status_name(s->subs[i].status),
		    util_iso_time(s->subs[i].since, buf), s->subs[i].reason);
		if (s->subs[i].status == STORE_PENDING)
			printf("          waits for confirmation until %s\n",
			    util_iso_time(s->subs[i].since + 86400 *
			    cli_conf(ss->c)->subscribe_pending_days, buf));
	}
	printf("history:\n");
	return store_event_foreach(ss->c->store, s->id, event_cb, ss,
	    &ss->c->err) == -1 ? -1 : 0;
}

static int
sub_show(struct cli *c, int argc, char **argv)
{
	struct sub_opts o;
	struct addr a;
	int64_t id;
	int i, help, r;

	if ((i = parse(argc, argv, &o, U_SHOW, &help)) == -1)
		return help ? 0 : cli_usage(U_SHOW);
	if (argc - i != 1)
		return cli_usage(U_SHOW);
	if (addr_parse(argv[i], &a, &c->err) == -1)
		return cli_fail(c);
	if ((r = store_subscriber_find(cli_store(c), a.key, &id, NULL,
	    &c->err)) == -1)
		return cli_fail(c);
	if (r == 0)
		return cli_error(EX_DATAERR, "no subscriber %s", a.email);
	struct show_state ss = { &o, c, NULL };

	if (store_subscriber_foreach(c->store, a.key, 0, -1, show_cb, &ss,
	    &c->err) == -1)
		return cli_fail(c);
	return 0;
}

static int
sub_import(struct cli *c, int argc, char **argv)
{
	struct subs_import_stats st;
	char *slugs[MAX_THEMES];
	struct sub_opts o;
	size_t n = 0;
	int i, help, rc;

	if ((i = parse(argc, argv, &o, U_IMPORT, &help)) == -1)
		return help ? 0 : cli_usage(U_IMPORT);
	if (argc - i != 1)
		return cli_usage(U_IMPORT);
	if (o.themes != NULL)
		n = split_slugs(o.themes, slugs, MAX_THEMES);
	rc = subs_import(cli_subs(c), argv[i], slugs, n, report_stderr, NULL,
	    &st, &c->err);
	if (rc == -1 && st.added + st.updated + st.skipped + st.refused == 0)
		return cli_fail(c);
	printf("%s: %llu added, %llu updated, %llu skipped, %llu refused\n",
	    argv[i], (unsigned long long)st.added,
	    (unsigned long long)st.updated, (unsigned long long)st.skipped,
	    (unsigned long long)st.refused);
	if (rc == -1)
		return cli_fail(c);
	return st.refused > 0 ? EX_DATAERR : 0;
}

static int
sub_export(struct cli *c, int argc, char **argv)
{
	struct sub_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_EXPORT, &help)) == -1)
		return help ? 0 : cli_usage(U_EXPORT);
	if (argc != i)
		return cli_usage(U_EXPORT);
	if (subs_export(cli_subs(c), stdout, o.themes, o.all, o.safe,
	    &c->err) == -1)
		return cli_fail(c);
	return 0;
}

static int
sub_forget(struct cli *c, int argc, char **argv)
{
	struct sub_opts o;
	int i, help, found;

	if ((i = parse(argc, argv, &o, U_FORGET, &help)) == -1)
		return help ? 0 : cli_usage(U_FORGET);
	if (argc - i != 1)
		return cli_usage(U_FORGET);
	if (subs_forget(cli_subs(c), argv[i], "cli", &found, &c->err) == -1)
		return cli_fail(c);
	if (found)
		printf("%s erased; only a keyed hash stays on the suppression "
		    "list\n", argv[i]);
	else
		printf("no subscriber %s; its keyed hash is on the suppression "
		    "list\n", argv[i]);
	return 0;
}

static int
sub_confirm(struct cli *c, int argc, char **argv)
{
	static const char *const words[] = {
		[SUBS_CONFIRMED] = "confirmed: now active",
		[SUBS_CONFIRMED_BEFORE] = "already confirmed: active",
	};
	struct subs_confirm_result r;
	struct sub_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_CONFIRM, &help)) == -1)
		return help ? 0 : cli_usage(U_CONFIRM);
	if (argc - i != 1)
		return cli_usage(U_CONFIRM);
	if (subs_confirm(cli_subs(c), argv[i],
	    cli_conf(c)->subscribe_pending_days, "cli", util_now(), &r,
	    &c->err) == -1)
		return cli_fail(c);
	if (r.outcome == SUBS_CONFIRM_INVALID)
		return cli_error(EX_DATAERR, "token %.64s: not a confirmation "
		    "token of this installation", argv[i]);
	if (r.outcome == SUBS_CONFIRM_EXPIRED)
		return cli_error(EX_DATAERR, "token %.64s: expired, or the "
		    "request it answers is gone", argv[i]);
	printf("%s\n", words[r.outcome]);
	return 0;
}

static int
sub_expire(struct cli *c, int argc, char **argv)
{
	struct sub_opts o;
	int64_t n;
	int i, help;

	if ((i = parse(argc, argv, &o, U_EXPIRE, &help)) == -1)
		return help ? 0 : cli_usage(U_EXPIRE);
	if (argc != i)
		return cli_usage(U_EXPIRE);
	if (subs_expire(cli_subs(c), util_now(),
	    cli_conf(c)->subscribe_pending_days, "expire", &n, &c->err) == -1)
		return cli_fail(c);
	printf("%lld pending subscription%s expired\n", (long long)n,
	    n == 1 ? "" : "s");
	return 0;
}

static const struct cli_cmd verbs[] = {
	{ "add", sub_add, "EMAIL [--name NAME] --theme SLUG[,SLUG...] "
	    "[--force | --confirm [--no-send]]",
	    "subscribe an address (--confirm: double opt-in)" },
	{ "confirm", sub_confirm, "TOKEN",
	    "confirm a pending subscription with its token" },
	{ "expire", sub_expire, "",
	    "remove pending subscriptions older than pending_days" },
	{ "rm", sub_rm, "EMAIL [--theme SLUG]",
	    "unsubscribe from one theme, or from all" },
	{ "list", sub_list, "[--theme SLUG] [--status STATUS] [--json]",
	    "list subscribers" },
	{ "show", sub_show, "EMAIL [--json]", "show one subscriber" },
	{ "import", sub_import, "FILE.csv [--theme SLUG[,SLUG...]]",
	    "import subscribers from CSV (email, name, themes)" },
	{ "export", sub_export, "[--theme SLUG] [--all] [--spreadsheet-safe]",
	    "write subscribers as CSV" },
	{ "forget", sub_forget, "EMAIL",
	    "erase an address on request (GDPR art. 17)" },
};

int
cmd_sub(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev sub", verbs,
	    sizeof verbs / sizeof verbs[0], argc - 1, argv + 1);
}
