/*
 * temabrev inbox / bounces: read the list's mailbox over IMAP and act on
 * what subscribers and their servers sent back; list and show bounces.
 */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "conf.h"
#include "inbox.h"
#include "sender.h"
#include "store.h"
#include "theme.h"

#define U_PROCESS "temabrev inbox process [--watch] [--no-send]"
#define U_LOG "temabrev inbox log [--limit N] [--json]"
#define U_BLIST "temabrev bounces list [--theme SLUG] [--json]"
#define U_BSHOW "temabrev bounces show ID [--json]"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct in_opts {
	int		 watch, no_send, json;
	long long	 limit;
	const char	*theme;
};

static const struct cli_opt in_options[] = {
	CLI_OPT_FLAG("watch", struct in_opts, watch),
	CLI_OPT_FLAG("no-send", struct in_opts, no_send),
	CLI_OPT_FLAG("json", struct in_opts, json),
	CLI_OPT_NUM("limit", struct in_opts, limit, 1, LLONG_MAX),
	CLI_OPT_STR("theme", struct in_opts, theme),
	CLI_OPT_END
};

static int
parse(int argc, char **argv, struct in_opts *o, const char *usage, int *help)
{
	memset(o, 0, sizeof *o);
	o->limit = 50;
	return cli_parse(argc, argv, in_options, o, usage, help);
}

struct deliver_state {
	int		 watch;		/* print as it goes */
	struct cli	*c;
	int		 failed;
};

/* A watch prints as it goes; a single pass lets stdio buffer. */
static void
print_line(void *arg, const char *line)
{
	const struct deliver_state *d = arg;

	printf("%s\n", line);
	if (d->watch)
		fflush(stdout);
}


/*
 * Delivers the queue when notices wait in it, so a confirmation goes out
 * with the run that caused it. (Whatever else is queued goes with them,
 * as with temabrev send.)
 */
static void
deliver_notices(void *arg, const struct inbox_stats *s)
{
	struct deliver_state *d = arg;
	struct sender_opts so = { 0 };
	struct sender_progress p = { 0 };

	int64_t waiting = 0;

	(void)s;
	/* Waiting notices include those of an earlier run that stopped
	 * before sending them (a crash, --no-send). */
	if (store_notices_waiting(cli_store(d->c), &waiting, &d->c->err) == -1) {
		fprintf(stderr, "temabrev: %s\n", d->c->err.msg);
		d->failed = 1;
		return;
	}
	if (waiting == 0)
		return;
	so.no_wait = 1;
	so.stop = (volatile int *)&stop_flag;
	if (sender_run(d->c->conf, d->c->db_path, cli_secret(d->c), &so, &p,
	    &d->c->err) == -1) {
		fprintf(stderr, "temabrev: %s; the mails stay queued "
		    "(temabrev send)\n", d->c->err.msg);
		d->failed = 1;
		return;
	}
	printf("mail: %lld sent, %lld failed, %lld deferred\n",
	    (long long)p.sent, (long long)p.failed,
	    (long long)p.deferred_left);
	fflush(stdout);
	if (p.failed || p.deferred_left)
		d->failed = 1;
}

static void
after_pass(void *arg, const struct inbox_stats *s)
{
	struct deliver_state *d = arg;

	if (d != NULL)
		deliver_notices(d, s);
}

static int
inbox_process(struct cli *c, int argc, char **argv)
{
	struct deliver_state d = { 0, c, 0 };
	struct inbox_opts io = { 0 };
	struct inbox_stats st;
	struct in_opts o;
	struct sigaction sa;
	char *summary;
	int i, help, rc;

	if ((i = parse(argc, argv, &o, U_PROCESS, &help)) == -1)
		return help ? 0 : cli_usage(U_PROCESS);
	if (argc != i)
		return cli_usage(U_PROCESS);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	io.watch = o.watch;
	d.watch = o.watch;
	io.stop = (volatile int *)&stop_flag;
	io.line = print_line;
	io.arg = &d;
	io.after_pass = o.no_send ? NULL : after_pass;
	cli_secret(c);
	cli_job_start(c, "inbox");
	rc = inbox_run(c->conf, c->store, c->secret, &io, &st, &c->err);
	summary = inbox_summary(&st);
	printf("%s\n", summary);
	free(summary);
	if (rc == -1)
		return cli_job_end(c, "inbox", cli_fail(c));
	if (d.failed) {
		error_set(&c->err, EX_TEMPFAIL, "some mails are still queued: "
		    "run temabrev send");
		return cli_job_end(c, "inbox", cli_fail(c));
	}
	return cli_job_end(c, "inbox", 0);
}

static int
log_row(const struct store_inbound *m, void *arg)
{
	const struct in_opts *o = arg;
	char when[32];

	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "id", json_integer(m->id));
		json_object_set_new(j, "at", cli_json_time(m->at));
		json_object_set_new(j, "kind", cli_json_str(m->kind));
		json_object_set_new(j, "theme", cli_json_str(m->slug));
		json_object_set_new(j, "from", cli_json_str(m->sender));
		json_object_set_new(j, "subject", cli_json_str(m->subject));
		json_object_set_new(j, "action", cli_json_str(m->action));
		json_object_set_new(j, "filed", cli_json_str(m->filed));
		cli_json_line(j);
		return 0;
	}
	printf("%-6lld %s  %-11s %-9s %s%s%s\n", (long long)m->id,
	    util_iso_time(m->at, when), m->kind, m->filed,
	    m->sender ? m->sender : "", m->sender ? ": " : "", m->action);
	return 0;
}

