/*
 * web: temabrevd's web side, served with libmicrohttpd on [http] listen.
 * It owns the pages a subscriber reaches from a newsletter:
 *
 *   POST /u/TOKEN  RFC 8058 one-click unsubscribe: a body with
 *                  List-Unsubscribe=One-Click (urlencoded or
 *                  multipart/form-data) unsubscribes at once, 200, no
 *                  redirect; with resubscribe=1 and the form field, it
 *                  subscribes again.
 *   GET  /u/TOKEN  a page with a button that makes that POST: a GET
 *                  never changes anything (link scanners open links).
 *   GET  /p/TOKEN  the preferences: every theme with its state.
 *   POST /p/TOKEN  saves them in one form.
 *   GET  /c/TOKEN  the double opt-in link (a TOKEN_CONFIRM token): a page
 *                  with a button; a GET never confirms.
 *   POST /c/TOKEN  confirms (subs_confirm), or says it was done before
 *                  or that the link expired.
 *   GET  /s/SLUG   a subscribe form for a theme.
 *   POST /s/SLUG   starts double opt-in (subs_request); rate-limited per
 *                  client and per address ([http] subscribe_per_*), and
 *                  every accepted request gets the same page, the mail
 *                  going out after the answer.
 *
 * TOKEN is the unsubscribe token compose puts in List-Unsubscribe
 * (token.h, TOKEN_UNSUBSCRIBE: subscriber and theme). Anything that does
 * not lead to a subscription (bad base32, a forged or foreign MAC, an
 * erased subscriber, a removed theme) gets the same 404 page.
 *
 * Cross-site forms: the token is a bearer credential in the URL, so a
 * site that learns it could POST. The POSTs that subscribe (resubscribe,
 * preferences) must therefore carry the field "form", an HMAC of the
 * token under its own key (secret purpose "web-form"); only the pages
 * themselves hold it, and the same-origin policy keeps another site from
 * reading them. The one-click POST needs none: RFC 8058 defines it as a
 * bare POST, and it can only unsubscribe. The subscribe form has no token:
 * its field is an HMAC of "s|SLUG|ISSUED" with the time it was made,
 * good for two hours.
 *
 * Threads: libmicrohttpd's own pool ([http] threads) runs the requests;
 * each running request borrows a context with its own store handle, so
 * the daemon's jobs are never held up by a request, nor the other way
 * round. Pages are compiled templates (compose_template) shared read-only
 * and replaced as a whole by web_reload.
 */
#ifndef TB_WEB_H
#define TB_WEB_H

#include <stddef.h>

struct config;
struct error;
struct secret;
struct web;

/* Bodies above this many bytes are refused with 413. */
#define WEB_MAX_BODY	4096

/*
 * Checks [http] (listen parses) and compiles every page template in
 * every language: for temabrevd -n and before a reload. 0, or -1 with
 * EX_CONFIG or the template's error.
 */
int	web_check(const struct config *, struct error *);

/*
 * Starts serving per cfg (listen = off: a web that serves nothing).
 * db_path and secret are borrowed and must outlive the web. Caller stops
 * it with web_stop. -1 with EX_CONFIG (pages) or EX_UNAVAILABLE (the
 * address cannot be bound).
 */
int	web_start(const struct config *cfg, const char *db_path,
	    const struct secret *secret, struct web **web_r, struct error *);

/*
 * The address it listens on, "127.0.0.1:8025" or "[::1]:8025", with the
 * port the system chose for port 0, into out; "" when off.
 */
void	web_address(const struct web *, char *out, size_t len);

/*
 * Takes a new configuration: new pages at once, and a new listener when
 * [http] changed (the old one stops first; requests under way finish).
 * On -1 the old pages stay; when only the new listener failed, the web
 * side is off until the next good reload (the error says so).
 */
int	web_reload(struct web *, const struct config *, struct error *);

/* Stops serving, waits for running requests, frees; NULL is a no-op. */
void	web_stop(struct web *);

#endif
