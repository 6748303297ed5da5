#!/usr/bin/python3
"""web-browser.py: the browser smoke test of temabrevd's web side.

Usage: web-browser.py UNSUBSCRIBE_URL ARTEFACT_DIR

Starts Debian's chromedriver on a free loopback port and, through it,
headless Chromium (/usr/bin/chromium --headless --no-sandbox, with the
flags that keep it off the network), opens the unsubscribe link, saves a
screenshot, clicks the button, checks the confirmation page and saves a
second screenshot: ARTEFACT_DIR/web-1-unsubscribe.png and
web-2-unsubscribed.png. It speaks the W3C WebDriver protocol over plain
HTTP (urllib), so it needs no Python package beyond the standard library.

Exit 0 on success, 1 on a failed check, 77 (skip) with a message on the
last line when Chromium or chromedriver is not installed. Every wait is
bounded; chromedriver is stopped on every exit.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = '/usr/bin/chromium'
DRIVER = '/usr/bin/chromedriver'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage', '--window-size=800,600']


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Driver:
    def __init__(self, port):
        self.base = 'http://127.0.0.1:%d' % port
        self.sid = None

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        rq = urllib.request.Request(self.base + path, data=data,
                                    method=method)
        rq.add_header('Content-Type', 'application/json')
        try:
            with urllib.request.urlopen(rq, timeout=timeout) as r:
                return json.loads(r.read() or b'{}').get('value')
        except urllib.error.HTTPError as e:
            raise RuntimeError('%s %s: %s' % (method, path,
                                              e.read()[:300].decode()))

    def session(self, profile):
        caps = {'capabilities': {'alwaysMatch': {
            'browserName': 'chrome',
            'goog:chromeOptions': {
                'binary': CHROMIUM,
                'args': FLAGS + ['--user-data-dir=' + profile]}}}}
        self.sid = self.call('POST', '/session', caps, 120)['sessionId']

    def s(self, method, path, body=None):
        return self.call(method, '/session/%s%s' % (self.sid, path), body)

    def find(self, css):
        el = self.s('POST', '/element', {'using': 'css selector',
                                         'value': css})
        return list(el.values())[0]

    def text(self, css):
        return self.s('GET', '/element/%s/text' % self.find(css))

    def shot(self, path):
        with open(path, 'wb') as f:
            f.write(base64.b64decode(self.s('GET', '/screenshot')))


def main():
    url, art = sys.argv[1], sys.argv[2]
    for prog in (CHROMIUM, DRIVER):
        if not os.access(prog, os.X_OK):
            print('%s not installed (Debian packages chromium and '
                  'chromium-driver)' % prog)
            return 77
    os.makedirs(art, exist_ok=True)
    port = free_port()
    log = open(os.path.join(art, 'chromedriver.log'), 'w')
    drv = subprocess.Popen([DRIVER, '--port=%d' % port,
                            '--allowed-ips=127.0.0.1'],
                           stdout=log, stderr=log)
    d = Driver(port)
    try:
        for _ in range(100):
            try:
                if d.call('GET', '/status', timeout=2).get('ready'):
                    break
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        with tempfile.TemporaryDirectory() as profile:
            d.session(profile)
            try:
                d.s('POST', '/url', {'url': url})
                title = d.s('GET', '/title')
                d.shot(os.path.join(art, 'web-1-unsubscribe.png'))
                print('page 1: %s' % title)
                button = d.find('form button[type=submit]')
                d.s('POST', '/element/%s/click' % button, {})
                h1 = ''
                for _ in range(50):
                    try:
                        h1 = d.text('h1')
                    except RuntimeError:
                        h1 = ''
                    if 'avslutad' in h1 or 'unsubscribed' in h1:
                        break
                    time.sleep(0.1)
                d.shot(os.path.join(art, 'web-2-unsubscribed.png'))
                print('page 2: %s' % h1)
                if not ('avslutad' in h1 or 'unsubscribed' in h1):
                    print('no confirmation page after the click')
                    return 1
                # The confirmation offers to resubscribe: a button.
                d.find('input[name=resubscribe]')
            finally:
                d.s('DELETE', '')
    except (RuntimeError, OSError, KeyError, TypeError) as e:
        print('browser: %s' % e)
        return 1
    finally:
        drv.terminate()
        try:
            drv.wait(10)
        except subprocess.TimeoutExpired:
            drv.kill()
        log.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
