#!/bin/sh
# End-to-end tests of temabrevd's subscribe form and confirmation pages
# (issue 7: GET/POST /s/SLUG and /c/TOKEN): the real daemon with
# [http] listen = 127.0.0.1:0 and the SMTP capture server
# (tests/smtpd.py); the confirmation links come from the mails it really
# received; requests with curl, pages checked with tidy, the browser
# smoke test with headless Chromium (tests/web-browser.py). Clients are
# told apart by X-Forwarded-For ([http] trust_proxy = yes), all on
# 127.0.0.1.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TB_SRCDIR/tests/servers.sh"

TEMABREVD="$TB_BUILDDIR/src/temabrevd"
need_smtpd
. "$TB_SRCDIR/tests/web-lib.sh"

field_of() {
	sed -n "s/.*name=\"$2\" value=\"\\([0-9a-f]*\\)\".*/\\1/p" "$1"
}
# sub_post NAME CLIENT FORMPAGE EMAIL [NAME-FIELD]: POST /s/barn from
# client address CLIENT with the fields of the form page FORMPAGE.
sub_post() {
	sp=$1 client=$2 page=$3 addr=$4
	req "$sp" -H "X-Forwarded-For: $client" \
	    --data-urlencode "form=$(field_of "$page" form)" \
	    --data-urlencode "issued=$(field_of "$page" issued)" \
	    --data-urlencode "email=$addr" \
	    --data-urlencode "name=${5:-}" "$WEB/s/barn"
}
ncap() { ls "$TMP/cap" | grep -c "^$1" ; }
# mails ADDR N: exactly N mails to ADDR were captured (for wait_for).
mails() { [ "$(ncap "$1")" -eq "$2" ]; }
# clink FILE: the /c/TOKEN path of the link in a captured confirmation.
clink() {
	"$PY" -c 'import email, email.policy, re, sys
raw = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[1]
m = email.message_from_bytes(raw, policy=email.policy.default)
for part in m.walk():
    if part.get_content_type() == "text/plain":
        f = re.search(r"https://lists\.example\.org(/c/[a-z2-7]+)",
                      part.get_content())
        if f:
            print(f.group(1))
            break' "$1"
}

smtpd_start cap
check "smtp capture server is up" test -n "$SPORT"
mkconf() {
	cat > "$TMP/t.conf" <<CONF
[general]
from = Mötesplats Social Innovation <nyhetsbrev@example.org>
list_domain = lists.example.org
base_url = https://lists.example.org
templates = $TB_SRCDIR/templates
[smtp]
host = localhost
port = $SPORT
tls = none
rate = 0
timeout = 5
[http]
listen = 127.0.0.1:0
timeout = 5
threads = 2
trust_proxy = yes
subscribe_per_client_hour = ${1:-5}
subscribe_per_address_day = 3
CONF
}
mkconf
export TEMABREV_CONFIG="$TMP/t.conf"
DB="$TMP/t.db"
run 0 tb theme add barn --name "Barnets rätt" --description "Om barn"
run 0 tb theme add miljo --name "Miljö & klimat" --lang en
run 0 tb sub add aktiv@example.org --theme barn

check "-n: the [http] subscribe limits are good" \
    run 0 "$TEMABREVD" -n --db "$DB"
mkconf 0
check "-n: subscribe_per_client_hour = 0 exits 78" \
    run 78 "$TEMABREVD" -n --db "$DB"
check "... naming the key" has "subscribe_per_client_hour" "$TMP/err"
mkconf

check "the daemon starts" dstart "$TMP/d1.log"
req nf0 "$WEB/u/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

# ---------------------------------------------------------------------
# GET /s/SLUG: the form.
# ---------------------------------------------------------------------
req s1 "$WEB/s/barn"
check "GET /s/barn: 200, a Swedish page" sh -c "
	[ '$CODE' = 200 ] && grep -q '<html lang=\"sv\">' '$TMP/s1.html' &&
	grep -q 'Prenumerera på Barnets rätt' '$TMP/s1.html'"
check "... email and name fields with labels" sh -c "
	grep -q '<label for=\"email\">' '$TMP/s1.html' &&
	grep -q 'type=\"email\" id=\"email\" name=\"email\"' '$TMP/s1.html' &&
	grep -q '<label for=\"name\">' '$TMP/s1.html' &&
	grep -q 'id=\"name\" name=\"name\"' '$TMP/s1.html'"
