#!/bin/sh
# End-to-end tests of the inbox (issue 5): a real edition is sent to
# tests/smtpd.py, the answers a list gets back (replies, unsubscribe mail,
# bounces, complaints, auto-replies, junk) are made from the captured
# messages by tests/inbox-mail.py, delivered into a Dovecot started here
# by tests/dovecot.py on 127.0.0.1, and `temabrev inbox process` reads
# them over IMAP. Checks: what each message did to the subscribers, where
# it was filed, the confirmation mails, and that nothing is done twice
# after a crash, a dropped connection or a UIDVALIDITY change.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TB_SRCDIR/tests/servers.sh"

MAIL="$TB_SRCDIR/tests/inbox-mail.py"
need_smtpd
need_dovecot

tbt() { timeout 120 "$TEMABREV" --db "$DB" "$@"; }
count() { ls "$1" | wc -l | tr -d ' '; }
# msg NAME: the captured newsletter of that subscriber.
msg() { echo "$TMP/cap/$1@example.org"; }
mk() { "$PY" "$MAIL" "$@"; }
# subject FILE: the decoded Subject of a captured message.
subject() { "$PY" -c 'import email, email.policy, sys
raw = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[1]
print(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])' "$1"; }
subject_has() { subject "$1" | grep -qF -- "$2"; }
# both E1 S1 W1 E2 S2 W2: both subscriptions have those statuses.
both() { [ "$(status "$1" "$2")" = "$3" ] && [ "$(status "$4" "$5")" = "$6" ]; }
inbox() { tbt inbox process "$@" >"$TMP/out.txt" 2>"$TMP/err.txt"; }

smtpd_start cap
check "smtp capture server is up" test -n "$SPORT"
check "dovecot is up" dc_start
mkconf() {
	cat > "$TMP/t.conf" <<CONF
[general]
from = Mötesplats Social Innovation <nyhetsbrev@example.org>
list_domain = lists.example.org
templates = $TB_SRCDIR/templates
[smtp]
host = localhost
port = $SPORT
tls = none
rate = 0
timeout = 20
[imap]
host = 127.0.0.1
port = $PORT
tls = none
user = $USER
password_file = $PASSFILE
timeout = 10
CONF
}
mkconf
export TEMABREV_CONFIG="$TMP/t.conf"
DB="$TMP/t.db"

# Two themes, one Swedish and one English, and eleven subscribers.
run 0 tb theme add barn --name "Barnets rätt"
run 0 tb theme add work --name "Future of work" --lang en
for n in anna bo cia dan eva fia gun hans ida jon kim; do
	run 0 tb sub add "$n@example.org" --name "$n" --theme barn,work
