/*
 * temabrev archive: the public archive of sent editions (archive.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "archive.h"
#include "cli.h"

#define U_BUILD "temabrev archive build [--theme SLUG] --out DIR"

struct build_opts {
	const char	*theme, *out;
};

static const struct cli_opt build_options[] = {
	CLI_OPT_STR("theme", struct build_opts, theme),
	CLI_OPT_STR("out", struct build_opts, out),
	CLI_OPT_END
};

static int
archive_build_cmd(struct cli *c, int argc, char **argv)
{
	struct build_opts o = { NULL, NULL };
	struct archive_stats as;
	const char *slug, *out;
	int i, help;

	if ((i = cli_parse(argc, argv, build_options, &o, U_BUILD, &help)) ==
	    -1)
		return help ? 0 : cli_usage(U_BUILD);
	slug = o.theme;
	out = o.out;
	if (i != argc || out == NULL || *out == '\0')
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
