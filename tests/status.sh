#!/bin/sh
# temabrev status and edition send --at (issue 6): status with no daemon
# and with the real temabrevd running, its JSON keys, the queue counts,
# a failing feed's error, the job records of CLI runs, the next digest
# across both daylight-saving switches of Europe/Stockholm, and a send
# scheduled with --at that the daemon makes at that time (a running test
# clock, TEMABREV_NOW=@T). Servers: tests/httpd.py and tests/smtpd.py on
# 127.0.0.1.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TB_SRCDIR/tests/servers.sh"
. "$TB_SRCDIR/tests/daemon-lib.sh"

TEMABREVD="$TB_BUILDDIR/src/temabrevd"
need_smtpd

# js EXPR: evaluates a Python expression on the JSON object in $TMP/s.json
# (as d) and prints it; fails when it raises.
js() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$TMP/s.json" "$1"
}
# is EXPR VALUE: js EXPR prints VALUE.
is() {
	got=$(js "$1") || return 1
	[ "$got" = "$2" ] || { echo "$1 is $got, expected $2"; return 1; }
}
status_json() { tb status --json > "$TMP/s.json"; }
# tbat T ARGS...: temabrev with its clock stopped at T.
tbat() { tbat_t=$1; shift; env TEMABREV_NOW="$tbat_t" "$TEMABREV" --db "$DB" "$@"; }
feed() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<rss version="2.0"><channel><title>MSI</title>'
		echo '<link>https://msi.example.org/</link><description>d</description>'
		for g in "$@"; do
			printf '<item><title>Artikel %s</title>' "$g"
			printf '<link>https://msi.example.org/%s/</link>' "$g"
			printf '<guid isPermaLink="false">%s</guid>' "$g"
			printf '<description>Om %s.</description></item>\n' "$g"
		done
		echo '</channel></rss>'
	} > "$TMP/feed.xml.tmp" && mv "$TMP/feed.xml.tmp" "$TMP/feed.xml"
}

smtpd_start cap
check "smtp capture server is up" test -n "$SPORT"
feed a1
"$PY" "$TB_SRCDIR/tests/httpd.py" "$TMP/http.port" "$TMP/feed.xml" \
    --max-seconds 600 &
PIDS="$PIDS $!"
check "http feed server is up" wait_for 30 test -s "$TMP/http.port"
HPORT=$(cat "$TMP/http.port")

cat > "$TMP/t.conf" <<CONF
[general]
from = Mötesplats Social Innovation <nyhetsbrev@example.org>
list_domain = lists.example.org
base_url = https://lists.example.org
templates = $TB_SRCDIR/templates
timezone = Europe/Stockholm
[feeds]
poll_interval = 60
[smtp]
host = localhost
port = $SPORT
tls = none
rate = 0
[send]
retry = 1
[http]
listen = 127.0.0.1:0
CONF
export TEMABREV_CONFIG="$TMP/t.conf"
DB="$TMP/t.db"

# ---------------------------------------------------------------------
# No daemon, a fresh database.
# ---------------------------------------------------------------------
check "status on a fresh database exits 0" run 0 tb status
check "... says no daemon runs" has "no daemon runs on $DB" "$TMP/out"
check "... lists the four jobs as never run" \
    sh -c "[ \$(grep -c 'never ran' '$TMP/out') -eq 4 ]"
check "... and the inbox as not configured" has "inbox:     not configured" \
    "$TMP/out"
check "status --json is one JSON object" status_json
check "... with its stable keys" is "list(d)" "['database', 'timezone', \
'now', 'daemon', 'queue', 'scheduled', 'jobs', 'inbox', 'feeds', 'themes']"
check "... daemon keys" is "sorted(d['daemon'])" \
    "['pid', 'running', 'started', 'uptime']"
check "... queue keys" is "sorted(d['queue'])" "['deferred', 'failed', \
'next_retry', 'queued', 'sending', 'sent_last_day', 'sent_last_hour']"
check "... scheduled keys" is "sorted(d['scheduled'])" \
    "['drafts', 'next_edition', 'next_send']"
