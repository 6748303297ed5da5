/*
 * log: the one logging interface (after OpenSMTPD's log.h). The programs
 * choose the destination once: stderr in the foreground and for the CLI,
 * syslog with LOG_MAIL for the daemon. Library modules never print; they
 * return errors to their caller. Only programs and workers log.
 */
#ifndef TB_LOG_H
#define TB_LOG_H

/* progname prefixes stderr lines; use_syslog selects syslog(LOG_MAIL). */
void	log_init(const char *progname, int use_syslog, int debug);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* fatal* log and exit(70): for impossible states, never for bad input. */
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
