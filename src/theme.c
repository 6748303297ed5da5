/*
 * theme: validation of what a communicator types for a theme. Names and
 * descriptions end up in mail headers and pages, so control characters
 * (CR and LF above all) are refused here, at the door.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <stdlib.h>

#include "addr.h"
#include "theme.h"
#include "util.h"

/* Local parts temabrev or mail systems use for themselves (RFC 2142). */
static const char *const reserved[] = {
	"abuse", "admin", "bounce", "bounces", "confirm", "help", "hostmaster",
	"info", "list", "listmaster", "mailer-daemon", "noreply", "no-reply",
	"owner", "postmaster", "request", "root", "security", "subscribe",
	"temabrev", "unsubscribe", "webmaster",
};

int
theme_check_slug(const char *slug, struct error *err)
{
	size_t n = strlen(slug);

	if (n < 2 || n > 40) {
		error_set(err, EX_DATAERR, "theme slug '%.60s' must be 2-40 "
		    "characters", slug);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = slug[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-')) {
			error_set(err, EX_DATAERR, "theme slug '%.60s' may only "
			    "use a-z, 0-9 and '-'", slug);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strcmp(slug, reserved[i]) == 0) {
			error_set(err, EX_DATAERR, "theme slug '%s' is reserved "
			    "for temabrev's own addresses", slug);
			return -1;
		}
	return 0;
}

int
theme_check_lang(const char *lang, struct error *err)
{
	if (strcmp(lang, "sv") == 0 || strcmp(lang, "en") == 0)
		return 0;
	error_set(err, EX_DATAERR, "language '%.20s' is not supported "
	    "(sv or en)", lang);
	return -1;
}

int
theme_check_text(const char *what, const char *text, int required,
    struct error *err)
{
	size_t n = strlen(text);

	if (required && n == 0) {
		error_set(err, EX_DATAERR, "theme %s is empty", what);
		return -1;
	}
	if (n > 2000) {
		error_set(err, EX_DATAERR, "theme %s is longer than 2000 "
		    "octets", what);
		return -1;
	}
	if (!util_valid_utf8(text, n)) {
		error_set(err, EX_DATAERR, "theme %s is not valid UTF-8", what);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\r' || c == '\n') {
			error_set(err, EX_DATAERR, "theme %s contains a line "
			    "break", what);
			return -1;
		}
		if (c < 0x20 || c == 0x7f) {
			error_set(err, EX_DATAERR, "theme %s contains a control "
			    "character", what);
			return -1;
		}
	}
	return 0;
}

int
theme_parse_from(const char *from, char **display_r, char *ascii,
    struct error *err)
{
	const char *lt = strrchr(from, '<'), *gt = strrchr(from, '>');
	char *display = NULL, *addrtext = NULL;
	struct addr a;
	int ret = -1;

	char *unquoted = NULL;
	size_t flen = strlen(from);

	if (strpbrk(from, "\r\n") != NULL) {
		error_set(err, EX_DATAERR, "from address contains a line break");
		return -1;
	}
	/* from = "Name <addr>" in an INI file keeps its quotes: drop them. */
	if (flen >= 2 && from[0] == '"' && from[flen - 1] == '"' &&
	    strchr(from, '<') != NULL) {
		unquoted = xstrndup(from + 1, flen - 2);
		from = unquoted;
	}
	if (lt != NULL && gt != NULL && gt > lt && gt[1] == '\0') {
		display = xstrndup(from, (size_t)(lt - from));
		addrtext = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	} else if (lt == NULL && gt == NULL) {
		display = xstrdup("");
		addrtext = xstrdup(from);
	} else {
		error_set(err, EX_DATAERR, "from '%.80s': expected "
		    "\"Name <address>\"", from);
		goto done;
	}
	util_trim(display);
	/* A quoted display name loses its quotes; mime quotes as needed. */
	if (display[0] == '"' && strlen(display) >= 2 &&
	    display[strlen(display) - 1] == '"') {
		memmove(display, display + 1, strlen(display) - 2);
		display[strlen(display) - 2] = '\0';
	}
	if (addr_check_name(display, err) == -1 ||
	    addr_parse(addrtext, &a, err) == -1)
		goto done;
	memcpy(ascii, a.ascii, strlen(a.ascii) + 1);
	*display_r = display;
	display = NULL;
	ret = 0;
done:
	free(display);
	free(addrtext);
	free(unquoted);
	return ret;
}

int
theme_check_from(const char *from, struct error *err)
{
	char ascii[ADDR_MAX + 1], *display = NULL;

	if (theme_parse_from(from, &display, ascii, err) == -1)
		return -1;
	free(display);
	return 0;
}
