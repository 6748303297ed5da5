/*
 * conf: parses temabrev.conf with libinih against a table of known keys.
 * Unknown sections and keys are errors (a typo must not silently fall back
 * to a default), reported as FILE:LINE.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

enum key_type {
	KEY_PATH,	/* relative to the file's directory */
	KEY_STRING,
	KEY_SIZE,	/* bytes, with an optional K, M or G suffix */
	KEY_SECONDS,	/* with an optional s, m, h or d suffix */
	KEY_INT,
	KEY_BOOL,	/* yes/no, true/false, on/off, 1/0 */
};

struct key {
	const char	*section;
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	const char	*def;	/* default for numbers, as a value string */
	long long	 min, max;
	const char	*words;	/* the only values a string may take, or NULL */
};

#define KEY(sec, name, type, field) \
	{ sec, name, type, offsetof(struct config, field), NULL, 0, 0, NULL }
#define STR(sec, name, type, field, def) \
	{ sec, name, type, offsetof(struct config, field), def, 0, 0, NULL }
#define NUM(sec, name, type, field, def, min, max) \
	{ sec, name, type, offsetof(struct config, field), def, min, max, NULL }
#define BOOL(sec, name, field, def) \
	{ sec, name, KEY_BOOL, offsetof(struct config, field), def, 0, 1, NULL }
/* A string that must be one of words (space-separated). */
#define WORD(sec, name, field, def, words) \
	{ sec, name, KEY_STRING, offsetof(struct config, field), def, 0, 0, \
	  words }

