#!/usr/bin/python3
"""dovecot.py: a throwaway Dovecot IMAP server for temabrev's tests.

Everything lives under one scratch directory DIR: the configuration, a
test CA and a server certificate made with the openssl CLI, the password
file, the Maildir, the logs and Dovecot's runtime directories. It listens
on 127.0.0.1 only, on two ports picked free at run time: plain IMAP (with
STARTTLS) and implicit-TLS IMAPS (RFC 8314). The instance name is unique,
so parallel runs do not collide.

  start DIR [--separator / | .] [--no-move] [--no-uidplus] [--no-idle]
            [--cert-name NAME] [--parent PID] [--max-seconds N]
            [--mail-fsync optimized | always | never]
            [--mail-format maildir | mdbox]
      Writes the configuration (first time only: the CA, keys, password
      and mail survive a stop and a start), starts `dovecot -F`, waits
      (bounded) until the plain port greets, and prints shell-readable
      lines: HOST= PORT= TLSPORT= CAFILE= PID= USER= PASSFILE= MAILDIR=
      LOG= (also kept in DIR/env). --no-move, --no-uidplus and --no-idle
      take those capabilities out of what the server announces (the
      commands may still work; clients must not use them). --cert-name
      makes the server certificate name only NAME (default: localhost
      and 127.0.0.1). A watchdog stops the server when PID (default: the
      caller) exits or after N seconds (default 900). --mail-fsync sets
      Dovecot's mail_fsync (default optimized), for benchmarks that want
      to see what the server's fsync calls cost. --mail-format mdbox
      keeps the mail in Dovecot's own format instead of Maildir (MAILDIR
      is then only deliver's staging area).
  stop DIR
      Stops the server and waits (bounded) until the master and its
      processes are gone and the ports are free: restarting earlier fails.
  deliver DIR [--mailbox NAME] FILE...
      Drops each file as a new message into the mailbox's Maildir new/
      (INBOX by default; NAME uses '/' between levels), uniquely named,
      owned by the mail user. A running server sees them at its next
      SELECT, NOOP or IDLE wake-up. With mdbox they are imported with
      `doveadm import` instead.
  count DIR MAILBOX [--unseen]
      Prints how many messages (or unseen ones) MAILBOX holds, asked over
      IMAP (STATUS) with Python's imaplib. MAILBOX uses '/' between levels.
  reset-uidvalidity DIR
      With the server stopped: deletes Dovecot's UID lists and indexes,
      so the next start gives every mailbox a new UIDVALIDITY.

Exit status: 0 ok, 64 usage, 69 dovecot or openssl missing or the server
did not come up (the last log lines go to stderr), 75 stop timed out.
Run it with /usr/bin/python3; it needs only the standard library.
"""
import argparse
import imaplib
import os
import pwd
import grp
import secrets
import signal
import socket
import subprocess
import sys
import time

USER = "tbuser"
START_WAIT = 15.0   # seconds for the server to greet
STOP_WAIT = 15.0    # seconds for the master and its children to go
DEFAULT_CAPS = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT "
                "SORT=DISPLAY THREAD=REFERENCES THREAD=REFS "
                "THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE "
                "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
                "I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
                "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY "
                "PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ "
                "NOTIFY")


def die(code, msg):
    sys.stderr.write("dovecot.py: %s\n" % msg)
    sys.exit(code)


