#!/bin/sh
# End-to-end tests of temabrevd's web side (issue 7): the real daemon
# with [http] listen = 127.0.0.1:0 and the SMTP capture server
# (tests/smtpd.py), the links taken from messages it really received,
# requests made with curl and with a small socket client
# (tests/web-check.py), pages checked with tidy. All on 127.0.0.1 (and
# ::1 at the end).
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TB_SRCDIR/tests/servers.sh"

WC="$TB_SRCDIR/tests/web-check.py"
TEMABREVD="$TB_BUILDDIR/src/temabrevd"
need_smtpd
. "$TB_SRCDIR/tests/web-lib.sh"

form_of() { sed -n 's/.*name="form" value="\([0-9a-f]*\)".*/\1/p' "$1"; }

mkdir -p "$TMP/cap"
"$PY" "$TB_SRCDIR/tests/smtpd.py" --dir "$TMP/cap" \
    --port-file "$TMP/smtp.port" --max-seconds 600 2>>"$TMP/smtpd.log" &
PIDS="$PIDS $!"
check "smtp capture server is up" wait_for 30 test -s "$TMP/smtp.port"
cat > "$TMP/feed.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>MSI</title><link>https://msi.example.org/</link>
<description>d</description>
<item><title>Räksmörgåsar på Åland</title><link>https://msi.example.org/a/</link>
<guid>a1</guid><description>Om samverkan.</description></item>
</channel></rss>
XML
"$PY" "$TB_SRCDIR/tests/httpd.py" "$TMP/http.port" "$TMP/feed.xml" \
    --max-seconds 600 &
PIDS="$PIDS $!"
check "http feed server is up" wait_for 30 test -s "$TMP/http.port"

mkconf() {
	cat > "$TMP/t.conf" <<CONF
[general]
from = Mötesplats Social Innovation <nyhetsbrev@example.org>
list_domain = lists.example.org
base_url = https://lists.example.org
templates = $TB_SRCDIR/templates
timezone = Europe/Stockholm
[smtp]
host = localhost
port = $(cat "$TMP/smtp.port")
tls = none
rate = 0
[http]
listen = ${1:-127.0.0.1:0}
timeout = 3
threads = 2
trust_proxy = ${2:-no}
CONF
}
mkconf
export TEMABREV_CONFIG="$TMP/t.conf"
DB="$TMP/t.db"
run 0 tb theme add barn --name "Barnets rätt" --description "Om barns rättigheter"
run 0 tb theme add miljo --name "Miljö & klimat" --lang en
run 0 tb theme add tillf --name "Tillfälligt"
run 0 tb sub add anna@example.org --name "Anna" --theme barn,tillf
run 0 tb sub add bo@example.org --name "Bo" --theme barn
run 0 tb sub add cia@example.org --name "Cia" --theme miljo
run 0 tb sub add eva@example.org --theme barn

# ---------------------------------------------------------------------
# -n checks [http].
# ---------------------------------------------------------------------
check "-n: [http] listen 127.0.0.1:0 is good" run 0 "$TEMABREVD" -n --db "$DB"
mkconf "localhost"
check "-n: listen without a port exits 78" run 78 "$TEMABREVD" -n --db "$DB"
check "... naming [http] listen" has "[http] listen localhost" "$TMP/err"
mkconf "[::1:80"
check "-n: a broken IPv6 listen exits 78" run 78 "$TEMABREVD" -n --db "$DB"
mkconf
cp -r "$TB_SRCDIR/templates" "$TMP/tpl"
rm "$TMP/tpl/page-preferences.sv.html"
sed "s|^templates = .*|templates = $TMP/tpl|" "$TMP/t.conf" > "$TMP/bad.conf"
check "-n: a missing page template exits 78" \
    run 78 "$TEMABREVD" -n --db "$DB" --config "$TMP/bad.conf"
check "... naming it" has "page-preferences.sv.html" "$TMP/err"

