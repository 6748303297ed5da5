#!/usr/bin/python3
"""dkim-verify.py: verifies temabrev's DKIM signatures with python3-dkim.

An independent verifier (dkimpy, Debian's python3-dkim), given the public
keys through its DNS-lookup hook: --key NAME=FILE answers the TXT query for
NAME (SELECTOR._domainkey.DOMAIN) with the record in FILE (the zone text
`temabrev dkim keygen` writes). Every message (files named on the command
line, or every file in a directory tests/smtpd.py stored into) must carry a
DKIM-Signature with d=--domain covering the --cover headers, must verify,
and must stop verifying once its Subject, its List-Unsubscribe or one
byte of its body is changed. Prints one line per problem and a summary;
exit status 0 only when there is no problem.
"""
import argparse
import os
import re
import sys

try:
    import dkim
except ImportError:
    sys.stderr.write("dkim-verify.py: python3-dkim is missing\n")
    sys.exit(77)


def read_record(path):
    text = open(path, encoding="ascii").read()
    parts = re.findall(r'"([^"]*)"', text)
    return ("".join(parts) if parts else text.strip()).encode("ascii")


def message_of(raw):
    """The message without tests/smtpd.py's X-Smtpd-* envelope block."""
    if raw.startswith(b"X-Smtpd-"):
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if sep:
            return rest
    return raw


def tampered(msg, what):
    """msg with one change a forwarder must not be able to make."""
    if what == "body":
        head, sep, body = msg.partition(b"\r\n\r\n")
        i = next((i for i, c in enumerate(body) if chr(c).isalnum()), None)
        if i is None:
            return msg + b"x\r\n"
        c = b"B" if body[i:i + 1] == b"A" else b"A"
        return head + sep + body[:i] + c + body[i + 1:]
    m = re.search(rb"(?im)^" + re.escape(what.encode()) + rb":[ \t]*", msg)
    if m is None:
        return None
    i = m.end()
    return msg[:i] + b"X" + msg[i:]


def signed_names(msg):
    m = re.search(rb"(?ims)^DKIM-Signature:(.*?)\r\n(?![ \t])", msg)
    if m is None:
        return None, None
    tags = dict((k.strip(), v) for k, _, v in
                (t.partition(b"=") for t in
                 re.sub(rb"\s+", b"", m.group(1)).split(b";")) if k.strip())
    names = [n.lower() for n in tags.get(b"h", b"").split(b":") if n]
    return tags, names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--key", action="append", default=[],
                    help="SELECTOR._domainkey.DOMAIN=RECORD_FILE")
    ap.add_argument("--domain", help="the d= every signature must have")
    ap.add_argument("--cover", action="append", default=[],
                    help="a header every signature must cover")
    ap.add_argument("--min", type=int, default=1,
                    help="at least this many messages")
    a = ap.parse_args()

    records = {}
    for spec in a.key:
        name, _, path = spec.partition("=")
        records[name.lower().rstrip(".")] = read_record(path)
    queried = []

    def dnsfunc(name, timeout=5):
        n = name.decode("ascii") if isinstance(name, bytes) else name
        n = n.lower().rstrip(".")
        queried.append(n)
        return records.get(n)

    files = []
    for p in a.paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p))
        else:
            files.append(p)
    problems = []
    for path in files:
        msg = message_of(open(path, "rb").read())
        where = os.path.basename(path)
        tags, names = signed_names(msg)
        if tags is None:
            problems.append("%s: no DKIM-Signature" % where)
            continue
        if not msg.startswith(b"DKIM-Signature:"):
            problems.append("%s: DKIM-Signature is not the first header"
                            % where)
        if a.domain and tags.get(b"d", b"").decode() != a.domain:
            problems.append("%s: d=%s, expected %s" %
                            (where, tags.get(b"d"), a.domain))
        if tags.get(b"c") != b"relaxed/relaxed":
            problems.append("%s: c=%s, expected relaxed/relaxed" %
                            (where, tags.get(b"c")))
        for h in a.cover:
            if h.lower().encode() not in names:
                problems.append("%s: h= does not cover %s" % (where, h))
        try:
            good = dkim.verify(msg, dnsfunc=dnsfunc)
        except Exception as e:  # dkimpy raises on malformed input
            good = False
            problems.append("%s: verifier error %r" % (where, e))
        if not good:
            problems.append("%s: does not verify" % where)
            continue
        for what in ("Subject", "List-Unsubscribe", "body"):
            bad = tampered(msg, what)
            if bad is None:
                problems.append("%s: no %s to change" % (where, what))
            elif dkim.verify(bad, dnsfunc=dnsfunc):
                problems.append("%s: still verifies after its %s changed"
                                % (where, what))
    if len(files) < a.min:
        problems.append("%d messages, expected at least %d" %
                        (len(files), a.min))
    if files and not queried:
        problems.append("the verifier never asked for a key")
    for p in problems:
        print(p)
    print("%d messages: %s" % (len(files), "all verify; changed Subject, "
          "List-Unsubscribe and body fail" if not problems else
          "%d problems" % len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