/* Every key temabrev.conf(5) documents; nothing else is accepted. */
static const struct key keys[] = {
	KEY("general", "database", KEY_PATH, database),
	KEY("general", "secret_file", KEY_PATH, secret_file),
	NUM("feeds", "max_size", KEY_SIZE, feeds_max_size, "10M", 1024,
	    1LL << 30),
	NUM("feeds", "timeout", KEY_SECONDS, feeds_timeout, "60", 1, 3600),
	NUM("feeds", "connect_timeout", KEY_SECONDS, feeds_connect_timeout,
	    "10", 1, 600),
	KEY("feeds", "ca_file", KEY_PATH, feeds_ca_file),
	NUM("feeds", "poll_interval", KEY_SECONDS, feeds_poll_interval, "30m",
	    60, 7 * 86400),
	KEY("general", "pidfile", KEY_PATH, pidfile),
	KEY("general", "from", KEY_STRING, from),
	KEY("general", "list_domain", KEY_STRING, list_domain),
	KEY("general", "base_url", KEY_STRING, base_url),
	STR("general", "templates", KEY_PATH, templates, TB_TEMPLATES_DIR),
	KEY("general", "timezone", KEY_STRING, timezone),
	STR("smtp", "host", KEY_STRING, smtp_host, "localhost"),
	NUM("smtp", "port", KEY_INT, smtp_port, "587", 1, 65535),
	WORD("smtp", "tls", smtp_tls, "starttls", "starttls none"),
	KEY("smtp", "ca_file", KEY_PATH, smtp_ca_file),
	KEY("smtp", "user", KEY_STRING, smtp_user),
	KEY("smtp", "password_file", KEY_PATH, smtp_password_file),
	NUM("smtp", "connections", KEY_INT, smtp_connections, "4", 1, 64),
	NUM("smtp", "max_per_connection", KEY_INT, smtp_max_per_connection,
	    "100", 1, 100000),
	NUM("smtp", "rate", KEY_INT, smtp_rate, "50", 0, 1000000),
	NUM("smtp", "max_per_hour", KEY_INT, smtp_max_per_hour, "20000", 0,
	    1LL << 40),
	NUM("smtp", "max_per_day", KEY_INT, smtp_max_per_day, "200000", 0,
	    1LL << 40),
	NUM("smtp", "timeout", KEY_SECONDS, smtp_timeout, "120", 1, 3600),
	NUM("send", "max_attempts", KEY_INT, send_max_attempts, "10", 1, 1000),
	NUM("send", "max_age", KEY_SECONDS, send_max_age, "3d", 60,
	    365 * 86400),
	NUM("send", "retry", KEY_SECONDS, send_retry, "5m", 1, 86400),
	KEY("imap", "host", KEY_STRING, imap_host),
	NUM("imap", "port", KEY_INT, imap_port, "0", 0, 65535),
	WORD("imap", "tls", imap_tls, "tls", "tls starttls none"),
	KEY("imap", "ca_file", KEY_PATH, imap_ca_file),
	KEY("imap", "user", KEY_STRING, imap_user),
	KEY("imap", "password_file", KEY_PATH, imap_password_file),
	STR("imap", "mailbox", KEY_STRING, imap_mailbox, "INBOX"),
	STR("imap", "processed_mailbox", KEY_STRING, imap_processed,
	    "temabrev/processed"),
	STR("imap", "bounces_mailbox", KEY_STRING, imap_bounces,
	    "temabrev/bounces"),
	STR("imap", "human_mailbox", KEY_STRING, imap_human,
	    "temabrev/human"),
	NUM("imap", "timeout", KEY_SECONDS, imap_timeout, "60", 1, 3600),
	NUM("imap", "idle", KEY_SECONDS, imap_idle, "25m", 10, 29 * 60),
	BOOL("inbox", "strict", inbox_strict, "yes"),
	BOOL("inbox", "confirm_unsubscribe", inbox_confirm_unsubscribe, "yes"),
	NUM("inbox", "max_size", KEY_SIZE, inbox_max_size, "10M", 1024,
	    1LL << 30),
	NUM("bounces", "hard_limit", KEY_INT, bounces_hard_limit, "1", 1, 1000),
	NUM("bounces", "soft_limit", KEY_INT, bounces_soft_limit, "5", 1, 1000),
	NUM("bounces", "soft_window_days", KEY_INT, bounces_soft_window_days,
	    "30", 1, 3650),
	NUM("subscribe", "pending_days", KEY_INT, subscribe_pending_days, "7",
	    1, 365),
	KEY("archive", "dir", KEY_PATH, archive_dir),
	KEY("archive", "url", KEY_STRING, archive_url),
	KEY("dkim", "domain", KEY_STRING, dkim_domain),
	KEY("dkim", "selector", KEY_STRING, dkim_selector),
	KEY("dkim", "key_file", KEY_PATH, dkim_key_file),
	KEY("dkim", "headers", KEY_STRING, dkim_headers),
	STR("http", "listen", KEY_STRING, http_listen, "127.0.0.1:8025"),
	BOOL("http", "trust_proxy", http_trust_proxy, "no"),
	NUM("http", "timeout", KEY_SECONDS, http_timeout, "30", 1, 3600),
	NUM("http", "max_connections", KEY_INT, http_max_connections, "256",
	    1, 65536),
	NUM("http", "threads", KEY_INT, http_threads, "2", 1, 64),
	NUM("http", "subscribe_per_client_hour", KEY_INT,
	    http_subscribe_per_client_hour, "10", 1, 1000000),
	NUM("http", "subscribe_per_address_day", KEY_INT,
	    http_subscribe_per_address_day, "3", 1, 1000),
};

/* Parses a number with an optional unit suffix; -1 when malformed. */
static int
parse_number(const char *v, enum key_type type, long long *out)
{
	char *end;
	long long n, mult = 1;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || n < 0)
		return -1;
	if (type == KEY_INT) {
		/* no suffix */
	} else if (type == KEY_SIZE) {
		switch (*end) {
		case 'K': case 'k': mult = 1024; end++; break;
		case 'M': case 'm': mult = 1024 * 1024; end++; break;
		case 'G': case 'g': mult = 1024 * 1024 * 1024; end++; break;
		}
	} else {
		switch (*end) {
		case 's': end++; break;
		case 'm': mult = 60; end++; break;
		case 'h': mult = 3600; end++; break;
		case 'd': mult = 86400; end++; break;
		}
	}
	if (*end != '\0' || n > (1LL << 40) / mult)
		return -1;
	*out = n * mult;
	return 0;
}