# ---------------------------------------------------------------------
# An edition goes out; the links come from the messages received.
# ---------------------------------------------------------------------
run 0 tb feed add barn "http://127.0.0.1:$(cat "$TMP/http.port")/feed.xml"
run 0 tb feed add tillf "http://127.0.0.1:$(cat "$TMP/http.port")/feed.xml"
run 0 tb feed add miljo "http://127.0.0.1:$(cat "$TMP/http.port")/feed.xml"
run 0 tb feed fetch
check "the daemon starts and logs its HTTP address" dstart "$TMP/d1.log"
check "... on 127.0.0.1 with a port it chose" \
    sh -c "echo '$WEB' | grep -Eq '^http://127\.0\.0\.1:[1-9][0-9]*$'"
check "an edition of barn is sent" sh -c "
	'$TEMABREV' --db '$DB' edition new barn --subject 'Nytt om barn' &&
	'$TEMABREV' --db '$DB' edition send 1"
check "an edition of tillf is sent" sh -c "
	'$TEMABREV' --db '$DB' edition new tillf --subject 'Tillfalligt' &&
	'$TEMABREV' --db '$DB' edition send 2"
check "an edition of miljo (English) is sent" sh -c "
	'$TEMABREV' --db '$DB' edition new miljo --subject 'Climate news' &&
	'$TEMABREV' --db '$DB' edition send 3"
check "anna, bo and eva received barn, anna tillf, cia miljo" \
    wait_for 20 sh -c "ls '$TMP/cap' | grep -c . | grep -qx 5"
