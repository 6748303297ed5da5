/*
 * temabrev backup: a consistent copy of the live database (sqlite's online
 * backup API), safe while the daemon writes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "store.h"

#define U_BACKUP "temabrev backup FILE"

int
cmd_backup(struct cli *c, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: %s\n", U_BACKUP);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage(U_BACKUP);
	if (store_backup(cli_store(c), argv[1], &c->err) == -1)
		return cli_fail(c);
	printf("database %s copied to %s\n", c->db_path, argv[1]);
	return 0;
}