check "... a POST form back to itself with the form field and time" sh -c "
	grep -q '<form method=\"post\" action=\"barn\">' '$TMP/s1.html' &&
	echo '$(field_of "$TMP/s1.html" form)' | grep -Eqx '[0-9a-f]{32}' &&
	echo '$(field_of "$TMP/s1.html" issued)' | grep -Eqx '[0-9]+'"
check "... validates (tidy)" valid "$TMP/s1.html"
check "... the same security headers as every page" sh -c "
	grep -qi '^Content-Type: text/html; charset=utf-8' '$TMP/s1.h' &&
	grep -qi '^X-Content-Type-Options: nosniff' '$TMP/s1.h' &&
	grep -qi '^Cache-Control: no-store' '$TMP/s1.h' &&
	grep -i '^Content-Security-Policy:' '$TMP/s1.h' |
	    grep \"default-src 'none'\" | grep \"form-action 'self'\" |
	    grep -q \"style-src 'sha256-\""
req s2 "$WEB/s/miljo"
check "GET /s/miljo: an English page that validates" sh -c "
	[ '$CODE' = 200 ] && grep -q '<html lang=\"en\">' '$TMP/s2.html' &&
	grep -q 'Subscribe to Miljö &amp; klimat' '$TMP/s2.html' &&
	tidy -q -e '$TMP/s2.html'"
req s3 "$WEB/s/nosuch"
check "an unknown slug: the one 404 page" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/s3.html'"
req s4 "$WEB/s/barn/x"
check "a slug with more path: the same 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/s4.html'"

# ---------------------------------------------------------------------
# POST /s/SLUG without a good form field: refused, nothing stored.
# ---------------------------------------------------------------------
req f1 -H 'X-Forwarded-For: 192.0.2.1' -d 'email=fel@example.org' \
    "$WEB/s/barn"
check "POST /s without the form field: 403" test "$CODE" = 403
check "... the page says so and validates" sh -c "
	grep -q 'för gammalt' '$TMP/f1.html' && tidy -q -e '$TMP/f1.html'"
req f2 -H 'X-Forwarded-For: 192.0.2.1' -d "issued=$(field_of "$TMP/s1.html" \
    issued)&form=00000000000000000000000000000000&email=fel@example.org" \
    "$WEB/s/barn"
check "POST /s with a forged form field: 403" test "$CODE" = 403
req f3 -H 'X-Forwarded-For: 192.0.2.1' -d "issued=$(($(field_of \
    "$TMP/s1.html" issued) + 1))&form=$(field_of "$TMP/s1.html" \
    form)&email=fel@example.org" "$WEB/s/barn"
check "POST /s with the field but another time: 403" test "$CODE" = 403
req f4 -H 'X-Forwarded-For: 192.0.2.1' -d "issued=$(field_of \
    "$TMP/s2.html" issued)&form=$(field_of "$TMP/s2.html" \
    form)&email=fel@example.org" "$WEB/s/barn"
check "POST /s/barn with miljo's form field: 403" test "$CODE" = 403
check "... nothing was stored" run 65 tb sub show fel@example.org
check "... and nothing mailed" test "$(ncap fel@)" -eq 0

# ---------------------------------------------------------------------
# A good request: one mail, the link from it, GET never confirms.
# ---------------------------------------------------------------------
sub_post p1 198.51.100.1 "$TMP/s1.html" ny@example.org "Zyxx Ny"
check "POST /s/barn: 200, the check-your-mailbox page" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Titta i din inkorg' '$TMP/p1.html'"
check "... it validates" valid "$TMP/p1.html"
check "... exactly one confirmation mail arrives" \
    wait_for 20 mails ny@example.org 1
sleep 0.5
check "... and no second one" test "$(ncap ny@example.org)" -eq 1
M1="$TMP/cap/ny@example.org"
check "... the typed name is not in it" sh -c "! grep -qi zyxx '$M1'"
check "the subscription is pending" is_status ny@example.org barn pending
check "... requested by web (the event log)" sh -c "
	'$TEMABREV' --db '$DB' sub show ny@example.org | grep subscribe |
	    grep -q web"
C1=$(clink "$M1")
check "the mail's link is BASE_URL/c/TOKEN" \
    sh -c "echo '$C1' | grep -Eqx '/c/[a-z2-7]+'"