/* 1, 0, or -1 when value is not a boolean word. */
static int
parse_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Whether v is one of the space-separated words. */
static int
word_in(const char *v, const char *words)
{
	size_t n = strlen(v);

	for (const char *w = words; *w != '\0'; ) {
		size_t len = strcspn(w, " ");

		if (len == n && strncmp(w, v, n) == 0)
			return 1;
		w += len;
		w += strspn(w, " ");
	}
	return 0;
}

/* Sets one key from its value string; 0 or -1 with why filled. */
static int
set_key(struct config *cfg, const struct key *k, const char *value,
    const char *dir, char *why, size_t whylen)
{
	void *field = (char *)cfg + k->offset;
	long long n;

	if (k->type == KEY_BOOL) {
		if ((n = parse_bool(value)) == -1) {
			snprintf(why, whylen, "bad value '%.40s' for %s in [%s] "
			    "(yes or no)", value, k->name, k->section);
			return -1;
		}
		*(long long *)field = n;
		return 0;
	}
	if (k->words != NULL && !word_in(value, k->words)) {
		snprintf(why, whylen, "bad value '%.40s' for %s in [%s] "
		    "(one of: %s)", value, k->name, k->section, k->words);
		return -1;
	}
	if (k->type == KEY_SIZE || k->type == KEY_SECONDS ||
	    k->type == KEY_INT) {
		if (parse_number(value, k->type, &n) == -1 || n < k->min ||
		    n > k->max) {
			snprintf(why, whylen, "bad value '%.40s' for %s in [%s]",
			    value, k->name, k->section);
			return -1;
		}
		*(long long *)field = n;
		return 0;
	}
	free(*(char **)field);
	*(char **)field = NULL;
	if (*value == '\0')
		return 0;	/* empty means the default */
	if (k->type == KEY_PATH && value[0] != '/' && dir != NULL)
		*(char **)field = xasprintf("%s/%s", dir, value);
	else
		*(char **)field = xstrdup(value);
	return 0;
}

/* Numbers start at their documented defaults. */
static void
set_defaults(struct config *cfg)
{
	char why[128];

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (keys[i].def != NULL)
			set_key(cfg, &keys[i], keys[i].def, NULL, why,
			    sizeof why);
}

struct parse_state {
	struct config	*cfg;
	char		*dir;		/* the file's directory */
	char		 err[256];	/* first error, without FILE:LINE */
};

static const struct key *
key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
section_known(const char *section)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

/*
 * A key of a [dkim DOMAIN] section (a theme's own From domain): sections
 * are made as they are met, so their number is not fixed in the table.
 */
static int
dkim_domain_key(struct parse_state *st, const char *domain, const char *name,
    const char *value)
{
	struct conf_dkim **pp = &st->cfg->dkim_domains, *d;
	char **field;

	while (*pp != NULL && strcmp((*pp)->domain, domain) != 0)
		pp = &(*pp)->next;
	if ((d = *pp) == NULL) {
		d = *pp = xcalloc(1, sizeof *d);
		d->domain = xstrdup(domain);
	}
	if (name == NULL)
		return 1;
	if (strcmp(name, "selector") == 0)
		field = &d->selector;
	else if (strcmp(name, "key_file") == 0)
		field = &d->key_file;
	else {
		snprintf(st->err, sizeof st->err, "unknown key %s in [dkim %s] "
		    "(only selector and key_file)", name, domain);
		return 0;
	}
	free(*field);
	*field = NULL;
	if (*value == '\0')
		return 1;
	if (field == &d->key_file && value[0] != '/' && st->dir != NULL)
		*field = xasprintf("%s/%s", st->dir, value);
	else
		*field = xstrdup(value);
	return 1;
}

/* inih calls this per key; returning 0 makes ini_parse report the line. */
static int
handler(void *arg, const char *section, const char *name, const char *value)
{
	struct parse_state *st = arg;
	const struct key *k;

	if (st->err[0] != '\0')
		return 1;	/* keep the first error only */
	if (strncmp(section, "dkim ", 5) == 0 && section[5] != '\0')
		return dkim_domain_key(st, section + 5, name, value);
	if (name == NULL)
		return 1;	/* a section header alone */
	if (!section_known(section)) {
		snprintf(st->err, sizeof st->err, "unknown section [%s]", section);
		return 0;
	}
	if ((k = key_find(section, name)) == NULL) {
		snprintf(st->err, sizeof st->err, "unknown key %s in [%s]",
		    name, section);
		return 0;
	}
	if (*value == '\0' && k->def != NULL)
		value = k->def;
	if (set_key(st->cfg, k, value, st->dir, st->err, sizeof st->err) == -1)
		return 0;
	return 1;
}

