#!/usr/bin/python3
"""inbox-mail.py: the mail that comes back to temabrev, for tests/inbox.sh.

  inbox-mail.py KIND CAPTURED OUT [--from ADDR] [--size BYTES] [--count N]

CAPTURED is a newsletter as tests/smtpd.py stored it (X-Smtpd-* envelope
lines, a blank line, the message). OUT gets one RFC 5322 message of KIND
that answers it, with the tokens a real answer would carry: its Reply-To,
Message-ID, List-Unsubscribe address or envelope sender (VERP). --from
overrides the sender (a forged or forwarded reply); --count N writes N
distinct copies OUT.0 ... OUT.N-1 instead. Messages use CRLF, as
an IMAP server stores them. Standard library only.
"""
import email
import email.policy
import re
import sys
import base64
import os

CRLF = "\r\n"


def load(path):
    raw = open(path, "rb").read()
    env, _, msg = raw.partition(b"\r\n\r\n")
    if not msg:
        env, _, msg = raw.partition(b"\n\n")
    mail_from = re.search(rb"X-Smtpd-Mail-From: <([^>]*)>", env).group(1)
    rcpt = re.search(rb"X-Smtpd-Rcpt-To: <([^>]*)>", env).group(1)
    m = email.message_from_bytes(msg, policy=email.policy.default)
    return m, mail_from.decode(), rcpt.decode()


def addr_of(header):
    m = re.search(r"<([^>]+)>", header)
    return m.group(1) if m else header.strip()


def text_part(m):
    part = m.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def quoted(m):
    return "".join("> " + line + CRLF for line in text_part(m).splitlines())


def headers(h):
    return "".join("%s: %s%s" % (k, v, CRLF) for k, v in h)


def reply(m, rcpt, sender, subject, body, extra=(), ctype=None, cte=None):
    h = [("From", sender), ("To", addr_of(m["Reply-To"])),
         ("Subject", subject),
         ("Date", "Mon, 23 Nov 2026 10:00:00 +0100"),
         ("Message-ID", "<r%s@mail.example.net>" % os.urandom(6).hex()),
         ("In-Reply-To", m["Message-ID"]),
         ("References", m["Message-ID"]),
         ("MIME-Version", "1.0"),
         ("Content-Type", ctype or "text/plain; charset=utf-8"),
         ("Content-Transfer-Encoding", cte or "8bit")]
    h += list(extra)
    return headers(h) + CRLF + body


def dsn(m, mail_from, rcpt, action, status, diag, final=None):
    final = final or rcpt
    b = "dsnboundary42"
    orig = "".join("%s: %s%s" % (k, v, CRLF) for k, v in m.items()
                   if k in ("From", "To", "Subject", "Message-ID", "Date"))
    return (headers([
        ("Return-Path", "<>"),
        ("Delivered-To", mail_from),
        ("From", "Mail Delivery System <MAILER-DAEMON@mx.example.net>"),
        ("To", mail_from),
        ("Subject", "Undelivered Mail Returned to Sender"
         if action == "failed" else "Delayed Mail (still being retried)"),
        ("Date", "Mon, 23 Nov 2026 10:00:00 +0100"),
        ("Message-ID", "<dsn%s@mx.example.net>" % os.urandom(6).hex()),
        ("Auto-Submitted", "auto-replied"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/report; report-type=delivery-status; '
         'boundary="%s"' % b)]) + CRLF +
        "--%s%s" % (b, CRLF) +
        "Content-Type: text/plain; charset=us-ascii" + CRLF + CRLF +
        "This is the mail system at host mx.example.net." + CRLF + CRLF +
        "<%s>: %s%s" % (final, diag, CRLF) + CRLF +
        "--%s%s" % (b, CRLF) +
        "Content-Type: message/delivery-status" + CRLF + CRLF +
        "Reporting-MTA: dns; mx.example.net" + CRLF + CRLF +
        "Final-Recipient: rfc822; %s%s" % (final, CRLF) +
        "Original-Recipient: rfc822; %s%s" % (final, CRLF) +
        "Action: %s%s" % (action, CRLF) +
        "Status: %s%s" % (status, CRLF) +
        "Diagnostic-Code: smtp; %s%s" % (diag, CRLF) + CRLF +
        "--%s%s" % (b, CRLF) +
        "Content-Type: text/rfc822-headers" + CRLF + CRLF + orig + CRLF +
        "--%s--%s" % (b, CRLF))