done
cat > "$TMP/feed.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>MSI</title><link>https://msi.example.org/</link>
<description>d</description>
<item><title>Räksmörgåsar på Åland</title><link>https://msi.example.org/a/</link>
<guid>a1</guid><pubDate>Mon, 15 Mar 2021 10:00:00 +0100</pubDate>
<description>Om samverkan.</description></item>
</channel></rss>
XML
run 0 tb feed add barn "$TMP/feed.xml"
run 0 tb feed add work "$TMP/feed.xml"
run 0 tb feed fetch
run 0 tb edition new barn --subject "Nytt om barnets rätt"
ED_BARN=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])')
run 0 tb edition send "$ED_BARN"
check "the edition reached all eleven" test "$(count "$TMP/cap")" -eq 11
mkdir -p "$TMP/work-out"
mv "$TMP/cap"/* "$TMP/work-out/" 2>/dev/null
run 0 tb edition new work --subject "Future of work"
ED_WORK=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])')
run 0 tb edition send "$ED_WORK"
mkdir -p "$TMP/barn"
mv "$TMP/work-out"/* "$TMP/barn/"
mkdir -p "$TMP/work"
mv "$TMP/cap"/* "$TMP/work/"
B() { echo "$TMP/barn/$1@example.org"; }
W() { echo "$TMP/work/$1@example.org"; }

# ---------------------------------------------------------------------
# One of each: made from the captured messages, delivered, processed.
# ---------------------------------------------------------------------
M="$TMP/m"; mkdir -p "$M"
mk reply-avsluta "$(B anna)" "$M/01"
mk reply-unsubscribe-latin1 "$(W bo)" "$M/02"
mk reply-all "$(B cia)" "$M/03"
mk reply-quote-only "$(B dan)" "$M/04"
mk reply-sentence "$(B eva)" "$M/05"
mk reply-avsluta "$(B fia)" "$M/06" --from "someone.else@example.net"
mk unsubscribe-address "$(W gun)" "$M/07" --from "whoever@example.net"
mk bad-token "$(B gun)" "$M/08"
mk bounce-hard "$(B hans)" "$M/09"
mk bounce-soft "$(B ida)" "$M/10"
mk bounce-policy "$(B jon)" "$M/11"
mk bounce-delayed "$(B kim)" "$M/12"
mk bounce-unknown "$(B kim)" "$M/13"
mk complaint "$(W jon)" "$M/14"
mk autoreply "$(B kim)" "$M/15"
mk reply-human "$(B kim)" "$M/16"
mk reply-cp1252 "$(W kim)" "$M/17"
mk reply-raw-utf8 "$(W ida)" "$M/18"
mk no-headers "$(B kim)" "$M/19"
mk junk "$(B kim)" "$M/20"
mk reply-b64-avsluta "$(W eva)" "$M/21"
mk big "$(B kim)" "$M/22" --size 20000000
check "twenty-two messages delivered" deliver "$M"/01 "$M"/02 "$M"/03 \
    "$M"/04 "$M"/05 "$M"/06 "$M"/07 "$M"/08 "$M"/09 "$M"/10 "$M"/11 \
    "$M"/12 "$M"/13 "$M"/14 "$M"/15 "$M"/16 "$M"/17 "$M"/18 "$M"/19 \
    "$M"/20 "$M"/21 "$M"/22
before=$(count "$TMP/cap")
check "inbox process handles them" inbox
cp "$TMP/out.txt" "$TMP/first.txt"
sed 's/^/# /' "$TMP/first.txt"
check "one line per message and a summary" \
    test "$(grep -c ' -> ' "$TMP/first.txt")" -eq 22
check "... summary counts 22" has "22 messages" "$TMP/first.txt"
check "reply 'avsluta' unsubscribes from that theme only" \
    both anna@example.org barn unsubscribed anna@example.org work active
check "'Unsubscribe.' in ISO-8859-1 QP unsubscribes (English theme)" \
    test "$(status bo@example.org work)" = unsubscribed
check "'Avsluta alla' unsubscribes from every theme" \
    both cia@example.org barn unsubscribed cia@example.org work unsubscribed
check "a reply quoting only our footer unsubscribes nobody" \
    test "$(status dan@example.org barn)" = active
check "a sentence containing 'avsluta' unsubscribes nobody" \
    test "$(status eva@example.org barn)" = active
check "base64 'avregistrera' unsubscribes" \
    test "$(status eva@example.org work)" = unsubscribed
check "a reply from another address unsubscribes nobody (strict)" \
    test "$(status fia@example.org barn)" = active
check "mail to the unsubscribe address unsubscribes exactly that one" \
    both gun@example.org work unsubscribed gun@example.org barn active
check "a hard bounce marks the address bounced in every theme" \
    both hans@example.org barn bounced hans@example.org work bounced
check "one soft bounce does not" test "$(status ida@example.org barn)" = active
check "a policy refusal does not" test "$(status jon@example.org barn)" != bounced
check "a complaint unsubscribes from every theme" \
    both jon@example.org barn unsubscribed jon@example.org work unsubscribed
check "... and suppresses the address" \
    sh -c "'$TEMABREV' --db '$DB' suppress list | grep -q 'complaint'"
check "the delayed DSN, the auto-reply and human mail leave kim alone" \
    both kim@example.org barn active kim@example.org work active
check "the bounce for an address never mailed is logged" \
    has "never mailed" "$TMP/first.txt"
check "the forged token is logged, nothing done" \
    grep -q "forged.*nothing done" "$TMP/first.txt"
check "the 20 MB message is filed unread" \
    grep -q "oversize.*not read.*-> human" "$TMP/first.txt"
run 0 tb bounces list --json
check "bounces list: hard, soft, policy and the unknown address" \
    test "$(wc -l < "$TMP/out")" -eq 4
check "... with verdicts" sh -c "grep -q '\"verdict\":\"hard\"' '$TMP/out' &&
    grep -q '\"verdict\":\"soft\"' '$TMP/out' &&
    grep -q '\"verdict\":\"policy\"' '$TMP/out'"
BID=$("$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in open(sys.argv[1])
    if json.loads(l)["verdict"] == "hard"][0])' "$TMP/out")
run 0 tb bounces show "$BID"
check "bounces show prints the DSN as received" \
    has "Reporting-MTA: dns; mx.example.net" "$TMP/out"
run 65 tb bounces show 9999
check "bounces show of no such id: 65" has "no bounce 9999" "$TMP/err"

# Where things were filed (INBOX empty).
check "INBOX is empty" test "$(dc_count INBOX)" -eq 0
check "bounces filed to temabrev/bounces (5 DSNs)" \
    test "$(dc_count temabrev/bounces)" -eq 5
check "human mail filed to temabrev/human" \
    test "$(dc_count temabrev/human)" -ge 6

# Confirmations: to anna (barn), bo (work), cia (2), eva (work), gun
# (work), jon (2, the complaint's unsubscribes), and a request to fia.
after=$(count "$TMP/cap")
check "confirmation mails were sent" test "$after" -gt "$before"
check "fia got a request to confirm, in Swedish" \
    subject_has "$TMP/cap/fia@example.org" "Bekräfta att du vill avsluta"
check "nobody mailed someone.else@example.net" \
    test ! -e "$TMP/cap/someone.else@example.net"
check "anna got a confirmation in Swedish" \
    subject_has "$TMP/cap/anna@example.org" "Du har avslutat Barnets"
check "bo got one in English" \
    subject_has "$TMP/cap/bo@example.org" \
    "You have unsubscribed from Future of work"

# fia answers the request from her own address: that confirms.
mk reply-human "$TMP/cap/fia@example.org" "$M/30"
deliver "$M/30"
check "fia's reply to the request" inbox
check "... unsubscribes her" test "$(status fia@example.org barn)" = unsubscribed

# A second run: nothing new.
n_out=$(count "$TMP/cap")
check "a second run" inbox
check "... finds no messages" has "0 messages" "$TMP/out.txt"
check "... and mails nobody" test "$(count "$TMP/cap")" -eq "$n_out"

# ---------------------------------------------------------------------
# A crash after the commit and before the move: the second look only
# files the message, with no second effect and no second confirmation.
# ---------------------------------------------------------------------
mk reply-avsluta "$(W anna)" "$M/40"
deliver "$M/40"
n_out=$(count "$TMP/cap")
TEMABREV_CRASH=inbox-before-move:1 tbt inbox process --no-send \
    >"$TMP/crash.txt" 2>&1
check "killed before the move" test "$(dc_count INBOX)" -eq 1
check "... the effect was committed" \
    test "$(status anna@example.org work)" = unsubscribed
check "after the crash" inbox
check "... the message is only filed" grep -q "handled before" "$TMP/out.txt"
check "... INBOX empty" test "$(dc_count INBOX)" -eq 0
check "... exactly one confirmation for it" \
    test "$(count "$TMP/cap")" -eq $((n_out + 1))

# ---------------------------------------------------------------------
# A UIDVALIDITY change: everything is looked at again, nothing redone.
# ---------------------------------------------------------------------
mk reply-avsluta "$(B ida)" "$M/50"
mk reply-human "$(B dan)" "$M/51"
deliver "$M/50" "$M/51"
TEMABREV_CRASH=inbox-before-move:1 tbt inbox process --no-send \
    >/dev/null 2>&1
check "both still in INBOX" test "$(dc_count INBOX)" -eq 2
"$PY" "$DOVE" stop "$TMP/dc" >/dev/null 2>&1
"$PY" "$DOVE" reset-uidvalidity "$TMP/dc" >/dev/null 2>&1
check "dovecot restarted with a new UIDVALIDITY" dc_start
mkconf
n_events=$(tb sub show ida@example.org --json | grep -o unsubscribe | wc -l)
check "after the UIDVALIDITY change" inbox
check "... both seen before, nothing redone" \
    test "$(grep -c ' again: handled before' "$TMP/out.txt")" -eq 2
check "... INBOX empty" test "$(dc_count INBOX)" -eq 0
check "... no second unsubscribe event" \
    test "$(tb sub show ida@example.org --json | grep -o unsubscribe | wc -l)" \
    -eq "$n_events"

# ---------------------------------------------------------------------
# A crash in the middle of a pass of 2,500 messages (three chunks of at
# most 1,000 in one transaction each, moved after their commit): killed
# as the second chunk commits. The first chunk stays recorded and is
# only filed next time, found by its UIDs without being read again; the
# second is handled again, once; nothing is recorded twice.
# ---------------------------------------------------------------------
mkdir -p "$M/c"
mk reply-human "$(B kim)" "$M/c/m" --count 2500
deliver "$M"/c/m.*
first_only="SELECT count(*) FROM inbound WHERE action NOT LIKE 'seen before%'"
base=$("$TB_SQLITE3" "$DB" "$first_only")
TEMABREV_CRASH=inbox-chunk-commit:2 tbt inbox process --no-send \
    >"$TMP/crash.txt" 2>&1
check "killed as the second chunk commits" \
    test "$("$TB_SQLITE3" "$DB" "$first_only")" -eq $((base + 1000))
check "... nothing moved yet" test "$(dc_count INBOX)" -eq 2500
logn=$(wc -l < "$TMP/dc/dovecot.log")
# The bodies Dovecot sent in the sessions since (its logout lines).
bodies() {
	tail -n +$((logn + 1)) "$TMP/dc/dovecot.log" |
	    sed -n 's/.*Logged out.* body_count=\([0-9]*\).*/\1/p' |
	    awk '{ s += $1 } END { print s + 0 }'
}
check "the run after the crash" inbox --no-send
j=0
while [ "$(bodies)" -eq 0 ] && [ $j -lt 50 ]; do sleep 0.1; j=$((j + 1)); done
check "... files the first chunk without reading it again" \
    test "$(grep -c ' again: handled before' "$TMP/out.txt")" -eq 1000
