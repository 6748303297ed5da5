#!/bin/sh
# End-to-end tests of double opt-in and the archive (issue 7, part 1).
# Confirmation mails are really sent to tests/smtpd.py; replies to them
# and mailed requests are delivered into a Dovecot started here by
# tests/dovecot.py on 127.0.0.1 and read by `temabrev inbox process`.
# Checks: one mail per address per day however often it is asked for,
# nothing for suppressed or active addresses, no name in the mail, no
# edition for a pending subscription, confirmation by reply (not by an
# auto-reply, not with a forged, expired or declined token), the
# SLUG+subscribe@ round trip, expiry, the event log's sources, and an
# archive without anything personal whose Atom feed and pages parse.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TB_SRCDIR/tests/servers.sh"

ACHK="$TB_SRCDIR/tests/archive-check.py"
need_smtpd
need_dovecot

smtpd_start cap
check "smtp capture server is up" test -n "$SPORT"
check "dovecot is up" dc_start

cat > "$TMP/t.conf" <<CONF
[general]
from = Mötesplats Social Innovation <nyhetsbrev@example.org>
list_domain = lists.example.org
base_url = https://news.example.org
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
[subscribe]
pending_days = 7
[http]
listen = 127.0.0.1:0
CONF
export TEMABREV_CONFIG="$TMP/t.conf"
DB="$TMP/t.db"
tbt() { timeout 120 "$TEMABREV" --db "$DB" "$@"; }
inbox() { tbt inbox process >"$TMP/in.txt" 2>&1; }
ncap() { ls "$TMP/cap" | grep -c "^$1" ; }
# status EMAIL SLUG: the subscription's status word, or "none".
status() {
	tb sub show "$1" --json 2>/dev/null | "$PY" -c 'import json, sys
l = sys.stdin.readline()
d = json.loads(l) if l else {"themes": []}
s = [t["status"] for t in d["themes"] if t["slug"] == sys.argv[1]]
print(s[0] if s else "none")' "$2"
}
# hdr FILE NAME: a header of a captured message, decoded.
hdr() { "$PY" -c 'import email, email.policy, sys
raw = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[1]
print(email.message_from_bytes(raw, policy=email.policy.default)[sys.argv[2]] or "")' "$1" "$2"; }
# conftok FILE: the token of confirm+TOKEN@ in a captured Reply-To.
conftok() { hdr "$1" Reply-To | sed -n 's/.*confirm+\([a-z2-7]*\)@.*/\1/p'; }
# reply FILE TO [HEADER]: a reply to a captured message, to address TO.
reply() {
	from=$(hdr "$1" To)
	{
		printf 'From: <%s>\nTo: <%s>\n' "$from" "$2"
		printf 'Subject: Re: %s\n' "$(hdr "$1" Subject | head -c 60)"
		printf 'Message-ID: <%s.%s@example.org>\n' "$$" "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
		[ $# -ge 3 ] && printf '%s\n' "$3"
		printf 'Date: Mon, 23 Nov 2026 10:00:00 +0100\n'
		printf 'Content-Type: text/plain; charset=utf-8\n\nJa tack!\n'
	}
}

run 0 tb theme add barn --name "Barnets rätt"
run 0 tb theme add work --name "Future of work" --lang en
run 0 tb sub add bo@example.org --name "Bo Zyxxbo" --theme barn,work

# ---------------------------------------------------------------------
# sub add --confirm: one mail, then none for a day.
# ---------------------------------------------------------------------
check "sub add --confirm makes a pending subscription" \
    run 0 tbt sub add anna@example.org --name "Anna Zyxxanna" --theme barn \
    --confirm
check "... and says a confirmation went out" has "confirmation mail sent" "$TMP/out"
check "... exactly one mail" test "$(ncap anna@example.org)" -eq 1
A1="$TMP/cap/anna@example.org"
TOK=$(conftok "$A1")
check "the mail's Reply-To is confirm+TOKEN@LIST_DOMAIN" test -n "$TOK"
check "... its link is BASE_URL/c/TOKEN" \
    grep -q "https://news.example.org/c/$TOK" "$A1"
check "... it never echoes the typed name" sh -c "! grep -qi zyxx '$A1'"
check "... it is marked Auto-Submitted" test "$(hdr "$A1" Auto-Submitted)" = auto-generated
check "... in the theme's language (Swedish subject)" \
    sh -c "'$PY' -c 'import sys' && test -n \"\$(echo '$(hdr "$A1" Subject)' | grep 'Bekräfta')\""
check "the subscription is pending" test "$(status anna@example.org barn)" = pending
check "sub show says until when it waits" \
    sh -c "'$TEMABREV' --db '$DB' sub show anna@example.org | grep -q 'waits for confirmation until'"
check "a second request within 24 h is accepted" \
    run 0 tbt sub add anna@example.org --theme barn --confirm
check "... and says why no mail went out" has "less than 24 hours" "$TMP/out"
check "... another theme the same day: no mail either" \
    run 0 tbt sub add anna@example.org --theme work --confirm
check "... still exactly one mail" test "$(ncap anna@example.org)" -eq 1
check "... work is pending too" test "$(status anna@example.org work)" = pending
check "an active subscriber asking again gets no mail" \
    run 0 tbt sub add bo@example.org --theme barn --confirm
check "... and the CLI says so" has "already active" "$TMP/out"
run 0 tb suppress add eva@example.org --reason "asked"
check "a suppressed address is accepted quietly" \
    run 0 tbt sub add eva@example.org --theme barn --confirm
check "... nothing stored" sh -c "! '$TEMABREV' --db '$DB' sub show eva@example.org >/dev/null 2>&1"
check "... nothing mailed to bo or eva" \
    test "$(ls "$TMP/cap" | grep -c -e '^bo@' -e '^eva@')" -eq 0
check "--no-send without --confirm is a usage error" \
    run 64 tb sub add x@example.org --theme barn --no-send
check "a bad address is refused" run 65 tb sub add nope --theme barn --confirm
check "an unknown theme is refused" \
    run 65 tb sub add x@example.org --theme nosuch --confirm

# ---------------------------------------------------------------------
# A pending subscription gets no edition.
# ---------------------------------------------------------------------
# feed ITEM...: writes the feed with those of its two items (a, b).
feed() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<rss version="2.0"><channel><title>MSI</title>'
		echo '<link>https://msi.example.org/</link><description>d</description>'
		for it in "$@"; do case $it in
		a) echo '<item><title>Räksmörgåsar på Åland</title><link>https://msi.example.org/a/</link>'
		   echo '<guid>a1</guid><pubDate>Mon, 15 Mar 2021 10:00:00 +0100</pubDate>'
		   echo '<description>Om &lt;b&gt;samverkan&lt;/b&gt; &amp; annat.</description></item>' ;;
		b) echo '<item><title>Andra &amp; tredje</title><link>https://msi.example.org/b/</link>'
		   echo '<guid>b1</guid><pubDate>Tue, 16 Mar 2021 10:00:00 +0100</pubDate>'
		   echo '<description>Mer om &lt;i&gt;samverkan&lt;/i&gt;.</description></item>' ;;
		c) echo '<item><title>Tredje</title><link>https://msi.example.org/c/</link>'
		   echo '<guid>c1</guid><description>Om bibliotek.</description></item>' ;;
		esac; done
		echo '</channel></rss>'
	} > "$TMP/feed.xml"
}
feed a
run 0 tb feed add barn "$TMP/feed.xml"
run 0 tb feed fetch
# send_new SLUG SUBJECT: makes an edition of the new items and sends it.
send_new() {
	tb edition new "$1" --subject "$2" >/dev/null &&
	id=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])') &&
	tbt edition send "$id" >/dev/null
}
check "an edition is sent" send_new barn "Första numret"
check "... the active subscriber got it" test "$(ncap bo@example.org)" -eq 1
check "... the pending one did not" test "$(ncap anna@example.org)" -eq 1
check "the theme counts her as pending, not active" \
    sh -c "'$TEMABREV' --db '$DB' theme list --json | grep -q '\"pending\": *1'"