check "... one entry per job, the daemon's names" is "list(d['jobs'])" \
    "['feeds', 'schedule', 'send', 'inbox']"
check "... job keys" is "sorted(d['jobs']['send'])" \
    "['error', 'last_end', 'last_start', 'next_run', 'ok', 'running']"
check "... inbox keys" is "sorted(d['inbox'])" \
    "['configured', 'error', 'last_check']"
check "... no daemon" is "(d['daemon']['running'], d['daemon']['pid'])" \
    "(False, None)"
check "... the zone" is "d['timezone']" "Europe/Stockholm"
check "status refuses an argument (64)" run 64 tb status extra

# ---------------------------------------------------------------------
# Feeds, one failing; CLI runs are recorded as the daemon's jobs.
# ---------------------------------------------------------------------
run 0 tb theme add barn --name "Barnets rätt"
for n in anna bo cia; do run 0 tb sub add "$n@example.org" --theme barn; done
run 0 tb feed add barn "http://127.0.0.1:$HPORT/live"
run 0 tb feed add barn "http://127.0.0.1:$HPORT/error"
check "feed fetch with a failing feed exits 75" run 75 tb feed fetch
status_json
check "the failing feed's error is shown" \
    is "'500' in d['feeds'][1]['error'] and d['feeds'][1]['failures']" 1
check "... the good one's too" \
    is "(d['feeds'][0]['http_status'], d['feeds'][0]['error'])" "(200, None)"
check "... each with its last poll" \
    is "all(f['last_poll'] for f in d['feeds'])" True
check "the CLI's fetch is the feeds job, failed, with its reason" \
    is "(d['jobs']['feeds']['ok'], d['jobs']['feeds']['error'])" \
    "(False, '1 feed failed; the others were fetched')"
run 0 tb status
check "the human status shows the feed's error" has "error: " "$TMP/out"
check "... under its URL" grep -A1 -q "http://127.0.0.1:$HPORT/error$" \
    "$TMP/out"
check "... the good feed's HTTP status" \
    grep -q " 200  http://127.0.0.1:$HPORT/live$" "$TMP/out"
run 0 tb feed rm 2

check "inbox process without [imap] fails (78)" run 78 tb inbox process
status_json
check "... recorded as the inbox job's error" \
    is "(d['inbox']['configured'], d['inbox']['error'])" \
    "(False, 'no [imap] host in the configuration')"
check "... the same as jobs.inbox" \
    is "d['jobs']['inbox']['error'] == d['inbox']['error']" True

# ---------------------------------------------------------------------
# The queue: a digest queued for the daemon.
# ---------------------------------------------------------------------
check "digest queues an edition" run 0 tb digest barn
status_json
check "status counts 3 queued" \
    is "[d['queue'][k] for k in ('queued', 'sending', 'deferred', 'failed')]" \
    "[3, 0, 0, 0]"
check "the digest is the schedule job, good" \
    is "(d['jobs']['schedule']['ok'], d['jobs']['schedule']['error'])" \
    "(True, None)"
run 0 tb status
check "the human status says 3 queued" has "3 queued, 0 sending" "$TMP/out"

# ---------------------------------------------------------------------
# The next digest in Europe/Stockholm around the switches.
# ---------------------------------------------------------------------
run 0 tb theme add natt --name "Natt"
run 0 tb theme edit natt --schedule "daily 02:30"
nd() {
	tbat "$(epoch "$1")" status --json > "$TMP/s.json" &&
	    is "[(t['next_digest'], t['next_digest_local'], t['due']) for t in d['themes'] if t['slug'] == 'natt'][0]" "$2"
}
check "spring: 02:30 does not exist on 29 March, 03:00 CEST is next" \
    nd "2026-03-28 12:00" "('2026-03-29T01:00:00Z', '2026-03-29 03:00 +0200', False)"
