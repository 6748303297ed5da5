#!/usr/bin/python3
"""A small HTTP server for temabrev's feed tests, on 127.0.0.1 only.

Usage: httpd.py PORTFILE FEEDFILE [--max-seconds N]
Binds a free port, writes it to PORTFILE, serves until SIGTERM, until its
parent dies, or for N seconds (default 300), whichever comes first.

Paths: /feed.xml (ETag and Last-Modified, 304 on a match), /moved (301),
/moved308 (308), /temp (302), /gone (410), /gzip, /slow (stalls), /huge
(2 MB), /error (500), /to-file (302 to a file: URL), /latin1 (charset in
Content-Type only), /malformed (a bare &), /bomb (entity expansion),
/flaky (200 once, then 500), /changing (the item's text changes on every
request, its guid does not), /live (FEEDFILE as it is now, re-read on each
request, with an ETag of its content: for a feed that gains items).
"""
import gzip
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, FEEDFILE = sys.argv[1], sys.argv[2]
MAX_SECONDS = int(sys.argv[sys.argv.index('--max-seconds') + 1]) \
    if '--max-seconds' in sys.argv else 300
FEED = open(FEEDFILE, 'rb').read()
ETAG = '"v1-%d"' % len(FEED)
LASTMOD = 'Mon, 15 Mar 2021 12:30:00 GMT'
counts = {}
lock = threading.Lock()


def rss(items, encoding='UTF-8'):
    body = ''.join(
        '<item><title>%s</title><link>https://example.org/%s</link>'
        '<guid isPermaLink="false">%s</guid><description>%s</description>'
        '</item>' % (t, g, g, d) for (g, t, d) in items)
    return ('<?xml version="1.0" encoding="%s"?><rss version="2.0"><channel>'
            '<title>Test</title><link>https://example.org/</link>%s'
            '</channel></rss>' % (encoding, body))


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body=b'', ctype='application/rss+xml',
             headers=()):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def redirect(self, code, where):
        self.send(code, b'', 'text/plain', [('Location', where)])

    def do_GET(self):
        with lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            n = counts[self.path]
        p = self.path.split('?')[0]
        if p == '/feed.xml':
            if self.headers.get('If-None-Match') == ETAG or \
                    self.headers.get('If-Modified-Since') == LASTMOD:
                return self.send(304, b'', headers=[('ETag', ETAG)])
            return self.send(200, FEED, headers=[
                ('ETag', ETAG), ('Last-Modified', LASTMOD)])
        if p == '/live':
            body = open(FEEDFILE, 'rb').read()
            etag = '"live-%08x"' % (hash(body) & 0xffffffff)
            if self.headers.get('If-None-Match') == etag:
                return self.send(304, b'', headers=[('ETag', etag)])
            return self.send(200, body, headers=[('ETag', etag)])
        if p == '/moved':
            return self.redirect(301, '/feed.xml')
        if p == '/moved308':
            return self.redirect(308, '/feed.xml')
        if p == '/temp':
            return self.redirect(302, '/feed.xml')
        if p == '/gone':
            return self.send(410, b'gone', 'text/plain')
        if p == '/gzip':
            z = gzip.compress(FEED)
            return self.send(200, z, headers=[('Content-Encoding', 'gzip')])
        if p == '/slow':
            time.sleep(10)
            return self.send(200, FEED)
        if p == '/huge':
            return self.send(200, b'<rss>' + b' ' * (2 << 20) + b'</rss>')
        if p == '/error':
            return self.send(500, b'oops', 'text/plain')
        if p == '/to-file':
            return self.redirect(302, 'file:///etc/passwd')
        if p == '/latin1':
            doc = rss([('l1', 'Räksmörgås på Åland', 'Ökänd')],
                      encoding='UTF-8').encode('iso-8859-1')
            # the header's charset wins over the XML declaration (RFC 7303)
            return self.send(200, doc, 'text/xml; charset=ISO-8859-1')
        if p == '/malformed':
            doc = rss([('m1', 'Bröd & smör', 'Fika & prat')])
            return self.send(200, doc.encode())
        if p == '/bomb':
            doc = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
                   '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                   '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                   '<rss version="2.0"><channel><title>&c;</title>'
                   '</channel></rss>')
            return self.send(200, doc.encode())
        if p == '/flaky':
            if n == 1:
                return self.send(200, rss([('f1', 'Första', 'x'),
                                           ('f2', 'Andra', 'y')]).encode())
            return self.send(500, b'down', 'text/plain')
        if p == '/changing':
            return self.send(200, rss([('c1', 'Samma artikel',
                                        'version %d' % n)]).encode())
        return self.send(404, b'no such path', 'text/plain')


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass    # clients abort on purpose (timeouts, size caps)


def main():
    server = Server(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    with open(PORTFILE + '.tmp', 'w') as f:
        f.write(str(server.server_address[1]))
    os.rename(PORTFILE + '.tmp', PORTFILE)
    parent = os.getppid()
    deadline = time.time() + MAX_SECONDS

    def watchdog():
        while time.time() < deadline and os.getppid() == parent:
            time.sleep(0.5)
        server.shutdown()

    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
        target=server.shutdown).start())
    threading.Thread(target=watchdog, daemon=True).start()
    server.serve_forever()


if __name__ == '__main__':
    main()
