#!/bin/sh
# End-to-end tests of temabrevd (issue 6): the real daemon with a real
# HTTP feed server (tests/httpd.py), the SMTP capture server
# (tests/smtpd.py) and Dovecot (tests/dovecot.py), all on 127.0.0.1.
# The clock is injected with TEMABREV_NOW=@T (a clock that starts at T
# and runs), so a digest time comes a few seconds after the start.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TB_SRCDIR/tests/servers.sh"

MAIL="$TB_SRCDIR/tests/inbox-mail.py"
CHECK="$TB_SRCDIR/tests/send-check.py"
TEMABREVD="$TB_BUILDDIR/src/temabrevd"
need_smtpd
need_dovecot

. "$TB_SRCDIR/tests/daemon-lib.sh"
unsubscribed() { [ "$(status "$1" "$2")" = unsubscribed ]; }
item() {
	printf '<item><title>%s</title><link>https://msi.example.org/%s/</link>' \
	    "$2" "$1"
	printf '<guid isPermaLink="false">%s</guid>' "$1"
	printf '<description>%s</description></item>\n' "$3"
}
# feed FILE ITEMS...: an RSS file of the items (each "guid|title|text").
feed() {
	out=$1; shift
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<rss version="2.0"><channel><title>MSI</title>'
		echo '<link>https://msi.example.org/</link><description>d</description>'
		for it in "$@"; do
			IFS='|' read -r g t x <<EOF
$it
EOF
			item "$g" "$t" "$x"
		done
		echo '</channel></rss>'
	} > "$out.tmp" && mv "$out.tmp" "$out"
}

smtpd_start cap
check "smtp capture server is up" test -n "$SPORT"
check "dovecot is up" dc_start
feed "$TMP/feed.xml" "a1|Räksmörgåsar på Åland|Om samverkan i skärgården."
"$PY" "$TB_SRCDIR/tests/httpd.py" "$TMP/http.port" "$TMP/feed.xml" \
    --max-seconds 900 &
PIDS="$PIDS $!"
check "http feed server is up" wait_for 30 test -s "$TMP/http.port"
HPORT=$(cat "$TMP/http.port")

mkconf() {
	cat > "$TMP/t.conf" <<CONF
[general]
from = Mötesplats Social Innovation <nyhetsbrev@example.org>
list_domain = lists.example.org
base_url = https://lists.example.org
templates = $TB_SRCDIR/templates
timezone = Europe/Stockholm
pidfile = $TMP/temabrevd.pid
[feeds]
poll_interval = 60
[smtp]
host = localhost
port = $SPORT
tls = none
rate = 0
connections = 4
max_per_connection = 50
timeout = 20
[send]
retry = 1
[imap]
host = 127.0.0.1
port = $PORT
tls = none
user = $USER
password_file = $PASSFILE
timeout = 10
[http]
listen = 127.0.0.1:0
CONF
}
mkconf
cp "$TMP/t.conf" "$TMP/good.conf"
export TEMABREV_CONFIG="$TMP/t.conf"
DB="$TMP/t.db"

run 0 tb theme add barn --name "Barnets rätt"
for n in anna bo cia dan eva; do
	run 0 tb sub add "$n@example.org" --name "$n" --theme barn
	printf '%s@example.org\t%s\n' "$n" "$n" >> "$TMP/barn.tsv"
done
run 0 tb feed add barn "http://127.0.0.1:$HPORT/live"
run 0 tb theme edit barn --schedule "daily 09:00"
T1=$(epoch "2026-11-24 09:00")
T2=$(epoch "2026-11-25 09:00")

# ---------------------------------------------------------------------
# -n: the configuration check.
# ---------------------------------------------------------------------
check "-n: a good configuration exits 0" run 0 "$TEMABREVD" -n --db "$DB"
check "... and says so" has "are good" "$TMP/out"
sed "s|^templates = .*|templates = $TMP/none|" "$TMP/t.conf" > "$TMP/bad.conf"
check "-n: missing templates exit 78" \
    run 78 "$TEMABREVD" -n --db "$DB" --config "$TMP/bad.conf"
check "... naming the directory" has "$TMP/none" "$TMP/err"
cp -r "$TB_SRCDIR/templates" "$TMP/tpl"
rm "$TMP/tpl/confirm-subscribe.sv.txt"
sed "s|^templates = .*|templates = $TMP/tpl|" "$TMP/t.conf" > "$TMP/tpl.conf"
check "-n: a missing confirmation template exits 78" \
    run 78 "$TEMABREVD" -n --db "$DB" --config "$TMP/tpl.conf"
