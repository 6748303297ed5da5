#!/usr/bin/python3
"""archive-check.py: checks what `temabrev archive build` wrote for tests/optin.sh.

usage: archive-check.py feed FEED.xml N     the Atom feed (RFC 4287) parses
                                            and has the required elements,
                                            N entries, newest first
       archive-check.py index INDEX.html     prints the edition links of a
                                            theme's index, in order
       archive-check.py token FILE          prints the tokens of a captured
                                            message (List-Unsubscribe,
                                            Reply-To, confirm link)
Exit status 0 when the check holds, 1 with the reason on stderr otherwise.
"""
import email
import email.policy
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

A = "{http://www.w3.org/2005/Atom}"


def fail(msg):
    sys.stderr.write("archive-check: %s\n" % msg)
    sys.exit(1)


def need(el, tag, where):
    found = el.findall(A + tag)
    if not found:
        fail("%s: no <%s>" % (where, tag))
    return found


def rfc3339(s, where):
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", s or ""):
        fail("%s: not an RFC 3339 date: %r" % (where, s))
    return s


def check_feed(path, n):
    root = ET.parse(path).getroot()
    if root.tag != A + "feed":
        fail("root is %s, not atom:feed" % root.tag)
    for tag in ("id", "title", "updated"):
        if len(need(root, tag, "feed")) != 1:
            fail("feed: more than one <%s>" % tag)
    rfc3339(root.find(A + "updated").text, "feed updated")
    if not need(root, "author", "feed")[0].findtext(A + "name"):
        fail("feed: author without a name")
    rels = {l.get("rel", "alternate"): l.get("href") for l in root.findall(A + "link")}
    if not rels.get("self") or not rels.get("alternate"):
        fail("feed: links %r lack self or alternate" % rels)
    entries = root.findall(A + "entry")
    if len(entries) != n:
        fail("%d entries, expected %d" % (len(entries), n))
    ids, dates = set(), []
    for i, e in enumerate(entries):
        w = "entry %d" % i
        eid = need(e, "id", w)[0].text
        if not eid or eid in ids or not eid.startswith("tag:"):
            fail("%s: bad or repeated id %r" % (w, eid))
        ids.add(eid)
        need(e, "title", w)
        dates.append(rfc3339(need(e, "updated", w)[0].text, w))
        alt = [l for l in e.findall(A + "link") if l.get("rel", "alternate") == "alternate"]
        if not alt or not alt[0].get("href"):
            fail("%s: no alternate link" % w)
        c = need(e, "content", w)[0]
        if c.get("type") != "html" or "<" not in (c.text or ""):
            fail("%s: content is not escaped HTML" % w)
    if dates != sorted(dates, reverse=True):
        fail("entries not newest first: %r" % dates)
    print("feed ok: %d entries" % len(entries))


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") or ""
        if tag == "a" and re.fullmatch(r"\d+\.html", href):
            self.links.append(href)


def check_index(path):
    p = Links()
    p.feed(open(path, encoding="utf-8").read())
    print(" ".join(p.links))


def tokens(path):
    raw = open(path, "rb").read().split(b"\r\n\r\n", 1)[1]
    m = email.message_from_bytes(raw, policy=email.policy.default)
    text = str(m.get("List-Unsubscribe", "")) + " " + str(m.get("Reply-To", ""))
    for part in m.walk():
        if part.get_content_maintype() == "text":
            text += " " + part.get_content()
    found = set(re.findall(r"(?:unsubscribe|confirm|bounces)\+([a-z2-7]{16,})@", text))
    found |= set(re.findall(r"/[ucp]/([a-z2-7]{16,})", text))
    found |= set(re.findall(r"[a-z0-9-]+\+([a-z2-7]{20,})@", text))
    print("\n".join(sorted(found)))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "feed":
        check_feed(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "index":
        check_index(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "token":
        tokens(sys.argv[2])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
