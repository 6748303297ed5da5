#!/usr/bin/python3
"""send-check: checks the newsletters temabrev delivered, as a reader would.

Used by tests/send.sh. Reads every message file tests/smtpd.py stored in a
directory (an X-Smtpd-* envelope block, an empty line, the message as
received; copies of one recipient are NAME, NAME.2, ...), or single files
printed by `temabrev edition preview` (--preview: no envelope block), and
parses each with Python's email package (policy.default), independently
of temabrev's own MIME code. Every message must be:

  - on the wire: 7-bit, CRLF line ends only, lines of at most 998 octets;
  - exactly the headers temabrev writes, each once (a header smuggled in
    through a name, a title or a subject shows up as an extra one);
  - From, To, Subject, Reply-To decoding to the expected (Swedish) text,
    To naming the envelope recipient and, with --expect, the subscriber's
    own name;
  - multipart/alternative with one text/plain and one text/html part,
    UTF-8, no parser defects;
  - personal: the greeting with the subscriber's first name, its own
    unsubscribe token in List-Unsubscribe and in the body, its own
    Reply-To SLUG+TOKEN@ (also in the body), a VERP envelope sender
    bounces+TOKEN@, every local part at most 64 octets, and tokens no
    other recipient has;
  - a list message: List-Id <SLUG.LIST_DOMAIN>, List-Unsubscribe with the
    mailto and (with --base-url) the https URL, List-Unsubscribe-Post only
    with an https base URL, Precedence: bulk, X-Auto-Response-Suppress,
    Message-ID @LIST_DOMAIN, the same Message-ID in every copy a
    recipient got.

With --expect FILE (lines EMAIL<TAB>NAME) every listed subscriber must have
received exactly one copy (or, with --max-dups N, at least one, and at
most N of them more than one) and nobody else any. Prints one summary line
and exits 0, or prints the problems and exits 1 (2 on usage errors).
"""
import argparse
import collections
import html
import os
import re
import sys
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser

BASE_HEADERS = ["from", "to", "subject", "date", "message-id", "reply-to",
                "list-id", "list-unsubscribe", "precedence",
                "x-auto-response-suppress", "mime-version", "content-type"]
FROM_NAME = "Mötesplats Social Innovation"
FROM_ADDR = "nyhetsbrev@example.org"


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, what):
        self.items.append("%s: %s" % (where, what))


def ascii_email(email):
    local, _, domain = email.rpartition("@")
    try:
        domain.encode("ascii")
    except UnicodeEncodeError:
        domain = domain.encode("idna").decode("ascii")
    return (local + "@" + domain).lower()


def split_envelope(raw, preview):
    """(envelope dict, message bytes)."""
    env = {}
    if preview:
        return env, raw
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"X-Smtpd-"):
        return None, raw
    for line in head.decode("ascii", "replace").split("\r\n"):
        name, _, value = line.partition(": ")
        env.setdefault(name, []).append(value)
    return env, rest


def check_wire(where, data, out):
    if any(b >= 0x80 for b in data):
        out.add(where, "not 7-bit on the wire")
    if re.search(rb"(?<!\r)\n", data) or re.search(rb"\r(?!\n)", data):
        out.add(where, "a bare CR or LF (not CRLF)")
    if not data.endswith(b"\r\n"):
        out.add(where, "does not end in CRLF")
    longest = max((len(l) for l in data.split(b"\r\n")), default=0)
    if longest > 998:
        out.add(where, "a line of %d octets (> 998)" % longest)


def defects(msg):
    found = ["message: " + type(d).__name__ for d in msg.defects]
    for name, value in msg.items():
        found += ["%s: %s" % (name, type(d).__name__)
                  for d in getattr(value, "defects", ())]
    for part in msg.walk():
        if part is not msg:
            found += ["part: " + type(d).__name__ for d in part.defects]
    return found


def one_addr(msg, name, where, out):
    value = msg[name]
    if value is None or not hasattr(value, "addresses"):
        out.add(where, "%s is not an address header" % name)
        return None
    if len(value.addresses) != 1:
        out.add(where, "%s has %d addresses: %r" %
                (name, len(value.addresses), str(value)))
        return None
    return value.addresses[0]


