#!/usr/bin/python3
"""web-check.py: helpers of tests/web.sh (and bench/web).

  link FILE        the http(s) URL of a captured message's List-Unsubscribe
                   header (smtpd.py's file: X-Smtpd-* lines, a blank line,
                   then the message); exit 1 when there is none.
  html FILE        the message's text/html part, decoded.
  header FILE NAME the first value of header NAME in the message.
  slow HOST PORT TIMEOUT
                   opens a connection that sends half a request and then
                   waits, and meanwhile makes five ordinary GETs on other
                   connections. Prints "served N fast=F cut=SECONDS": N
                   GETs answered, F of them within a second, and how long
                   the server took to close the half request (bounded by
                   TIMEOUT + 10 s; "cut=none" when it never did).

Talks to 127.0.0.1 / ::1 only: the HOST given by the test.
"""
import email
import email.policy
import re
import socket
import sys
import time


def message(path):
    raw = open(path, 'rb').read().replace(b'\r\n', b'\n')
    sep = raw.find(b'\n\n')
    return email.message_from_bytes(raw[sep + 2:], policy=email.policy.default)


def link(path):
    v = message(path).get('List-Unsubscribe')
    m = re.search(r'<(https?://[^>]+)>', re.sub(r'\s+', ' ', str(v or '')))
    if not m:
        sys.exit(1)
    print(m.group(1))


def html(path):
    part = message(path).get_body(preferencelist=('html',))
    if part is None:
        sys.exit(1)
    print(part.get_content())


def header(path, name):
    v = message(path).get(name)
    if v is None:
        sys.exit(1)
    print(v)


def get(host, port):
    t0 = time.monotonic()
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b'GET /u/nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.startswith(b'HTTP/1.1 404'), time.monotonic() - t0


def slow(host, port, timeout):
    limit = timeout + 10
    s = socket.create_connection((host, port), timeout=limit)
    t0 = time.monotonic()
    s.sendall(b'POST /u/abc HTTP/1.1\r\nHost: t\r\nContent-Le')
    served = fast = 0
    for _ in range(5):
        ok, took = get(host, port)
        served += ok
        fast += ok and took < 1.0
    cut = 'none'
    try:
        while time.monotonic() - t0 < limit:
            if not s.recv(4096):
                cut = '%.1f' % (time.monotonic() - t0)
                break
    except (socket.timeout, ConnectionResetError):
        if time.monotonic() - t0 < limit:
            cut = '%.1f' % (time.monotonic() - t0)
    print('served %d fast=%d cut=%s' % (served, fast, cut))


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'link':
        link(sys.argv[2])
    elif cmd == 'html':
        html(sys.argv[2])
    elif cmd == 'header':
        header(sys.argv[2], sys.argv[3])
    elif cmd == 'slow':
        slow(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit('web-check.py: unknown command ' + cmd)