def which(prog, extra=("/usr/sbin", "/usr/bin", "/sbin", "/bin")):
    for d in os.environ.get("PATH", "").split(os.pathsep) + list(extra):
        p = os.path.join(d, prog)
        if d and os.access(p, os.X_OK):
            return p
    return None


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_openssl(args, cwd):
    openssl = which("openssl")
    if openssl is None:
        die(69, "openssl not found (apt-get install openssl)")
    r = subprocess.run([openssl] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        die(69, "openssl %s failed: %s" % (args[0],
                                          r.stdout.decode(errors="replace")))


def make_certs(d, cert_name):
    """A test CA (ca.pem, given to clients) and a server certificate."""
    if cert_name == "localhost":
        san = "DNS:localhost,IP:127.0.0.1,IP:::1"
    else:
        san = "DNS:" + cert_name
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=%s\n" % san)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    run_openssl(["req", "-x509"] + ec + [
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "3",
        "-subj", "/CN=temabrev test CA %s" % secrets.token_hex(4),
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    run_openssl(["req", "-new"] + ec + [
        "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=%s" % cert_name], d)
    run_openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
                 "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                 "-extfile", "server.ext", "-out", "server.pem"], d)


class Ids:
    """Who runs what: as root, mail:mail for mail and Dovecot's own users;
    otherwise everything runs as the calling user (no chroot)."""

    def __init__(self):
        self.root = os.geteuid() == 0
        if self.root:
            self.mail_uid = pwd.getpwnam("mail").pw_uid
            self.mail_gid = grp.getgrnam("mail").gr_gid
        else:
            self.mail_uid = os.geteuid()
            self.mail_gid = os.getegid()

    def chown(self, path):
        if self.root:
            os.chown(path, self.mail_uid, self.mail_gid)


def reachable(d):
    """As root, Dovecot's auth and mail processes run as other users and
    must reach DIR: DIR gets 0755, and each ancestor of ours that others
    cannot search gets o+x (search only, not listing)."""
    os.chmod(d, 0o755)
    p = os.path.dirname(d)
    while p != os.path.dirname(p):
        st = os.stat(p)
        if not st.st_mode & 0o001 and st.st_uid == os.geteuid():
            os.chmod(p, (st.st_mode & 0o7777) | 0o011)
        p = os.path.dirname(p)


def write_config(d, args, ids, ports):
    caps = DEFAULT_CAPS.split()
    for flag, cap in ((args.no_move, "MOVE"), (args.no_uidplus, "UIDPLUS"),
                      (args.no_idle, "IDLE")):
        if flag:
            caps.remove(cap)
    me = pwd.getpwuid(os.geteuid()).pw_name
    mygroup = grp.getgrgid(os.getegid()).gr_name
    lines = [
        "instance_name = tbtest-%d-%s" % (os.getpid(), secrets.token_hex(4)),
        "base_dir = %s/run" % d,
        "state_dir = %s/state" % d,
        "log_path = %s/dovecot.log" % d,
        "info_log_path = %s/dovecot.log" % d,
        "protocols = imap",
        "listen = 127.0.0.1",
        "ssl = yes",
        "ssl_cert = <%s/server.pem" % d,
        "ssl_key = <%s/server.key" % d,
        "ssl_min_protocol = TLSv1.2",
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login",
        "auth_verbose = yes",
        "auth_failure_delay = 0",
        ("mail_location = mdbox:%s/mail/%%u/mdbox" % d
         if args.mail_format == "mdbox" else
         "mail_location = maildir:%s/mail/%%u/Maildir" % d),
        "shutdown_clients = yes",
        "mail_fsync = %s" % args.mail_fsync,
        "imap_idle_notify_interval = 2 mins",
        "passdb {",
        "  driver = passwd-file",
        "  args = scheme=PLAIN username_format=%%u %s/users" % d,
        "}",
    ]
    if args.no_move or args.no_uidplus or args.no_idle:
        lines.append("imap_capability = " + " ".join(caps))
    if ids.root:
        lines += [
            "mail_uid = mail",
            "mail_gid = mail",
            "first_valid_uid = 8",
            "first_valid_gid = 8",
            "userdb {",
            "  driver = static",
            "  args = home=%s/mail/%%u" % d,
            "}",
        ]
    else:
        lines += [
            "default_internal_user = " + me,
            "default_login_user = " + me,
            "default_internal_group = " + mygroup,
            "first_valid_uid = 1",
            "first_valid_gid = 1",
            "userdb {",
            "  driver = static",
            "  args = uid=%s gid=%s home=%s/mail/%%u" % (me, mygroup, d),
            "}",
            "service anvil {",
            "  chroot =",
            "}",
        ]
    lines += [
        "namespace inbox {",
        "  inbox = yes",
        "  separator = " + args.separator,
        "}",
        "service imap-login {",
    ]
    if not ids.root:
        lines.append("  chroot =")
    lines += [
        "  inet_listener imap {",
        "    address = 127.0.0.1",
        "    port = %d" % ports[0],
        "  }",
        "  inet_listener imaps {",
        "    address = 127.0.0.1",
        "    port = %d" % ports[1],
        "    ssl = yes",
        "  }",
        "}",
        "",
    ]
    with open(os.path.join(d, "dovecot.conf"), "w") as f:
        f.write("\n".join(lines))


def read_env(d):
    env = {}
    try:
        with open(os.path.join(d, "env")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                env[k] = v
    except FileNotFoundError:
        die(64, "%s: no server was started here (no env file)" % d)
    return env


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def greets(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as s:
            s.settimeout(timeout)
            return s.recv(64).startswith(b"* OK")
    except OSError:
        return False


def log_tail(d, n=15):
    try:
        with open(os.path.join(d, "dovecot.log"), errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except FileNotFoundError:
        return "(no log)\n"


def watchdog(d, master, parent, max_seconds):
    """A detached process that stops the server when the test that started
    it is gone, or after max_seconds, so no server outlives a crash."""
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    deadline = time.monotonic() + max_seconds
    while alive(master):
        if not alive(parent) or time.monotonic() > deadline:
            try:
                os.kill(master, signal.SIGTERM)
            except ProcessLookupError:
                pass
            break
        time.sleep(0.5)
    os._exit(0)


def cmd_start(args):
    d = os.path.abspath(args.dir)
    dovecot = which("dovecot")
    if dovecot is None:
        die(69, "dovecot not found (apt-get install dovecot-imapd)")
    ids = Ids()
    os.makedirs(d, exist_ok=True)
    if ids.root:
        reachable(d)
    for sub in ("run", "state"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    if not os.path.exists(os.path.join(d, "ca.pem")):
        make_certs(d, args.cert_name)
    passfile = os.path.join(d, "password")
    if not os.path.exists(passfile):
        password = secrets.token_hex(12)
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, password.encode())
        os.close(fd)
        with open(os.path.join(d, "users"), "w") as f:
            f.write("%s:{PLAIN}%s::::::\n" % (USER, password))
    maildir = os.path.join(d, "mail", USER, "Maildir")
    for sub in ("", "new", "cur", "tmp"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    for root, dirs, files in os.walk(os.path.join(d, "mail")):
        ids.chown(root)
        for name in files:
            ids.chown(os.path.join(root, name))
    parent = args.parent if args.parent else os.getppid()

    for attempt in range(3):    # a picked port may be taken meanwhile
        ports = (free_port(), free_port())
        if ports[0] == ports[1]:
            continue
        write_config(d, args, ids, ports)
        out = open(os.path.join(d, "dovecot.out"), "ab")
        proc = subprocess.Popen(
            [dovecot, "-c", os.path.join(d, "dovecot.conf"), "-F"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True)
        out.close()
        deadline = time.monotonic() + START_WAIT
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            if greets(ports[0]):
                up = True
                break
            time.sleep(0.1)
        if up:
            break
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    else:
        sys.stderr.write(log_tail(d))
        try:
            with open(os.path.join(d, "dovecot.out"), errors="replace") as f:
                sys.stderr.write(f.read()[-2000:])
        except FileNotFoundError:
            pass
        die(69, "dovecot did not come up in %s" % d)

    env = [
        ("HOST", "127.0.0.1"),
        ("PORT", str(ports[0])),
        ("TLSPORT", str(ports[1])),
        ("CAFILE", os.path.join(d, "ca.pem")),
        ("PID", str(proc.pid)),
        ("USER", USER),
        ("PASSFILE", passfile),
        ("MAILDIR", maildir),
        ("LOG", os.path.join(d, "dovecot.log")),
        ("SEPARATOR", args.separator),
        ("FORMAT", args.mail_format),
    ]
    text = "".join("%s=%s\n" % kv for kv in env)
    with open(os.path.join(d, "env"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    sys.stdout.flush()
    watchdog(d, proc.pid, parent, args.max_seconds)
    return 0


def descendants(pid):
    """The processes below pid (Dovecot's login, imap, auth, ...)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def cmd_stop(args):
    """Stops the master and every process it started. Dovecot's imap
    processes can outlive the master by many seconds, holding their
    client connections open; tests want a stop to drop those at once."""
    d = os.path.abspath(args.dir)
    env = read_env(d)
    pid = int(env["PID"])
    ports = (int(env["PORT"]), int(env["TLSPORT"]))
    procs = descendants(pid) if alive(pid) else []
    for p in [pid] + procs:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + STOP_WAIT
    master_pid = os.path.join(d, "run", "master.pid")
    while time.monotonic() < deadline:
        left = [p for p in procs if alive(p)]
        if (not alive(pid) and not left and not os.path.exists(master_pid)
                and not any(greets(p, 0.2) for p in ports)):
            return 0
        if time.monotonic() > deadline - STOP_WAIT / 2:
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    die(75, "dovecot (pid %d) did not stop within %.0f s" % (pid, STOP_WAIT))


def mailbox_dir(maildir, name):
    """Maildir++ on disk: INBOX is the root, others are .a.b folders."""
    parts = [p for p in name.split("/") if p]
    if not parts or (len(parts) == 1 and parts[0].upper() == "INBOX"):
        return maildir
    return os.path.join(maildir, "." + ".".join(parts))


def cmd_deliver(args):
    d = os.path.abspath(args.dir)
    env = read_env(d)
    ids = Ids()
    box = mailbox_dir(env["MAILDIR"], args.mailbox)
    for sub in ("", "new", "cur", "tmp"):
        p = os.path.join(box, sub)
        if not os.path.isdir(p):
            os.makedirs(p)
            ids.chown(p)
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    for i, path in enumerate(args.files):
        with open(path, "rb") as f:
            data = f.read()
        # As Dovecot names what it delivers: S= the size, W= the size
        # with CRLF line ends (RFC822.SIZE), so a listing of sizes need
        # not read every file.
        vsize = len(data) + data.count(b"\n") - data.count(b"\r\n")
        name = "%d.M%dP%dQ%d_%s.%s,S=%d,W=%d" % (
            time.time(), time.time_ns() % 10**6, os.getpid(), i,
            secrets.token_hex(4), host, len(data), vsize)
        tmp = os.path.join(box, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        ids.chown(tmp)
        os.rename(tmp, os.path.join(box, "new", name))
    if env.get("FORMAT", "maildir") == "mdbox":
        # The Maildir above is only a staging area: Dovecot copies what
        # it holds into the user's mdbox in one go, then it is emptied.
        r = subprocess.run(
            [which("doveadm"), "-c", os.path.join(d, "dovecot.conf"),
             "import", "-u", env["USER"], "maildir:" + env["MAILDIR"], "",
             "mailbox", args.mailbox], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, timeout=600)
        if r.returncode != 0:
            die(69, "doveadm import: %s" % r.stderr.decode(errors="replace"))
        for sub in ("new", "cur"):
            for name in os.listdir(os.path.join(box, sub)):
                os.unlink(os.path.join(box, sub, name))
    return 0


def cmd_count(args):
    d = os.path.abspath(args.dir)
    env = read_env(d)
    with open(env["PASSFILE"]) as f:
        password = f.read().strip()
    name = args.mailbox.replace("/", env.get("SEPARATOR", "/"))
    m = imaplib.IMAP4("127.0.0.1", int(env["PORT"]), timeout=15)
    try:
        m.login(env["USER"], password)
        item = "UNSEEN" if args.unseen else "MESSAGES"
        typ, data = m.status('"%s"' % name, "(%s)" % item)
        if typ != "OK":
            die(69, "STATUS %s: %s" % (name, data))
        words = data[0].decode().replace("(", " ").replace(")", " ").split()
        print(words[words.index(item) + 1])
        m.logout()
    except imaplib.IMAP4.error as e:
        die(69, "count %s: %s" % (name, e))
    return 0


def cmd_reset_uidvalidity(args):
    d = os.path.abspath(args.dir)
    env = read_env(d)
    if alive(int(env["PID"])):
        die(64, "stop the server first (pid %s runs)" % env["PID"])
    newest = 0
    for root, dirs, files in os.walk(os.path.dirname(env["MAILDIR"])):
        for name in files:
            path = os.path.join(root, name)
            if name == "dovecot-uidlist":
                with open(path, errors="replace") as f:
                    for word in f.readline().split():
                        if word.startswith("V") and word[1:].isdigit():
                            newest = max(newest, int(word[1:]))
            if name.startswith("dovecot-uidlist") or \
                    name.startswith("dovecot.index") or \
                    name.startswith("dovecot.list.index"):
                os.unlink(path)
    # Dovecot takes the new UIDVALIDITY from the clock: make sure it moved.
    while int(time.time()) <= newest:
        time.sleep(0.2)
    return 0


def main():
    ap = argparse.ArgumentParser(description="a test Dovecot on 127.0.0.1")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start")
    p.add_argument("dir")
    p.add_argument("--separator", choices=["/", "."], default="/")
    p.add_argument("--no-move", action="store_true")
    p.add_argument("--no-uidplus", action="store_true")
    p.add_argument("--no-idle", action="store_true")
    p.add_argument("--cert-name", default="localhost")
    p.add_argument("--parent", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=900)
    p.add_argument("--mail-fsync", choices=["optimized", "always", "never"],
                   default="optimized")
    p.add_argument("--mail-format", choices=["maildir", "mdbox"],
                   default="maildir")
    p = sub.add_parser("stop")
    p.add_argument("dir")
    p = sub.add_parser("deliver")
    p.add_argument("dir")
    p.add_argument("--mailbox", default="INBOX")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("count")
    p.add_argument("dir")
    p.add_argument("mailbox")
    p.add_argument("--unseen", action="store_true")
    p = sub.add_parser("reset-uidvalidity")
    p.add_argument("dir")
    try:
        args = ap.parse_args()
    except SystemExit as e:
        sys.exit(64 if e.code else 0)
    return {"start": cmd_start, "stop": cmd_stop, "deliver": cmd_deliver,
            "count": cmd_count,
            "reset-uidvalidity": cmd_reset_uidvalidity}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