req c1 "$WEB$C1"
check "GET /c/TOKEN: 200, a page with a confirm button" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Bekräfta din prenumeration på Barnets rätt' \
	    '$TMP/c1.html' && grep -q '<button type=\"submit\">' '$TMP/c1.html'"
check "... it validates" valid "$TMP/c1.html"
req c1h -I "$WEB$C1"
check "HEAD /c/TOKEN: 200" test "$CODE" = 200
check "GET and HEAD did not confirm" is_status ny@example.org barn pending
req c2 -X POST -d '' "$WEB$C1"
check "POST /c without the form field: 403" test "$CODE" = 403
check "... still pending" is_status ny@example.org barn pending
req c3 -X POST -d "form=$(field_of "$TMP/c1.html" form)" "$WEB$C1"
check "POST /c with the page's field: 200, subscribed" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Nu prenumererar du' '$TMP/c3.html'"
check "... it validates" valid "$TMP/c3.html"
check "... the subscription is active" is_status ny@example.org barn active
check "... confirmed by web (the event log)" sh -c "
	'$TEMABREV' --db '$DB' sub show ny@example.org | grep confirm |
	    grep -q web"
check "... logged without the token" sh -c "
	grep -q 'http: 127.0.0.1: subscriber [0-9]* confirmed barn' \
	    '$TMP/d1.log' && ! grep -q '${C1#/c/}' '$TMP/d1.log'"
req c4 -X POST -d "form=$(field_of "$TMP/c1.html" form)" "$WEB$C1"
check "the link used again: the already-subscribed page" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Du prenumererade redan' '$TMP/c4.html'"
req c5 "$WEB$C1"
check "... a GET of it too" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Du prenumererade redan' '$TMP/c5.html'"

# ---------------------------------------------------------------------
# A second theme asked for within the day: no second mail (one a day per
# address); the first mail's page offers it unticked, and confirms it
# only when it is ticked.
# ---------------------------------------------------------------------
sub_post t1 198.51.100.20 "$TMP/s1.html" tva@example.org
check "tva@ asks for barn: one mail" wait_for 20 mails tva@example.org 1
req t2 -H 'X-Forwarded-For: 198.51.100.21' \
    --data-urlencode "form=$(field_of "$TMP/s2.html" form)" \
    --data-urlencode "issued=$(field_of "$TMP/s2.html" issued)" \
    --data-urlencode "email=tva@example.org" "$WEB/s/miljo"
check "... then for miljo within the day: 200" test "$CODE" = 200
check "... both pending" is_status tva@example.org miljo pending
sleep 0.5
check "... and no second mail" test "$(ncap tva@example.org)" -eq 1
CT=$(clink "$TMP/cap/tva@example.org")
req t3 "$WEB$CT"
check "the barn link's page offers miljo in a box" \
    has 'name="also" value="miljo">' "$TMP/t3.html"
check "... unticked" sh -c "! grep -q 'value=\"miljo\" checked' '$TMP/t3.html'"
check "... it validates" valid "$TMP/t3.html"
check "... a page without another request offers none" \
    sh -c "! grep -q 'name=\"also\"' '$TMP/c1.html'"
req t4 -X POST -d "form=$(field_of "$TMP/t3.html" form)" "$WEB$CT"
check "POST without the box: barn active" is_status tva@example.org barn active
check "... miljo still pending" is_status tva@example.org miljo pending
check "... the page names no other theme" sh -c "! grep -q '<li>' '$TMP/t4.html'"
req t5 -X POST -d "form=$(field_of "$TMP/t3.html" form)&also=miljo&also=nosuch&also=barn" \
    "$WEB$CT"
check "POST again with the box ticked: 200" test "$CODE" = 200
check "... miljo active" is_status tva@example.org miljo active
check "... the page says so" has '<li>Miljö &amp; klimat</li>' "$TMP/t5.html"
check "... it validates" valid "$TMP/t5.html"
check "... the event log says how" sh -c "
	'$TEMABREV' --db '$DB' sub show tva@example.org |
	    grep -q 'another theme.s confirmation page'"
req t6 -X POST -d "form=$(field_of "$TMP/c1.html" form)&also=miljo" "$WEB$C1"
check "a box for a theme never asked for subscribes nobody" \
    sh -c "[ '$CODE' = 200 ] && ! grep -q '<li>' '$TMP/t6.html'"
check "... ny@ has no miljo" sh -c "
	! '$TEMABREV' --db '$DB' sub show ny@example.org | grep -qi 'miljo'"