static int
inbox_log(struct cli *c, int argc, char **argv)
{
	struct in_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_LOG, &help)) == -1)
		return help ? 0 : cli_usage(U_LOG);
	if (argc != i)
		return cli_usage(U_LOG);
	if (store_inbound_foreach(cli_store(c), o.limit, log_row, &o,
	    &c->err) < 0)
		return cli_fail(c);
	return 0;
}

static const struct cli_cmd inbox_cmds[] = {
	{ "process", inbox_process, "[--watch] [--no-send]",
	    "handle every new message in the list's mailbox once" },
	{ "log", inbox_log, "[--limit N] [--json]",
	    "the messages handled last, newest first" },
};

int
cmd_inbox(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev inbox", inbox_cmds,
	    sizeof inbox_cmds / sizeof inbox_cmds[0], argc - 1, argv + 1);
}

static json_t *
bounce_json(const struct store_bounce *b)
{
	json_t *j = json_object();

	json_object_set_new(j, "id", json_integer(b->id));
	json_object_set_new(j, "at", cli_json_time(b->at));
	json_object_set_new(j, "address", cli_json_str(b->address));
	json_object_set_new(j, "theme", cli_json_str(b->slug));
	json_object_set_new(j, "edition", b->edition_id ?
	    json_integer(b->edition_id) : json_null());
	json_object_set_new(j, "verdict", cli_json_str(b->verdict));
	json_object_set_new(j, "status", cli_json_str(b->status));
	json_object_set_new(j, "diagnostic", cli_json_str(b->diagnostic));
	json_object_set_new(j, "known", json_boolean(b->subscriber_id != 0));
	json_object_set_new(j, "subscription", cli_json_str(
	    *b->sub_status ? b->sub_status : NULL));
	return j;
}

static int
bounce_row(const struct store_bounce *b, void *arg)
{
	const struct in_opts *o = arg;
	char when[32];

	if (o->json) {
		cli_json_line(bounce_json(b));
		return 0;
	}
	printf("%-6lld %s  %-6s %-7s %-12s %s%s\n", (long long)b->id,
	    util_iso_time(b->at, when), b->verdict,
	    b->status ? b->status : "-", b->slug ? b->slug : "-",
	    b->address ? b->address : "(no address)",
	    b->subscriber_id ? "" : " (never mailed)");
	return 0;
}

static int
bounces_list(struct cli *c, int argc, char **argv)
{
	struct in_opts o;
	int64_t theme_id = 0;
	int i, help, rc;

	if ((i = parse(argc, argv, &o, U_BLIST, &help)) == -1)
		return help ? 0 : cli_usage(U_BLIST);
	if (argc != i)
		return cli_usage(U_BLIST);
	if ((rc = cli_theme_id(c, o.theme, &theme_id)) != 0)
		return rc;
	if (store_bounce_foreach(cli_store(c), theme_id, bounce_row, &o,
	    &c->err) < 0)
		return cli_fail(c);
	return 0;
}

static int
bounce_show(const struct store_bounce *b, void *arg)
{
	const struct in_opts *o = arg;
	char when[32];

	if (o->json) {
		json_t *j = bounce_json(b);

		json_object_set_new(j, "report", cli_json_str(b->report));
		cli_json_line(j);
		return 0;
	}
	printf("bounce %lld\n", (long long)b->id);
	printf("received:     %s\n", util_iso_time(b->at, when));
	printf("address:      %s%s\n", b->address ? b->address : "(none)",
	    b->subscriber_id ? "" : " (never mailed)");
	printf("theme:        %s\n", b->slug ? b->slug : "-");
	if (b->edition_id)
		printf("edition:      %lld\n", (long long)b->edition_id);
	printf("verdict:      %s\n", b->verdict);
	printf("status:       %s\n", b->status ? b->status : "-");
	printf("diagnostic:   %s\n", b->diagnostic ? b->diagnostic : "-");
	if (*b->sub_status)
		printf("subscription: %s\n", b->sub_status);
	printf("\n%s", b->report ? b->report : "(no report kept)\n");
	if (b->report && *b->report && b->report[strlen(b->report) - 1] != '\n')
		putchar('\n');
	return 0;
}

static int
bounces_show(struct cli *c, int argc, char **argv)
{
	struct in_opts o;
	long long id;
	char *end;
	int i, help, rc;

	if ((i = parse(argc, argv, &o, U_BSHOW, &help)) == -1)
		return help ? 0 : cli_usage(U_BSHOW);
	if (argc - i != 1)
		return cli_usage(U_BSHOW);
	id = strtoll(argv[i], &end, 10);
	if (*end != '\0' || id < 1)
		return cli_error(EX_USAGE, "bad bounce id %s", argv[i]);
	if ((rc = store_bounce_get(cli_store(c), id, bounce_show, &o,
	    &c->err)) == -1)
		return cli_fail(c);
	if (rc == 0)
		return cli_error(EX_DATAERR, "no bounce %lld", id);
	return 0;
}

static const struct cli_cmd bounce_cmds[] = {
	{ "list", bounces_list, "[--theme SLUG] [--json]",
	    "the bounces received, oldest first" },
	{ "show", bounces_show, "ID [--json]",
	    "one bounce with the report as received" },
};

int
cmd_bounces(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev bounces", bounce_cmds,
	    sizeof bounce_cmds / sizeof bounce_cmds[0], argc - 1, argv + 1);
}
