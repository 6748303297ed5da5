/*
 * tbtest: scratch directories and the Check runner for unit tests.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tbtest.h"
#include "util.h"

static char *scratch;

static void
cleanup(void)
{
	char *cmd[] = { "rm", "-rf", scratch, NULL };

	if (scratch == NULL || getenv("TB_KEEP") != NULL)
		return;
	/* Only the parent removes it: Check forks a child per test. */
	if (getpid() != (pid_t)strtol(getenv("TB_TEST_PID") ?
	    getenv("TB_TEST_PID") : "0", NULL, 10))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		execvp("rm", cmd);
		_exit(127);
	}
}

const char *
tbtest_dir(void)
{
	char tmpl[] = "/tmp/tbtest.XXXXXX";
	char pid[32];

	if (scratch != NULL)
		return scratch;
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	scratch = xstrdup(tmpl);
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("TB_TEST_PID", pid, 1);
	atexit(cleanup);
	return scratch;
}

char *
tbtest_path(const char *name)
{
	return xasprintf("%s/%s", tbtest_dir(), name);
}

void
tbtest_write(const char *path, const char *data, long len)
{
	FILE *fp = fopen(path, "wb");
	size_t n = len < 0 ? strlen(data) : (size_t)len;

	if (fp == NULL || fwrite(data, 1, n, fp) != n || fclose(fp) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(99);
	}
}

char *
tbtest_read(const char *path, size_t *len_r)
{
	struct buf b = { 0 };
	char chunk[8192];
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	if (len_r != NULL)
		*len_r = b.len;
	return buf_steal(&b);
}

int
tbtest_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	tbtest_dir();
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