# ---------------------------------------------------------------------
# Confirmation by reply.
# ---------------------------------------------------------------------
M="$TMP/m"; mkdir -p "$M"
reply "$A1" "confirm+$TOK@lists.example.org" "Auto-Submitted: auto-replied" > "$M/auto"
BAD=$(echo "$TOK" | sed 's/^\(.\)./\1a/; t; s/^/x/')
[ "$BAD" = "$TOK" ] && BAD=$(echo "$TOK" | sed 's/^\(.\)./\1b/')
reply "$A1" "confirm+$BAD@lists.example.org" > "$M/forged"
reply "$A1" "confirm+$TOK@lists.example.org" | sed 's/^Ja tack!$/avsluta/' > "$M/declined"
check "an auto-reply, a forged and a declining reply are delivered" \
    deliver "$M/auto" "$M/forged" "$M/declined"
check "inbox process reads them" inbox
sed 's/^/# /' "$TMP/in.txt"
check "... none of them confirms" test "$(status anna@example.org barn)" = pending
check "... the auto-reply is recognised" grep -q "autoreply" "$TMP/in.txt"
check "... the forged token is recognised" grep -q "forged" "$TMP/in.txt"
reply "$A1" "confirm+$TOK@lists.example.org" > "$M/yes"
check "a real reply is delivered" deliver "$M/yes"
check "inbox process reads it" inbox
sed 's/^/# /' "$TMP/in.txt"
check "... the subscription is active" test "$(status anna@example.org barn)" = active
check "... the summary counts it" grep -q "1 subscription confirmed" "$TMP/in.txt"
check "... the other theme's request is still pending" \
    test "$(status anna@example.org work)" = pending