check "... (Dovecot sent 1,500 bodies, not 2,500)" test "$(bodies)" -eq 1500
check "... handles the other 1,500" \
    test "$("$TB_SQLITE3" "$DB" "$first_only")" -eq $((base + 2500))
check "... INBOX empty" test "$(dc_count INBOX)" -eq 0
check "... no message key recorded twice as handled" \
    test "$("$TB_SQLITE3" "$DB" "SELECT count(*) FROM (SELECT msg_key FROM inbound WHERE action NOT LIKE 'seen before%' GROUP BY msg_key HAVING count(*) > 1)")" -eq 0

# ---------------------------------------------------------------------
# A dropped connection mid-FETCH: the server stops while 5000 messages are
# read; what was committed stays, and a clean second run does the rest,
# each message once.
# ---------------------------------------------------------------------
mkdir -p "$M/h"
mk reply-human "$(B kim)" "$M/h/m" --count 5000
deliver "$M"/h/m.*
base=$("$TB_SQLITE3" "$DB" "$first_only")
# The server stops once the first chunk (1000) is recorded (polled, at
# most 20 s), while the next is read.
(
	j=0
	while [ $j -lt 400 ] &&
	    [ "$("$TB_SQLITE3" "$DB" "$first_only" 2>/dev/null || echo 0)" \
	    -lt $((base + 1000)) ]; do
		sleep 0.05; j=$((j + 1))
	done
	"$PY" "$DOVE" stop "$TMP/dc" >/dev/null 2>&1
) &
stopper=$!
inbox --no-send
rc=$?
wait "$stopper"
check "the dropped connection ends the run (75 or 69), no hang" \
    sh -c "[ $rc -eq 75 ] || [ $rc -eq 69 ]"