check "... naming it" has "confirm-subscribe.sv.txt" "$TMP/err"
printf '[smtp]\nport = 465\n' >> "$TMP/bad.conf"
check "-n: two problems, both reported" \
    run 78 "$TEMABREVD" -n --db "$DB" --config "$TMP/bad.conf"
check "... the port too" has "465" "$TMP/err"
check "-n: an unknown time zone exits 78" sh -c "
	sed 's|^timezone = .*|timezone = Europe/Atlantis|' '$TMP/t.conf' \
	    > '$TMP/tz.conf'
	'$TEMABREVD' -n --db '$DB' --config '$TMP/tz.conf' 2>'$TMP/tz.err'
	[ \$? -eq 78 ] && grep -q Atlantis '$TMP/tz.err'"
check "a daemon with a bad configuration does not start (78)" \
    run 78 "$TEMABREVD" -f --db "$DB" --config "$TMP/bad.conf"

# ---------------------------------------------------------------------
# The day's digest: feed polled over HTTP, the schedule fires, every
# active subscriber gets the edition.
# ---------------------------------------------------------------------
check "the daemon starts four seconds before 09:00" \
    dstart "$TMP/d1.log" $((T1 - 4))
check "... writes its pidfile" sh -c "[ \"\$(cat '$TMP/temabrevd.pid')\" = $DPID ]"
check "... holds the lock file next to the database" test -f "$DB.lock"
check "a second daemon on the same database exits 75" \
    run 75 "$TEMABREVD" -f --db "$DB"
check "... naming the first one's pid" has "pid $DPID" "$TMP/err"
check "the feed is polled at start" \
    wait_for 20 grep -q "feed 1 (barn): 1 new" "$TMP/d1.log"
check "at 09:00 the digest is made and queued" \
    wait_for 30 grep -q "digest of barn: edition 1, 1 item, 5 recipients" \
    "$TMP/d1.log"
check "... and reaches all five subscribers" wait_for 30 done_sent 1 5
check "... each once, personalised, with the item" \
    "$PY" "$CHECK" "$TMP/cap" --expect "$TMP/barn.tsv" --max-dups 0 \
    --slug barn --base-url https://lists.example.org \
    --contains "Räksmörgåsar på Åland"
check "the digest is recorded as made for 09:00" sh -c "
	'$TB_SQLITE3' '$DB' 'SELECT last_digest FROM theme' | grep -qx $T1"

