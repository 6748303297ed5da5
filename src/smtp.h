/*
 * smtp: hands finished messages to a mail server over one SMTP connection
 * per call (RFC 5321), with STARTTLS (RFC 3207), AUTH PLAIN/LOGIN only
 * inside TLS (RFC 4954), PIPELINING when offered (RFC 2920) and enhanced
 * status codes (RFC 3463) read into every per-message outcome. It is the
 * only module that calls libESMTP (which owns the smtp_* names, hence
 * tb_smtp_*). It knows nothing of queues or databases: the caller decides
 * what to do with SENT, DEFERRED and FAILED.
 *
 * STARTTLS is TLS 1.2 only: libESMTP 1.1 can hang after a TLS 1.3
 * handshake when the server's session tickets arrive before its EHLO is
 * flushed (see make_ctx in smtp.c).
 *
 * Threads: each call builds its own libESMTP session, TLS context and AUTH
 * context, so several threads may deliver at once, one connection each.
 * The program must ignore SIGPIPE (sigaction SIG_IGN) before calling this:
 * libESMTP writes to sockets the server may have closed, and the default
 * action would kill the process.
 *
 * Throughput: libESMTP 1.1 writes through a 2 KB buffer and ends every
 * larger message with a small separate write, on a socket without
 * TCP_NODELAY, so Nagle's algorithm and the server's delayed ACK hold each
 * such message for ~40 ms (about 23 messages/s per connection). Every
 * program that links this module must also compile src/nodelay.c into its
 * own objects; see that file.
 */
#ifndef TB_SMTP_H
#define TB_SMTP_H

#include <stddef.h>

#include "util.h"

enum tb_smtp_tls {
	TB_SMTP_STARTTLS = 0,	/* the default: STARTTLS required, verified */
	TB_SMTP_NONE		/* clear text; only to a loopback host */
};

/*
 * Where and how to connect. Every string is borrowed for the duration of
 * each call that takes the config; nothing is copied or kept.
 */
struct tb_smtp_config {
	const char	*host;		/* a host name; with TB_SMTP_NONE also
					   127.0.0.0/8; never an IPv6 literal
					   (libESMTP 1.1 cannot parse one) */
	int		 port;		/* 0 means 587; 465 is refused */
	enum tb_smtp_tls tls;
	const char	*ca_file;	/* PEM trust anchors; NULL: system store */
	const char	*user;		/* NULL or "": no AUTH */
	const char	*password;
	int		 timeout_ms;	/* per SMTP reply; 0: RFC 5321 defaults
					   (5 to 10 minutes). connect() itself
					   uses the kernel's timeout. */
	const char	*helo;		/* EHLO name; NULL: the system's name */
	/*
	 * Optional: called in the delivering thread just before message
	 * msgs[index]'s data is read for sending (after the server accepted
	 * DATA with 354; not for a message whose recipient was refused),
	 * e.g. to pace a send rate at the moment of sending. It may sleep,
	 * for less than timeout_ms.
	 */
	void		(*before_message)(void *before_arg, size_t index);
	void		*before_arg;
};

/*
 * Checks a configuration without connecting: tls=none only to a loopback
 * host; AUTH only with STARTTLS (a password never crosses in clear); port
 * 465 refused (implicit TLS, which libESMTP cannot speak); with STARTTLS
 * the host must be a name, since certificates name hosts; ca_file must be
 * readable. Returns 0, or -1 with err (EX_CONFIG) naming the field.
 */
int	tb_smtp_check_config(const struct tb_smtp_config *, struct error *);

enum tb_smtp_outcome {
	TB_SMTP_SENT = 1,	/* RCPT and end-of-data both answered 2xx */
	TB_SMTP_DEFERRED,	/* 4xx, or no final answer: try again later */
	TB_SMTP_FAILED		/* 5xx, or a message that cannot be sent */
};

/* Which command the deciding reply answered. */
enum tb_smtp_stage {
	TB_SMTP_STAGE_SESSION = 0,	/* no reply: connection, TLS, AUTH, or
					   the message itself (code 0) */
	TB_SMTP_STAGE_MAIL,		/* the sender or the session (e.g. 530
					   authentication required): a 5xx
					   here says nothing about the
					   recipient's address */
	TB_SMTP_STAGE_RCPT,		/* the recipient's address */
	TB_SMTP_STAGE_DATA		/* the DATA command or the content */
};

/*
 * One message for one recipient. The inputs are borrowed for the call.
 * data is the complete message: CRLF-terminated lines of at most 998
 * octets, headers including Date, From and Message-ID (libESMTP adds those
 * three when missing and drops Return-Path; everything else crosses byte
 * for byte, dot-stuffed on the wire), 7-bit preferred (BODY=8BITMIME is
 * not declared). The outputs are always filled by tb_smtp_deliver.
 */
struct tb_smtp_msg {
	const char	*reverse_path;	/* envelope sender; NULL or "" is <> */
	const char	*rcpt;
	const char	*data;
	size_t		 len;
	int		 composed;	/* 1: data is mime_finish's output
					   (compose_message), wire-ready by
					   construction (mime.h), so its
					   lines are not scanned again; the
					   addresses and size still are */
	/* out */
	int		 outcome;	/* enum tb_smtp_outcome */
	int		 stage;		/* enum tb_smtp_stage */
	int		 code;		/* the deciding reply's code, or 0 */
	char		 enh[16];	/* "5.7.1", or "" */
	char		 reply[256];	/* "550 5.7.1 text" or why there is no
					   reply; one line, printable */
	int		 policy;	/* 1: FAILED with enhanced code 5.7.x */
};

/*
 * Delivers msgs[0..n-1] over one connection to cfg's server: one session,
 * one transaction (MAIL, RCPT, DATA) per message, pipelined when the
 * server offers PIPELINING. Per message: SENT only when both the RCPT and
 * the end-of-data replies are 2xx; 4xx is DEFERRED; 5xx is FAILED (policy
 * set for 5.7.x); a dropped or timed-out connection leaves every message
 * the server had not confirmed DEFERRED, never SENT, with the reason in
 * reply. A message that is not sendable as given (bare LF, long line,
 * CR/LF in an address) is FAILED with code 0 and never offered; the line
 * scan is skipped for composed messages (about 3% of a send's CPU).
 *
 * With STARTTLS the certificate must verify against ca_file (or the system
 * store) and name cfg->host; any TLS failure ends the session before MAIL.
 * With a user, AUTH must succeed: if it does not, libESMTP still tries
 * MAIL, so every refusal is then reported DEFERRED, not FAILED.
 *
 * Returns 0 when the session ran, whatever the outcomes. Returns -1 with
 * err, and every message not SENT (in practice all) DEFERRED with err's
 * text, when no transaction could start: bad configuration (EX_CONFIG),
 * cannot connect or no usable TLS (EX_UNAVAILABLE), a temporary refusal
 * (EX_TEMPFAIL), rejected credentials (EX_CONFIG). (Should a server
 * accept messages although AUTH failed, those stay SENT and the call
 * returns 0; err is meaningful only after -1.)
 */
int	tb_smtp_deliver(const struct tb_smtp_config *, struct tb_smtp_msg *msgs,
	    size_t n, struct error *);

#endif
