/*
 * tbtest: helpers shared by the unit tests: a scratch directory per test
 * program, file helpers, and running a Check suite with TAP output for
 * automake's TAP driver.
 */
#ifndef TB_TBTEST_H
#define TB_TBTEST_H

#include <check.h>
#include <stddef.h>

/* A fresh scratch directory (removed at exit unless TB_KEEP is set). */
const char *tbtest_dir(void);
/* A path inside the scratch directory; caller frees. */
char	*tbtest_path(const char *name);
/* Writes len bytes (or strlen when len is -1) to path. */
void	 tbtest_write(const char *path, const char *data, long len);
/* Reads a whole file (NUL-terminated); caller frees. NULL when absent. */
char	*tbtest_read(const char *path, size_t *len_r);
/* Runs the suite, TAP on stdout; returns the exit status for main. */
int	 tbtest_run(Suite *);

#endif
