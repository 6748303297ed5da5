/*
 * theme: the rules for theme slugs and languages. A slug becomes part of
 * mail addresses (SLUG+TOKEN@LIST_DOMAIN) and URLs, so it is 2-40
 * characters of a-z, 0-9 and '-', and never one of the words temabrev's
 * own addresses use.
 */
#ifndef TB_THEME_H
#define TB_THEME_H

struct error;

/* 0 when slug is acceptable, else -1 with EX_DATAERR and the reason. */
int	theme_check_slug(const char *slug, struct error *);
/* 0 for a supported language ("sv", "en"), else -1 with EX_DATAERR. */
int	theme_check_lang(const char *lang, struct error *);
/* 0 for a name of 1-200 octets of UTF-8 without control characters. */
int	theme_check_text(const char *what, const char *text, int required,
	    struct error *);

/*
 * Parses a From value, "Display Name <local@domain>" or a bare address,
 * into a display name (may be empty; caller frees) and the address in its
 * ASCII form (ADDR_MAX + 1 bytes). 0, or -1 with EX_DATAERR or EX_CONFIG.
 */
int	theme_parse_from(const char *from, char **display_r, char *ascii,
	    struct error *);
/* 0 when from parses as above, else -1 with EX_DATAERR. */
int	theme_check_from(const char *from, struct error *);

#endif
