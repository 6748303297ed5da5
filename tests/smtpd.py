#!/usr/bin/python3
"""smtpd.py: the SMTP capture server temabrev's tests deliver to.

Listens on 127.0.0.1 only, on a port chosen at run time (written to
--port-file once it listens), and stores every accepted message, once per
recipient, as a file in --dir named after the recipient: a block of
X-Smtpd-* lines (envelope, TLS, SNI, AUTH user), an empty line, then the
message exactly as received after dot-unstuffing. It offers PIPELINING
(RFC 2920) and ENHANCEDSTATUSCODES (RFC 3463), STARTTLS (RFC 3207) with
--tls-cert/--tls-key, and AUTH PLAIN/LOGIN (RFC 4954, only inside TLS)
for the one --auth USER:PASSWORD; --require-auth refuses MAIL without it.

Replies are scripted by the recipient's local part (the word alone or
followed by "-anything"): t450, t451, t452, t550 and t571 (550 5.7.1)
answer RCPT with that code; t421 answers RCPT 421 and closes; t554data
accepts RCPT and answers 554 after the data; drop closes the connection
after the data without replying; stall does not answer RCPT for 30
seconds (a client timeout test). Nothing is stored for those.

It stops on SIGTERM or SIGINT, when its parent dies, and after
--max-seconds. Exit status 77 (the automake skip code) when aiosmtpd is
missing. Run it with /usr/bin/python3: that is where Debian's aiosmtpd is.
"""
import argparse
import asyncio
import logging
import os
import re
import signal
import ssl
import sys
import weakref

try:
    from aiosmtpd.smtp import (SMTP, AuthResult, LoginPassword,
                               TLSSetupException)
except ImportError:
    sys.stderr.write("smtpd.py: aiosmtpd is missing "
                     "(apt-get install python3-aiosmtpd)\n")
    sys.exit(77)

# local part -> (command it answers, reply); reply None means "drop".
SCRIPT = {
    "t450": ("RCPT", "450 4.2.1 Mailbox busy, try again later"),
    "t451": ("RCPT", "451 4.3.0 Local error in processing"),
    "t452": ("RCPT", "452 4.3.1 Insufficient system storage"),
    "t421": ("RCPT", "421 4.3.2 Service shutting down, closing"),
    "t550": ("RCPT", "550 5.1.1 No such user here"),
    "t571": ("RCPT", "550 5.7.1 Delivery not authorized, message refused"),
    "t554data": ("DATA", "554 5.6.0 Message content rejected"),
    "drop": ("DATA", None),
    "stall": ("RCPT", "stall"),
}
CLOSE_WAIT = 30  # seconds a handler waits to be cancelled after a close


def scripted(address):
    local = address.rsplit("@", 1)[0].lower()
    for word, action in SCRIPT.items():
        if local == word or local.startswith(word + "-"):
            return action
    return (None, None)


async def closed(server):
    """Closes the connection and waits to be cancelled by aiosmtpd."""
    server.transport.close()
    await asyncio.sleep(CLOSE_WAIT)
    raise ConnectionResetError("connection closed by script")


class Capture:
    def __init__(self, outdir, sni_names):
        self.outdir = outdir
        self.sni_names = sni_names
        self.seq = 0

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        return (responses[:-1] + ["250-PIPELINING", "250-ENHANCEDSTATUSCODES"]
                + responses[-1:])

    async def handle_MAIL(self, server, session, envelope, address, options):
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        when, reply = scripted(address)
        if when == "RCPT":
            if reply == "stall":
                await asyncio.sleep(CLOSE_WAIT)
                return "451 4.4.2 Stalled on purpose"
            if reply.startswith("421"):
                await server.push(reply)
                await closed(server)
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            when, reply = scripted(rcpt)
            if when == "DATA" and reply is None:
                await closed(server)
            if when == "DATA":
                return reply
        self.seq += 1
        block = self.envelope_block(session, envelope)
        for rcpt in envelope.rcpt_tos:
            self.store(rcpt, block + envelope.original_content)
        return "250 2.0.0 OK queued as %06d" % self.seq

    async def handle_exception(self, error):
        # A refused handshake is what the TLS tests provoke: one line,
        # not aiosmtpd's traceback. aiosmtpd closes the connection then.
        if isinstance(error, TLSSetupException):
            logging.info("TLS handshake failed: %s", error.__cause__)
            return "454 4.7.0 TLS handshake failed"
        logging.exception("session error")
        return "451 4.3.0 Server error: %s" % type(error).__name__

    def envelope_block(self, session, envelope):
        tls = session.ssl is not None
        sni = "-"
        if tls:
            sslobj = session.ssl.get("ssl_object")
            sni = self.sni_names.get(sslobj, "-") if sslobj else "-"
        auth = session.auth_data if session.authenticated else None
        if isinstance(auth, bytes):
            auth = auth.decode("ascii", "replace")
        lines = ["X-Smtpd-Mail-From: <%s>" % envelope.mail_from]
        lines += ["X-Smtpd-Rcpt-To: <%s>" % r for r in envelope.rcpt_tos]
        lines += ["X-Smtpd-Helo: %s" % session.host_name,
                  "X-Smtpd-TLS: %s" % ("yes" if tls else "no"),
                  "X-Smtpd-SNI: %s" % sni,
                  "X-Smtpd-Auth: %s" % (auth or "-")]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii", "replace")

    def store(self, rcpt, content):
        name = re.sub(r"[^A-Za-z0-9._@+-]", "_", rcpt)
        path = os.path.join(self.outdir, name)
        n = 1
        while os.path.exists(path):
            n += 1
            path = os.path.join(self.outdir, "%s.%d" % (name, n))
        tmp = os.path.join(self.outdir, ".tmp-%d" % os.getpid())
        with open(tmp, "wb") as f:
            f.write(content)
        os.rename(tmp, path)  # readers never see half a message


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login == user.encode()
                and auth_data.password == password.encode()):
            return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)
    return authenticator


def tls_context(cert, key, sni_names):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def remember(sslobj, name, context):
        sni_names[sslobj] = name or "-"
    ctx.sni_callback = remember
    return ctx


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


async def watch_parent(stop, ppid):
    while os.getppid() == ppid:
        await asyncio.sleep(0.5)
    stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="where messages go")
    ap.add_argument("--port-file", required=True,
                    help="written with the port once listening")
    ap.add_argument("--port", type=int, default=0,
                    help="port on 127.0.0.1 (default: any free one)")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--auth", metavar="USER:PASSWORD")
    ap.add_argument("--require-auth", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    logging.basicConfig(level=logging.INFO if args.verbose
                        else logging.ERROR,
                        format="smtpd.py: %(message)s")
    ppid = os.getppid()
    sni_names = weakref.WeakKeyDictionary()
    ctx = None
    if args.tls_cert:
        ctx = tls_context(args.tls_cert, args.tls_key or args.tls_cert,
                          sni_names)
    authenticator = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        authenticator = make_authenticator(user, password)
    handler = Capture(args.dir, sni_names)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(handler, hostname="smtpd.test", ident="temabrev smtpd.py",
                    tls_context=ctx, authenticator=authenticator,
                    auth_required=args.require_auth, auth_require_tls=True,
                    timeout=60, loop=loop)

    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=args.port))
    write_port(args.port_file, server.sockets[0].getsockname()[1])
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    loop.call_later(args.max_seconds, loop.stop)
    watcher = loop.create_task(watch_parent(loop.stop, ppid))
    try:
        loop.run_forever()
    finally:
        watcher.cancel()
        server.close()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
