/*
 * conf: temabrev.conf(5), an INI file read with libinih into one table.
 * A whole file is parsed and validated into a new struct config before
 * anyone uses it, so a bad file never leaves a half-applied configuration
 * (the daemon keeps its old one on SIGHUP). Configuration is the only
 * process-wide state; it is read-only once loaded.
 */
#ifndef TB_CONF_H
#define TB_CONF_H

#include <stddef.h>

struct error;

/* A [dkim DOMAIN] section: the key for mail From DOMAIN (see dkim.h). */
struct conf_dkim {
	char		*domain;	/* the section name's DOMAIN */
	char		*selector;
	char		*key_file;
	struct conf_dkim *next;		/* in file order */
};

struct config {
	char	*path;		/* the file read, NULL for built-in defaults */
	/* [general] */
	char	*database;	/* NULL: $XDG_DATA_HOME/temabrev/temabrev.db */
	char	*secret_file;	/* NULL: "secret" next to the database */
	char	*from;		/* "Name <addr>" of every newsletter */
	char	*list_domain;	/* temabrev's own addresses live here */
	char	*base_url;	/* web side (unsubscribe links), or NULL */
	char	*templates;	/* template directory */
	char	*timezone;	/* IANA zone of schedules; NULL: system's */
	char	*pidfile;	/* temabrevd's, or NULL: none */
	/* [feeds] */
	long long feeds_max_size;	/* bytes of one fetched feed */
	long long feeds_timeout;	/* seconds for a whole fetch */
	long long feeds_connect_timeout; /* seconds to connect */
	char	*feeds_ca_file;		/* NULL: the system store */
	long long feeds_poll_interval;	/* temabrevd: seconds between polls */
	/* [smtp] */
	char	*smtp_host;
	long long smtp_port;
	char	*smtp_tls;		/* "starttls" or "none" */
	char	*smtp_ca_file;
	char	*smtp_user;
	char	*smtp_password_file;
	long long smtp_connections;
	long long smtp_max_per_connection;
	long long smtp_rate;		/* messages per second, 0: no limit */
	long long smtp_max_per_hour;	/* 0: no limit */
	long long smtp_max_per_day;	/* 0: no limit */
	long long smtp_timeout;		/* seconds per SMTP command */
	/* [send] */
	long long send_max_attempts;	/* then a deferred row fails */
	long long send_max_age;		/* seconds; then it fails */
	long long send_retry;		/* first retry delay, doubling */
	/* [imap]: the list's mailbox (temabrev inbox) */
	char	*imap_host;		/* NULL: no inbox configured */
	long long imap_port;		/* 0: 993 for tls, else 143 */
	char	*imap_tls;		/* "tls", "starttls" or "none" */
	char	*imap_ca_file;
	char	*imap_user;
	char	*imap_password_file;
	char	*imap_mailbox;		/* read from */
	char	*imap_processed;	/* filed to, '/'-separated names */
	char	*imap_bounces;
	char	*imap_human;
	long long imap_timeout;		/* seconds per IMAP command */
	long long imap_idle;		/* seconds before re-IDLE */
	/* [inbox] */
	long long inbox_strict;		/* act only when From matches */
	long long inbox_confirm_unsubscribe; /* mail a confirmation */
	long long inbox_max_size;	/* bytes; larger goes to a human */
	/* [bounces] */
	long long bounces_hard_limit;
	long long bounces_soft_limit;
	long long bounces_soft_window_days;
	/* [subscribe] */
	long long subscribe_pending_days; /* a request waits this long for
					     its confirmation */
	/* [archive] */
	char	*archive_dir;		/* temabrevd rebuilds it; NULL: none */
	char	*archive_url;		/* where it is published, or NULL:
					   relative links */
	/* [dkim]: checked by dkim_load (dkim.h), not here */
	char	*dkim_domain;
	char	*dkim_selector;
	char	*dkim_key_file;
	char	*dkim_headers;		/* NULL: the default list */
	struct conf_dkim *dkim_domains;	/* [dkim DOMAIN] sections */
	/* [http]: temabrevd's web side (web.h) */
	char	*http_listen;		/* "ADDR:PORT", "[V6]:PORT" or "off" */
	long long http_trust_proxy;	/* client from X-Forwarded-For */
	long long http_timeout;		/* seconds a connection may idle */
	long long http_max_connections;
	long long http_threads;
	long long http_subscribe_per_client_hour; /* POST /s per client */
	long long http_subscribe_per_address_day; /* POST /s per address */
};

/*
 * Finds the configuration file: opt (--config) if not NULL, else
 * $TEMABREV_CONFIG, else /etc/temabrev/temabrev.conf when it exists.
 * Returns a path the caller frees, or NULL for built-in defaults.
 */
char	*conf_locate(const char *opt);

/*
 * Reads path (NULL: built-in defaults) into a new configuration owned by
 * the caller (conf_free). Relative paths in the file are taken relative
 * to the file's directory. On error returns -1 with "FILE:LINE: reason"
 * (code EX_CONFIG, or EX_NOINPUT when the file cannot be read).
 */
int	 conf_load(const char *path, struct config **cfg_r, struct error *);
void	 conf_free(struct config *);
/*
 * A deep copy of cfg, for a holder that must outlive the original (the
 * web side's pages keep theirs while a request runs). Caller frees with
 * conf_free.
 */
struct config *conf_dup(const struct config *);

/*
 * The database path: opt (--db) if not NULL, else $TEMABREV_DB, else
 * [general] database, else $XDG_DATA_HOME/temabrev/temabrev.db (or
 * ~/.local/share/...). Caller frees. Returns NULL with the error set
 * when no home directory can be found.
 */
char	*conf_db_path(const struct config *, const char *opt, struct error *);

/* The secret file for a database path: [general] secret_file or DIR/secret. */
char	*conf_secret_path(const struct config *, const char *db_path);

#endif