def same_name(msg, header, parsed, expected):
    """Whether a display name decodes to expected.

    Python 3.11's parser of structured headers keeps the white space
    between two adjacent encoded words of a phrase, which RFC 2047 (6.2)
    says to drop, so a long name split into several encoded words reads
    with a doubled space. Then the phrase of the raw header is decoded with
    the older email.header API, which follows the RFC.
    """
    if parsed == expected:
        return True
    raw = None
    for k, v in msg.raw_items():
        if k.lower() == header.lower():
            raw = re.sub(r"\r?\n[ \t]", " ", v)
    if raw is None or "<" not in raw:
        return False
    phrase = raw[:raw.rindex("<")].strip()
    if phrase.startswith('"') or "=?" not in phrase:
        return False
    return str(make_header(decode_header(phrase))) == expected


def local_part(addr):
    return addr.rpartition("@")[0]


class Checker:
    def __init__(self, args):
        self.a = args
        self.out = Problems()
        self.expect = None
        if args.expect:
            self.expect = {}
            with open(args.expect, encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if line:
                        email, _, name = line.partition("\t")
                        self.expect[ascii_email(email)] = (email, name)
        self.copies = collections.defaultdict(list)   # rcpt -> [msgid]
        self.tokens = collections.defaultdict(dict)   # kind -> tok -> rcpt
        self.checked = 0

    def token(self, kind, tok, rcpt, where):
        seen = self.tokens[kind].setdefault(tok, rcpt)
        if seen != rcpt:
            self.out.add(where, "%s token %s also went to %s" %
                         (kind, tok, seen))

    def check_file(self, path, full):
        where = os.path.basename(path)
        with open(path, "rb") as f:
            raw = f.read()
        env, data = split_envelope(raw, self.a.preview)
        out = self.out
        if env is None:
            out.add(where, "no X-Smtpd envelope block")
            return
        if not self.a.preview:
            rcpts = env.get("X-Smtpd-Rcpt-To", [])
            if len(rcpts) != 1:
                out.add(where, "envelope has %d recipients" % len(rcpts))
                return
            rcpt = rcpts[0].strip("<>").lower()
        else:
            rcpt = None
        if not full:
            hdr = BytesParser(policy=policy.default).parsebytes(
                data, headersonly=True)
            self.copies[rcpt].append(str(hdr.get("Message-ID", "")))
            return
        self.checked += 1
        check_wire(where, data, out)
        msg = BytesParser(policy=policy.default).parsebytes(data)
        for d in defects(msg):
            out.add(where, "parser defect " + d)

        # Exactly temabrev's headers, each once.
        https = (self.a.base_url or "").lower().startswith("https://")
        want = BASE_HEADERS + (["list-unsubscribe-post"] if https else [])
        names = collections.Counter(k.lower() for k in msg.keys())
        for k in want:
            if names[k] != 1:
                out.add(where, "header %s appears %d times" % (k, names[k]))
        extra = sorted(set(names) - set(want))
        if extra:
            out.add(where, "unexpected headers: %s" % ", ".join(extra))

        # From, To, Subject, Reply-To.
        fa = one_addr(msg, "From", where, out)
        if fa and (fa.display_name != self.a.from_name or
                   fa.addr_spec != self.a.from_addr):
            out.add(where, "From is %r <%s>" % (fa.display_name, fa.addr_spec))
        ta = one_addr(msg, "To", where, out)
        if ta is None:
            return
        to = ta.addr_spec.lower()
        if rcpt is None:
            rcpt = to
        elif to != rcpt:
            out.add(where, "To <%s> is not the envelope's <%s>" % (to, rcpt))
        name = None
        if self.expect is not None:
            if rcpt not in self.expect:
                out.add(where, "sent to %s, who should get nothing" % rcpt)
            else:
                email, name = self.expect[rcpt]
        elif self.a.name is not None:
            name = self.a.name
        if name is not None and not same_name(msg, "To", ta.display_name,
                                              name):
            out.add(where, "To name %r, expected %r" % (ta.display_name, name))
        if self.a.subject is not None and msg["Subject"] != self.a.subject:
            out.add(where, "Subject %r, expected %r" %
                    (str(msg["Subject"]), self.a.subject))
        ra = one_addr(msg, "Reply-To", where, out)
        dom = self.a.list_domain
        rtok = None
        if ra:
            m = re.fullmatch(r"%s\+([a-z2-7]+)@%s" % (re.escape(self.a.slug),
                             re.escape(dom)), ra.addr_spec)
            if not m:
                out.add(where, "Reply-To <%s> is not %s+TOKEN@%s" %
                        (ra.addr_spec, self.a.slug, dom))
            else:
                rtok = m.group(1)
                self.token("reply", rtok, rcpt, where)
            if len(local_part(ra.addr_spec).encode()) > 64:
                out.add(where, "Reply-To local part longer than 64 octets")
            if ra.display_name != self.a.from_name:
                out.add(where, "Reply-To name %r" % ra.display_name)

        # List headers and the rest.
        if msg["List-Id"] != "<%s.%s>" % (self.a.slug, dom):
            out.add(where, "List-Id %r" % str(msg["List-Id"]))
        lu = str(msg.get("List-Unsubscribe", ""))
        urls = re.findall(r"<([^>]*)>", lu)
        mailto = [u for u in urls if u.startswith("mailto:")]
        webs = [u for u in urls if not u.startswith("mailto:")]
        utok = None
        if len(mailto) != 1:
            out.add(where, "List-Unsubscribe has no single mailto: %r" % lu)
        else:
            m = re.fullmatch(r"mailto:unsubscribe\+([a-z2-7]+)@%s"
                             r"\?subject=unsubscribe" % re.escape(dom),
                             mailto[0])
            if not m:
                out.add(where, "List-Unsubscribe mailto %r" % mailto[0])
            else:
                utok = m.group(1)
                self.token("unsubscribe", utok, rcpt, where)
                if len(("unsubscribe+" + utok).encode()) > 64:
                    out.add(where, "unsubscribe local part > 64 octets")
        if self.a.base_url:
            if webs != ["%s/u/%s" % (self.a.base_url, utok)]:
                out.add(where, "List-Unsubscribe URL %r" % webs)
        elif webs:
            out.add(where, "List-Unsubscribe has a URL without base_url: %r"
                    % webs)
        if https and msg.get("List-Unsubscribe-Post") != \
                "List-Unsubscribe=One-Click":
            out.add(where, "List-Unsubscribe-Post %r" %
                    msg.get("List-Unsubscribe-Post"))
        if msg.get("Precedence") != "bulk":
            out.add(where, "Precedence %r" % msg.get("Precedence"))
        if not msg.get("X-Auto-Response-Suppress"):
            out.add(where, "no X-Auto-Response-Suppress")
        if msg.get("MIME-Version") != "1.0":
            out.add(where, "MIME-Version %r" % msg.get("MIME-Version"))
        msgid = str(msg.get("Message-ID", ""))
        m = re.fullmatch(r"<([a-z2-7]+)@%s>" % re.escape(dom), msgid)
        if not m:
            out.add(where, "Message-ID %r not @%s" % (msgid, dom))
        if not self.a.preview:
            self.copies[rcpt].append(msgid)
            if not self.a.test_copy:
                self.token("message-id", msgid, rcpt, where)
            mf = env.get("X-Smtpd-Mail-From", [""])[0].strip("<>")
            m = re.fullmatch(r"bounces\+([a-z2-7]+)@%s" % re.escape(dom), mf)
            if not m:
                out.add(where, "envelope sender <%s> is not "
                        "bounces+TOKEN@%s" % (mf, dom))
            else:
                if not self.a.test_copy:
                    self.token("bounce", m.group(1), rcpt, where)
                if len(local_part(mf).encode()) > 64:
                    out.add(where, "envelope sender local part > 64 octets")
            if self.a.tls and env.get("X-Smtpd-TLS", ["?"])[0] != self.a.tls:
                out.add(where, "TLS %s, expected %s" %
                        (env.get("X-Smtpd-TLS"), self.a.tls))
            if self.a.auth and env.get("X-Smtpd-Auth", ["-"])[0] != \
                    self.a.auth:
                out.add(where, "AUTH user %s" % env.get("X-Smtpd-Auth"))

        # MIME structure.
        if msg.get_content_type() != "multipart/alternative":
            out.add(where, "top-level type %s" % msg.get_content_type())
            return
        parts = list(msg.iter_parts())
        types = [p.get_content_type() for p in parts]
        if types != ["text/plain", "text/html"]:
            out.add(where, "parts %r, expected text/plain, text/html" % types)
            return
        texts = []
        for p in parts:
            if (p.get_content_charset() or "").lower() != "utf-8":
                out.add(where, "%s charset %r" % (p.get_content_type(),
                                                  p.get_content_charset()))
            if p.is_multipart():
                out.add(where, "a nested multipart")
            payload = p.get_payload(decode=True)
            try:
                texts.append(payload.decode("utf-8").replace("\r\n", "\n"))
            except UnicodeDecodeError:
                out.add(where, "%s is not UTF-8" % p.get_content_type())
                texts.append("")
        text, htm = texts
        # Personal content: greeting, own tokens and address in the body.
        if name is not None:
            first = name.split(" ")[0]
            greet = "Hej %s!" % first if first else "Hej!"
            if greet + "\n" not in text:
                out.add(where, "text part lacks %r" % greet)
            hgreet = ("Hej %s!" % html.escape(first, quote=True)
                      if first else "Hej!")
            if ">" + hgreet + "<" not in htm:
                out.add(where, "html part lacks %r" % hgreet)
        if rtok and "%s+%s@%s" % (self.a.slug, rtok, dom) not in text:
            out.add(where, "text part lacks its own reply address")
        if utok:
            own = ("%s/u/%s" % (self.a.base_url, utok) if self.a.base_url
                   else "unsubscribe+%s@%s" % (utok, dom))
            if own not in text or html.escape(own) not in htm:
                out.add(where, "a part lacks its own unsubscribe link %s"
                        % own)
        for t in self.a.contains:
            if t not in text:
                out.add(where, "text part lacks %r" % t)
        for t in self.a.html_contains:
            if t not in htm:
                out.add(where, "html part lacks %r" % t)
        for t in self.a.lacks:
            if t in text or t in htm:
                out.add(where, "a part contains %r" % t)

    def finish(self, nfiles):
        out = self.out
        dups = {r: ids for r, ids in self.copies.items() if len(ids) > 1}
        for r, ids in dups.items():
            if len(set(ids)) != 1:
                out.add(r, "copies with different Message-IDs: %r" % ids)
        if self.expect is not None:
            for r in self.expect:
                if r not in self.copies:
                    out.add(r, "got nothing")
            for r in self.copies:
                if r not in self.expect:
                    out.add(r, "got %d message(s) but should get none"
                            % len(self.copies[r]))
            if self.a.max_dups is None:
                for r, ids in dups.items():
                    if r in self.expect:
                        out.add(r, "got %d copies" % len(ids))
            elif len(dups) > self.a.max_dups:
                out.add("duplicates", "%d recipients got more than one "
                        "copy (at most %d allowed)" %
                        (len(dups), self.a.max_dups))
        elif not self.a.preview and not self.a.test_copy:
            for r, ids in dups.items():
                out.add(r, "got %d copies" % len(ids))
        for r in self.a.absent:
            if ascii_email(r) in self.copies:
                out.add(r, "got a message but should not")
        if self.a.count is not None and nfiles != self.a.count:
            out.add("count", "%d messages, expected %d" % (nfiles,
                                                          self.a.count))
        if out.items:
            for p in out.items[:30]:
                print("send-check: " + p)
            if len(out.items) > 30:
                print("send-check: ... and %d more" % (len(out.items) - 30))
            return 1
        print("send-check: %d messages to %d recipients (%d fully checked, "
              "%d recipients with more than one copy)" %
              (nfiles, len(self.copies), self.checked, len(dups)))
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", help="smtpd.py directories or files")
    ap.add_argument("--preview", action="store_true",
                    help="files without an envelope block")
    ap.add_argument("--expect", help="EMAIL<TAB>NAME lines: who gets it")
    ap.add_argument("--max-dups", type=int,
                    help="at least one copy each, at most N with several")
    ap.add_argument("--count", type=int, help="exactly N message files")
    ap.add_argument("--sample", type=int, default=1,
                    help="fully check every Nth file only")
    ap.add_argument("--slug", required=True)
    ap.add_argument("--list-domain", default="lists.example.org")
    ap.add_argument("--base-url")
    ap.add_argument("--subject")
    ap.add_argument("--name", help="the To name (without --expect)")
    ap.add_argument("--from-name", default=FROM_NAME)
    ap.add_argument("--from-addr", default=FROM_ADDR)
    ap.add_argument("--tls", choices=("yes", "no"))
    ap.add_argument("--auth")
    ap.add_argument("--test-copy", action="store_true",
                    help="test copies: they repeat a subscriber's tokens")
    ap.add_argument("--contains", action="append", default=[],
                    help="text the text/plain part must contain")
    ap.add_argument("--html-contains", action="append", default=[])
    ap.add_argument("--lacks", action="append", default=[],
                    help="text no part may contain")
    ap.add_argument("--absent", action="append", default=[],
                    help="an address that must have got nothing")
    args = ap.parse_args()
    ck = Checker(args)
    files = []
    for p in args.paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, n) for n in os.listdir(p)
                            if not n.startswith("."))
        else:
            files.append(p)
    for i, path in enumerate(files):
        ck.check_file(path, i % max(args.sample, 1) == 0)
    return ck.finish(len(files))


if __name__ == "__main__":
    sys.exit(main())