def arf(m, mail_from, rcpt):
    b = "arfboundary7"
    orig = "".join("%s: %s%s" % (k, v, CRLF) for k, v in m.items()
                   if k in ("From", "To", "Subject", "Message-ID", "Date",
                            "List-Unsubscribe", "List-Id"))
    return (headers([
        ("From", "Abuse Desk <abuse@isp.example.net>"),
        ("To", "abuse@example.org"),
        ("Subject", "FW: complaint about message"),
        ("Date", "Mon, 23 Nov 2026 10:00:00 +0100"),
        ("Message-ID", "<arf%s@isp.example.net>" % os.urandom(6).hex()),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/report; report-type=feedback-report; '
         'boundary="%s"' % b)]) + CRLF +
        "--%s%s" % (b, CRLF) +
        "Content-Type: text/plain; charset=us-ascii" + CRLF + CRLF +
        "This is an email abuse report for an email message received "
        "from IP 192.0.2.1." + CRLF + CRLF +
        "--%s%s" % (b, CRLF) +
        "Content-Type: message/feedback-report" + CRLF + CRLF +
        "Feedback-Type: abuse" + CRLF + "User-Agent: ExampleFBL/1.0" +
        CRLF + "Version: 1" + CRLF +
        "Original-Mail-From: <%s>%s" % (mail_from, CRLF) +
        "Original-Rcpt-To: <%s>%s" % (rcpt, CRLF) + CRLF +
        "--%s%s" % (b, CRLF) +
        "Content-Type: text/rfc822-headers" + CRLF + CRLF + orig + CRLF +
        "--%s--%s" % (b, CRLF))