char *
conf_locate(const char *opt)
{
	const char *env = getenv("TEMABREV_CONFIG");

	if (opt != NULL)
		return xstrdup(opt);
	if (env != NULL && *env != '\0')
		return xstrdup(env);
	if (access("/etc/temabrev/temabrev.conf", F_OK) == 0)
		return xstrdup("/etc/temabrev/temabrev.conf");
	return NULL;
}

int
conf_load(const char *path, struct config **cfg_r, struct error *err)
{
	struct parse_state st = { 0 };
	FILE *fp = NULL;
	int line;

	st.cfg = xcalloc(1, sizeof *st.cfg);
	set_defaults(st.cfg);
	if (path == NULL)
		goto done;
	st.cfg->path = xstrdup(path);
	if ((fp = fopen(path, "r")) == NULL) {
		error_set(err, EX_NOINPUT, "%s: %s", path, strerror(errno));
		goto fail;
	}
	st.dir = util_dirname(path);
	line = ini_parse_file(fp, handler, &st);
	if (line != 0) {
		error_set(err, EX_CONFIG, "%s:%d: %s", path, line,
		    st.err[0] ? st.err : "syntax error");
		goto fail;
	}
	fclose(fp);
	free(st.dir);
done:
	*cfg_r = st.cfg;
	return 0;
fail:
	if (fp)
		fclose(fp);
	free(st.dir);
	conf_free(st.cfg);
	return -1;
}

void
conf_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (keys[i].type == KEY_PATH || keys[i].type == KEY_STRING)
			free(*(char **)(void *)((char *)cfg + keys[i].offset));
	while (cfg->dkim_domains != NULL) {
		struct conf_dkim *d = cfg->dkim_domains;

		cfg->dkim_domains = d->next;
		free(d->domain);
		free(d->selector);
		free(d->key_file);
		free(d);
	}
	free(cfg);
}

struct config *
conf_dup(const struct config *cfg)
{
	struct config *c = xmalloc(sizeof *c);
	struct conf_dkim **tail = &c->dkim_domains;

	*c = *cfg;
	c->path = cfg->path ? xstrdup(cfg->path) : NULL;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (keys[i].type == KEY_PATH || keys[i].type == KEY_STRING) {
			char **f = (char **)(void *)((char *)c +
			    keys[i].offset);

			*f = *f ? xstrdup(*f) : NULL;
		}
	*tail = NULL;
	for (const struct conf_dkim *d = cfg->dkim_domains; d; d = d->next) {
		struct conf_dkim *n = xcalloc(1, sizeof *n);

		n->domain = d->domain ? xstrdup(d->domain) : NULL;
		n->selector = d->selector ? xstrdup(d->selector) : NULL;
		n->key_file = d->key_file ? xstrdup(d->key_file) : NULL;
		*tail = n;
		tail = &n->next;
	}
	return c;
}

char *
conf_db_path(const struct config *cfg, const char *opt, struct error *err)
{
	const char *env = getenv("TEMABREV_DB");
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");

	if (opt != NULL)
		return xstrdup(opt);
	if (env != NULL && *env != '\0')
		return xstrdup(env);
	if (cfg->database != NULL)
		return xstrdup(cfg->database);
	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/temabrev/temabrev.db", xdg);
	if (home != NULL && home[0] == '/')
		return xasprintf("%s/.local/share/temabrev/temabrev.db", home);
	error_set(err, EX_CONFIG, "no database: set --db, TEMABREV_DB, "
	    "[general] database or HOME");
	return NULL;
}

char *
conf_secret_path(const struct config *cfg, const char *db_path)
{
	char *dir, *p;

	if (cfg->secret_file != NULL)
		return xstrdup(cfg->secret_file);
	dir = util_dirname(db_path);
	p = xasprintf("%s/secret", dir);
	free(dir);
	return p;
}