check "confirming again with the token is fine" run 0 tbt sub confirm "$TOK"
check "... and says it was confirmed before" has "already confirmed" "$TMP/out"
check "a forged token is refused" run 65 tbt sub confirm "$BAD"
check "... as not a token of ours" has "not a confirmation token" "$TMP/err"
check "the event log: subscribe from cli, confirm by mail" \
    sh -c "'$TEMABREV' --db '$DB' sub show anna@example.org --json | '$PY' -c '
import json, sys
ev = [(e[\"kind\"], e[\"theme\"], e[\"source\"]) for e in json.loads(sys.stdin.read())[\"events\"]]
assert (\"subscribe\", \"barn\", \"cli\") in ev, ev
assert (\"confirm\", \"barn\", \"mail\") in ev, ev'"

# ---------------------------------------------------------------------
# Expiry: the token after pending_days, and sub expire.
# ---------------------------------------------------------------------
T0=1790000000
check "--no-send makes the request and prints the link" \
    env TEMABREV_NOW=$T0 "$TEMABREV" --db "$DB" sub add cia@example.org \
    --name "Cia Zyxxcia" --theme barn --confirm --no-send
env TEMABREV_NOW=$T0 "$TEMABREV" --db "$DB" sub add dora@example.org \
    --theme barn --confirm --no-send > "$TMP/dora.txt" 2>&1
CTOK=$(sed -n 's/^token: //p' "$TMP/dora.txt")
check "... no mail" test "$(ncap cia@example.org)" -eq 0
check "... the link is BASE_URL/c/TOKEN" \
    grep -q "^confirm link: https://news.example.org/c/$CTOK\$" "$TMP/dora.txt"
check "a token 8 days old is refused" \
    run 65 env TEMABREV_NOW=$((T0 + 8 * 86400)) "$TEMABREV" --db "$DB" \
    sub confirm "$CTOK"
check "... as expired" has "expired" "$TMP/err"
check "... the request is still pending" test "$(status dora@example.org barn)" = pending
check "sub expire after 6 days removes nothing" \
    run 0 env TEMABREV_NOW=$((T0 + 6 * 86400)) "$TEMABREV" --db "$DB" sub expire
check "... and says so" has "0 pending subscriptions expired" "$TMP/out"
check "sub expire after 8 days removes both old requests" \
    run 0 env TEMABREV_NOW=$((T0 + 8 * 86400)) "$TEMABREV" --db "$DB" sub expire
check "... and says so" has "2 pending subscriptions expired" "$TMP/out"
check "... cia is gone with her name (she never confirmed anything)" \
    run 65 tb sub show cia@example.org
check "anna's newer request (work) was not expired" \
    test "$(status anna@example.org work)" = pending

# ---------------------------------------------------------------------
# A request by mail to SLUG+subscribe@, confirmed by reply.
# ---------------------------------------------------------------------
{
	printf 'From: Dan <dan@example.org>\nTo: barn+subscribe@lists.example.org\n'
	printf 'Subject: subscribe\nMessage-ID: <req1@example.org>\n\nhej\n'
} > "$M/req"
{
	printf 'From: Fia <fia@example.org>\nTo: barn+subscribe@lists.example.org\n'
	printf 'Subject: Out of office\nAuto-Submitted: auto-replied\n'
	printf 'Message-ID: <req2@example.org>\n\nborta\n'
} > "$M/req-auto"
check "a subscription request by mail is delivered" deliver "$M/req" "$M/req-auto"
check "inbox process reads it" inbox
sed 's/^/# /' "$TMP/in.txt"
check "... dan is pending, not active" test "$(status dan@example.org barn)" = pending
check "... dan got one confirmation mail" test "$(ncap dan@example.org)" -eq 1
check "... marked as an auto-reply to his request" \
    test "$(hdr "$TMP/cap/dan@example.org" Auto-Submitted)" = auto-replied
check "... the auto-reply to the subscribe address did nothing" \
    test "$(status fia@example.org barn)" = none
DTOK=$(conftok "$TMP/cap/dan@example.org")
reply "$TMP/cap/dan@example.org" "confirm+$DTOK@lists.example.org" > "$M/dyes"
check "his reply is delivered" deliver "$M/dyes"
check "inbox process reads it" inbox
check "... dan is active" test "$(status dan@example.org barn)" = active
check "... the log says: subscribe by mail, confirm by mail" \
    sh -c "'$TEMABREV' --db '$DB' sub show dan@example.org | grep -c ' mail' | grep -qx 2"

# The mail server down when a request arrives: the request stays pending,
# the pass goes on, and the day's allowance is not spent.
sed "s/^port = $SPORT\$/port = 1/" "$TMP/t.conf" > "$TMP/down.conf"
{
	printf 'From: <hans@example.org>\nTo: barn+subscribe@lists.example.org\n'
	printf 'Subject: subscribe\nMessage-ID: <req3@example.org>\n\nhej\n'
} > "$M/req-down"
check "a request while the mail server is down is delivered" deliver "$M/req-down"
check "inbox process still succeeds" \
    run 0 env TEMABREV_CONFIG="$TMP/down.conf" timeout 120 "$TEMABREV" \
    --db "$DB" inbox process
check "... says the confirmation was not sent" \
    has "confirmation mail not sent" "$TMP/out"
check "... hans is pending" test "$(status hans@example.org barn)" = pending
check "asking again with the server up sends the mail at once" \
    run 0 tbt sub add hans@example.org --theme barn --confirm
check "... one mail" test "$(ncap hans@example.org)" -eq 1

# ---------------------------------------------------------------------
# The archive.
# ---------------------------------------------------------------------
feed a b
run 0 tb feed fetch
sleep 1
check "a second edition is sent" send_new barn "Andra numret <&>"
check "... to bo, anna and dan" test "$(ls "$TMP/cap" | wc -l)" -ge 5
check "archive build writes the archive" run 0 tb archive build --out "$TMP/arch"
check "... and says what" has "edition page" "$TMP/out"
check "... an index, a feed and two pages for barn" \
    test -f "$TMP/arch/barn/index.html" -a -f "$TMP/arch/barn/feed.xml" \
    -a "$(ls "$TMP/arch/barn" | grep -c '^[0-9]*\.html$')" -eq 2
check "... the feed for work has no entries" "$PY" "$ACHK" feed "$TMP/arch/work/feed.xml" 0
check "the Atom feed is well-formed RFC 4287, newest first" \
    "$PY" "$ACHK" feed "$TMP/arch/barn/feed.xml" 2
check "... and passes xmllint" xmllint --noout "$TMP/arch/barn/feed.xml"
LINKS=$("$PY" "$ACHK" index "$TMP/arch/barn/index.html")
FIRST=$(echo "$LINKS" | cut -d' ' -f1); SECOND=$(echo "$LINKS" | cut -d' ' -f2)
check "the index lists both editions, newest first" \
    test "${FIRST%.html}" -gt "${SECOND%.html}"
# libxml2 2.9's HTML parser knows HTML 4 only: it calls HTML5's
# sectioning and <time> elements invalid, which is all it may say.
check "every page is valid HTML for xmllint --html" \
    sh -c "for f in '$TMP'/arch/index.html '$TMP'/arch/*/*.html; do
	xmllint --html --noout \"\$f\" 2>&1 |
	grep -v -e '^ *^\$' -e 'Tag \(main\|header\|footer\|time\) invalid' |
	grep -v -e '^<\(main\|header\|footer\|li\)' | grep . && exit 1
	done; exit 0"
check "the pages carry the editions' content" \
    grep -q "Andra numret &lt;&amp;&gt;" "$TMP/arch/barn/$FIRST"
check "no page or feed holds an address" \
    sh -c "! grep -rqi -e '@example.org' -e '@lists.example.org' -e 'mailto:' '$TMP/arch'"
check "... or a subscriber's name" sh -c "! grep -rqi -e zyxx -e 'Hej Bo' '$TMP/arch'"
check "... or an unsubscribe link" sh -c "! grep -rqi -e '/u/' -e 'unsubscribe' -e 'avsluta' '$TMP/arch'"
for f in "$TMP"/cap/*; do "$PY" "$ACHK" token "$f"; done | sort -u > "$TMP/tokens"
check "the captured mail had tokens to look for" test "$(wc -l < "$TMP/tokens")" -ge 4
check "... none of them is in the archive" \
    sh -c "! grep -rqF -f '$TMP/tokens' '$TMP/arch'"
check "building again replaces the files in place" \
    run 0 tb archive build --theme barn --out "$TMP/arch"
check "... leaving no temporary files" \
    test "$(find "$TMP/arch" -name '*.tmp.*' | wc -l)" -eq 0
{ cat "$TMP/t.conf"; printf '[archive]\nurl = https://arkiv.example.org/nyhetsbrev/\n'; } > "$TMP/url.conf"
check "with [archive] url the feed's links are absolute" \
    run 0 env TEMABREV_CONFIG="$TMP/url.conf" "$TEMABREV" --db "$DB" \
    archive build --theme barn --out "$TMP/arch-url"
check "... self" grep -q 'rel="self" type="application/atom+xml" href="https://arkiv.example.org/nyhetsbrev/barn/feed.xml"' \
    "$TMP/arch-url/barn/feed.xml"
check "... and each entry's page" grep -q "href=\"https://arkiv.example.org/nyhetsbrev/barn/$FIRST\"" \
    "$TMP/arch-url/barn/feed.xml"
check "an unknown theme is refused" run 65 tb archive build --theme nosuch --out "$TMP/arch"
check "--out is required" run 64 tb archive build

# ---------------------------------------------------------------------
# The daemon: hourly expiry, and the archive rebuilt after a send.
# ---------------------------------------------------------------------
TEMABREVD="$TB_BUILDDIR/src/temabrevd"
# A port of its own: the default 8025 may be another test's or daemon's.
printf '[archive]\ndir = %s\n[http]\nlisten = 127.0.0.1:0\n' "$TMP/darch" \
    >> "$TMP/t.conf"
run 0 env TEMABREV_NOW=$T0 "$TEMABREV" --db "$DB" sub add gun@example.org \
    --theme barn --confirm --no-send
feed a b c
run 0 tb feed fetch
run 0 tb edition new barn --subject "Tredje numret"
ED3=$(tb edition list --json | "$PY" -c 'import json, sys
print([json.loads(l)["id"] for l in sys.stdin][-1])')
# Due at once: the daemon's schedule job queues it, its send job sends it.
"$TB_SQLITE3" "$DB" "UPDATE edition SET send_at = 1 WHERE id = $ED3"
"$TEMABREVD" -f --db "$DB" 2>"$TMP/d.log" &
DPID=$!
PIDS="$PIDS $DPID"
check "temabrevd starts" wait_for 20 grep -q "started on" "$TMP/d.log"
check "... removes the request older than pending_days at once" \
    wait_for 30 sh -c "! '$TEMABREV' --db '$DB' sub show gun@example.org"
check "... and logs it" \
    grep -q "1 pending subscription not confirmed in 7 days" "$TMP/d.log"
check "... sends the due edition and writes the archive" \
    wait_for 60 test -f "$TMP/darch/barn/$ED3.html"
check "... whose feed then has all three editions" \
    wait_for 10 "$PY" "$ACHK" feed "$TMP/darch/barn/feed.xml" 3
check "... readable by a web server" \
    sh -c "ls -l '$TMP/darch/barn/feed.xml' | grep -q '^-rw-r--r--'"
kill -TERM "$DPID" 2>/dev/null
check "temabrevd stops on SIGTERM" wait_for 30 sh -c "! kill -0 $DPID"
sed 's/^/# /' "$TMP/d.log" | grep -i -e expire -e archive -e "not confirmed" -e warn

done_testing