# Tokens that lead nowhere: the one 404.
last=$(printf %s "$C1" | tail -c 1)
[ "$last" = a ] && new=b || new=a
req c6 "$WEB$(printf %s "$C1" | sed "s/.\$/$new/")"
check "a confirm token with one character changed: the 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/c6.html'"
req c7 -X POST -d "form=$(field_of "$TMP/c1.html" form)" \
    "$WEB$(printf %s "$C1" | sed "s/.\$/$new/")"
check "... POST too" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/c7.html'"
req c8 "$WEB/c/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
check "a forged confirm token: the 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/c8.html'"
req c9 "$WEB/c/${C1#/c/}x"
check "a longer token: the 404" sh -c "
	[ '$CODE' = 404 ] && cmp -s '$TMP/nf0.html' '$TMP/c9.html'"

# ---------------------------------------------------------------------
# Every valid request gets the same answer.
# ---------------------------------------------------------------------
run 0 tb suppress add sparr@example.org
req s5 "$WEB/s/barn"
sub_post same1 198.51.100.2 "$TMP/s5.html" ny2@example.org
NEW_SECS=$SECS
sub_post same2 198.51.100.2 "$TMP/s5.html" aktiv@example.org
ACT_SECS=$SECS
sub_post same3 198.51.100.2 "$TMP/s5.html" sparr@example.org
sub_post same4 198.51.100.2 "$TMP/s5.html" ny2@example.org
# smtpd.py stalls RCPT for stall-*: an inline mail would hold the answer
# for [smtp] timeout (5 s).
sub_post same5 198.51.100.2 "$TMP/s5.html" stall-web@example.org
STALL_SECS=$SECS
check "new, active, suppressed, pending, stalling: all 200" sh -c "
	[ \$(cat '$TMP'/same[1-5].h | grep -c '^HTTP/1.1 200') = 5 ]"
check "... byte-identical bodies" sh -c "
	cmp '$TMP/same1.html' '$TMP/same2.html' &&
	cmp '$TMP/same1.html' '$TMP/same3.html' &&
	cmp '$TMP/same1.html' '$TMP/same4.html' &&
	cmp '$TMP/same1.html' '$TMP/same5.html'"
echo "# response time: new ${NEW_SECS}s, active ${ACT_SECS}s, stalling SMTP ${STALL_SECS}s"
check "... a stalling mail server is not in the response time" \
    awk "BEGIN { exit !($STALL_SECS < 4) }"
check "... its failure is logged after the answer" wait_for 20 grep -q \
    'http: confirmation mail to subscriber [0-9]*: ' "$TMP/d1.log"
check "the new address got one mail" \
    wait_for 20 mails ny2@example.org 1
sleep 0.5
check "... the pending one no second, active and suppressed none" sh -c "
	[ $(ncap ny2@example.org) = 1 ] && [ $(ncap aktiv@) = 0 ] &&
	[ $(ncap sp) = 0 ]"
check "... the suppressed address was not stored" \
    run 65 tb sub show sparr@example.org

# ---------------------------------------------------------------------
# A bad address shows the form again.
# ---------------------------------------------------------------------
sub_post bad1 198.51.100.3 "$TMP/s5.html" 'inte en adress<b>' '<i>Zyxx</i>'
check "an invalid address: 400, the form again with an error" sh -c "
	[ '$CODE' = 400 ] && grep -q 'class=\"error\"' '$TMP/bad1.html' &&
	grep -q 'name=\"email\"' '$TMP/bad1.html'"
check "... what was typed is kept, escaped" sh -c "
	grep -q 'value=\"inte en adress&lt;b&gt;\"' '$TMP/bad1.html' &&
	grep -q 'value=\"&lt;i&gt;Zyxx&lt;/i&gt;\"' '$TMP/bad1.html'"
