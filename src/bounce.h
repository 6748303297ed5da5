/*
 * bounce: what a delivery report says about the recipients it names.
 *
 * Reads RFC 3464 delivery status notifications (multipart/report;
 * report-type=delivery-status, RFC 6522; per-recipient Final-Recipient,
 * Action, Status (RFC 3463 codes), Diagnostic-Code) and, when a message
 * has none, the common human-readable formats of MTAs that do not send
 * DSNs (qmail, old Sendmail, Exim, Postfix, Yahoo, Exchange, GroupWise,
 * SMTP32 and "could not be delivered to" notes in many languages), by a
 * few line rules rather than one recogniser per MTA. Also reads RFC 5965
 * abuse feedback reports (ARF). doc/bounce-differences.md lists where the
 * peers' corpora and we disagree.
 *
 * Pure functions of a parsed struct msg: no I/O. Every string is UTF-8
 * without NUL; addresses are addr-specs with the domain in lower case.
 */
#ifndef TB_BOUNCE_H
#define TB_BOUNCE_H

#include <stddef.h>

struct msg;

enum bounce_verdict {
	BOUNCE_HARD,	/* 5.x.x: the address does not take mail */
	BOUNCE_SOFT,	/* 4.x.x given up: full, down, timed out */
	BOUNCE_POLICY,	/* 5.7.x, spam, block lists: about us, not them */
};

struct bounce_rcpt {
	char			*address;
	char			 status[16];	/* "5.1.1"; "5.0.0" when unsaid */
	enum bounce_verdict	 verdict;
	char			*diagnostic;	/* one line, may be "" */
};

struct bounce_report {
	int		 is_bounce;	/* a failure report, recipients or not */
	int		 delayed_only;	/* a delay warning (acts on nobody) */
	int		 is_dsn;	/* read from an RFC 3464 part */
	enum bounce_verdict verdict;	/* the first recipient's, or the
					 * text's when none was named */
	struct bounce_rcpt *rcpts;	/* failed recipients, in order */
	size_t		 nrcpts;
	char		*report_text;	/* what the MTA wrote (<= 64 KB) */
	char		*original;	/* the returned message's header
					 * block, raw, or NULL */
	size_t		 originallen;
};

/*
 * Reads msg as a delivery report. Always returns a report (caller frees
 * with bounce_report_free): is_bounce and delayed_only are both 0 when
 * msg is not one. A DSN whose recipients were all delivered, relayed or
 * expanded is not a bounce; one with only delayed recipients is
 * delayed_only.
 */
struct bounce_report *bounce_scan(const struct msg *);
void	 bounce_report_free(struct bounce_report *);

/* "hard", "soft", "policy". */
const char *bounce_verdict_name(enum bounce_verdict);

/* An RFC 5965 abuse feedback report. */
struct bounce_complaint {
	char	*feedback_type;	/* "abuse", "opt-out", ...; never NULL */
	char	*address;	/* Original-Rcpt-To / Removal-Recipient, or
				 * NULL */
	char	*report_text;	/* the machine-readable part (<= 64 KB) */
	char	*original;	/* the reported message's header, raw, or
				 * NULL */
	size_t	 originallen;
};

/*
 * Reads msg as an abuse report: multipart/report with report-type
 * feedback-report or a message/feedback-report part. Returns NULL when it
 * is not one; else a complaint the caller frees with
 * bounce_complaint_free.
 */
struct bounce_complaint *bounce_complaint_scan(const struct msg *);
void	 bounce_complaint_free(struct bounce_complaint *);

#endif
