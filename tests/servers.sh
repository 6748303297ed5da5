# tests/servers.sh: the real servers the end-to-end tests start on
# 127.0.0.1, sourced after tests/lib.sh. Each test states what it needs
# (need_smtpd, need_dovecot); a missing Debian package skips the whole
# script with a message. Every process started here is stopped on exit.

# Debian's aiosmtpd and dkim are packages of the system python
# (TB_SMTPD_PYTHON overrides it).
PY=${TB_SMTPD_PYTHON:-/usr/bin/python3}
DOVE="$TB_SRCDIR/tests/dovecot.py"
PIDS=
DPID=
DC_STARTED=

skip_all() { echo "1..0 # SKIP $1"; exit 0; }
need_smtpd() {
	{ [ -x "$PY" ] && "$PY" -c 'import aiosmtpd' 2>/dev/null; } ||
	    skip_all "python3-aiosmtpd not installed"
}
need_dovecot() {
	command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
	    skip_all "dovecot (dovecot-imapd) not installed"
}

servers_stop() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	[ -n "$DC_STARTED" ] && "$PY" "$DOVE" stop "$TMP/dc" >/dev/null 2>&1
	# TB_KEEP=1 keeps the files for a look after a failure.
	[ -n "${TB_KEEP:-}" ] || rm -rf "$TMP"
}
trap servers_stop EXIT

# smtpd_start NAME [ARGS]: a capture server (tests/smtpd.py) storing into
# $TMP/NAME, on a port it picks; the port goes to SPORT.
smtpd_start() {
	sname=$1; shift
	mkdir -p "$TMP/$sname"
	"$PY" "$TB_SRCDIR/tests/smtpd.py" --dir "$TMP/$sname" \
	    --port-file "$TMP/$sname.port" --max-seconds 900 "$@" \
	    2>>"$TMP/smtpd.log" &
	PIDS="$PIDS $!"
	wait_for 30 test -s "$TMP/$sname.port"
	SPORT=$(cat "$TMP/$sname.port" 2>/dev/null)
}

# dc_start [ARGS]: a Dovecot in $TMP/dc; its ports and user in the
# variables tests/dovecot.py prints.
dc_start() {
	"$PY" "$DOVE" start "$TMP/dc" "$@" > "$TMP/dc.env" 2>"$TMP/dc.err" ||
	    return 1
	DC_STARTED=1
	. "$TMP/dc.env"
}
dc_count() { "$PY" "$DOVE" count "$TMP/dc" "$1"; }
deliver() { "$PY" "$DOVE" deliver "$TMP/dc" "$@"; }

# status EMAIL SLUG: the subscription's status word.
status() {
	tb sub show "$1" --json | "$PY" -c 'import json, sys
d = json.loads(sys.stdin.readline())
print([s["status"] for s in d["themes"] if s["slug"] == sys.argv[1]][0])' "$2"
}
