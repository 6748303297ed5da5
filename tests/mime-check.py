#!/usr/bin/python3
"""mime-check: parses one message the way a careful reader would.

Used by tests/test-mime.c to check temabrev's MIME output (RFC 5322,
2045, 2046, 2047) against an independent implementation: Python's email
package with the modern policy. Reads the message file named by the
first argument and prints JSON (ASCII only):

  {"headers": [[name, decoded value], ...],       # top level, in order
   "addresses": {lower-case name: [[display name, addr-spec], ...]},
   "content_type": "multipart/alternative",
   "parts": [{"type": ..., "charset": ..., "cte": ..., "content": ...}],
   "defects": ["where: DefectName", ...]}

Part content is the decoded payload as UTF-8 with line ends as "\n".
Exit status 0 when the message was read, 2 on usage or I/O errors.
"""
import json
import sys
from email import policy
from email.parser import BytesParser


def defects_of(where, obj, out):
    for d in getattr(obj, "defects", ()):
        out.append("%s: %s" % (where, type(d).__name__))


def main():
    if len(sys.argv) != 2:
        print("usage: mime-check.py MESSAGE", file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    defects = []
    defects_of("message", msg, defects)
    headers = []
    addresses = {}
    for name, value in msg.items():
        defects_of("header " + name, value, defects)
        headers.append([name, str(value)])
        if hasattr(value, "addresses"):
            addresses[name.lower()] = [[a.display_name, a.addr_spec]
                                       for a in value.addresses]
    parts = []
    leaves = list(msg.iter_parts()) if msg.is_multipart() else [msg]
    for i, part in enumerate(leaves):
        defects_of("part %d" % i, part, defects)
        payload = part.get_payload(decode=True)
        try:
            content = payload.decode("utf-8")
        except UnicodeDecodeError:
            defects.append("part %d: not UTF-8" % i)
            content = payload.decode("utf-8", "replace")
        parts.append({
            "type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part.get("Content-Transfer-Encoding", ""),
            "content": content,
        })
    json.dump({
        "headers": headers,
        "addresses": addresses,
        "content_type": msg.get_content_type(),
        "parts": parts,
        "defects": defects,
    }, sys.stdout, ensure_ascii=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