check "... named in one line" grep -q "temabrev:.*127.0.0.1" "$TMP/err.txt"
check "... having handled some, not all" \
    test "$("$TB_SQLITE3" "$DB" "$first_only")" -lt $((base + 5000))
check "... printed a line for each message recorded, none for the chunk rolled back" \
    test "$(grep -c ' -> ' "$TMP/out.txt")" -eq \
    $(($("$TB_SQLITE3" "$DB" "$first_only") - base))
check "dovecot restarted" dc_start
mkconf
check "the second run" inbox --no-send
check "... empties INBOX" test "$(dc_count INBOX)" -eq 0
check "every one of the 5000 handled exactly once" \
    test "$("$TB_SQLITE3" "$DB" "$first_only")" -eq $((base + 5000))
check "... no message key recorded twice as handled" \
    test "$("$TB_SQLITE3" "$DB" "SELECT count(*) FROM (SELECT msg_key FROM inbound WHERE action NOT LIKE 'seen before%' GROUP BY msg_key HAVING count(*) > 1)")" -eq 0

# ---------------------------------------------------------------------
# Configuration errors: one line, EX_CONFIG.
# ---------------------------------------------------------------------
printf '[imap]\nhost = mail.example.org\ntls = none\nuser = u\n' \
    > "$TMP/bad.conf"