check "... and the day after, 02:30 CEST again" \
    nd "2026-03-29 12:00" "('2026-03-30T00:30:00Z', '2026-03-30 02:30 +0200', False)"
check "autumn: 02:30 occurs twice on 25 October, the first one runs" \
    nd "2026-10-24 12:00" "('2026-10-25T00:30:00Z', '2026-10-25 02:30 +0200', False)"
check "... and the day after, 02:30 CET" \
    nd "2026-10-25 12:00" "('2026-10-26T01:30:00Z', '2026-10-26 02:30 +0100', False)"
run 0 tbat "$(epoch "2026-03-28 12:00")" status
check "the human status shows the local time with its offset" \
    grep -q "natt .*daily 02:30 .*next digest 2026-03-29 03:00 +0200" "$TMP/out"
# A digest missed while no daemon ran is due.
"$TB_SQLITE3" "$DB" "UPDATE theme SET last_digest = $(epoch "2026-03-27 02:30") WHERE slug = 'natt'"
check "a missed digest shows as due" \
    nd "2026-03-28 12:00" "('2026-03-28T01:30:00Z', '2026-03-28 02:30 +0100', True)"
run 0 tb theme edit natt --schedule none

# ---------------------------------------------------------------------
# edition send --at: refusals.
# ---------------------------------------------------------------------
feed a1 a2
run 0 tb feed fetch
run 0 tb edition new barn --subject "Schemalagt"
ED=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])')
T0=$(epoch "2026-11-24 08:59:50")
atcli() { tbat "$T0" edition send "$ED" --at "$1"; }
check "--at in the past is refused (65)" run 65 atcli "2026-11-24 08:59"
check "... saying so" has "is in the past" "$TMP/err"
check "--at garbage is refused (65)" run 65 atcli "tomorrow"
check "... naming the format" has 'expected YYYY-MM-DD HH:MM' "$TMP/err"
check "--at a date that does not exist is refused" run 65 atcli "2026-02-30 09:00"
check "... one line" sh -c "[ \$(wc -l < '$TMP/err') -eq 1 ]"
check "--at 24:00 is refused" run 65 atcli "2026-11-24 24:00"
check "--at with --dry-run is a usage error (64)" \
    run 64 tb edition send "$ED" --dry-run --at "2026-11-24 09:00"
check "--at an edition already sent is refused" \
    sh -c "TEMABREV_NOW=$T0 '$TEMABREV' --db '$DB' edition send 1 \
    --at '2026-11-24 09:00' 2>'$TMP/e1'; [ \$? -eq 65 ] && \
    grep -q 'sent already' '$TMP/e1'"
status_json
check "status: no scheduled send yet" is "d['scheduled']['drafts']" 0

# ---------------------------------------------------------------------
# The daemon: status sees it; a send at 09:00 goes at 09:00.
# ---------------------------------------------------------------------
# A theme due at 09:00 wakes the schedule at that minute.
run 0 tb theme edit natt --schedule "daily 09:00"
check "the daemon starts ten seconds before 09:00" dstart "$TMP/d.log" "$T0"
check "edition send --at 09:00 schedules the draft" run 0 atcli "2026-11-24 09:00"
check "... saying when, in local time" \
    has "scheduled for 2026-11-24 09:00 +0100" "$TMP/out"
check "... without the no-daemon warning" sh -c "! grep -q warning '$TMP/err'"
run 0 tb edition list
check "edition list shows the scheduled time" \
    grep -q "^$ED .*draft .*\[send at 2026-11-24 09:00 +0100\] Schemalagt" \
    "$TMP/out"
tb edition list --json | tail -1 > "$TMP/s.json"
check "... and --json its send_at" is "d['send_at']" "2026-11-24T08:00:00Z"
status_json
check "status shows the daemon's pid" is "d['daemon']['pid']" "$DPID"
check "... running, with an uptime" \
    is "(d['daemon']['running'], d['daemon']['uptime'] >= 0)" "(True, True)"