def main():
    args = sys.argv[1:]
    sender = None
    size = 0
    if "--from" in args:
        i = args.index("--from")
        sender = args[i + 1]
        del args[i:i + 2]
    copies = 0
    if "--count" in args:
        i = args.index("--count")
        copies = int(args[i + 1])
        del args[i:i + 2]
    if "--size" in args:
        i = args.index("--size")
        size = int(args[i + 1])
        del args[i:i + 2]
    kind, captured, out = args
    m, mail_from, rcpt = load(captured)
    sender = sender or rcpt
    subj = str(m["Subject"])
    q = quoted(m)
    unsub = re.search(r"mailto:([^?>]+)", m["List-Unsubscribe"]).group(1)
    if kind == "reply-avsluta":
        text = reply(m, rcpt, sender, "SV: " + subj,
                     "avsluta" + CRLF + CRLF + "Den 22 nov. 2026 skrev "
                     "nyhetsbrev@example.org:" + CRLF + q)
    elif kind == "reply-unsubscribe-latin1":
        text = reply(m, rcpt, sender, "=?iso-8859-1?Q?Re:_Unsubscribe?=",
                     "Unsubscribe." + CRLF + CRLF + "Mit freundlichen "
                     "Gr=FC=DFen" + CRLF,
                     ctype="text/plain; charset=iso-8859-1",
                     cte="quoted-printable")
    elif kind == "reply-all":
        text = reply(m, rcpt, sender, "SV: " + subj,
                     "Avsluta alla" + CRLF + CRLF + "-- " + CRLF +
                     "Anna" + CRLF)
    elif kind == "reply-quote-only":
        text = reply(m, rcpt, sender, "SV: " + subj,
                     "Den 22 nov. 2026 skrev nyhetsbrev@example.org:" +
                     CRLF + q)
    elif kind == "reply-sentence":
        text = reply(m, rcpt, sender, "SV: " + subj,
                     "Jag vill inte avsluta min prenumeration, tack för "
                     "ett bra brev!" + CRLF + CRLF + q)
    elif kind == "reply-cp1252":
        body = ("Tack f\xf6r brevet \u2013 kan ni skriva mer om "
                "r\xe4ttigheter?\r\n").encode("cp1252")
        text = reply(m, rcpt, sender, "SV: " + subj,
                     base64.b64encode(body).decode() + CRLF,
                     ctype="text/plain; charset=windows-1252",
                     cte="base64")
    elif kind == "reply-b64-avsluta":
        text = reply(m, rcpt, sender,
                     "=?utf-8?B?%s?=" % base64.b64encode(
                         "SV: Avregistrera".encode()).decode(),
                     base64.b64encode("avregistrera\r\n".encode())
                     .decode() + CRLF, cte="base64")
    elif kind == "reply-human":
        text = reply(m, rcpt, sender, "SV: " + subj,
                     "Hej! Får jag citera artikeln om räksmörgåsar i vår "
                     "tidning?" + CRLF + CRLF + q)
    elif kind == "reply-raw-utf8":
        text = reply(m, rcpt, sender, "SV: Frågor om Åland",
                     "Hur anmäler jag mig till mötet?" + CRLF)
    elif kind == "unsubscribe-address":
        text = headers([
            ("From", sender), ("To", unsub), ("Subject", "unsubscribe"),
            ("Date", "Mon, 23 Nov 2026 10:00:00 +0100"),
            ("Message-ID", "<u%s@mail.example.net>" % os.urandom(6).hex()),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=us-ascii")]) + CRLF + \
            "This message was automatically generated by mail client." + \
            CRLF
    elif kind == "bad-token":
        text = headers([
            ("From", sender),
            ("To", "unsubscribe+%s@lists.example.org" % ("a" * 23)),
            ("Subject", "unsubscribe"),
            ("Date", "Mon, 23 Nov 2026 10:00:00 +0100"),
            ("Message-ID", "<b%s@mail.example.net>" % os.urandom(6).hex()),
        ]) + CRLF + "unsubscribe" + CRLF
    elif kind == "bounce-hard":
        text = dsn(m, mail_from, rcpt, "failed", "5.1.1",
                   "550 5.1.1 <%s>: Recipient address rejected: User "
                   "unknown" % rcpt)
    elif kind == "bounce-soft":
        text = dsn(m, mail_from, rcpt, "failed", "4.2.2",
                   "452 4.2.2 Mailbox full")
    elif kind == "bounce-policy":
        text = dsn(m, mail_from, rcpt, "failed", "5.7.1",
                   "550 5.7.1 Message rejected as spam")
    elif kind == "bounce-delayed":
        text = dsn(m, mail_from, rcpt, "delayed", "4.4.1",
                   "connect to mx.example.net: Connection timed out")
    elif kind == "bounce-unknown":
        text = dsn(m, "bounces@lists.example.org",
                   "nobody@nowhere.example", "failed", "5.1.1",
                   "550 5.1.1 User unknown", final="nobody@nowhere.example")
    elif kind == "complaint":
        text = arf(m, mail_from, rcpt)
    elif kind == "autoreply":
        text = reply(m, rcpt, sender, "Frånvaro: " + subj,
                     "Jag är på semester till 1 december. avsluta" + CRLF,
                     extra=[("Auto-Submitted", "auto-replied")])
    elif kind == "no-headers":
        text = CRLF + "hello" + CRLF
    elif kind == "junk":
        text = None
        open(out, "wb").write(bytes(range(256)) * 64)
        return
    elif kind == "big":
        line = "x" * 76 + CRLF
        text = reply(m, rcpt, sender, "SV: stor bilaga",
                     line * (size // len(line) + 1))
    else:
        sys.exit("inbox-mail.py: unknown kind %s" % kind)
    if copies == 0:
        open(out, "wb").write(text.encode("utf-8"))
        return
    # Copies with their own Message-IDs: as many distinct messages.
    for n in range(copies):
        t = re.sub(r"Message-ID: <([a-z]+)[0-9a-f]+@",
                   lambda g: "Message-ID: <%s%06dx%s@" %
                   (g.group(1), n, os.urandom(4).hex()), text, count=1)
        open("%s.%d" % (out, n), "wb").write(t.encode("utf-8"))


if __name__ == "__main__":
    main()