printf '[general]\nlist_domain = lists.example.org\n' >> "$TMP/bad.conf"
TEMABREV_CONFIG="$TMP/bad.conf" run 78 tb inbox process
check "tls=none to a remote host is refused (78)" \
    grep -qi "loopback" "$TMP/err"
printf '[imap]\ntls = sometimes\n' > "$TMP/bad2.conf"
TEMABREV_CONFIG="$TMP/bad2.conf" run 78 tb inbox process
check "a bad tls word names the line" grep -q "bad2.conf:2" "$TMP/err"
mkconf
sed -i "s|^password_file.*|password_file = $TMP/nope|" "$TMP/t.conf"
run 78 tb inbox process
check "a missing password file is named" grep -q "$TMP/nope" "$TMP/err"
mkconf
echo wrong > "$TMP/wrongpass"
sed -i "s|^password_file.*|password_file = $TMP/wrongpass|" "$TMP/t.conf"
tb inbox process >/dev/null 2>"$TMP/err"
rc=$?
check "a refused login exits non-zero with the server's words" \
    sh -c "[ $rc -ne 0 ] && grep -qi 'login\|auth' '$TMP/err'"
check "... and never shows the password" sh -c "! grep -q wrong '$TMP/err'"
mkconf

# ---------------------------------------------------------------------
# sub forget removes bounce reports and reply texts of the address.
# ---------------------------------------------------------------------
run 0 tb sub forget hans@example.org
check "forget: no bounce row names hans" \
    test "$("$TB_SQLITE3" "$DB" "SELECT count(*) FROM bounce WHERE address LIKE '%hans%' OR report LIKE '%hans%'")" -eq 0
run 0 tb sub forget dan@example.org
check "forget: no reply record names dan" \
    test "$("$TB_SQLITE3" "$DB" "SELECT count(*) FROM inbound WHERE sender LIKE '%dan@%'")" -eq 0

done_testing
