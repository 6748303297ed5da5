/*
 * cli: what the temabrev commands share: the parsed global options, the
 * configuration, the store and secret opened on first use, a command
 * table dispatcher, and output helpers for tables and JSON lines. Only the
 * CLI prints; the modules it calls report through return values.
 */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

struct config;
struct secret;
struct store;
struct subs;

struct cli {
	const char	*opt_db;	/* --db */
	const char	*opt_config;	/* --config */
	struct config	*conf;
	char		*db_path;
	struct store	*store;
	struct secret	*secret;
	struct subs	*subs;
	struct error	 err;
};

/* One row of a command table: a verb (or noun) and its handler. */
struct cli_cmd {
	const char	*name;
	int		(*fn)(struct cli *, int argc, char **argv);
	const char	*usage;		/* arguments after the name */
	const char	*summary;
};

/*
 * Runs the row of table named argv[0], or prints the table and returns
 * EX_USAGE. prefix is the command line so far ("temabrev sub").
 */
int	cli_dispatch(struct cli *, const char *prefix,
	    const struct cli_cmd *table, size_t n, int argc, char **argv);

/* The configuration alone (no database); on failure prints and exits. */
struct config	*cli_conf(struct cli *);
/* The open store / secret / subs context; on failure prints and exits. */
struct store	*cli_store(struct cli *);
struct secret	*cli_secret(struct cli *);
struct subs	*cli_subs(struct cli *);

/* Prints "temabrev: MSG" for the error and returns its exit code. */
int	cli_fail(struct cli *);
/*
 * The id of the theme called slug in *id_r (0 for a NULL slug: every
 * theme). Returns 0, or the exit status after saying why (EX_DATAERR for
 * a theme that does not exist).
 */
int	cli_theme_id(struct cli *, const char *slug, int64_t *id_r);
/* Prints "temabrev: MSG" (printf-style) and returns code. */
int	cli_error(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Usage error for a command: prints "usage: ..." on stderr, returns 64. */
int	cli_usage(const char *usage);

/*
 * A command's options, as a table: each long option's name and where its
 * value goes in the command's own options struct: an int set to 1
 * (CLI_FLAG), a char * or const char * pointing into argv (CLI_STR), or a
 * long long from min to max (CLI_NUM). End the table with CLI_OPT_END.
 */
enum cli_opt_kind { CLI_FLAG, CLI_STR, CLI_NUM };

struct cli_opt {
	const char		*name;
	enum cli_opt_kind	 kind;
	size_t			 off;		/* of the field in the struct */
	long long		 min, max;	/* CLI_NUM */
};

#define CLI_OPT_FLAG(name, type, field) \
	{ name, CLI_FLAG, offsetof(type, field), 0, 0 }
#define CLI_OPT_STR(name, type, field) \
	{ name, CLI_STR, offsetof(type, field), 0, 0 }
#define CLI_OPT_NUM(name, type, field, min, max) \
	{ name, CLI_NUM, offsetof(type, field), min, max }
#define CLI_OPT_END { NULL, CLI_FLAG, 0, 0, 0 }

/* Options in one table, at most (--help is added to every table). */
#define CLI_MAX_OPTS 24

/*
 * Reads the options of argv (from argv[1]) into o as opts says, leaving
 * the fields of options not given as the caller set them; -h and --help
 * print "usage: USAGE" on stdout. Returns the index of the first operand,
 * or -1 with *help 1 after --help, 0 after a bad option or number (said
 * on stderr): the caller returns help ? 0 : cli_usage(usage).
 */
int	cli_parse(int argc, char **argv, const struct cli_opt *opts, void *o,
	    const char *usage, int *help);

/* Prints one JSON value as one line and frees it. */
void	cli_json_line(json_t *);
/* A JSON string, or null for NULL. Never fails on bad UTF-8. */
json_t	*cli_json_str(const char *);
/* A JSON UTC time "YYYY-MM-DDTHH:MM:SSZ". */
json_t	*cli_json_time(int64_t);

/*
 * Records a run of background job name ("feeds", "schedule", "send",
 * "inbox": the names temabrevd uses) in the job table, so `temabrev
 * status` shows cron-driven runs as the daemon's. cli_job_start clears
 * c->err; cli_job_end records rc == 0 as a good run, else c->err's
 * message (or the exit status), and returns rc. A failure to record is a
 * warning on stderr, never the command's failure.
 */
void	cli_job_start(struct cli *, const char *name);
int	cli_job_end(struct cli *, const char *name, int rc);

/* Releases everything the context opened. */
void	cli_close(struct cli *);

/* Handlers of the nouns, one file each (cmd_<noun>.c). */
int	cmd_theme(struct cli *, int, char **);
int	cmd_sub(struct cli *, int, char **);
int	cmd_suppress(struct cli *, int, char **);
int	cmd_backup(struct cli *, int, char **);
int	cmd_feed(struct cli *, int, char **);
int	cmd_item(struct cli *, int, char **);
int	cmd_edition(struct cli *, int, char **);
int	cmd_send(struct cli *, int, char **);
int	cmd_digest(struct cli *, int, char **);
int	cmd_dkim(struct cli *, int, char **);
int	cmd_inbox(struct cli *, int, char **);
int	cmd_bounces(struct cli *, int, char **);
int	cmd_status(struct cli *, int, char **);
int	cmd_archive(struct cli *, int, char **);

#endif
