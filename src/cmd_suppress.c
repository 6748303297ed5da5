/*
 * temabrev suppress: the suppression list: addresses that are never added
 * by an import and never mailed. Stored as keyed hashes; the address is
 * kept beside it only when added here, and dropped by "sub forget".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "store.h"
#include "subs.h"

#define U_ADD "temabrev suppress add EMAIL [--reason TEXT]"
#define U_LIST "temabrev suppress list [--json]"
#define U_RM "temabrev suppress rm EMAIL"

struct suppress_opts {
	const char	*reason;
	int		 json;
};

static const struct cli_opt suppress_options[] = {
	CLI_OPT_STR("reason", struct suppress_opts, reason),
	CLI_OPT_FLAG("json", struct suppress_opts, json),
	CLI_OPT_END
};

static int
parse(int argc, char **argv, const char **reason, int *json,
    const char *usage, int *help)
{
	struct suppress_opts o = { *reason, *json };
	int i = cli_parse(argc, argv, suppress_options, &o, usage, help);

	*reason = o.reason;
	*json = o.json;
	return i;
}

static int
suppress_add(struct cli *c, int argc, char **argv)
{
	const char *reason = "added by hand";
	int i, help, json = 0, added;

	if ((i = parse(argc, argv, &reason, &json, U_ADD, &help)) == -1)
		return help ? 0 : cli_usage(U_ADD);
	if (argc - i != 1)
		return cli_usage(U_ADD);
	if (strpbrk(reason, "\r\n") != NULL)
		return cli_error(EX_DATAERR, "reason contains a line break");
	if (subs_suppress_add(cli_subs(c), argv[i], reason, "cli", &added,
	    &c->err) == -1)
		return cli_fail(c);
	printf(added ? "%s suppressed\n" : "%s was already suppressed\n",
	    argv[i]);
	return 0;
}

static int
suppress_rm(struct cli *c, int argc, char **argv)
{
	const char *reason = NULL;
	int i, help, json = 0, removed;

	if ((i = parse(argc, argv, &reason, &json, U_RM, &help)) == -1)
		return help ? 0 : cli_usage(U_RM);
	if (argc - i != 1)
		return cli_usage(U_RM);
	if (subs_suppress_rm(cli_subs(c), argv[i], &removed, &c->err) == -1)
		return cli_fail(c);
	if (!removed)
		return cli_error(EX_DATAERR, "%s is not suppressed", argv[i]);
	printf("%s no longer suppressed\n", argv[i]);
	return 0;
}

static int
list_cb(const struct store_suppression *x, void *arg)
{
	char buf[UTIL_ISO_LEN];
	int *json = arg;

	if (*json) {
		json_t *o = json_object();

		json_object_set_new(o, "hash", cli_json_str(x->hash));
		json_object_set_new(o, "email", cli_json_str(x->email));
		json_object_set_new(o, "reason", cli_json_str(x->reason));
		json_object_set_new(o, "created", cli_json_time(x->created));
		cli_json_line(o);
		return 0;
	}
	printf("%s  %-40s  %s\n", util_iso_time(x->created, buf),
	    x->email ? x->email : "(erased: hash only)", x->reason);
	return 0;
}

static int
suppress_list(struct cli *c, int argc, char **argv)
{
	const char *reason = NULL;
	int i, help, json = 0;

	if ((i = parse(argc, argv, &reason, &json, U_LIST, &help)) == -1)
		return help ? 0 : cli_usage(U_LIST);
	if (argc != i)
		return cli_usage(U_LIST);
	if (store_suppress_foreach(cli_store(c), list_cb, &json,
	    &c->err) == -1)
		return cli_fail(c);
	return 0;
}

static const struct cli_cmd verbs[] = {
	{ "add", suppress_add, "EMAIL [--reason TEXT]",
	    "suppress an address (unsubscribes it everywhere)" },
	{ "list", suppress_list, "[--json]", "list the suppression list" },
	{ "rm", suppress_rm, "EMAIL", "lift a suppression" },
};

int
cmd_suppress(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev suppress", verbs,
	    sizeof verbs / sizeof verbs[0], argc - 1, argv + 1);
}
