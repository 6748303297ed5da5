#!/usr/bin/python3
"""web-browser.py: the browser smoke test of temabrevd's web side.

Usage: web-browser.py UNSUBSCRIBE_URL ARTEFACT_DIR
       web-browser.py --subscribe FORM_URL CAPTURE_DIR EMAIL ARTEFACT_DIR

Starts Debian's chromedriver on a free loopback port and, through it,
headless Chromium (/usr/bin/chromium --headless --no-sandbox, with the
flags that keep it off the network), opens the unsubscribe link, saves a
screenshot, clicks the button, checks the confirmation page and saves a
second screenshot: ARTEFACT_DIR/web-1-unsubscribe.png and
web-2-unsubscribed.png. With --subscribe it opens the subscribe form
(/s/SLUG), types EMAIL, submits, sees the check-your-mailbox page, takes
the /c/ link from the confirmation mail that arrives in CAPTURE_DIR
(tests/smtpd.py), opens it on the same server, clicks the button and sees
the confirmed page: web-3-subscribe.png, web-4-check-mail.png,
web-5-confirm.png, web-6-confirmed.png. It speaks the W3C WebDriver protocol over plain
HTTP (urllib), so it needs no Python package beyond the standard library.

Exit 0 on success, 1 on a failed check, 77 (skip) with a message on the
last line when Chromium or chromedriver is not installed. Every wait is
bounded; chromedriver is stopped on every exit.
"""
import base64
import email as email_parser
import email.policy as email_policy
import json
import os
import re
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


def wait_h1(d, words):
    """The page's h1 once it holds one of words (bounded), else ''."""
    for _ in range(50):
        try:
            h1 = d.text('h1')
        except RuntimeError:
            h1 = ''
        if any(w in h1 for w in words):
            return h1
        time.sleep(0.1)
    return ''


def confirm_link(capdir, email):
    """The /c/TOKEN path in the mail to email, waiting up to 20 s."""
    for _ in range(100):
        path = os.path.join(capdir, email)
        if os.path.exists(path):
            raw = open(path, 'rb').read().split(b'\r\n\r\n', 1)[1]
            msg = email_parser.message_from_bytes(
                raw, policy=email_policy.default)
            for part in msg.walk():
                if part.get_content_type() == 'text/plain':
                    m = re.search(r'https://[^/\s]+(/c/[a-z2-7]+)',
                                  part.get_content())
                    if m:
                        return m.group(1)
        time.sleep(0.2)
    return None


def unsubscribe(d, url, art):
    d.s('POST', '/url', {'url': url})
    title = d.s('GET', '/title')
    d.shot(os.path.join(art, 'web-1-unsubscribe.png'))
    print('page 1: %s' % title)
    button = d.find('form button[type=submit]')
    d.s('POST', '/element/%s/click' % button, {})
    h1 = wait_h1(d, ('avslutad', 'unsubscribed'))
    d.shot(os.path.join(art, 'web-2-unsubscribed.png'))
    print('page 2: %s' % h1)
    if not h1:
        print('no confirmation page after the click')
        return 1
    # The confirmation offers to resubscribe: a button.
    d.find('input[name=resubscribe]')
    return 0


def subscribe(d, url, capdir, email, art):
    d.s('POST', '/url', {'url': url})
    d.shot(os.path.join(art, 'web-3-subscribe.png'))
    box = d.find('input#email')
    d.s('POST', '/element/%s/value' % box, {'text': email})
    d.s('POST', '/element/%s/click' % d.find('form button[type=submit]'),
        {})
    h1 = wait_h1(d, ('inkorg', 'mailbox'))
    d.shot(os.path.join(art, 'web-4-check-mail.png'))
    print('page 2: %s' % h1)
    if not h1:
        print('no check-your-mailbox page after submitting the form')
        return 1
    link = confirm_link(capdir, email)
    if link is None:
        print('no confirmation mail with a /c/ link for %s' % email)
        return 1
    base = url.split('/s/')[0]
    d.s('POST', '/url', {'url': base + link})
    h1 = wait_h1(d, ('Bekräfta', 'Confirm'))
    d.shot(os.path.join(art, 'web-5-confirm.png'))
    print('page 3: %s' % h1)
    if not h1:
        print('no confirm page at the link')
        return 1
    d.s('POST', '/element/%s/click' % d.find('form button[type=submit]'),
        {})
    h1 = wait_h1(d, ('prenumererar du', 'You are subscribed'))
    d.shot(os.path.join(art, 'web-6-confirmed.png'))
    print('page 4: %s' % h1)
    if not h1:
        print('no confirmed page after the click')
        return 1
    return 0


def main():
    if sys.argv[1] == '--subscribe':
        url, capdir, email, art = sys.argv[2:6]
    else:
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
                if sys.argv[1] == '--subscribe':
                    rc = subscribe(d, url, capdir, email, art)
                else:
                    rc = unsubscribe(d, url, art)
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
    return rc


if __name__ == '__main__':
    sys.exit(main())