check "... it validates" valid "$TMP/bad1.html"
check "... and carries a fresh form field that works" sh -c "
	[ -n \"\$(sed -n 's/.*name=\"form\" value=\"\([0-9a-f]*\)\".*/\1/p' \
	    '$TMP/bad1.html')\" ]"
sub_post bad2 198.51.100.3 "$TMP/bad1.html" ratt@example.org
check "... (sent again with a good address: 200)" test "$CODE" = 200

# ---------------------------------------------------------------------
# Rate limits: per address per day, per client per hour.
# ---------------------------------------------------------------------
n=0; got=
while [ $n -lt 6 ]; do
	n=$((n + 1))
	sub_post lim 198.51.100.$((10 + n)) "$TMP/s5.html" flod@example.org
	[ "$CODE" = 200 ] || { got=$CODE; break; }
done
check "per address: 429 on request 4 (subscribe_per_address_day = 3)" \
    sh -c "[ '$got' = 429 ] && [ $n = 4 ]"
check "... with Retry-After in seconds, at most a day" sh -c "
	r=\$(sed -n 's/^Retry-After: \([0-9]*\).*/\1/ip' '$TMP/lim.h')
	[ -n \"\$r\" ] && [ \"\$r\" -ge 1 ] && [ \"\$r\" -le 86400 ]"
check "... the 429 page validates" sh -c "
	grep -q 'För många försök' '$TMP/lim.html' && tidy -q -e '$TMP/lim.html'"
check "... the address got one mail in all" \
    wait_for 10 mails flod@example.org 1
n=0; got=
while [ $n -lt 8 ]; do
	n=$((n + 1))
	sub_post lim2 203.0.113.50 "$TMP/s5.html" "klient$n@example.org"
	[ "$CODE" = 200 ] || { got=$CODE; break; }
done
check "per client: 429 on request 6 (subscribe_per_client_hour = 5)" \
    sh -c "[ '$got' = 429 ] && [ $n = 6 ]"
check "... with Retry-After, at most an hour" sh -c "
	r=\$(sed -n 's/^Retry-After: \([0-9]*\).*/\1/ip' '$TMP/lim2.h')
	[ -n \"\$r\" ] && [ \"\$r\" -ge 1 ] && [ \"\$r\" -le 3600 ]"
check "... klient6 was not stored" run 65 tb sub show klient6@example.org
sub_post lim3 203.0.113.51 "$TMP/s5.html" klient6@example.org
check "... another client is still served" test "$CODE" = 200
# ny2's confirm page while it is fresh: its form field is POSTed later.
C2=$(clink "$TMP/cap/ny2@example.org")
req c2page "$WEB$C2"
check "ny2's link, fresh: the confirm page" has 'name="form"' "$TMP/c2page.html"
dstop
check "SIGTERM stops the daemon (0)" test "$DRC" = 0

# ---------------------------------------------------------------------
# Eight days later: the link has expired, and so has the form.
# ---------------------------------------------------------------------
LATER=$(( $(date +%s) + 8 * 86400 ))
check "the daemon starts with a clock eight days on" \
    dstart "$TMP/d2.log" TEMABREV_NOW=@$LATER
req e1 "$WEB$C2"
check "GET of an expired link: the expired page" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Länken har gått ut' '$TMP/e1.html'"
check "... offering the subscribe form" has 'href="../s/barn"' "$TMP/e1.html"
check "... it validates" valid "$TMP/e1.html"
req e2 -X POST -d "form=$(field_of "$TMP/c1.html" form)" "$WEB$C2"
check "POST with another token's form field: 403" test "$CODE" = 403
req e3 -X POST -d "form=$(field_of "$TMP/c2page.html" form)" "$WEB$C2"
check "POST of the expired link: the expired page" sh -c "
	[ '$CODE' = 200 ] && grep -q 'Länken har gått ut' '$TMP/e3.html'"
check "... nothing confirmed" sh -c "
	[ \"\$(TEMABREV_NOW= '$TEMABREV' --db '$DB' sub show ny2@example.org --json |
	    grep -o '\"status\":\"active\"')\" = '' ]"
sub_post e4 198.51.100.99 "$TMP/s5.html" sent@example.org
check "a form issued eight days ago: 403, nothing stored" sh -c "
	[ '$CODE' = 403 ] && grep -q 'för gammalt' '$TMP/e4.html'"
check "... sent@ unknown" run 65 tb sub show sent@example.org
dstop

# ---------------------------------------------------------------------
# The browser: the form, the mail's link, the button.
# ---------------------------------------------------------------------
check "the daemon starts again" dstart "$TMP/d3.log"
browser "browser: fill the form, submit, open the mail's link, confirm" \
    --subscribe "$WEB/s/miljo" "$TMP/cap" browser@example.org &&
    check "... browser@ is active in miljo" \
	is_status browser@example.org miljo active
dstop
check "no sanitizer report in the daemon's logs" sh -c "
	! grep -E 'Sanitizer|runtime error' '$TMP'/d[123].log"
done_testing