# ---------------------------------------------------------------------
# An "avsluta" reply reaches the inbox the daemon watches.
# ---------------------------------------------------------------------
"$PY" "$MAIL" reply-avsluta "$TMP/cap/anna@example.org" "$TMP/r1"
mkdir -p "$TMP/cap1"
mv "$TMP/cap"/* "$TMP/cap1/"
check "a reply is delivered to the list's mailbox" \
    "$PY" "$DOVE" deliver "$TMP/dc" "$TMP/r1"
check "the daemon unsubscribes anna (IDLE)" \
    wait_for 30 unsubscribed anna@example.org barn
check "... and mails her the confirmation" \
    wait_for 30 test -s "$TMP/cap/anna@example.org"
check "... files the reply" \
    wait_for 20 sh -c "[ \"\$('$PY' '$DOVE' count '$TMP/dc' INBOX)\" = 0 ]"

# ---------------------------------------------------------------------
# Signals: SIGUSR1 logs a status line, SIGHUP with a broken
# configuration keeps the old one, a good one is taken.
# ---------------------------------------------------------------------
kill -USR1 "$DPID"
check "SIGUSR1 logs a status line" \
    wait_for 10 grep -q "status: up" "$TMP/d1.log"
echo "this is not = [valid" >> "$TMP/t.conf"
kill -HUP "$DPID"
check "SIGHUP with a broken file: refused, logged" \
    wait_for 10 grep -q "reload refused, the old configuration stays" \
    "$TMP/d1.log"
check "... the daemon still runs" alive
cp "$TMP/good.conf" "$TMP/t.conf"
sed -i "s|^templates = .*|templates = $TMP/none|" "$TMP/t.conf"
kill -HUP "$DPID"
check "SIGHUP with missing templates: refused too" wait_for 10 sh -c "
	[ \$(grep -c 'reload refused' '$TMP/d1.log') -ge 2 ]"
cp "$TMP/good.conf" "$TMP/t.conf"
kill -HUP "$DPID"
check "SIGHUP with a good file: reloaded" \
    wait_for 10 grep -q "configuration reloaded" "$TMP/d1.log"
check "... still running" alive
# The inbox sits in IDLE on INBOX (25 minutes at a time); a reload that
# names another mailbox takes effect at once, not after the IDLE.
"$PY" "$MAIL" reply-human "$TMP/cap1/anna@example.org" "$TMP/r2"
check "a reply delivered to another mailbox, Lista" \
    "$PY" "$DOVE" deliver "$TMP/dc" --mailbox Lista "$TMP/r2"
printf '[imap]\nmailbox = Lista\n' >> "$TMP/t.conf"
kill -HUP "$DPID"
check "SIGHUP naming that mailbox: reloaded" wait_for 10 sh -c "
	[ \$(grep -c 'configuration reloaded' '$TMP/d1.log') -ge 2 ]"
check "... is handled within 15 seconds (the IDLE was ended)" \
    wait_for 15 sh -c "[ \"\$('$PY' '$DOVE' count '$TMP/dc' Lista)\" = 0 ]"
cp "$TMP/good.conf" "$TMP/t.conf"
kill -HUP "$DPID"
check "... and back to INBOX" wait_for 10 sh -c "
	[ \$(grep -c 'configuration reloaded' '$TMP/d1.log') -ge 3 ]"
dstop
check "SIGTERM: exits 0" test "$DRC" -eq 0
check "... within 5 seconds ($STOP_MS ms, IMAP watch included)" \
    test "$STOP_MS" -lt 5000
check "... removes its pidfile" test ! -e "$TMP/temabrevd.pid"
check "... and the lock file" test ! -e "$DB.lock"

# ---------------------------------------------------------------------
# The next day: a new item, and anna no longer gets the digest.
# ---------------------------------------------------------------------
feed "$TMP/feed.xml" "a1|Räksmörgåsar på Åland|Om samverkan i skärgården." \
    "a2|Trygghet i offentliga rum|Om ljus och närvaro."
rm -f "$TMP/cap"/*
check "restarted four seconds before the next 09:00" \
    dstart "$TMP/d2.log" $((T2 - 4))
check "the new item is fetched" \
    wait_for 20 grep -q "feed 1 (barn): 1 new" "$TMP/d2.log"
check "the second digest carries only the new item" \
    wait_for 30 grep -q "digest of barn: edition [0-9]*, 1 item, 4 recipients" \
    "$TMP/d2.log"
ED2=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])')
check "... reaches the four still subscribed" wait_for 30 done_sent "$ED2" 4
grep -v '^anna' "$TMP/barn.tsv" > "$TMP/barn2.tsv"
check "... and not anna" \
    "$PY" "$CHECK" "$TMP/cap" --expect "$TMP/barn2.tsv" --max-dups 0 \
    --slug barn --base-url https://lists.example.org \
    --contains "Trygghet i offentliga rum" --lacks "Räksmörgåsar" \
    --absent anna@example.org
dstop

# A scheduled send (edition send --at is the CLI's; the daemon honours
# any draft whose send_at has come).
feed "$TMP/feed.xml" "a3|Digital inkludering|Om bibliotek."
run 0 tb feed fetch
run 0 tb edition new barn --subject "Schemalagt"
ED3=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])')
"$TB_SQLITE3" "$DB" "UPDATE edition SET send_at = $((T2 + 3600)) WHERE id = $ED3"
rm -f "$TMP/cap"/*
check "restarted just before a scheduled send" \
    dstart "$TMP/d3.log" $((T2 + 3600 - 3))
check "the scheduled edition is queued when its time comes" \
    wait_for 30 grep -q "edition $ED3: scheduled send, 4 recipients queued" \
    "$TMP/d3.log"
check "... and sent" wait_for 30 done_sent "$ED3" 4
dstop

# ---------------------------------------------------------------------
# SIGTERM in the middle of a 2,000-message send, then a restart.
# ---------------------------------------------------------------------
"$PY" -c '
import csv, sys
first = ["Åsa", "Örjan", "Märta", "Björn", "Ingrid", "Kåre", "Ylva", "Göran"]
w = csv.writer(open(sys.argv[1], "w", newline="", encoding="utf-8"))
t = open(sys.argv[2], "w", encoding="utf-8")
w.writerow(["email", "name", "themes"])
for i in range(2000):
    email = "medlem%04d@example.org" % i
    name = "%s %d" % (first[i % 8], i)
    w.writerow([email, name, "folkhalsa"])
    t.write("%s\t%s\n" % (email, name))
' "$TMP/f.csv" "$TMP/f.tsv"
run 0 tb theme add folkhalsa --name "Jämlik folkhälsa"
check "import 2,000 subscribers" run 0 tb sub import "$TMP/f.csv"
run 0 tb feed add folkhalsa "http://127.0.0.1:$HPORT/live"
run 0 tb feed fetch
check "temabrev digest queues 2,000 for the daemon" run 0 tb digest folkhalsa
EDF=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])')
printf '[smtp]\nrate = 300\n' >> "$TMP/t.conf"
rm -rf "$TMP/cap"/*
check "the daemon starts sending" dstart "$TMP/d4.log"
check "... some arrive" wait_for 30 at_least "$TMP/cap" 100
dstop
got=$(count "$TMP/cap")
check "SIGTERM mid-send stops within 5 s ($STOP_MS ms)" test "$STOP_MS" -lt 5000
check "... with $got of 2,000 sent" test "$got" -lt 2000
check "... and exits 0" test "$DRC" -eq 0
cp "$TMP/good.conf" "$TMP/t.conf"
check "restarted" dstart "$TMP/d5.log"
check "the restart finishes the edition" wait_for 120 done_sent "$EDF" 2000
check "everyone got it, at most 200 (4 x 50) twice" \
    "$PY" "$CHECK" "$TMP/cap" --expect "$TMP/f.tsv" --max-dups 200 \
    --sample 97 --slug folkhalsa --base-url https://lists.example.org
dstop

# ---------------------------------------------------------------------
# Concurrency: while the daemon sends 2,000, the CLI imports 30,000
# subscribers and runs temabrev send itself. Nothing waits past the busy
# timeout (that would be an error), nothing is sent twice or lost.
# ---------------------------------------------------------------------
"$PY" -c '
import csv, sys
w = csv.writer(open(sys.argv[1], "w", newline="", encoding="utf-8"))
w.writerow(["email", "name", "themes"])
for i in range(30000):
    w.writerow(["ny%05d@example.net" % i, "Ny Läsare %d" % i, "arbete"])
' "$TMP/big.csv"
run 0 tb theme add arbete --name "Arbetslivets framtid"
feed "$TMP/feed.xml" "a4|Arbetsmiljö|Om distansarbete."
run 0 tb feed fetch
run 0 tb edition new folkhalsa --subject "Folkhälsa igen"
EDC=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])')
"$TB_SQLITE3" "$DB" "UPDATE edition SET send_at = 1 WHERE id = $EDC"
printf '[smtp]\nrate = 1000\nconnections = 2\n' >> "$TMP/t.conf"
rm -rf "$TMP/cap"/*
check "the daemon starts the scheduled 2,000" dstart "$TMP/d6.log"
wait_for 30 at_least "$TMP/cap" 20
tb sub import "$TMP/big.csv" > "$TMP/imp.out" 2>&1 &
IMP=$!
check "temabrev send alongside the daemon exits 0 or 75" sh -c "
	timeout 120 '$TEMABREV' --db '$DB' send > '$TMP/cs.out' 2>&1
	rc=\$?; [ \$rc -eq 0 ] || [ \$rc -eq 75 ]"
wait "$IMP"
check "the import alongside both exits 0" test $? -eq 0
check "... all 30,000 are subscribed" sh -c "
	[ \$('$TB_SQLITE3' '$DB' \"SELECT count(*) FROM subscription s JOIN theme t ON t.id = s.theme_id WHERE t.slug = 'arbete' AND s.status = 'active'\") -eq 30000 ]"
check "the edition is done" wait_for 120 done_sent "$EDC" 2000
check "each of the 2,000 got exactly one copy" \
    "$PY" "$CHECK" "$TMP/cap" --expect "$TMP/f.tsv" --max-dups 0 \
    --sample 197 --slug folkhalsa --base-url https://lists.example.org
check "nothing in the daemon's log about a locked database" sh -c "
	! grep -qi 'locked' '$TMP/d6.log'"
dstop
check "stopped cleanly" test "$DRC" -eq 0

# ---------------------------------------------------------------------
# Without -f: a real daemon (double fork, syslog), found by its lock.
# ---------------------------------------------------------------------
cp "$TMP/good.conf" "$TMP/t.conf"
check "temabrevd without -f returns at once, exit 0" \
    run 0 timeout 20 "$TEMABREVD" --db "$DB"
check "... and runs in the background (pidfile)" \
    wait_for 10 test -s "$TMP/temabrevd.pid"
BG=$(cat "$TMP/temabrevd.pid" 2>/dev/null)
check "... its lock file names the same pid" sh -c "
	[ \"\$(cut -d' ' -f1 '$DB.lock')\" = '$BG' ]"
check "... not attached to our session" sh -c "
	[ \"\$(ps -o sid= -p '$BG' | tr -d ' ')\" != \"\$(ps -o sid= -p $$ | tr -d ' ')\" ]"
kill -TERM "$BG" 2>/dev/null
check "... SIGTERM ends it" wait_for 10 sh -c "! kill -0 '$BG'"

done_testing
