/*
 * temabrev(1): the command line of temabrev. Global options come before
 * the command; each noun (theme, sub, ...) has its own file with a table
 * of verbs. See doc/temabrev.1.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "cli.h"
#include <libxml/parser.h>

#include "fetch.h"
#include "log.h"
#include "store.h"

static const struct cli_cmd nouns[] = {
	{ "theme", cmd_theme, "add|edit|list|show|rm ...",
	    "manage themes (each theme is one newsletter list)" },
	{ "sub", cmd_sub, "add|rm|list|show|import|export|forget ...",
	    "manage subscribers and their subscriptions" },
	{ "feed", cmd_feed, "add|list|rm|fetch ...",
	    "manage each theme's article feeds and fetch them" },
	{ "item", cmd_item, "list ...", "list the items the feeds brought" },
	{ "edition", cmd_edition, "new|preview|test|send|list|show|rm|cancel ...",
	    "compose, preview and send a theme's newsletter editions" },
	{ "send", cmd_send, "[--no-wait]",
	    "deliver whatever is queued (as the daemon does)" },
	{ "digest", cmd_digest, "SLUG [--send] [--no-wait]",
	    "queue a theme's new items as an edition (for cron)" },
	{ "inbox", cmd_inbox, "process|log ...",
	    "read the list's mailbox: unsubscribes, bounces, complaints" },
	{ "archive", cmd_archive, "build ...",
	    "the public archive of sent editions" },
	{ "bounces", cmd_bounces, "list|show ...",
	    "the bounces the inbox recorded" },
	{ "suppress", cmd_suppress, "add|list|rm ...",
	    "manage the suppression list (addresses never added or mailed)" },
	{ "backup", cmd_backup, "FILE",
	    "copy the live database consistently to FILE" },
	{ "dkim", cmd_dkim, "keygen|check ...",
	    "make DKIM keys and check that messages are signed" },
	{ "status", cmd_status, "[--json]",
	    "the daemon, the queue, the jobs, the feeds and the next digests" },
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: temabrev [--db FILE] [--config FILE] COMMAND [ARGS]\n"
	    "       temabrev --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof nouns / sizeof nouns[0]; i++)
		fprintf(out, "  %-9s %s\n", nouns[i].name, nouns[i].summary);
	fprintf(out, "\nEvery command takes --help. See temabrev(1).\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli c = { 0 };
	int ch, rc;

	log_init("temabrev", 0, getenv("TEMABREV_DEBUG") != NULL);
	/* The database holds personal data: nothing we create is
	 * world-accessible (a shared group may still read it). */
	umask(umask(0) | 007);
	signal(SIGPIPE, SIG_IGN);
	store_init();
	xmlInitParser();
	if (fetch_init(&c.err) == -1)
		return cli_fail(&c);
	/* '+': stop at the command, whose own options follow it. */
	while ((ch = getopt_long(argc, argv, "+d:c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			c.opt_db = optarg;
			break;
		case 'c':
			c.opt_config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("temabrev %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EX_USAGE;
	}
	rc = cli_dispatch(&c, "temabrev", nouns, sizeof nouns / sizeof nouns[0],
	    argc, argv);
	cli_close(&c);
	xmlCleanupParser();
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "temabrev: standard output: write error\n");
		if (rc == 0)
			rc = EX_IOERR;
	}
	return rc;
}