ANNA_MSG=$(grep -l "^Subject: Nytt om barn" "$TMP"/cap/*anna* | head -n 1)
BO_MSG=$(grep -l "^Subject: Nytt om barn" "$TMP"/cap/*bo* | head -n 1)
TILLF_MSG=$(grep -l "^Subject: Tillfalligt" "$TMP"/cap/*anna* | head -n 1)
EVA_MSG=$(ls "$TMP"/cap/*eva* | head -n 1)
"$PY" "$WC" link "$ANNA_MSG" > "$TMP/anna.url"
check "anna's message has an https List-Unsubscribe URL" \
    grep -q '^https://lists.example.org/u/[a-z2-7]*$' "$TMP/anna.url"
check "... and List-Unsubscribe-Post: List-Unsubscribe=One-Click" sh -c "
	'$PY' '$WC' header '$ANNA_MSG' List-Unsubscribe-Post |
	    grep -qx 'List-Unsubscribe=One-Click'"
ATOK=$(sed 's|.*/u/||' "$TMP/anna.url")
BTOK=$("$PY" "$WC" link "$BO_MSG" | sed 's|.*/u/||')
TTOK=$("$PY" "$WC" link "$TILLF_MSG" | sed 's|.*/u/||')
check "the preferences link has the same token" sh -c "
	'$PY' '$WC' html '$ANNA_MSG' |
	    grep -q 'https://lists.example.org/p/$ATOK'"

# ---------------------------------------------------------------------
# GET never unsubscribes.
# ---------------------------------------------------------------------
req get1 "$WEB/u/$ATOK"
check "GET /u/TOKEN: 200" test "$CODE" = 200
check "... a page in the theme's language (sv)" \
    has '<html lang="sv">' "$TMP/get1.html"
check "... with a button that POSTs One-Click" sh -c "
	grep -q '<form method=\"post\" action=\"$ATOK\">' '$TMP/get1.html' &&
	grep -q 'name=\"List-Unsubscribe\" value=\"One-Click\"' '$TMP/get1.html'"
check "... names the theme" has "Barnets rätt" "$TMP/get1.html"
check "... validates (tidy)" valid "$TMP/get1.html"
req head1 -I "$WEB/u/$ATOK"
check "HEAD /u/TOKEN: 200" test "$CODE" = 200
check "GET and HEAD left anna active" is_status anna@example.org barn active
check "Content-Type has a charset" \
    grep -qi '^Content-Type: text/html; charset=utf-8' "$TMP/get1.h"
check "X-Content-Type-Options: nosniff" \
    grep -qi '^X-Content-Type-Options: nosniff' "$TMP/get1.h"
check "Referrer-Policy and Cache-Control: no-store" sh -c "
	grep -qi '^Referrer-Policy: no-referrer' '$TMP/get1.h' &&
	grep -qi '^Cache-Control: no-store' '$TMP/get1.h'"
check "CSP: default-src 'none', form-action 'self', frame-ancestors 'none'" \
    sh -c "grep -i '^Content-Security-Policy:' '$TMP/get1.h' |
	grep \"default-src 'none'\" | grep \"form-action 'self'\" |
	grep -q \"frame-ancestors 'none'\""
# The style-src hash is the SHA-256 of the page's inline style.
STYLE_HASH=$("$PY" -c 'import base64, hashlib, re, sys
h = open(sys.argv[1], encoding="utf-8").read()
s = re.search(r"<style>(.*?)</style>", h, re.S).group(1)
print(base64.b64encode(hashlib.sha256(s.encode()).digest()).decode())' \
    "$TMP/get1.html")
check "CSP's style-src is the inline style's sha256" \
    grep -qF "style-src 'sha256-$STYLE_HASH'" "$TMP/get1.h"

# ---------------------------------------------------------------------
# RFC 8058: the one-click POST on the link from the message.
# ---------------------------------------------------------------------
req post1 -X POST -d 'List-Unsubscribe=One-Click' "$WEB/u/$ATOK"
check "POST List-Unsubscribe=One-Click: 200" test "$CODE" = 200
check "... no redirect (no Location)" sh -c "! grep -qi '^Location:' '$TMP/post1.h'"
check "... anna is unsubscribed from barn" \
    is_status anna@example.org barn unsubscribed
check "... still follows tillf" is_status anna@example.org tillf active
check "... the event log says web" sh -c "
	'$TEMABREV' --db '$DB' sub show anna@example.org |
	    grep 'unsubscribe' | grep barn | grep -q web"
check "... the page offers to resubscribe" \
    has 'name="resubscribe" value="1"' "$TMP/post1.html"
check "... and validates" valid "$TMP/post1.html"
check "the daemon logged it without the token" sh -c "
	grep -q 'http: 127.0.0.1: subscriber [0-9]* unsubscribed from barn' \
	    '$TMP/d1.log' && ! grep -q '$ATOK' '$TMP/d1.log'"
req post2 -X POST -d 'List-Unsubscribe=One-Click' "$WEB/u/$ATOK"
check "the same POST again: 200, the already-unsubscribed page" sh -c "
	[ '$CODE' = 200 ] && grep -q 'redan avslutat' '$TMP/post2.html'"
req get2 "$WEB/u/$ATOK"
check "a GET of a used token: the already-unsubscribed page" sh -c "
	[ '$CODE' = 200 ] && grep -q 'redan avslutat' '$TMP/get2.html'"
req mp -X POST -F 'List-Unsubscribe=One-Click' "$WEB/u/$BTOK"
check "one-click as multipart/form-data (RFC 8058's example): 200" \
    test "$CODE" = 200
check "... bo is unsubscribed" is_status bo@example.org barn unsubscribed
req upper -X POST -d 'List-Unsubscribe=One-Click' \
    "$WEB/u/$(echo "$BTOK" | tr a-z A-Z)"
check "an upper-case token is the same token" sh -c "
	[ '$CODE' = 200 ] && grep -q 'redan avslutat' '$TMP/upper.html'"
req nobody -X POST -d 'x=1' "$WEB/u/$TTOK"
check "a POST without One-Click: 400" test "$CODE" = 400
check "... nothing changes" is_status anna@example.org tillf active

# The English pages, on cia's link.
CTOK=$("$PY" "$WC" link "$(ls "$TMP"/cap/*cia* | head -n 1)" | sed 's|.*/u/||')
req en1 "$WEB/u/$CTOK"
check "an English theme's page is in English" sh -c "
	[ '$CODE' = 200 ] && grep -q '<html lang=\"en\">' '$TMP/en1.html' &&
	grep -q 'Unsubscribe from Miljö &amp; klimat' '$TMP/en1.html'"
check "... and validates" valid "$TMP/en1.html"
req en2 -X POST -d 'List-Unsubscribe=One-Click' "$WEB/u/$CTOK"
check "... so does the page after the POST" sh -c "
	[ '$CODE' = 200 ] && grep -q 'You are unsubscribed' '$TMP/en2.html' &&
	tidy -q -e '$TMP/en2.html'"
req en3 -X POST -d "resubscribe=1&form=$(form_of "$TMP/en2.html")" \
    "$WEB/u/$CTOK"
check "... and after resubscribing" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Welcome back' '$TMP/en3.html' &&
	tidy -q -e '$TMP/en3.html'"
req en4 "$WEB/p/$CTOK"
check "... and the preferences" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Your themes' '$TMP/en4.html' &&
	tidy -q -e '$TMP/en4.html'"
req en5 -X POST -d "form=$(form_of "$TMP/en4.html")&theme=miljo&theme=barn" \
    "$WEB/p/$CTOK"
check "... and the saved page" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Your choices are saved' '$TMP/en5.html' &&
	tidy -q -e '$TMP/en5.html'"
check "cia follows miljo and now barn" sh -c "
	'$TEMABREV' --db '$DB' sub show cia@example.org --json |
	    grep -o '\"status\":\"active\"' | grep -c . | grep -qx 2"
check "... barn active" is_status cia@example.org barn active

# ---------------------------------------------------------------------
# Resubscribe: bound to the token by the form field.
# ---------------------------------------------------------------------
FORM=$(form_of "$TMP/post1.html")
check "the page carries a 32-digit form field" \
    sh -c "echo '$FORM' | grep -Eqx '[0-9a-f]{32}'"
req re0 -X POST -d 'resubscribe=1' "$WEB/u/$ATOK"
check "resubscribe without the form field: 403" test "$CODE" = 403
check "... anna stays unsubscribed" is_status anna@example.org barn unsubscribed
req re1 -X POST -d "resubscribe=1&form=$(form_of "$TMP/get1.html")0" \
    "$WEB/u/$ATOK"
check "resubscribe with a wrong form field: 403" test "$CODE" = 403
BFORM=$(curl -s -X POST -d 'List-Unsubscribe=One-Click' "$WEB/u/$BTOK" |
    sed -n 's/.*name="form" value="\([0-9a-f]*\)".*/\1/p')
req re2 -X POST -d "resubscribe=1&form=$BFORM" "$WEB/u/$ATOK"
check "resubscribe with another token's form field: 403" test "$CODE" = 403
req re3 -X POST -d "resubscribe=1&form=$FORM" "$WEB/u/$ATOK"
check "resubscribe with the page's field: 200" test "$CODE" = 200
check "... anna is active in barn again" is_status anna@example.org barn active
check "... the page validates" valid "$TMP/re3.html"

# ---------------------------------------------------------------------
# Preferences: every theme, changed in one form.
# ---------------------------------------------------------------------
req p1 "$WEB/p/$ATOK"
check "GET /p/TOKEN: 200 with every theme" sh -c "
	[ '$CODE' = 200 ] && grep -c 'type=\"checkbox\"' '$TMP/p1.html' |
	    grep -qx 3"
check "... barn and tillf checked, miljo not" sh -c "
	grep -q 'value=\"barn\" checked' '$TMP/p1.html' &&
	grep -q 'value=\"tillf\" checked' '$TMP/p1.html' &&
	grep 'value=\"miljo\"' '$TMP/p1.html' | grep -vq checked"
check "... every checkbox has a label" sh -c "
	for s in barn miljo tillf; do
		grep -q \"<label for=\\\"t-\$s\\\">\" '$TMP/p1.html' || exit 1
	done"
check "... names escaped (Miljö &amp; klimat)" \
    has "Miljö &amp; klimat" "$TMP/p1.html"
check "... validates" valid "$TMP/p1.html"
PFORM=$(form_of "$TMP/p1.html")
req p2 -X POST -d "theme=barn&theme=miljo" "$WEB/p/$ATOK"
check "POST /p without the form field: 403" test "$CODE" = 403
check "... nothing changed" sh -c "
	'$TEMABREV' --db '$DB' sub show anna@example.org --json |
	    grep -q '\"slug\":\"tillf\",\"status\":\"active\"'" 
check "... miljo not added" sh -c "
	! '$TEMABREV' --db '$DB' sub show anna@example.org --json |
	    grep -q '\"slug\":\"miljo\"'"
req p3 -X POST -d "form=$PFORM&theme=barn&theme=miljo" "$WEB/p/$ATOK"
check "POST /p with the field: 200, the saved page" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Dina val är sparade' '$TMP/p3.html'"
check "... miljo added" is_status anna@example.org miljo active
check "... tillf left" is_status anna@example.org tillf unsubscribed
check "... barn kept" is_status anna@example.org barn active
check "... both changes logged as web" sh -c "
	'$TEMABREV' --db '$DB' sub show anna@example.org > '$TMP/show'
	grep subscribe '$TMP/show' | grep miljo | grep -q web &&
	grep unsubscribe '$TMP/show' | grep tillf | grep -q web"
check "... the saved page validates" valid "$TMP/p3.html"
req p4 -X POST -d "form=$PFORM" "$WEB/p/$ATOK"
check "POST /p with nothing checked: saved, no newsletter" sh -c "
	[ '$CODE' = 200 ] && grep -q 'inga nyhetsbrev' '$TMP/p4.html'"
check "... every theme left" sh -c "
	! '$TEMABREV' --db '$DB' sub show anna@example.org --json |
	    grep -q '\"status\":\"active\"'"
run 0 tb suppress add anna@example.org
req p5 -X POST -d "form=$PFORM&theme=barn" "$WEB/p/$ATOK"
check "a suppressed address cannot resubscribe itself: 409" sh -c "
	[ '$CODE' = 409 ] && grep -q 'spärrad' '$TMP/p5.html'"
check "... still unsubscribed" is_status anna@example.org barn unsubscribed
run 0 tb suppress rm anna@example.org

# ---------------------------------------------------------------------
# Tokens that lead nowhere: one 404 page for all.
# ---------------------------------------------------------------------
req nf0 "$WEB/u/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
check "a forged token: 404" test "$CODE" = 404
check "... the page validates" valid "$TMP/nf0.html"
# The last character flipped: the MAC no longer matches.
last=$(printf %s "$ATOK" | tail -c 1)
[ "$last" = a ] && new=b || new=a
req nf1 "$WEB/u/$(printf %s "$ATOK" | sed "s/.\$/$new/")"
check "a token with one character changed: 404, same body" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf1.html'"
req nf2 "$WEB/u/$(printf %s "$ATOK" | cut -c 1-10)"
check "a truncated token: same 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf2.html'"
req nf3 "$WEB/u/%00%ff%3c"
check "garbage bytes: same 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf3.html'"
REPLY_TOK=$("$PY" "$WC" header "$ANNA_MSG" Reply-To |
    sed -n 's/.*barn+\([a-z2-7]*\)@.*/\1/p')
req nf4 "$WEB/u/$REPLY_TOK"
check "a token of another purpose (Reply-To): same 404" sh -c "
	[ -n '$REPLY_TOK' ] && [ '$CODE' = 404 ] &&
	cmp -s '$TMP/nf0.html' '$TMP/nf4.html'"
run 0 tb theme rm tillf --force
req nf5 "$WEB/u/$TTOK"
check "a token of a removed theme: same 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf5.html'"
req nf6 -X POST -d 'List-Unsubscribe=One-Click' "$WEB/u/$TTOK"
check "... POST too" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf6.html'"
req nf7 "$WEB/p/$TTOK"
check "... and /p" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf7.html'"
req nf8 "$WEB/nothing/here"
check "an unknown path: same 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf8.html'"
req nf9 "$WEB/u/$ATOK/extra"
check "a token with more path: same 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf9.html'"
run 0 tb sub forget bo@example.org
req nf10 "$WEB/u/$BTOK"
check "an erased subscriber's token: same 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/nf10.html'"
req nfsv -H 'Accept-Language: sv-SE, en;q=0.5' "$WEB/u/xyz"
check "the 404 page in Swedish when the browser asks" sh -c "
	[ '$CODE' = 404 ] && grep -q 'lang=\"sv\"' '$TMP/nfsv.html'"

# ---------------------------------------------------------------------
# Methods, sizes, slow clients.
# ---------------------------------------------------------------------
req put -X PUT -d x "$WEB/u/$ATOK"
check "PUT: 405 with Allow" sh -c "
	[ '$CODE' = 405 ] && grep -qi '^Allow: GET, HEAD, POST' '$TMP/put.h'"
check "... its page validates" valid "$TMP/put.html"
head -c 5000 /dev/zero | tr '\0' a > "$TMP/big"
req big -X POST --data-binary @"$TMP/big" "$WEB/u/$ATOK"
check "a 5,000-byte body: 413" test "$CODE" = 413
req big2 -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big" \
    "$WEB/u/$ATOK"
check "a chunked body over the limit: cut off, no answer" \
    test "$CODE" = 000
req after "$WEB/u/$ATOK"
check "... the daemon still serves" test "$CODE" = 200
"$PY" "$WC" slow 127.0.0.1 "${WEB##*:}" 3 > "$TMP/slow.out" 2>&1
check "a half-sent request: five other GETs served meanwhile, at once" \
    grep -q '^served 5 fast=5 ' "$TMP/slow.out"
CUT=$(sed -n 's/.*cut=\([0-9.]*\)$/\1/p' "$TMP/slow.out")
check "... and it is cut off after [http] timeout (3 s): ${CUT:-never}" \
    sh -c "[ -n '$CUT' ] && awk 'BEGIN { exit !($CUT >= 2.5 && $CUT < 8) }'"

# ---------------------------------------------------------------------
# SIGHUP: trust_proxy takes effect; X-Forwarded-For only then.
# ---------------------------------------------------------------------
ETOK=$("$PY" "$WC" link "$EVA_MSG" | sed 's|.*/u/||')
curl -s -o /dev/null -H 'X-Forwarded-For: 198.51.100.7' "$WEB/u/$ETOK"
mkconf 127.0.0.1:0 yes
kill -HUP "$DPID"
check "SIGHUP reloads" wait_for 10 grep -q "configuration reloaded" "$TMP/d1.log"
check "... the listener stays (same settings but trust_proxy)" sh -c "
	[ \$(grep -c 'http: listening on' '$TMP/d1.log') = 1 ]"
curl -s -o /dev/null -X POST -d 'List-Unsubscribe=One-Click' \
    -H 'X-Forwarded-For: 203.0.113.9, 198.51.100.7, 127.0.0.1' \
    "$WEB/u/$ETOK"
check "with trust_proxy the client is the rightmost untrusted address" \
    wait_for 5 grep -q "http: 198.51.100.7: subscriber [0-9]* unsubscribed" \
    "$TMP/d1.log"
mkconf "[::1]:0"
kill -HUP "$DPID"
check "SIGHUP with a new listen address: logged" \
    wait_for 10 sh -c "grep 'http: listening on' '$TMP/d1.log' | grep -q '\[::1\]'"
WEB="http://$(sed -n 's/.*http: listening on \(.*\)$/\1/p' "$TMP/d1.log" |
    tail -n 1)"
req v6 -g "$WEB/u/$ETOK"
check "... served on IPv6 loopback" sh -c "
	[ '$CODE' = 200 ] && grep -q 'redan avslutat' '$TMP/v6.html'"
dstop
check "SIGTERM stops the daemon with its web side (0)" test "$DRC" = 0

# ---------------------------------------------------------------------
# The browser smoke test (skips itself without Chromium).
# ---------------------------------------------------------------------
mkconf
run 0 tb sub add anna@example.org --theme barn
check "the daemon starts again" dstart "$TMP/d2.log"
browser "browser: open the link, click, see the confirmation" \
    "$WEB/u/$ATOK" &&
    check "... anna is unsubscribed" \
	is_status anna@example.org barn unsubscribed
dstop
check "the second daemon stops cleanly too (0)" test "$DRC" = 0
check "no sanitizer report in the daemon's logs" sh -c "
	! grep -E 'Sanitizer|runtime error' '$TMP/d1.log' '$TMP/d2.log'"
done_testing
