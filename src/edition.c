#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "conf.h"
#include "edition.h"
#include "sender.h"
#include "smtp.h"
#include "store.h"
#include "util.h"

/* [smtp] as a send would use it; only the check matters here. */
static int
check_smtp(const struct config *cfg, struct error *err)
{
	struct tb_smtp_config sc;
	char *password = NULL;
	int r;

	r = sender_smtp_config(cfg, &sc, &password, err);
	free(password);
	return r;
}

int
edition_digest(const struct config *cfg, struct store *st,
    const struct store_theme *t, int64_t now, int64_t *id_r,
    int64_t *nitems_r, struct error *err)
{
	char date[64], *subject;
	int r;

	*id_r = 0;
	*nitems_r = 0;
	if (compose_check_templates(cfg, "edition", t->lang, err) == -1 ||
	    check_smtp(cfg, err) == -1)
		return -1;
	compose_local_date(now, t->lang, date, sizeof date);
	subject = xasprintf("%s – %s", t->name, date);
	r = store_edition_new(st, t->id, subject, NULL, NULL, 0, id_r,
	    nitems_r, err);
	free(subject);
	if (r == 0 && *nitems_r == 0)
		*id_r = 0;
	return r;
}

int
edition_queue(const struct config *cfg, struct store *st,
    const struct secret *secret, int64_t id, int64_t *n_r,
    struct error *err)
{
	struct compose *cm = NULL;

	*n_r = 0;
	if (compose_new(cfg, st, secret, id, &cm, err) == -1)
		return -1;
	compose_free(cm);
	if (check_smtp(cfg, err) == -1)
		return -1;
	return store_edition_queue(st, id, n_r, err);
}