check "... and the scheduled send" \
    is "(d['scheduled']['drafts'], d['scheduled']['next_edition'], d['scheduled']['next_send'])" \
    "(1, $ED, '2026-11-24T08:00:00Z')"
run 0 tb status
check "human status: the daemon's pid and uptime" \
    grep -q "^daemon: *temabrevd pid $DPID, up " "$TMP/out"
check "... the scheduled edition" \
    grep -q "^scheduled: *edition $ED at 2026-11-24 09:00 +0100" "$TMP/out"
check "the daemon sends the queued digest to all three" wait_for 30 done_sent 1 3
check "... the draft is still a draft before 09:00" \
    sh -c "'$TEMABREV' --db '$DB' edition show $ED --json | grep -q '\"status\":\"draft\"'"
check "at 09:00 the daemon queues the scheduled edition" \
    wait_for 40 grep -q "edition $ED: scheduled send, 3 recipients queued" \
    "$TMP/d.log"
check "... and sends it" wait_for 30 done_sent "$ED" 3
tb edition show "$ED" --json > "$TMP/s.json"
check "... queued no earlier than 09:00" \
    is "d['queued'] >= '2026-11-24T08:00:00Z'" True
wait_for 10 sh -c "'$TEMABREV' --db '$DB' status --json > '$TMP/s.json' &&
    grep -q '\"send\":{[^}]*\"ok\":true' '$TMP/s.json'"
status_json
check "status: the daemon's send job ran, good" \
    is "(d['jobs']['send']['ok'], d['jobs']['send']['last_end'] is not None)" \
    "(True, True)"
check "... its feeds job too, with the next run" \
    is "(d['jobs']['feeds']['ok'], d['jobs']['feeds']['next_run'] is not None)" \
    "(True, True)"
check "... nothing queued, six sent in the last hour" \
    is "(d['queue']['queued'], d['queue']['sent_last_hour'])" "(0, 6)"
check "... no scheduled send left" is "d['scheduled']['next_send']" None
dstop
status_json
check "after the daemon stops: not running" \
    is "(d['daemon']['running'], d['jobs']['feeds']['next_run'])" \
    "(False, None)"

# ---------------------------------------------------------------------
# File modes: 0666 & ~umask for the database and its -wal/-shm.
# ---------------------------------------------------------------------
check "with umask 002 the new database is 0660" sh -c "
	umask 002; '$TEMABREV' --db '$TMP/g.db' theme add gg --name G >/dev/null &&
	[ \"\$(stat -c %a '$TMP/g.db')\" = 660 ]"
check "with umask 022 it is 0640 (never world-readable)" sh -c "
	umask 022; '$TEMABREV' --db '$TMP/h.db' theme add hh --name H >/dev/null &&
	[ \"\$(stat -c %a '$TMP/h.db')\" = 640 ]"
check "-wal and -shm get the database's mode, whatever the opener's umask" sh -c "
	umask 022; '$PY' -c '
import sqlite3, sys, os, stat
c = sqlite3.connect(sys.argv[1]); c.execute(\"BEGIN IMMEDIATE\")
m = [stat.S_IMODE(os.stat(sys.argv[1] + s).st_mode) for s in (\"-wal\", \"-shm\")]
sys.exit(0 if m == [0o660, 0o660] else 1)' '$TMP/g.db'"
mkdir "$TMP/s"
check "the secret stays 0600" sh -c "
	umask 002; '$TEMABREV' --db '$TMP/s/s.db' theme add ss --name S >/dev/null &&
	'$TEMABREV' --db '$TMP/s/s.db' sub add x@example.org --theme ss >/dev/null &&
	[ \"\$(stat -c %a '$TMP/s/secret')\" = 600 ] &&
	[ \"\$(stat -c %a '$TMP/s/s.db')\" = 660 ]"

done_testing
