/*
 * temabrev archive: the public archive of sent editions (archive.h).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "archive.h"
#include "cli.h"

#define U_BUILD "temabrev archive build [--theme SLUG] --out DIR"

static int
archive_build_cmd(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "theme", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct archive_stats as;
	const char *slug = NULL, *out = NULL;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': slug = optarg; break;
		case 'o': out = optarg; break;
		case 'h':
			printf("usage: %s\n", U_BUILD);
			return 0;
		default:
			return cli_usage(U_BUILD);
		}
	}
	if (optind != argc || out == NULL || *out == '\0')
		return cli_usage(U_BUILD);
	if (archive_build(cli_conf(c), cli_store(c), slug, out, &as,
	    &c->err) == -1)
		return cli_fail(c);
	printf("%s: %lld theme%s, %lld edition page%s\n", out,
	    (long long)as.themes, as.themes == 1 ? "" : "s",
	    (long long)as.editions, as.editions == 1 ? "" : "s");
	return 0;
}

static const struct cli_cmd verbs[] = {
	{ "build", archive_build_cmd, "[--theme SLUG] --out DIR",
	    "write the HTML archive and Atom feeds of sent editions" },
};

int
cmd_archive(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev archive", verbs,
	    sizeof verbs / sizeof verbs[0], argc - 1, argv + 1);
}
